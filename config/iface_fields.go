package config

// Interface is one [[Interface]] table: Stapel's device binding (Name, Tap,
// MAC, Pcap) plus the per-interface registry values of
// Tcpip\Parameters\Interfaces\<if> and NetBT\Parameters\Interfaces\<if>.
type Interface struct {
	// Interface name used by the tools (ipconfig, route, arp); required, unique.
	Name string
	// Linux TAP device to create or attach (at most 15 bytes); empty = Name; unique.
	Tap string
	// Hardware address (aa:bb:cc:dd:ee:ff or aa-bb-...); empty = the TAP device's own.
	MAC string
	// File to write every frame of this interface to (pcap); empty = none.
	Pcap string
	// Interface addresses; several = logical multihoming; first 0.0.0.0 = DHCP.
	IPAddress []string
	// One mask per IPAddress entry.
	SubnetMask []string
	// Static default gateways in order of preference; only one is active (IP-6).
	DefaultGateway []string
	// Metric per DefaultGateway entry; missing entries are 1 (IP-6; a Windows registry value not in the appendices).
	DefaultGatewayMetric []int
	// IP MTU override; 0xFFFFFFFF = link MTU; above the link MTU uses the link MTU; below 68 is raised to 68 with a warning (AMB-2).
	MTU int
	// Send 0-style broadcasts instead of all-ones (IP-15).
	UseZeroBroadcast bool
	// Configure the first address by DHCP (DHCP-1); the SPEC table spells it EnableDhcp, keys match case-insensitively.
	EnableDHCP bool
	// Do not add a default route for this interface.
	DontAddDefaultGateway bool
	// RFC 1256 router discovery: 0 off, 1 on, 2 only if DHCP says so (ICMP-2; off until Stapel has a DHCP client).
	PerformRouterDiscovery int
	// Send router solicitations to 255.255.255.255 instead of 224.0.0.2.
	SolicitationAddressBcast bool
	// Delayed-ACK timer in 100 ms ticks; 0 = no delayed ACK (TCP-ACK-1).
	TcpDelAckTicks int
	// Initial retransmission timeout in seconds for SYN and first data (AMB-19).
	TcpInitialRTT int
	// Per-interface receive window in bytes; -1 = use Tcpip.Parameters.TcpWindowSize.
	TcpWindowSize int
	// 0 unicast+multicast, 1 no unicast, 2 no multicast, 3 neither (IP-8).
	TypeOfInterface int
	// Packets the forwarder may have outstanding on this interface.
	MaxForwardPending int
	// Accept only PPTP on this interface (TCP to or from port 1723, GRE): everything else is dropped silently (SEC-5); Stapel itself has no PPTP.
	PPTPFiltering bool
	// TCP SYN allow-list when EnableSecurityFilters is on: absent = all, [] = none, [0] = all (IP-21).
	TcpAllowedPorts []int
	// UDP allow-list when EnableSecurityFilters is on: absent = all, [] = none, [0] = all (IP-21).
	UdpAllowedPorts []int
	// Raw-IP protocol allow-list when EnableSecurityFilters is on: absent = all, [] = none, [0] = all (IP-21).
	RawIpAllowedProtocols []int
	// DNS servers for this interface (space-separated string or array).
	NameServer []string
	// DNS domain of this interface.
	Domain string
	// Per-interface APIPA switch; absent = Tcpip.Parameters.IPAutoconfigurationEnabled.
	IPAutoconfigurationEnabled *bool
	// Per-interface APIPA mask; empty = the global value.
	IPAutoconfigurationMask string
	// Per-interface APIPA subnet; empty = the global value.
	IPAutoconfigurationSubnet string
	// First DHCP retransmission timeout in ms, doubled per retry (RFC 2131 4.1: 4000, also used for 0); tests shorten it.
	DhcpRetryBaseMs int
	// Per-interface dynamic DNS switch; absent = the global value.
	DisableDynamicUpdate *bool
	// Also register this interface's addresses under its own Domain.
	EnableAdapterDomainNameRegistration bool
	// Do not register PTR records for this interface.
	DisableReverseAddressRegistrations bool
	// WINS servers for this interface.
	NameServerList []string
	// NetBIOS over TCP/IP: 0 as DHCP says, 1 enabled, 2 disabled (AMB-14).
	NetbiosOptions int
	// Tag frames of QoS flows with an 802.1Q priority tag (VID 0, 802.1p priority); lowers the MTU by 4 bytes (QOS-4).
	QoS8021p bool
	// Packet scheduler: class queues in strict priority and flow shaping (QOS-5); off by default as in Table 1.
	QoSPacketScheduler bool
	// Rate in kbit/s the packet scheduler paces the link to; 0 = the device's own pace (QOS-5).
	QoSLinkSpeedKbps int
	// Bound in datagrams on each scheduler class queue and each flow's shaping queue; 0 = 64 (QOS-5).
	QoSQueueLength int
}

func defaultInterface() Interface {
	return Interface{
		MTU:                    4294967295,
		PerformRouterDiscovery: 2,
		TcpDelAckTicks:         2,
		TcpInitialRTT:          3,
		TcpWindowSize:          Absent,
		MaxForwardPending:      5000,
		NetbiosOptions:         1,
	}
}
