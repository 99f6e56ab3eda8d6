// Package stack is one Stapel host below TCP: interfaces, ARP, IPv4
// (routing table, fragmentation, reassembly, forwarding), ICMP with
// redirects, router discovery and path MTU discovery, and UDP, plus the
// seam TCP plugs into (RegisterTransport, WriteIP, Route, DeadGateway).
//
// # Files
//
//	stack.go      Stack, Options, New, Close
//	params.go     config.Tcpip converted to the units the code uses
//	iface.go      interfaces, addresses, multicast groups, media sense (LINK-8)
//	input.go      receive path: link filter (LINK-3), IP validation and
//	              disposition (IP-1), broadcasts, forwarding (IP-8)
//	output.go     send path: route, ARP, fragmentation (IP-20), framing (LINK-2)
//	route.go      routing table (IP-2..IP-4, IP-13/14): automatic, static routes
//	persist.go    persistent routes and their state file (IP-5)
//	gateways.go   default gateways, one active (IP-6); the route a datagram
//	              takes (redirect, dead-gateway RCE); DeadGateway (TCP-DGD)
//	rce.go        the learned-route table (hostroutes) and dead-gateway RCEs
//	pmtu.go       path MTU discovery, host side (ICMP-6, TCP-PMTU-3)
//	redirect.go   accepting redirects (ICMP-3), sending them as a router
//	rdisc.go      router discovery, host side (ICMP-2, RFC 1256)
//	igmp.go       IGMPv2 host (MCAST-1, RFC 1112/2236); udpmcast.go the
//	              sockets' multicast options (MCAST-4/5)
//	arp.go        per-interface ARP caches, aging, pending queues (ARP-1..6, 11)
//	dad.go        duplicate address detection and conflicts (ARP-7..9)
//	reasm.go      reassembly with its bounds and overlap policy
//	icmp.go       ICMP input, errors (RFC 1122 3.2.2 rules), rate limit
//	echo.go       EchoSocket for ping and tracert
//	udp.go        UDP demultiplexing and sending; udpconn.go the socket
//	srcroute.go   following LSRR/SSRR when DisableIPSourceRouting=0 (IP-18)
//	loopback.go   datagrams to our own addresses (IP-16)
//	ifstats.go    per-interface counters (netstat -e)
//	transport.go  the transport seam
//	stats.go      MIB-II and Stapel counters
//	qos.go        QoS (§16): flows and filters, DiffServ and 802.1p
//	              marking, the packet scheduler (see its comment)
//
// # Locking
//
// Stack.mu, a sync.RWMutex, guards the network-layer state: interfaces,
// addresses, routes, ARP caches, reassembly, the ICMP token bucket, the
// loopback queue, the RCEs and s.txBuf. Only configuration changes, timer
// callbacks and the slow paths write-lock it; the per-packet paths take
// the read lock, so flows on different cores (TAP queues, transport
// goroutines) do not serialise on it:
//
//   - Receive (rxFrameMeta): the link filter and a valid option-less,
//     unfragmented datagram unicast to one of our addresses (ipInputFast)
//     run under the read lock. ARP, broadcasts and multicasts, options,
//     fragments (reassembly), forwarding and errors release it and take
//     the write lock (ipInputLocked), re-checking that the interface is
//     still there.
//   - Send (send: WriteIP, WriteIPBuf, UDP): route, source, MTU, ARP hit
//     and the IP header are done under the read lock (planLocked with
//     shared set), which changes nothing but atomics: IP IDs (ipID), an
//     ARP entry's last use (arpEntry.lastRef), counters. What would change
//     state (loopback delivery, copies of broadcasts to our sockets, an
//     ARP miss, a local "fragmentation needed") makes planLocked return
//     errSlowPath before counting anything, and send repeats it under the
//     write lock. Either way the frame is then written with no stack lock
//     held (txPlan.transmit): link endpoints are safe for concurrent use,
//     the buffer is the caller's (WriteIPBuf) or pooled (txBufPool), and
//     fragments are cut into a pooled buffer (fragBufPool). Frames of one
//     flow stay in order because its sender serialises its own sends
//     (TCP's send lock; one goroutine per UDP write). The learned-route
//     table's mutex is skipped while it is empty (learnedAny). A UDP
//     socket without a source address sending behind a default gateway
//     first takes the write lock briefly to note the RCE (routeNoted).
//   - Slow paths that build datagrams in s.txBuf (ICMP, echo, router
//     discovery, forwarding, ARP, queued ARP datagrams) hold the write
//     lock through the frame write (sendLocked). Endpoint.WriteFrame never
//     calls back into the stack, so that cannot deadlock.
//
// Nothing holding Stack.mu (read or write) takes it again: Go's RWMutex
// blocks a second read lock while a writer waits. Receive processing
// releases it before handing a datagram to ICMP, UDP or a registered
// transport, so those may send without deadlock.
//
// Lock order (outer first): Stack.addMu (AddInterface/RemoveInterface),
// then Stack.mu (read or write), then hostroutes.Table's own mutex, then
// the link endpoint's locks (a TAP queue's write lock, taken in
// WriteFrame: with no stack lock on the fast path, under the write lock
// on the slow paths). UDP sockets have their own locks (udpTable.mu, then
// UDPConn.mu); udpTable.mu may take Stack.mu briefly, never the reverse,
// and so may UDPConn.mu (group joins, udpmcast.go).
// Raw sockets (raw.go) likewise: delivery reads rawTable's lists with one
// atomic load and takes only RawConn.mu; RawConn.mu may take Stack.mu
// (group joins), never the reverse. The security filters (filter.go) are
// immutable per interface and read with the lock the receive path holds.
// Counters (Stats, per-interface) are atomics. Datagrams to our own
// addresses are queued and delivered from a clock callback, never
// synchronously, so a transport sending to itself is not re-entered.
//
// Every timer (ARP retries and aging, duplicate address probes, media
// sense damping, reassembly, socket deadlines) comes from the injected
// clock; the stack never advances it. Timer callbacks take the write lock.
//
// # Choices where SPEC is silent
//
//   - ARP requests: 1 + ArpRequestRetries (default 2) requests,
//     ArpRequestTimeoutMs (default 1000) apart; after the last one has
//     waited as long, the destination is unreachable: queued datagrams are
//     dropped (arpResolveQueueFailed) with ICMP host unreachable to the
//     sender (looped back internally when that is us).
//   - ARP aging (ARP-4/5, L = ArpCacheLife, R = ArpCacheMinReferencedLife):
//     with L >= R every dynamic entry lives exactly L after it was
//     resolved; otherwise it leaves L after its last use by an outgoing
//     datagram (or after resolution if never used), and no later than R
//     after resolution. ARP packets from the host update the MAC but do not
//     extend the life. Defaults: 2 min unused, 10 min in use.
//   - The pending queue (ARP-6) holds whole datagrams before
//     fragmentation, so a fragmented ping is not cut to its first
//     fragment; when forwarding, fragments of one datagram count as that
//     datagram (up to 128 KiB), so a router does not keep only the first.
//   - Duplicate address detection is optimistic: the address is usable at
//     once while ArpRetryCount gratuitous ARPs go out 1 s apart; a
//     conflict seen before 1 s after the last probe disables the address
//     (ARP-8), logs the ARP-9 text with the defender's MAC, and broadcasts
//     the defender's mapping (AMB-4). Later conflicts (ARP-9) are logged and
//     defended with a gratuitous ARP at most every 10 s (RFC 5227).
//   - Media sense: 3 s damping; on reconnect, duplicate address detection
//     runs again (which announces the addresses).
//   - Reassembly: timeout ReassemblyTimeout (60 s), ReassemblyMaxBytes
//     (1 MiB) of fragment data, ReassemblyMaxDatagrams (64); any overlap
//     drops the datagram, exact duplicates are ignored (see reasm.go).
//   - ICMP errors: token bucket of 50, refilled at 100/s (icmpRateLimited).
//     Echo requests to broadcast or multicast addresses are not answered.
//   - Broadcast receive: limited (255.255.255.255 and 0.0.0.0), subnet
//     directed and classful network broadcasts, all-ones and all-zeros
//     forms alike (RFC 1122 3.3.6); UseZeroBroadcast changes only what we
//     send.
//   - UDP: ephemeral ports in order from 1024 to MaxUserPort; a port is in
//     use if either binding is the wildcard or both addresses are equal;
//     receive queue 256 KiB / 512 datagrams per socket (udpInErrors);
//     a socket bound to an interface address also receives broadcasts
//     arriving on that interface.
//   - Interface index 1 is the internal loopback; others count from 2.
//   - Default gateways: all 0.0.0.0/0 routes in metric order (ties: the
//     configuration order); only the active one is used (IP-6). Dead
//     gateway detection moves a destination's RCE to the next gateway
//     and, at >= 25 % of RCEs moved (AMB-10), the host; the switch stays
//     until the next one (TCP-DGD-4). An RCE exists for each destination
//     behind a default gateway that a transport or UDP routed to (4096
//     at most; a full table evicts the oldest of 8 sampled).
//   - Path MTU: learned per destination in hostroutes (bounded by
//     MaxIcmpHostRoutes, LRU eviction, exact count; 10-minute aging
//     raises it again). EnablePMTUDiscovery=0 only changes what Route
//     reports to transports (576 off-subnet); the IP layer still
//     fragments at the interface MTU. "Fragmentation needed" not about
//     a datagram from one of our addresses is ignored (pmtuIgnored).
//   - Redirects name a host route whatever their code; a redirect only
//     overrides gatewayed routes shorter than /32. Routers never accept
//     them; they send host redirects (rate limited with other errors).
//   - Router discovery: the first solicitation goes out when the
//     interface is added (no random 0-1 s delay), then 600 ms apart.
//     Advertised routers rank by preference as metrics 1, 2, ...; at most
//     32 per interface. Stapel has no DHCP option, so
//     PerformRouterDiscovery=2 means off.
//   - Persistent routes: at most 1024; the state file is rewritten
//     atomically (write and rename) on every change.
//   - IGMP (igmp.go): every interface is a member of 224.0.0.1 (never
//     reported). One unsolicited repetition; another host's report clears
//     our "last reporter" flag in either state, so only the last reporter
//     sends Leave Group; our own IGMP messages are not looped back. Report
//     delays are drawn per interface from the seed mixed with the MAC.
//     IGMPLevel 1 refuses joins and speaks no IGMP; 0 also refuses sends
//     to groups. Multicast TTL 0 delivers to this host's members only.
package stack
