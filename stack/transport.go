package stack

import (
	"net/netip"

	"github.com/stapel-net/stapel/wire"
)

// InboundPacket is a datagram delivered to a transport. The packet and
// its Payload (the transport header and data) are valid only during
// HandlePacket: the stack reuses them.
type InboundPacket struct {
	Src, Dst netip.Addr
	TTL, TOS uint8
	Payload  []byte
	// Interface is the receiving interface index (1 = internal loopback).
	Interface int
	// Broadcast: sent to a broadcast or multicast address.
	Broadcast bool
	// ChecksumValid: the device verified the transport checksum or the
	// datagram never crossed a wire (link offload); do not check it. Set
	// only for an OffloadTransport.
	ChecksumValid bool
	// GSOSize > 0: Payload is a TCP super-segment of GSOSize-byte
	// segments (link.GSOTCPv4), larger than the path MTU allows. Set only
	// for an OffloadTransport.
	GSOSize int
}

// ControlError is an ICMP error about a datagram a transport sent.
type ControlError struct {
	Type, Code uint8
	// MTU is the next-hop MTU of a fragmentation-needed error (0 if none
	// was given: an RFC 1191 "old-style" router).
	MTU int
	// Src, Dst and Proto are those of the original datagram.
	Src, Dst netip.Addr
	Proto    uint8
	// Payload holds the first (at least 8) bytes of the original transport
	// header; valid only during HandleError.
	Payload []byte
	// From is the host that sent the ICMP error.
	From netip.Addr
}

// TransportHandler is a transport protocol plugged into the stack (TCP).
// Both methods are called without stack locks held and may call WriteIP.
type TransportHandler interface {
	HandlePacket(p *InboundPacket)
	HandleError(e *ControlError)
}

// RegisterTransport installs h for IP protocol proto (replacing any
// previous one; nil removes it). ICMP and UDP are built in.
func (s *Stack) RegisterTransport(proto uint8, h TransportHandler) {
	if h == nil {
		s.transports[proto].Store(nil)
		return
	}
	ot, ok := h.(OffloadTransport)
	s.transports[proto].Store(&transportSlot{h: h, offload: ok && ot.AcceptsOffload()})
}

// OutboundPacket is a datagram a transport sends. Header and Payload are
// concatenated into the IP payload; the stack copies them.
type OutboundPacket struct {
	Src, Dst   netip.Addr // Src may be invalid: chosen by route
	Proto, TTL uint8      // TTL 0 = DefaultTTL
	TOS        uint8
	DF         bool
	Header     []byte
	Payload    []byte
	// GSOSize > 0 (TCP only, with WriteIPBuf): the segment is a
	// super-segment up to RouteInfo.GSOMax to be cut every GSOSize
	// payload bytes by the device (TSO) or, failing that, in software;
	// each piece gets its own IP ID.
	GSOSize int
}

// WriteIP sends a transport datagram. It returns ErrNoRoute,
// ErrNeedsFragmentation (DF set and larger than the route MTU) or
// ErrMessageTooLong; a datagram waiting for ARP counts as sent.
func (s *Stack) WriteIP(p OutboundPacket) error {
	n := len(p.Header) + len(p.Payload)
	if n > maxDatagram-maxIPHeader {
		return ErrMessageTooLong
	}
	bp := txBufPool.Get().(*[]byte)
	defer txBufPool.Put(bp)
	buf := (*bp)[:txHeadroom+n]
	copy(buf[txHeadroom:], p.Header)
	copy(buf[txHeadroom+len(p.Header):], p.Payload)
	return s.send(&txReq{buf: buf, src: p.Src, dst: p.Dst, proto: p.Proto, ttl: p.TTL, tos: p.TOS, df: p.DF}, n)
}

// TxHeadroom is the space WriteIPBuf needs in front of a transport
// segment for the IP header (with options) and the largest link header.
const TxHeadroom = txHeadroom

