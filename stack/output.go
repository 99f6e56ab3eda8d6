package stack

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"

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
	// qos: the flow the classifier put the datagram in (qos.go), or nil.
	qos *QoSFlow
	// Multicast (igmp.go, udpmcast.go): noLoop keeps the copy for our
	// own members back; hostOnly (TTL 0) sends nothing on the wire.
	noLoop, hostOnly bool
}

// errFragNeeded tells the forwarding path to send ICMP fragmentation
// needed with the next-hop MTU.
type errFragNeeded struct{ mtu int }

func (e errFragNeeded) Error() string { return "fragmentation needed" }

// txSegLocked returns n bytes of the transmit buffer for the transport
// segment, leaving room in front for the IP and link headers. s.txBuf is
// only used under the write lock, with sendLocked.
func (s *Stack) txSegLocked(n int) []byte {
	return s.txBuf[txHeadroom : txHeadroom+n]
}

// txBufPool holds transmit buffers (headroom and the largest datagram)
// for senders that do not hold the write lock (WriteIP, UDP).
var txBufPool = sync.Pool{New: func() any {
	b := make([]byte, txHeadroom+maxDatagram)
	return &b
}}

// fragBufPool holds the buffer transmitMTU cuts fragments into, so
// senders fragmenting at once do not share one.
var fragBufPool = sync.Pool{New: func() any {
	b := make([]byte, maxLinkHeader+maxIPHeader+maxDatagram)
	return &b
}}

// txPlan is a datagram that planLocked routed and put the IP header on,
// ready for the link: r.buf[off:end] to dstMAC on ifc.
type txPlan struct {
	ifc      *Interface // nil: nothing to write (looped back, or queued for ARP)
	dstMAC   wire.MAC
	off, end int
	mtu      int
	gsoSize  int // > 0: a TCP super-segment of gsoSegs pieces for the device
	gsoSegs  int
	qos      *QoSFlow // classified flow (qos.go), or nil
}

// errSlowPath is planLocked's answer under the read lock when the
// datagram needs stack state changed (loopback queue, broadcast copies,
// an ARP miss, a local "fragmentation needed"): retry with the write lock.
var errSlowPath = errors.New("stack: needs the write lock")

// sendLocked routes and transmits the datagram whose segment (segLen
// bytes) is in r.buf (nil: s.txBuf) with the write lock held, frame
// writes included. Used by the slow paths (ICMP, forwarding); transports
// and UDP use send.
func (s *Stack) sendLocked(r *txReq, segLen int) error {
	if !r.forwarded {
		inc(&s.st.IPOutRequests)
	}
	var p txPlan
	if err := s.planLocked(r, segLen, false, &p); err != nil || p.ifc == nil {
		return err
	}
	return p.transmit(r.buf)
}

// send is sendLocked for a caller that holds no stack lock and owns
// r.buf: the datagram is planned under the read lock (the write lock if
// planLocked asks for it) and written to the link with no lock held, so
// flows on other cores neither wait for this one's syscall nor for each
// other. Frames of one flow keep their order as long as its sender
// serialises its calls (TCP's send lock, one goroutine per UDP write).
func (s *Stack) send(r *txReq, segLen int) error {
	inc(&s.st.IPOutRequests)
	if fl := s.qos.flows.Load(); fl != nil { // SPEC QOS-5: packet classifier
		s.classify(r, segLen, *fl)
	}
	var p txPlan
	r0 := *r // planLocked fills in r.src and r.ttl; a retry starts over
	s.mu.RLock()
	err := s.planLocked(r, segLen, true, &p)
	s.mu.RUnlock()
	if err == errSlowPath {
		*r = r0
		s.mu.Lock()
		err = s.planLocked(r, segLen, false, &p)
		s.mu.Unlock()
	}
	if err != nil || p.ifc == nil {
		return err
	}
	return p.transmit(r.buf)
}

