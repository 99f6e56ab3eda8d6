package stack

import (
	"encoding/binary"
	"net/netip"

	"github.com/stapel-net/stapel/wire"
)

// txReq describes a datagram to send; its transport segment is already in
// buf[txHeadroom:] (buf nil: s.txBuf, see txSegLocked).
type txReq struct {
	buf        []byte
	src, dst   netip.Addr
	proto, ttl uint8
	tos        uint8
	df         bool
	// Forwarded datagrams keep their identity and fragment position.
	forwarded bool
	id        uint16
	opts      []byte
	fragOff   int
	mf        bool
	// gso > 0: a TCP super-segment to cut every gso payload bytes.
	gso int
}

// errFragNeeded tells the forwarding path to send ICMP fragmentation
// needed with the next-hop MTU.
type errFragNeeded struct{ mtu int }

func (e errFragNeeded) Error() string { return "fragmentation needed" }

// txSegLocked returns n bytes of the transmit buffer for the transport
// segment, leaving room in front for the IP and link headers.
func (s *Stack) txSegLocked(n int) []byte {
	return s.txBuf[txHeadroom : txHeadroom+n]
}

// sendLocked routes and transmits the datagram whose segment (segLen
// bytes) is in the transmit buffer. It is the single exit of the IP layer.
func (s *Stack) sendLocked(r *txReq, segLen int) error {
	if !r.forwarded {
		inc(&s.st.IPOutRequests)
	}
	if r.buf == nil {
		r.buf = s.txBuf
	}
	if len(r.opts) > 40 {
		return ErrInvalid
	}
	ihl := wire.IPv4MinHeaderLen + (len(r.opts)+3)&^3
	if ihl+segLen > maxDatagram {
		inc(&s.st.IPOutDiscards)
		return ErrMessageTooLong
	}
	if !r.dst.Is4() {
		inc(&s.st.IPOutNoRoutes)
		return ErrNoRoute
	}
	// Own addresses and 127/8 loop back internally (SPEC IP-16).
	if _, ok := s.local[r.dst]; ok || isLoopback(r.dst) {
		if !r.src.IsValid() {
			r.src = r.dst
			if isLoopback(r.dst) {
				r.src = loopbackAddr
			}
		}
		d := s.putIPHeaderLocked(r, ihl, segLen)
		s.loop.enqueueLocked(d)
		return nil
	}
	rt, ok := s.resolveLocked(r.dst, r.src)
	if !ok {
		inc(&s.st.IPOutNoRoutes)
		return ErrNoRoute
	}
	ifc := s.ifaceByIndexLocked(rt.IfIndex)
	if ifc == nil || !ifc.usableLocked() {
		inc(&s.st.IPOutNoRoutes)
		return ErrNoRoute
	}
	if !r.src.IsValid() || r.src.IsUnspecified() {
		r.src = rt.IfAddr
	}
	// Link destination: broadcast, multicast or ARP for the next hop.
	var dstMAC wire.MAC
	needARP := false
	bcast := rt.Kind == RouteBroadcast || r.dst == limitedBroadcast || ifc.isSubnetBroadcastLocked(r.dst)
	switch {
	case bcast:
		dstMAC = wire.BroadcastMAC
		if ifc.zero && !r.forwarded { // SPEC IP-15: 0-style broadcasts
			if nd := ifc.zeroStyleLocked(r.dst); nd != r.dst {
				r.dst = nd
				if r.proto == wire.ProtoUDP && segLen >= wire.UDPHeaderLen { // pseudo header changed
					seg := r.buf[txHeadroom : txHeadroom+segLen]
					wire.PutUDP(seg, r.src, r.dst, binary.BigEndian.Uint16(seg[0:2]), binary.BigEndian.Uint16(seg[2:4]))
				}
			}
		}
	case r.dst.IsMulticast():
		dstMAC = wire.MulticastMAC(r.dst)
	default:
		needARP = true
	}
	mtu := ifc.mtu
	if !r.forwarded && !bcast && !r.dst.IsMulticast() && s.learned.Len() > 0 {
		mtu = s.learned.PathMTU(r.dst, ifc.mtu) // ICMP-6: learned path MTU
	}
	d := s.putIPHeaderLocked(r, ihl, segLen)
	if len(d) > mtu && r.gso > 0 && !bcast && !r.dst.IsMulticast() && ihl == wire.IPv4MinHeaderLen {
		return s.sendGSOLocked(ifc, rt, r, d, needARP, mtu)
	}
	if len(d) > mtu && r.df {
		inc(&s.st.IPFragFails)
		inc(&s.st.IPOutFragNeeded)
		if r.forwarded {
			return errFragNeeded{ifc.mtu}
		}
		if mtu < ifc.mtu {
			s.localTooBigLocked(d, mtu)
		}
		return ErrNeedsFragmentation
	}
	// Broadcasts and joined groups also reach our own sockets.
	if bcast || (r.dst.IsMulticast() && ifc.groups[r.dst] > 0) {
		if !r.forwarded {
			s.loop.enqueueLocked(d)
		}
	}
	if needARP {
		next := r.dst
		if rt.Gateway.IsValid() {
			next = rt.Gateway
		}
		mac, ok := ifc.arp.resolveLocked(next, d, r.forwarded)
		if !ok {
			return nil // queued (or dropped and counted) pending resolution
		}
		dstMAC = mac
	}
	off := txHeadroom - ihl
	return ifc.transmitMTULocked(dstMAC, r.buf[:off+len(d)], off, mtu)
}

