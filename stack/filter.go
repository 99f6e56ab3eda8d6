package stack

import (
	"encoding/binary"

	"github.com/stapel-net/stapel/wire"
)

// SPEC: IP-21, SEC-5 — TCP/IP security filters ("TCP/IP filtering").
//
// With Tcpip.Parameters EnableSecurityFilters=1 each interface may carry
// three inbound allow-lists: TCP SYNs by destination port, UDP datagrams
// by destination port, and datagrams for the raw-IP transport (raw
// sockets, raw.go) by protocol. A list that is absent (nil) allows
// everything, an empty list nothing, a single 0 everything (config
// rejects 0 mixed with other values). The filter is that of the
// interface the datagram arrived on and so applies to all of its
// addresses; datagrams looped back inside the host are never filtered.
//
// What a filtered datagram does: it is dropped silently, as Windows does.
// A filtered SYN gets no RST and a filtered UDP datagram no ICMP port
// unreachable, so a scanner sees the port as "filtered", not "closed".
// Only SYNs (SYN without ACK) are checked for TCP: segments of
// connections already made (outbound ones included) pass. Broadcast and
// multicast UDP is filtered like unicast, except replies to the host's
// own DHCP client (UDP 68). ICMP, and protocols the stack handles itself
// (registered transports, IGMP), are not affected by
// RawIpAllowedProtocols: it only decides which datagrams raw sockets
// see. Each drop counts in Stats (secFilterTcpDrops, secFilterUdpDrops,
// secFilterRawDrops) and, except raw copies, in ipInDiscards.
//
// PPTPFiltering=1 (SEC-5; independent of EnableSecurityFilters, as on
// Windows) accepts only PPTP on the interface: TCP to or from port 1723
// and GRE. Every other datagram, ICMP included, is dropped silently
// (pptpFilterDrops, ipInDiscards).
//
// The lists become bitsets when the interface is added; the receive path
// takes the interface's pointer under the lock it already holds
// (delivery.filt) and tests one bit: no allocation, no extra lock.

// ifFilter is one interface's compiled allow-lists. A nil bitset allows
// everything; a nil *ifFilter (filters off, or all lists absent) skips
// the check altogether.
type ifFilter struct {
	tcp, udp *[65536 / 64]uint64
	raw      *[256 / 64]uint64
	pptp     bool // PPTPFiltering (SEC-5)
}

// newIfFilter compiles ic's PPTPFiltering and, when lists is set
// (EnableSecurityFilters), its allow-lists; nil when nothing filters.
func newIfFilter(ic *InterfaceConfig, lists bool) *ifFilter {
	f := &ifFilter{pptp: ic.PPTPFiltering}
	if !lists {
		if f.pptp {
			return f
		}
		return nil
	}
	if l := ic.TCPAllowedPorts; l != nil && !allowsAll(l) {
		f.tcp = new([65536 / 64]uint64)
		setBits(f.tcp[:], l, 65535)
	}
	if l := ic.UDPAllowedPorts; l != nil && !allowsAll(l) {
		f.udp = new([65536 / 64]uint64)
		setBits(f.udp[:], l, 65535)
	}
	if l := ic.RawAllowedProtocols; l != nil && !allowsAll(l) {
		f.raw = new([256 / 64]uint64)
		setBits(f.raw[:], l, 255)
	}
	if f.tcp == nil && f.udp == nil && f.raw == nil && !f.pptp {
		return nil
	}
	return f
}

// allowsAll: a list holding 0 means "all" (IP-21; config rejects 0
// mixed with others, so any 0 is taken as the single 0).
func allowsAll(l []int) bool {
	for _, v := range l {
		if v == 0 {
			return true
		}
	}
	return false
}

func setBits(b []uint64, l []int, maxV int) {
	for _, v := range l {
		if v > 0 && v <= maxV {
			b[v/64] |= 1 << (v % 64)
		}
	}
}

func bitSet(b []uint64, v int) bool { return b[v/64]&(1<<(v%64)) != 0 }

// allowsRaw says whether datagrams of proto may reach raw sockets.
func (f *ifFilter) allowsRaw(proto uint8) bool {
	return f == nil || f.raw == nil || bitSet(f.raw[:], int(proto))
}

// filterInbound applies the TCP and UDP lists to a datagram about to be
// delivered (deliver, without the stack lock: d.filt is immutable). It
// reports false, counted, for a datagram to drop silently.
func (s *Stack) filterInbound(d *delivery) bool {
	f := d.filt
	if f.pptp && !isPPTP(d) {
		inc(&s.st.PPTPFilterDrops)
		inc(&s.st.IPInDiscards)
		return false
	}
	switch d.hdr.Protocol {
	case wire.ProtoTCP:
		// Only a SYN (flags at offset 13: SYN 0x02 without ACK 0x10)
		// opens a connection; a runt is left for TCP to discard.
		if f.tcp == nil || len(d.payload) < 14 || d.payload[13]&0x12 != 0x02 {
			return true
		}
		if bitSet(f.tcp[:], int(binary.BigEndian.Uint16(d.payload[2:4]))) {
			return true
		}
		inc(&s.st.SecFilterTCPDrops)
	case wire.ProtoUDP:
		if f.udp == nil || len(d.payload) < 4 {
			return true
		}
		// The host's own DHCP client (port 68) is exempt: filtering its
		// replies would cost the interface its lease.
		if port := binary.BigEndian.Uint16(d.payload[2:4]); port == 68 || bitSet(f.udp[:], int(port)) {
			return true
		}
		inc(&s.st.SecFilterUDPDrops)
	default:
		return true
	}
	inc(&s.st.IPInDiscards)
	return false
}

// PPTP (RFC 2637): the control connection port and GRE, which carries the data.
const (
	pptpPort = 1723
	protoGRE = 47
)

// isPPTP: GRE, or TCP to or from the PPTP port (PPTPFiltering, SEC-5).
func isPPTP(d *delivery) bool {
	switch d.hdr.Protocol {
	case protoGRE:
		return true
	case wire.ProtoTCP:
		return len(d.payload) >= 4 && (binary.BigEndian.Uint16(d.payload[0:2]) == pptpPort ||
			binary.BigEndian.Uint16(d.payload[2:4]) == pptpPort)
	}
	return false
}
