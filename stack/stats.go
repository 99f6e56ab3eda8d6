package stack

import (
	"reflect"
	"sync/atomic"
	"unsafe"
)

// Stats holds the stack's counters: MIB-II names (RFC 1213) for what
// netstat -s prints (SPEC TOOL-NETSTAT), then Stapel's own drop counters.
// Every field is a uint64; the struct tag is the name StatsMap uses.
type Stats struct {
	// IP (RFC 1213 ip group)
	IPInReceives      uint64 `mib:"ipInReceives"`
	IPInHdrErrors     uint64 `mib:"ipInHdrErrors"`
	IPInAddrErrors    uint64 `mib:"ipInAddrErrors"`
	IPForwDatagrams   uint64 `mib:"ipForwDatagrams"`
	IPInUnknownProtos uint64 `mib:"ipInUnknownProtos"`
	IPInDiscards      uint64 `mib:"ipInDiscards"`
	IPInDelivers      uint64 `mib:"ipInDelivers"`
	IPOutRequests     uint64 `mib:"ipOutRequests"`
	IPRoutingDiscards uint64 `mib:"ipRoutingDiscards"`
	IPOutDiscards     uint64 `mib:"ipOutDiscards"`
	IPOutNoRoutes     uint64 `mib:"ipOutNoRoutes"`
	IPReasmReqds      uint64 `mib:"ipReasmReqds"`
	IPReasmOKs        uint64 `mib:"ipReasmOKs"`
	IPReasmFails      uint64 `mib:"ipReasmFails"`
	IPFragOKs         uint64 `mib:"ipFragOKs"`
	IPFragFails       uint64 `mib:"ipFragFails"`
	IPFragCreates     uint64 `mib:"ipFragCreates"`

	// ICMP (RFC 1213 icmp group; SPEC ICMP-7)
	ICMPInMsgs           uint64 `mib:"icmpInMsgs"`
	ICMPInErrors         uint64 `mib:"icmpInErrors"`
	ICMPInDestUnreachs   uint64 `mib:"icmpInDestUnreachs"`
	ICMPInTimeExcds      uint64 `mib:"icmpInTimeExcds"`
	ICMPInParmProbs      uint64 `mib:"icmpInParmProbs"`
	ICMPInSrcQuenchs     uint64 `mib:"icmpInSrcQuenchs"`
	ICMPInRedirects      uint64 `mib:"icmpInRedirects"`
	ICMPInEchos          uint64 `mib:"icmpInEchos"`
	ICMPInEchoReps       uint64 `mib:"icmpInEchoReps"`
	ICMPInTimestamps     uint64 `mib:"icmpInTimestamps"`
	ICMPInTimestampReps  uint64 `mib:"icmpInTimestampReps"`
	ICMPInAddrMasks      uint64 `mib:"icmpInAddrMasks"`
	ICMPInAddrMaskReps   uint64 `mib:"icmpInAddrMaskReps"`
	ICMPOutMsgs          uint64 `mib:"icmpOutMsgs"`
	ICMPOutErrors        uint64 `mib:"icmpOutErrors"`
	ICMPOutDestUnreachs  uint64 `mib:"icmpOutDestUnreachs"`
	ICMPOutTimeExcds     uint64 `mib:"icmpOutTimeExcds"`
	ICMPOutParmProbs     uint64 `mib:"icmpOutParmProbs"`
	ICMPOutSrcQuenchs    uint64 `mib:"icmpOutSrcQuenchs"`
	ICMPOutRedirects     uint64 `mib:"icmpOutRedirects"`
	ICMPOutEchos         uint64 `mib:"icmpOutEchos"`
	ICMPOutEchoReps      uint64 `mib:"icmpOutEchoReps"`
	ICMPOutTimestamps    uint64 `mib:"icmpOutTimestamps"`
	ICMPOutTimestampReps uint64 `mib:"icmpOutTimestampReps"`
	ICMPOutAddrMasks     uint64 `mib:"icmpOutAddrMasks"`
	ICMPOutAddrMaskReps  uint64 `mib:"icmpOutAddrMaskReps"`

	// UDP (RFC 1213 udp group; SPEC UDP-4)
	UDPInDatagrams  uint64 `mib:"udpInDatagrams"`
	UDPNoPorts      uint64 `mib:"udpNoPorts"`
	UDPInErrors     uint64 `mib:"udpInErrors"`
	UDPOutDatagrams uint64 `mib:"udpOutDatagrams"`

	// Stapel: link layer
	LinkRxFrames      uint64 `mib:"linkRxFrames"`
	LinkRxFiltered    uint64 `mib:"linkRxFiltered"`    // LINK-3 receive filter
	LinkRxMalformed   uint64 `mib:"linkRxMalformed"`   // unparsable Ethernet header
	LinkRxUnknownType uint64 `mib:"linkRxUnknownType"` // EtherType not IPv4/ARP
	LinkTxFrames      uint64 `mib:"linkTxFrames"`
	LinkTxErrors      uint64 `mib:"linkTxErrors"` // WriteFrame failed

	// Stapel: ARP
	ARPInRequests         uint64 `mib:"arpInRequests"`
	ARPInReplies          uint64 `mib:"arpInReplies"`
	ARPInErrors           uint64 `mib:"arpInErrors"`
	ARPOutRequests        uint64 `mib:"arpOutRequests"`
	ARPOutReplies         uint64 `mib:"arpOutReplies"`
	ARPQueueDrops         uint64 `mib:"arpQueueDrops"`         // ARP-6 pending queue overflow
	ARPResolveFailures    uint64 `mib:"arpResolveFailures"`    // all retries unanswered
	ARPResolveQueueFailed uint64 `mib:"arpResolveQueueFailed"` // datagrams dropped by failure
	ARPConflicts          uint64 `mib:"arpConflicts"`          // ARP-8/ARP-9
	ARPBcastReplySkipped  uint64 `mib:"arpBcastReplySkipped"`  // ARP-11 off
	ARPCacheFull          uint64 `mib:"arpCacheFull"`
	ARPEntriesExpired     uint64 `mib:"arpEntriesExpired"`

	// Stapel: IP
	IPSrcRouteDrops     uint64 `mib:"ipSrcRouteDrops"` // IP-18
	IPInTTLExceeded     uint64 `mib:"ipInTTLExceeded"`
	IPOutFragNeeded     uint64 `mib:"ipOutFragNeeded"` // DF set, too big
	IPLoopbackDrops     uint64 `mib:"ipLoopbackDrops"`
	IPLinkBcastDrops    uint64 `mib:"ipLinkBcastDrops"` // unicast IP in link broadcast, not ours
	ReasmOverlaps       uint64 `mib:"reasmOverlaps"`
	ReasmDuplicates     uint64 `mib:"reasmDuplicates"`
	ReasmMemoryDrops    uint64 `mib:"reasmMemoryDrops"`
	ReasmDatagramDrops  uint64 `mib:"reasmDatagramDrops"`
	ReasmTimeouts       uint64 `mib:"reasmTimeouts"`
	ReasmOversize       uint64 `mib:"reasmOversize"`
	ICMPRateLimited     uint64 `mib:"icmpRateLimited"`
	ICMPErrorSuppressed uint64 `mib:"icmpErrorSuppressed"` // RFC 1122 3.2.2 rules
	EchoEventDrops      uint64 `mib:"echoEventDrops"`
	UDPRecvQueueDrops   uint64 `mib:"udpRecvQueueDrops"` // also in udpInErrors

	// Stapel: routing and the ICMP control plane (issue 5)
	PMTUUpdates         uint64 `mib:"pmtuUpdates"`         // fragmentation needed applied (ICMP-6)
	PMTUIgnored         uint64 `mib:"pmtuIgnored"`         // fragmentation needed not about our datagram
	PMTULocalTooBig     uint64 `mib:"pmtuLocalTooBig"`     // DF datagram above the path MTU, sender told
	RedirectsAccepted   uint64 `mib:"redirectsAccepted"`   // ICMP-3
	RedirectsRejected   uint64 `mib:"redirectsRejected"`   // not from the first hop, off-link, disabled
	RouterAdvertsIn     uint64 `mib:"routerAdvertsIn"`     // ICMP-2
	RouterSolicitsOut   uint64 `mib:"routerSolicitsOut"`   // ICMP-2
	DeadGatewayReports  uint64 `mib:"deadGatewayReports"`  // TCP-DGD-2
	DeadGatewaySwitches uint64 `mib:"deadGatewaySwitches"` // TCP-DGD-3
	ICMPTransportErrors uint64 `mib:"icmpTransportErrors"` // soft errors delivered to sockets

	// Stapel: IGMP host (MCAST-1, RFC 2236; igmp.go)
	IGMPInMsgs            uint64 `mib:"igmpInMsgs"`
	IGMPInErrors          uint64 `mib:"igmpInErrors"` // short or bad checksum
	IGMPInQueries         uint64 `mib:"igmpInQueries"`
	IGMPInReports         uint64 `mib:"igmpInReports"` // v1 and v2, other hosts' and looped
	IGMPInLeaves          uint64 `mib:"igmpInLeaves"`
	IGMPInIgnored         uint64 `mib:"igmpInIgnored"` // IGMPLevel < 2, unknown types
	IGMPOutMsgs           uint64 `mib:"igmpOutMsgs"`
	IGMPOutReports        uint64 `mib:"igmpOutReports"` // v2
	IGMPOutV1Reports      uint64 `mib:"igmpOutV1Reports"`
	IGMPOutLeaves         uint64 `mib:"igmpOutLeaves"`
	IGMPReportsSuppressed uint64 `mib:"igmpReportsSuppressed"` // another host reported first

	// Stapel: security filters (IP-21, filter.go) and raw sockets (raw.go)
	SecFilterTCPDrops uint64 `mib:"secFilterTcpDrops"` // SYNs to ports not in TcpAllowedPorts
	SecFilterUDPDrops uint64 `mib:"secFilterUdpDrops"` // datagrams to ports not in UdpAllowedPorts
	SecFilterRawDrops uint64 `mib:"secFilterRawDrops"` // raw-socket copies refused by RawIpAllowedProtocols
	PPTPFilterDrops   uint64 `mib:"pptpFilterDrops"`   // non-PPTP datagrams on a PPTPFiltering interface
	RawInDelivers     uint64 `mib:"rawInDelivers"`     // datagrams queued on raw sockets
	RawRecvQueueDrops uint64 `mib:"rawRecvQueueDrops"` // raw socket receive queue full
}

