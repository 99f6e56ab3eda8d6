package stack

import (
	"net/netip"
	"sync"

	"github.com/stapel-net/stapel/wire"
)

// delivery is a datagram accepted for local delivery. Its slices alias the
// received frame (or a reassembled or loopback buffer) and are valid only
// while it is being delivered.
type delivery struct {
	hdr     wire.IPv4Header
	raw     []byte // the whole datagram, from the IP header on
	payload []byte
	ifIndex int
	bcast   bool // sent to a broadcast or multicast address
	// off: taken whole from an offloading device (offload.go): checksum
	// trusted, possibly a TCP super-segment; local delivery only.
	off *rxOffload
	// filt: the receiving interface's security filter (IP-21), nil if none.
	filt *ifFilter
}

// rxFrame is the receive entry point for every interface.
func (s *Stack) rxFrame(ifc *Interface, frame []byte) { s.rxFrameMeta(ifc, frame, nil) }

// rxFrameMeta is rxFrame for a frame that may come with offload metadata.
func (s *Stack) rxFrameMeta(ifc *Interface, frame []byte, off *rxOffload) {
	inc(&s.st.LinkRxFrames)
	eh, payload, err := wire.ParseEthernet(frame)
	if err != nil {
		inc(&s.st.LinkRxMalformed)
		ifc.ctr.rxErrors.Add(1)
		return
	}
	s.mu.RLock()
	if ifc.removed {
		s.mu.RUnlock()
		return
	}
	// SPEC LINK-3: software receive filter.
	if eh.Dst != ifc.mac && !eh.Dst.IsBroadcast() && !(eh.Dst.IsMulticast() && ifc.mcastMACs[eh.Dst] > 0) {
		s.mu.RUnlock()
		inc(&s.st.LinkRxFiltered)
		return
	}
	ifc.ctr.rxBytes.Add(uint64(len(frame)))
	linkBcast := eh.Dst.IsBroadcast() || eh.Dst.IsMulticast()
	if linkBcast {
		ifc.ctr.rxNonUnicast.Add(1)
	} else {
		ifc.ctr.rxUnicast.Add(1)
	}
	if eh.Type == wire.EtherTypeIPv4 && !linkBcast {
		d := delivery{off: off}
		if s.ipInputFast(ifc, payload, &d) {
			s.mu.RUnlock()
			s.deliver(&d)
			return
		}
	}
	s.mu.RUnlock()
	if eh.Type != wire.EtherTypeARP && eh.Type != wire.EtherTypeIPv4 {
		inc(&s.st.LinkRxUnknownType)
		ifc.ctr.rxUnknown.Add(1)
		return
	}
	// Slow path: ARP, broadcasts, options, fragments, forwarding, errors.
	s.mu.Lock()
	if ifc.removed {
		s.mu.Unlock()
		return
	}
	if eh.Type == wire.EtherTypeARP {
		ifc.arpInputLocked(&eh, payload)
		s.mu.Unlock()
		return
	}
	d := delivery{off: off}
	ok := s.ipInputLocked(ifc, linkBcast, payload, &d)
	s.mu.Unlock()
	if ok {
		s.deliver(&d)
	}
}

// ipInputFast is ipInputLocked's common case, needing only the read lock:
// a valid option-less, unfragmented datagram unicast to one of our
// addresses from a plausible source. Anything else returns false,
// uncounted, for ipInputLocked under the write lock.
func (s *Stack) ipInputFast(ifc *Interface, b []byte, d *delivery) bool {
	h, payload, err := wire.ParseIPv4(b)
	if err != nil || len(h.Options) > 0 || h.MF || h.FragOff != 0 ||
		h.Src.IsMulticast() || h.Src == limitedBroadcast || isLoopback(h.Src) || isLoopback(h.Dst) {
		return false
	}
	if _, ok := s.local[h.Dst]; !ok {
		return false
	}
	inc(&s.st.IPInReceives)
	*d = delivery{hdr: h, raw: b[:h.TotalLen], payload: payload, ifIndex: ifc.index, off: d.off, filt: ifc.filter}
	return true
}