// planLocked does the IP layer's work for a datagram (route, source,
// link destination, MTU, header) and says in p what to write. It is the
// single exit of the IP layer. shared: only the read lock is held; then
// it changes no stack state and returns errSlowPath, before counting
// anything, where it would.
func (s *Stack) planLocked(r *txReq, segLen int, shared bool, p *txPlan) error {
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
		if shared {
			return errSlowPath
		}
		if !r.src.IsValid() {
			r.src = r.dst
			if isLoopback(r.dst) {
				r.src = loopbackAddr
			}
		}
		d := s.putIPHeader(r, ihl, segLen, 1)
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
	// Link destination: broadcast, multicast or ARP for the next hop.
	var dstMAC wire.MAC
	needARP := false
	bcast := rt.Kind == RouteBroadcast || r.dst == limitedBroadcast || ifc.isSubnetBroadcastLocked(r.dst)
	if shared && (bcast || r.dst.IsMulticast()) {
		return errSlowPath // copies go to our own sockets
	}
	if !r.src.IsValid() || r.src.IsUnspecified() {
		r.src = rt.IfAddr
	}
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
	if !r.forwarded && !bcast && !r.dst.IsMulticast() && s.learnedAny.Load() {
		mtu = s.learned.PathMTU(r.dst, ifc.mtu) // ICMP-6: learned path MTU
	}
	gso := ihl+segLen > mtu && r.gso > 0 && !bcast && !r.dst.IsMulticast() && ihl == wire.IPv4MinHeaderLen
	if !gso && ihl+segLen > mtu && r.df && shared {
		return errSlowPath
	}
	segs := 1
	if gso {
		n, err := s.gsoSegs(ifc, r, segLen, mtu)
		if err != nil {
			return err
		}
		segs = n
	}
	d := s.putIPHeader(r, ihl, segLen, segs)
	if !gso && len(d) > mtu && r.df {
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
	if bcast || (r.dst.IsMulticast() && ifc.groups[r.dst] > 0 && !r.noLoop) {
		if !r.forwarded {
			s.loop.enqueueLocked(d)
		}
	}
	if r.hostOnly {
		return nil // SPEC MCAST-4: TTL 0 stays on this host
	}
	if needARP {
		next := r.dst
		if rt.Gateway.IsValid() {
			next = rt.Gateway
		}
		var mac wire.MAC
		if shared {
			if mac, ok = ifc.arp.lookupLocked(next); !ok {
				return errSlowPath
			}
		} else if mac, ok = ifc.arp.resolveLocked(next, d, r.forwarded); !ok {
			// Queued (or dropped and counted) pending resolution. Rare for
			// a super-segment (TCP's SYN resolved the neighbour): it later
			// goes out as IP fragments, which is correct.
			return nil
		}
		dstMAC = mac
	}
	*p = txPlan{ifc: ifc, dstMAC: dstMAC, off: txHeadroom - ihl, end: txHeadroom + segLen, mtu: mtu, qos: r.qos}
	if gso {
		p.gsoSize, p.gsoSegs = r.gso, segs
	}
	return nil
}

// transmit writes a planned datagram (buf[p.off:p.end]) to the link. It
// needs no stack lock: it touches only the interface's fixed fields, its
// endpoint (safe for concurrent use), atomics and a pooled buffer.
func (p *txPlan) transmit(buf []byte) error {
	if p.ifc.qos != nil { // 802.1p tagging or the packet scheduler (qos.go)
		return p.transmitQoS(p.ifc.qos, buf)
	}
	if p.gsoSegs > 0 {
		return p.ifc.writeGSO(p.dstMAC, buf[:p.end], p.off, p.gsoSize, p.gsoSegs)
	}
	return p.ifc.transmitMTU(p.dstMAC, buf[:p.end], p.off, p.mtu)
}

// putIPHeader writes the IP header in front of the segment and returns
// the whole datagram (a slice of r.buf). ids IP IDs are reserved: a
// super-segment's pieces take consecutive ones.
func (s *Stack) putIPHeader(r *txReq, ihl, segLen, ids int) []byte {
	if r.ttl == 0 {
		r.ttl = s.p.defaultTTL
	}
	id := r.id
	if !r.forwarded {
		id = s.nextIPIDs(ids)
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
	if ifc.qos != nil { // datagrams released by ARP get their tag and queue too (qos.go)
		return ifc.transmitQueuedQoS(dstMAC, buf, off)
	}
	return ifc.transmitMTU(dstMAC, buf, off, ifc.mtu)
}

// transmitMTU is transmitLocked fragmenting to mtu (≤ the interface
// MTU): the path MTU learned for the destination. It needs no lock.
func (ifc *Interface) transmitMTU(dstMAC wire.MAC, buf []byte, off, mtu int) error {
	return ifc.transmitVia(dstMAC, buf, off, mtu, nil)
}

// transmitVia is transmitMTU handing the frames to the QoS stage o when
// it is not nil.
func (ifc *Interface) transmitVia(dstMAC wire.MAC, buf []byte, off, mtu int, o *qosOut) error {
	s := ifc.s
	d := buf[off:]
	mtu = min(mtu, ifc.mtu)
	if len(d) <= mtu {
		if o != nil {
			return o.frame(dstMAC, buf, off)
		}
		return ifc.writeFrame(dstMAC, wire.EtherTypeIPv4, buf, off)
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
	fbp := fragBufPool.Get().(*[]byte)
	defer fragBufPool.Put(fbp)
	fb := *fbp
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
		foff := maxLinkHeader
		fh.Put(fb[foff : foff+fihl])
		copy(fb[foff+fihl:], payload[pos:pos+chunk])
		var err error
		if o != nil {
			err = o.frame(dstMAC, fb[:foff+fihl+chunk], foff)
		} else {
			err = ifc.writeFrame(dstMAC, wire.EtherTypeIPv4, fb[:foff+fihl+chunk], foff)
		}
		if err != nil {
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

// writeFrame puts the link header in front of buf[off:] and writes the
// frame: DIX, or 802.3 SNAP when ArpUseEtherSNAP is set (SPEC LINK-2).
// It needs no lock (see transmit).
func (ifc *Interface) writeFrame(dstMAC wire.MAC, et wire.EtherType, buf []byte, off int) error {
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