const numStats = int(unsafe.Sizeof(Stats{}) / 8)

// counters gives atomic access to the Stats fields as an array.
func (st *Stats) counters() *[numStats]uint64 {
	return (*[numStats]uint64)(unsafe.Pointer(st))
}

func inc(p *uint64) { atomic.AddUint64(p, 1) }

func add(p *uint64, n int) { atomic.AddUint64(p, uint64(n)) }

// Stats returns a snapshot of the counters.
func (s *Stack) Stats() Stats {
	var out Stats
	src, dst := s.st.counters(), out.counters()
	for i := range src {
		dst[i] = atomic.LoadUint64(&src[i])
	}
	return out
}

var statNames = func() []string {
	t := reflect.TypeOf(Stats{})
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Tag.Get("mib")
	}
	return names
}()

// StatsMap returns the counters keyed by MIB-II (or Stapel) name.
func (s *Stack) StatsMap() map[string]uint64 {
	snap := s.Stats()
	c := snap.counters()
	m := make(map[string]uint64, numStats)
	for i, n := range statNames {
		m[n] = c[i]
	}
	return m
}

// StatNames lists the counter names in a stable order (IP, ICMP, UDP, then
// Stapel's own), for tools that print them.
func StatNames() []string { return append([]string(nil), statNames...) }