// ipInputLocked validates a datagram and decides its fate (SPEC IP-1):
// local delivery (returns true and fills d), forwarding, or a counted drop.
// ifc is nil for datagrams looped back internally.
func (s *Stack) ipInputLocked(ifc *Interface, linkBcast bool, b []byte, d *delivery) bool {
	inc(&s.st.IPInReceives)
	h, payload, err := wire.ParseIPv4(b)
	if err != nil {
		inc(&s.st.IPInHdrErrors)
		if ifc != nil {
			ifc.ctr.rxErrors.Add(1)
		}
		return false
	}
	b = b[:h.TotalLen]
	// RFC 1122 3.2.1.3: a source that cannot be a host is discarded.
	if h.Src.IsMulticast() || h.Src == limitedBroadcast || (ifc != nil && isLoopback(h.Src)) || (ifc != nil && isLoopback(h.Dst)) {
		inc(&s.st.IPInAddrErrors)
		return false
	}
	if len(h.Options) > 0 {
		if err := wire.ParseIPv4Options(h.Options, func(wire.IPv4Option) bool { return true }); err != nil {
			inc(&s.st.IPInHdrErrors)
			return false
		}
	}
	ifIndex := LoopbackIndex
	if ifc != nil {
		ifIndex = ifc.index
	}
	local, bcast := s.classifyLocked(ifc, h.Dst)
	local = local || ifc != nil && ifc.dhcpWantsLocked(&h, payload) // dhcpif.go: reply to a DHCP client
	// SPEC IP-18: source routing.
	if len(h.Options) > 0 && wire.HasSourceRoute(h.Options) {
		switch {
		case s.p.srcRouting == 2:
			inc(&s.st.IPSrcRouteDrops)
			return false
		case !local && s.p.srcRouting == 1:
			inc(&s.st.IPSrcRouteDrops)
			return false
		}
		// 1 accepts ones addressed to us (their remaining route is not
		// followed: we do not forward them); 0 follows the route onwards.
		if local && !bcast && ifc != nil && s.p.srcRouting == 0 {
			if next, opts, ok := s.sourceRouteNextLocked(&h); ok {
				fh := h
				fh.Dst, fh.Options = next, opts
				s.forwardLocked(ifc, &fh, b, payload)
				return false
			}
		}
	}
	if !local && d.off != nil {
		inc(&s.st.IPInAddrErrors) // an offloaded frame is never forwarded
		return false
	}
	if !local {
		if ifc == nil {
			inc(&s.st.IPInAddrErrors)
			return false
		}
		if linkBcast || !s.p.router { // RFC 1812 5.3.4: no forwarding of link broadcasts
			if linkBcast {
				inc(&s.st.IPLinkBcastDrops)
			}
			inc(&s.st.IPInAddrErrors)
			ifc.ctr.rxDiscards.Add(1)
			return false
		}
		s.forwardLocked(ifc, &h, b, payload)
		return false
	}
	if h.MF || h.FragOff != 0 {
		inc(&s.st.IPReasmReqds)
		full := s.reasm.addLocked(&h, b, payload, ifIndex)
		if full == nil {
			return false
		}
		h, payload, err = wire.ParseIPv4(full)
		if err != nil {
			inc(&s.st.IPReasmFails)
			return false
		}
		b = full
	}
	*d = delivery{hdr: h, raw: b, payload: payload, ifIndex: ifIndex, bcast: bcast || linkBcast, off: d.off}
	if ifc != nil {
		d.filt = ifc.filter // SPEC IP-21
	}
	return true
}

// classifyLocked says whether dst is for this host, and whether it is a
// broadcast or multicast address. Accepted: our unicast addresses (on any
// interface: weak host, SPEC IP-10), limited broadcast (both styles),
// subnet-directed and classful network broadcasts of the receiving
// interface (both styles, SPEC IP-15, AMB-5), joined groups.
func (s *Stack) classifyLocked(ifc *Interface, dst netip.Addr) (local, bcast bool) {
	if _, ok := s.local[dst]; ok {
		return true, false
	}
	if ifc == nil { // loopback: whatever we sent to ourselves
		return true, !isLoopback(dst)
	}
	if dst == limitedBroadcast || dst.IsUnspecified() {
		return true, true
	}
	if dst.IsMulticast() {
		return ifc.groups[dst] > 0, true
	}
	if ifc.isSubnetBroadcastLocked(dst) {
		return true, true
	}
	for _, a := range ifc.addrs {
		if a.state != addrActive {
			continue
		}
		if cp, ok := classfulPrefix(a.prefix.Addr()); ok && cp.Bits() < a.prefix.Bits() && cp.Contains(dst) &&
			(dst == subnetBroadcast(cp) || dst == cp.Addr()) {
			return true, true
		}
	}
	return false, false
}