// WriteIPBuf is WriteIP without copying the segment: buf[TxHeadroom:] is
// the transport segment (p.Header and p.Payload are ignored) and
// buf[:TxHeadroom] is scratch space the stack writes the IP and link
// headers into. buf is the stack's only during the call.
func (s *Stack) WriteIPBuf(p OutboundPacket, buf []byte) error {
	if len(buf) < txHeadroom {
		return ErrInvalid
	}
	n := len(buf) - txHeadroom
	if n > maxDatagram-maxIPHeader {
		return ErrMessageTooLong
	}
	r := txReq{buf: buf, src: p.Src, dst: p.Dst, proto: p.Proto, ttl: p.TTL, tos: p.TOS, df: p.DF}
	if p.Proto == wire.ProtoTCP {
		r.gso = p.GSOSize
	}
	return s.send(&r, n)
}

// RouteInfo is what a transport needs to know about the path to dst.
type RouteInfo struct {
	Src netip.Addr // source address to use (IP-10/IP-11)
	// MTU is the path MTU to use: the interface MTU, lowered by a learned
	// "fragmentation needed" (ICMP-6, TCP-PMTU-3), or 576 for a
	// destination off the local subnets with EnablePMTUDiscovery=0
	// (TCP-PMTU-5).
	MTU     int
	Gateway netip.Addr // next hop in use (redirect/dead-gateway RCE applied); invalid when on-link
	IfIndex int
	Local   bool // dst is this host: looped back internally
	// LinkMTU is the interface MTU; OnLink: dst is on a connected subnet
	// (TCP sets DF only to other destinations, TCP-PMTU-2).
	LinkMTU int
	OnLink  bool
	// GSOMax > 0: the interface's device segments TCP (link.Offloads.TSO);
	// a TCP datagram up to GSOMax bytes (IP header included) may be sent
	// with OutboundPacket.GSOSize through WriteIPBuf.
	GSOMax int
}

// loopbackMTU is the MTU reported for datagrams to our own addresses.
const loopbackMTU = 1500

// pmtuOffMTU is the MTU to non-local destinations with
// EnablePMTUDiscovery=0 (SPEC TCP-PMTU-5).
const pmtuOffMTU = 576

// Route looks up dst (SPEC IP-3) and says which source address, MTU and
// interface a datagram to it would use.
func (s *Stack) Route(dst netip.Addr) (RouteInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.routeInfoLocked(dst, netip.Addr{})
}

// RouteFrom is Route for a socket bound to src (which wins ties, IP-10).
func (s *Stack) RouteFrom(dst, src netip.Addr) (RouteInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.routeInfoLocked(dst, src)
}

func (s *Stack) routeInfoLocked(dst, src netip.Addr) (RouteInfo, error) {
	if !dst.Is4() {
		return RouteInfo{}, ErrNoRoute
	}
	if _, ok := s.local[dst]; ok {
		return RouteInfo{Src: dst, MTU: loopbackMTU, IfIndex: LoopbackIndex, Local: true}, nil
	}
	if isLoopback(dst) {
		return RouteInfo{Src: loopbackAddr, MTU: loopbackMTU, IfIndex: LoopbackIndex, Local: true}, nil
	}
	rt, ok := s.resolveLocked(dst, src)
	if !ok {
		return RouteInfo{}, ErrNoRoute
	}
	ifc := s.ifaceByIndexLocked(rt.IfIndex)
	if ifc == nil {
		return RouteInfo{}, ErrNoRoute
	}
	s.noteRCELocked(dst, rt)
	mtu := ifc.mtu
	if s.learnedAny.Load() {
		mtu = s.learned.PathMTU(dst, ifc.mtu)
	}
	ri := RouteInfo{Src: rt.IfAddr, MTU: mtu, Gateway: rt.Gateway, IfIndex: rt.IfIndex,
		LinkMTU: ifc.mtu, OnLink: !rt.Gateway.IsValid()}
	if !ri.OnLink && !s.p.pmtuDiscovery {
		ri.MTU = min(ri.MTU, pmtuOffMTU) // SPEC TCP-PMTU-5
	}
	if src.IsValid() && !src.IsUnspecified() {
		ri.Src = src
	}
	ri.GSOMax = ifc.tsoMaxLocked()
	return ri, nil
}

// IsLocalAddr reports whether a is an active address of this host.
func (s *Stack) IsLocalAddr(a netip.Addr) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.local[a]
	return ok
}
