package config

// Tcpip holds the global TCP/IP parameters, registry key Tcpip\Parameters,
// TOML table [Tcpip.Parameters]. Stapel extensions are marked "Stapel:".
type Tcpip struct {
	// 1 = non-admins may open raw sockets.
	AllowUserRawAccess bool
	// Token Ring source-routed ARP: -1 (absent) retry with SR, 1 always, 0 never; ignored on Ethernet.
	ArpAlwaysSourceRoute int
	// ARP entry lifetime in seconds, combined with ArpCacheMinReferencedLife (ARP-4/5; the whitepaper's absent value behaves as 120).
	ArpCacheLife int
	// Minimum lifetime in seconds of ARP entries that are referenced by outgoing traffic (ARP-5).
	ArpCacheMinReferencedLife int
	// Total number of gratuitous ARPs sent for each own address at start-up (ARP-7).
	ArpRetryCount int
	// Token Ring: source-routed ARP as single-route broadcast; ignored on Ethernet.
	ArpTRSingleRoute bool
	// Send 802.3 SNAP framing instead of Ethernet II (both are always received).
	ArpUseEtherSNAP bool
	// Directory holding hosts, lmhosts, networks, protocol and services files.
	DatabasePath string
	// TTL of outgoing IP datagrams (IP-17); 0 is accepted as the whitepaper allows it but draws a warning.
	DefaultTTL int
	// 1 = the DHCP client ignores media connect/disconnect events.
	DisableDHCPMediaSense bool
	// Source-routed datagrams: 0 forward, 1 do not forward (accept if for us), 2 drop all (IP-18).
	DisableIPSourceRouting int
	// 1 = do not log media-sense events.
	DisableMediaSenseEventLog bool
	// 1 = disable task offload: the daemon then opens its TAP devices without TSO and checksum offload (0, the default, enables them).
	DisableTaskOffload bool
	// 1 = applications may not set the IP TOS byte (IP-19).
	DisableUserTOSSetting bool
	// Answer ICMP address mask requests.
	EnableAddrMaskReply bool
	// Answer ARP requests whose sender MAC is not unicast (ARP-11).
	EnableBcastArpReply bool
	// Allow TCP dead gateway detection and failover (TCP-DGD).
	EnableDeadGWDetect bool
	// Update the routing table from ICMP redirects (AMB-20: default 1).
	EnableICMPRedirects bool
	// Faster route lookup at memory cost; Stapel's lookup does not change with it.
	EnableFastRouteLookup bool
	// Forward IP multicast between interfaces.
	EnableMulticastForwarding bool
	// TCP PMTU black-hole router detection (AMB-8).
	EnablePMTUBHDetect bool
	// Path MTU discovery; off = 576-byte MTU to non-local destinations.
	EnablePMTUDiscovery bool
	// Initial packet-data memory in bytes for the forwarding queue (routing only).
	ForwardBufferMemory int
	// System-wide cap on the TCP receive window in bytes; -1 = absent (AMB-24).
	GlobalMaxTcpWindowSize int
	// Enable APIPA (169.254/16) auto-configuration when DHCP fails (DHCP-4).
	IPAutoconfigurationEnabled bool
	// APIPA subnet mask.
	IPAutoconfigurationMask string
	// Seed for the APIPA address choice.
	IPAutoconfigurationSeed int
	// APIPA subnet.
	IPAutoconfigurationSubnet string
	// Multicast: 0 none, 1 send only, 2 send and receive (full IGMP).
	IGMPLevel int
	// Forward IP datagrams between interfaces (IP-8).
	IPEnableRouter bool
	// Milliseconds between unanswered TCP keepalive probes.
	KeepAliveInterval int
	// Idle milliseconds before the first TCP keepalive (only on sockets that enable it).
	KeepAliveTime int
	// Cap in bytes on forwarding-queue packet data; at least ForwardBufferMemory.
	MaxForwardBufferMemory int
	// Cached free TCBs (Professional, >= 64 MB class).
	MaxFreeTcbs int
	// Maximum connections in TIME-WAIT; the oldest is dropped beyond it.
	MaxFreeTWTcbs int
	// TCB hash table size (rounded up to a power of two).
	MaxHashTableSize int
	// Maximum host routes created from ICMP (PMTU/redirect); further updates are ignored (SPEC §21, KB 898060).
	MaxIcmpHostRoutes int
	// Route table memory cap in bytes (0xFFFFFFFF = unlimited).
	MaxNormLookupMemory int
	// Cap on forwarding-queue packet headers; at least NumForwardPackets.
	MaxNumForwardPackets int
	// Highest ephemeral port (range starts at 1024); out-of-range values clamp (TCP-PORT-1).
	MaxUserPort int
	// Initial forwarding-queue packet headers.
	NumForwardPackets int
	// TCB table partitions for SMP scaling.
	NumTcbTablePartitions int
	// Retransmissions of unacknowledged PPTP packets; Stapel has no PPTP.
	PPTPTcpMaxDataRetransmissions int
	// Enable TCP selective acknowledgement (RFC 2018).
	SackOpts bool
	// SYN-flood protection level (SEC-2/3).
	SynAttackProtect int
	// RFC 1323: bit 0 window scaling, bit 1 timestamps; -1 (absent) = do not initiate, honour if offered (AMB-7).
	Tcp1323Opts int
	// SYN-ACK retransmissions (TCP-RTX-3).
	TcpMaxConnectResponseRetransmissions int
	// SYN retransmissions before connect fails; the RTO doubles each time.
	TcpMaxConnectRetransmissions int
	// Data retransmissions before the connection is aborted.
	TcpMaxDataRetransmissions int
	// Duplicate ACKs that trigger fast retransmit (AMB-11).
	TcpMaxDupAcks int
	// SYN-RCVD connections before SYN-attack protection triggers.
	TcpMaxHalfOpen int
	// SYN-RCVD connections with a retransmitted SYN-ACK before protection triggers (AMB-30).
	TcpMaxHalfOpenRetried int
	// Refused connects (full backlog) before protection triggers.
	TcpMaxPortsExhausted int
	// Size of the TCP header table (AMB-28).
	TcpMaxSendFree int
	// Maximum simultaneous TCP connections.
	TcpNumConnections int
	// TIME-WAIT (2MSL) duration in seconds.
	TcpTimedWaitDelay int
	// Urgent pointer semantics: 1 RFC 1122, 0 BSD.
	TcpUseRFC1122UrgentPointer bool
	// Maximum receive window in bytes, rounded up to an MSS multiple; -1 = computed (TCP-WIN-2, AMB-6).
	TcpWindowSize int
	// Token Ring multicast via the RFC 1469 functional address; ignored on Ethernet.
	TrFunctionalMcastAddress bool
	// Enable the per-interface TCP/UDP/raw-IP inbound allow-lists (IP-21).
	EnableSecurityFilters bool
	// DNS host name; empty = the operating system's host name.
	Hostname string
	// DNS suffixes tried for unqualified names (space-separated string or array).
	SearchList []string
	// Routes kept across restarts, each "dest,mask,gateway,metric" (IP-5).
	PersistentRoutes []string
	// DNS query retry timeouts in seconds (DNS-3); a trailing 0 terminator is accepted and dropped.
	DNSQueryTimeouts []int
	// TTL in seconds sent in dynamic DNS registrations.
	DefaultRegistrationTTL int
	// Disable dynamic DNS registration.
	DisableDynamicUpdate bool
	// Disable last-writer-wins on DNS registration conflicts.
	DisableReplaceAddressesInConflicts bool
	// Dynamic update security: 0 unsecure then secure, 0x10 unsecure only, 0x100 secure only (AMB-27).
	UpdateSecurityLevel int
	// Also query the bare single-label name.
	AllowUnqualifiedQuery bool
	// On a name error, try the other interfaces' DNS servers.
	DisjointNameSpace bool
	// Sort same-subnet addresses first in DNS answers.
	PrioritizeRecordData bool
	// Accept DNS responses only from the queried server address.
	QueryIpMatching bool
	// Devolve the primary suffix one label at a time.
	UseDomainNameDevolution bool
	// Stapel: Datagrams queued per destination while ARP is pending; 1 is the whitepaper's behaviour (ARP-6), larger values are a Stapel extension.
	ArpPendingQueueLen int
	// Stapel: ARP requests re-sent when unanswered before the destination is declared unreachable (WP gives no number).
	ArpRequestRetries int
	// Stapel: Milliseconds to wait for an ARP reply before re-sending.
	ArpRequestTimeoutMs int
	// Stapel: Bound on dynamic ARP entries per interface (the whitepaper's cache grows without bound).
	ArpCacheMaxEntries int
	// Stapel: Seconds a partial datagram waits for its fragments (RFC 1122 3.3.2 recommends 60..120; WP gives none, IP-20).
	ReassemblyTimeout int
	// Stapel: Bound on bytes held by all partial datagrams; new fragments are dropped beyond it.
	ReassemblyMaxBytes int
	// Stapel: Bound on datagrams being reassembled at once.
	ReassemblyMaxDatagrams int
	// Stapel: TCP congestion control, "reno" (RFC 5681, the whitepaper's) or "cubic" (RFC 9438).
	CongestionControl string
	// Stapel: Initial congestion window in segments: 2 as the whitepaper, up to 10 (RFC 6928).
	InitialCongestionWindow int
	// Stapel: "whitepaper" keeps the Windows 2000 defaults; "modern" turns on window scaling, timestamps, a 4 MiB window, IW10 and CUBIC, then applies the keys the file gives.
	TcpProfile string
	// Stapel: "" or "default" keeps the defaults; "hardened" applies the whitepaper's Appendix D values (SEC-4: SynAttackProtect 2, EnablePMTUDiscovery 0, EnableDeadGWDetect 0, KeepAliveTime 300000, EnableICMPRedirects 0, NetBT NoNameReleaseOnDemand 1, every interface's PerformRouterDiscovery 0) to each of those keys the file does not set.
	SecurityProfile string
	// Stapel: Hosts file the DNS resolver reads (DNS-1 step 2, DNS-2 step 1); empty = none, so the machine's own hosts file under DatabasePath is never read unless named here.
	HostsFile string
}