// isBroadcastLocked reports whether dst is a broadcast address on any
// interface (for the ICMP error rules).
func (s *Stack) isBroadcastLocked(dst netip.Addr) bool {
	if dst == limitedBroadcast || dst.IsUnspecified() || dst.IsMulticast() {
		return true
	}
	for _, ifc := range s.ifaces {
		if _, b := s.classifyLocked(ifc, dst); b {
			return true
		}
	}
	return false
}

// deliver hands a local datagram to its protocol, without s.mu held so
// that handlers may send (SPEC IP-1 (a)).
func (s *Stack) deliver(d *delivery) {
	if d.filt != nil && !s.filterInbound(d) { // SPEC IP-21: dropped silently
		return
	}
	switch d.hdr.Protocol {
	case wire.ProtoICMP:
		inc(&s.st.IPInDelivers)
		s.rawInput(d) // raw.go: raw ICMP sockets get a copy too
		s.icmpInput(d)
	case wire.ProtoUDP:
		inc(&s.st.IPInDelivers)
		s.udpInput(d)
	case wire.ProtoIGMP:
		inc(&s.st.IPInDelivers)
		s.rawInput(d)  // raw.go: raw IGMP sockets get a copy too
		s.igmpInput(d) // igmp.go
	default:
		raw := s.rawInput(d) // raw.go
		if slot := s.transports[d.hdr.Protocol].Load(); slot != nil {
			inc(&s.st.IPInDelivers)
			p := inboundPool.Get().(*InboundPacket)
			*p = InboundPacket{Src: d.hdr.Src, Dst: d.hdr.Dst, TTL: d.hdr.TTL, TOS: d.hdr.TOS,
				Payload: d.payload, Interface: d.ifIndex, Broadcast: d.bcast}
			if d.off != nil {
				p.ChecksumValid, p.GSOSize = true, d.off.gsoSize
			}
			slot.h.HandlePacket(p)
			*p = InboundPacket{}
			inboundPool.Put(p)
			return
		}
		if raw {
			inc(&s.st.IPInDelivers)
			return
		}
		inc(&s.st.IPInUnknownProtos)
		if !d.bcast {
			s.mu.Lock()
			s.icmpErrorLocked(d.raw, &d.hdr, icmpDestUnreachable, icmpProtoUnreachable, [4]byte{}, false)
			s.mu.Unlock()
		}
	}
}

// inboundPool recycles InboundPackets: handing a pointer to an interface
// method would otherwise allocate one per datagram.
var inboundPool = sync.Pool{New: func() any { return new(InboundPacket) }}

// forwardLocked implements simple routing when IPEnableRouter=1 (SPEC
// IP-8): TTL, next-hop fragmentation or "fragmentation needed", no
// broadcasts, and redirects to hosts on the incoming subnet (redirect.go).
func (s *Stack) forwardLocked(in *Interface, h *wire.IPv4Header, b, payload []byte) {
	if s.isBroadcastLocked(h.Dst) { // SPEC IP-15: broadcasts are not forwarded
		inc(&s.st.IPInAddrErrors)
		return
	}
	if h.TTL <= 1 {
		inc(&s.st.IPInTTLExceeded)
		inc(&s.st.IPInDiscards)
		s.icmpErrorLocked(b, h, icmpTimeExceeded, icmpTTLExceeded, [4]byte{}, false)
		return
	}
	rt, ok := s.routes.lookup(s, h.Dst, netip.Addr{})
	if !ok {
		inc(&s.st.IPOutNoRoutes)
		inc(&s.st.IPRoutingDiscards)
		s.icmpErrorLocked(b, h, icmpDestUnreachable, icmpNetUnreachable, [4]byte{}, false)
		return
	}
	s.redirectHostLocked(in, h, b, rt)
	var opts [40]byte
	r := txReq{src: h.Src, dst: h.Dst, proto: h.Protocol, ttl: h.TTL - 1, tos: h.TOS, df: h.DF,
		forwarded: true, id: h.ID, opts: opts[:copy(opts[:], h.Options)], fragOff: h.FragOff, mf: h.MF}
	copy(s.txSegLocked(len(payload)), payload)
	err := s.sendLocked(&r, len(payload))
	if fn, ok := err.(errFragNeeded); ok {
		var rest [4]byte
		rest[2], rest[3] = byte(fn.mtu>>8), byte(fn.mtu)
		s.icmpErrorLocked(b, h, icmpDestUnreachable, icmpFragNeeded, rest, false)
		return
	}
	if err != nil {
		inc(&s.st.IPOutDiscards)
		return
	}
	inc(&s.st.IPForwDatagrams)
}