// icmpCounters maps an ICMP type to its in/out counters (nil if none).
func (st *Stats) icmpIn(typ uint8) *uint64 {
	switch typ {
	case 0:
		return &st.ICMPInEchoReps
	case 3:
		return &st.ICMPInDestUnreachs
	case 4:
		return &st.ICMPInSrcQuenchs
	case 5:
		return &st.ICMPInRedirects
	case 8:
		return &st.ICMPInEchos
	case 11:
		return &st.ICMPInTimeExcds
	case 12:
		return &st.ICMPInParmProbs
	case 13:
		return &st.ICMPInTimestamps
	case 14:
		return &st.ICMPInTimestampReps
	case 17:
		return &st.ICMPInAddrMasks
	case 18:
		return &st.ICMPInAddrMaskReps
	}
	return nil
}

func (st *Stats) icmpOut(typ uint8) *uint64 {
	switch typ {
	case 0:
		return &st.ICMPOutEchoReps
	case 3:
		return &st.ICMPOutDestUnreachs
	case 4:
		return &st.ICMPOutSrcQuenchs
	case 5:
		return &st.ICMPOutRedirects
	case 8:
		return &st.ICMPOutEchos
	case 11:
		return &st.ICMPOutTimeExcds
	case 12:
		return &st.ICMPOutParmProbs
	case 13:
		return &st.ICMPOutTimestamps
	case 14:
		return &st.ICMPOutTimestampReps
	case 17:
		return &st.ICMPOutAddrMasks
	case 18:
		return &st.ICMPOutAddrMaskReps
	}
	return nil
}