func defaultTcpip() Tcpip {
	return Tcpip{
		ArpAlwaysSourceRoute:                 Absent,
		ArpCacheLife:                         120,
		ArpCacheMinReferencedLife:            600,
		ArpRetryCount:                        3,
		DatabasePath:                         "/etc",
		DefaultTTL:                           128,
		CongestionControl:                    "reno",
		InitialCongestionWindow:              2,
		TcpProfile:                           "whitepaper",
		DisableIPSourceRouting:               1,
		DisableUserTOSSetting:                true,
		EnableBcastArpReply:                  true,
		EnableDeadGWDetect:                   true,
		EnableICMPRedirects:                  true,
		EnablePMTUDiscovery:                  true,
		ForwardBufferMemory:                  74240,
		GlobalMaxTcpWindowSize:               Absent,
		IPAutoconfigurationEnabled:           true,
		IPAutoconfigurationMask:              "255.255.0.0",
		IPAutoconfigurationSubnet:            "169.254.0.0",
		IGMPLevel:                            2,
		KeepAliveInterval:                    1000,
		KeepAliveTime:                        7200000,
		MaxForwardBufferMemory:               2097152,
		MaxFreeTcbs:                          1000,
		MaxFreeTWTcbs:                        1000,
		MaxHashTableSize:                     512,
		MaxIcmpHostRoutes:                    10000,
		MaxNormLookupMemory:                  150000,
		MaxNumForwardPackets:                 4294967295,
		MaxUserPort:                          5000,
		NumForwardPackets:                    50,
		NumTcbTablePartitions:                4,
		PPTPTcpMaxDataRetransmissions:        5,
		SackOpts:                             true,
		Tcp1323Opts:                          Absent,
		TcpMaxConnectResponseRetransmissions: 2,
		TcpMaxConnectRetransmissions:         2,
		TcpMaxDataRetransmissions:            5,
		TcpMaxDupAcks:                        2,
		TcpMaxHalfOpen:                       100,
		TcpMaxHalfOpenRetried:                80,
		TcpMaxPortsExhausted:                 5,
		TcpMaxSendFree:                       5000,
		TcpNumConnections:                    16777214,
		TcpTimedWaitDelay:                    240,
		TcpWindowSize:                        Absent,
		TrFunctionalMcastAddress:             true,
		DNSQueryTimeouts:                     []int{1, 2, 2, 4, 8},
		DefaultRegistrationTTL:               1200,
		DisjointNameSpace:                    true,
		PrioritizeRecordData:                 true,
		UseDomainNameDevolution:              true,
		ArpPendingQueueLen:                   1,
		ArpRequestRetries:                    2,
		ArpRequestTimeoutMs:                  1000,
		ArpCacheMaxEntries:                   1024,
		ReassemblyTimeout:                    60,
		ReassemblyMaxBytes:                   1048576,
		ReassemblyMaxDatagrams:               64,
	}
}