// putIPHeaderLocked writes the IP header in front of the segment and
// returns the whole datagram (a slice of the transmit buffer).
func (s *Stack) putIPHeaderLocked(r *txReq, ihl, segLen int) []byte {
	if r.ttl == 0 {
		r.ttl = s.p.defaultTTL
	}
	id := r.id
	if !r.forwarded {
		id = s.nextIPIDLocked()
	}
	h := wire.IPv4Header{
		TOS: r.tos, TotalLen: uint16(ihl + segLen), ID: id, DF: r.df, MF: r.mf, FragOff: r.fragOff,
		TTL: r.ttl, Protocol: r.proto, Src: r.src, Dst: r.dst, Options: r.opts,
	}
	off := txHeadroom - ihl
	h.Put(r.buf[off:txHeadroom])
	return r.buf[off : txHeadroom+segLen]
}

// transmitLocked sends the datagram buf[off:] to dstMAC, fragmenting it to
// the interface MTU if needed (SPEC IP-20). buf must have at least
// maxLinkHeader bytes of headroom before off.
func (ifc *Interface) transmitLocked(dstMAC wire.MAC, buf []byte, off int) error {
	return ifc.transmitMTULocked(dstMAC, buf, off, ifc.mtu)
}

// transmitMTULocked is transmitLocked fragmenting to mtu (≤ the
// interface MTU): the path MTU learned for the destination.
func (ifc *Interface) transmitMTULocked(dstMAC wire.MAC, buf []byte, off, mtu int) error {
	s := ifc.s
	d := buf[off:]
	mtu = min(mtu, ifc.mtu)
	if len(d) <= mtu {
		return ifc.writeFrameLocked(dstMAC, wire.EtherTypeIPv4, buf, off)
	}
	h, payload, err := wire.ParseIPv4(d)
	if err != nil {
		inc(&s.st.IPOutDiscards)
		return err
	}
	if h.DF { // queued DF datagrams after an MTU change
		inc(&s.st.IPFragFails)
		return ErrNeedsFragmentation
	}
	var optBuf [40]byte
	first := true
	n := 0
	for pos := 0; pos < len(payload); {
		fh := h
		if !first {
			fh.Options = optBuf[:wire.FragmentOptions(h.Options, optBuf[:])]
		}
		fihl := fh.HeaderLen()
		chunk := (mtu - fihl) &^ 7
		if chunk <= 0 {
			inc(&s.st.IPFragFails)
			return ErrNeedsFragmentation
		}
		last := pos+chunk >= len(payload)
		if last {
			chunk = len(payload) - pos
		}
		fh.FragOff = h.FragOff + pos
		fh.MF = h.MF || !last
		fh.TotalLen = uint16(fihl + chunk)
		fb := s.fragBuf
		foff := maxLinkHeader
		fh.Put(fb[foff : foff+fihl])
		copy(fb[foff+fihl:], payload[pos:pos+chunk])
		if err := ifc.writeFrameLocked(dstMAC, wire.EtherTypeIPv4, fb[:foff+fihl+chunk], foff); err != nil {
			return err
		}
		n++
		pos += chunk
		first = false
	}
	inc(&s.st.IPFragOKs)
	add(&s.st.IPFragCreates, n)
	return nil
}

// writeFrameLocked puts the link header in front of buf[off:] and writes
// the frame: DIX, or 802.3 SNAP when ArpUseEtherSNAP is set (SPEC LINK-2).
func (ifc *Interface) writeFrameLocked(dstMAC wire.MAC, et wire.EtherType, buf []byte, off int) error {
	s := ifc.s
	eh := wire.EthernetHeader{Dst: dstMAC, Src: ifc.mac, Type: et, SNAP: s.p.arpSNAP}
	start := off - eh.Len()
	eh.Put(buf[start:off])
	if eh.SNAP {
		wire.PutSNAPLength(buf[start:], len(buf)-off)
	}
	if err := ifc.ep.WriteFrame(buf[start:]); err != nil {
		inc(&s.st.LinkTxErrors)
		ifc.ctr.txErrors.Add(1)
		return err
	}
	inc(&s.st.LinkTxFrames)
	ifc.ctr.txBytes.Add(uint64(len(buf) - start))
	if dstMAC.IsMulticast() {
		ifc.ctr.txNonUnicast.Add(1)
	} else {
		ifc.ctr.txUnicast.Add(1)
	}
	return nil
}

// isSubnetBroadcastLocked: dst is the directed broadcast (either style) of
// one of the interface's subnets.
func (ifc *Interface) isSubnetBroadcastLocked(dst netip.Addr) bool {
	for _, a := range ifc.addrs {
		if a.state != addrActive || a.prefix.Bits() >= 31 || !a.prefix.Contains(dst) {
			continue
		}
		if dst == subnetBroadcast(a.prefix) || dst == a.prefix.Masked().Addr() {
			return true
		}
	}
	return false
}

// zeroStyleLocked maps an all-ones broadcast to its all-zeros form.
func (ifc *Interface) zeroStyleLocked(dst netip.Addr) netip.Addr {
	if dst == limitedBroadcast {
		return netip.IPv4Unspecified()
	}
	for _, a := range ifc.addrs {
		if a.prefix.Bits() < 31 && dst == subnetBroadcast(a.prefix) {
			return a.prefix.Masked().Addr()
		}
	}
	return dst
}

func isLoopback(a netip.Addr) bool { return a.Is4() && a.As4()[0] == 127 }

// copyDatagram copies a datagram into a new buffer with link headroom, for
// queues (ARP pending, loopback).
func copyDatagram(d []byte) []byte {
	b := make([]byte, maxLinkHeader+len(d))
	copy(b[maxLinkHeader:], d)
	return b
}
