package stack

import (
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/hostroutes"
	"github.com/stapel-net/stapel/wire"
)

// errTransport stands in for TCP on a spare protocol number: it records
// the control errors the stack delivers.
type errTransport struct {
	mu   sync.Mutex
	errs []ControlError
}

const fakeProto = 253

func (f *errTransport) HandlePacket(*InboundPacket) {}
func (f *errTransport) HandleError(e *ControlError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *e
	c.Payload = append([]byte(nil), e.Payload...)
	f.errs = append(f.errs, c)
}

func (f *errTransport) take() []ControlError {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.errs
	f.errs = nil
	return e
}

func seg(n int, tag byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = tag
	}
	return b
}

// SPEC: ICMP-6, TCP-PMTU-3, IP-20 — a router's "fragmentation needed"
// lowers the path MTU; the transport that sent the quoted datagram gets
// the new MTU, and so does any other sender of a DF datagram above it
// (the stack refuses it and reports the MTU), so every connection on the
// path shrinks; datagrams without DF are fragmented to the path MTU by
// the host, not by the router.
func TestPMTUFragNeededLowersPath(t *testing.T) {
	rn := newRouted(t, 576, nil)
	ft := &errTransport{}
	rn.a.RegisterTransport(fakeProto, ft)
	dst := ip("203.0.113.2")
	if ri, _ := rn.a.Route(dst); ri.MTU != 1500 {
		t.Fatalf("initial path MTU %d", ri.MTU)
	}
	if err := rn.a.WriteIP(OutboundPacket{Dst: dst, Proto: fakeProto, DF: true, Payload: seg(1000, 1)}); err != nil {
		t.Fatal(err)
	}
	rn.n.Run(time.Second)
	errs := ft.take()
	if len(errs) != 1 || errs[0].Code != 4 || errs[0].MTU != 576 || errs[0].From != ip("198.51.100.1") || errs[0].Payload[0] != 1 {
		t.Fatalf("transport errors %+v", errs)
	}
	ri, _ := rn.a.Route(dst)
	if ri.MTU != 576 || ri.LinkMTU != 1500 || rn.a.PathMTU(dst) != 576 {
		t.Fatalf("route after frag needed: %+v", ri)
	}
	if st := rn.a.LearnedRouteStats(); st.Entries != 1 || st.Lowered != 1 {
		t.Fatalf("learned %+v", st)
	}
	// Another sender on the same path ("connection 2"): refused locally,
	// told the MTU, so it resends smaller without a round trip.
	err := rn.a.WriteIP(OutboundPacket{Dst: dst, Proto: fakeProto, DF: true, Payload: seg(1000, 2)})
	if !errors.Is(err, ErrNeedsFragmentation) {
		t.Fatalf("DF above path MTU: %v", err)
	}
	rn.n.Run(time.Millisecond)
	errs = ft.take()
	if len(errs) != 1 || errs[0].MTU != 576 || errs[0].From != ip("198.51.100.2") || errs[0].Payload[0] != 2 {
		t.Fatalf("local too-big errors %+v", errs)
	}
	if err := rn.a.WriteIP(OutboundPacket{Dst: dst, Proto: fakeProto, DF: true, Payload: seg(556, 3)}); err != nil {
		t.Fatalf("DF at path MTU: %v", err)
	}
	// Without DF the host fragments to 576; the router has nothing to do.
	before := rn.r.Stats().IPFragOKs
	c := startCapture(rn.segA)
	if err := rn.a.WriteIP(OutboundPacket{Dst: dst, Proto: fakeProto, Payload: seg(1400, 4)}); err != nil {
		t.Fatal(err)
	}
	rn.n.Run(time.Second)
	if rn.r.Stats().IPFragOKs != before {
		t.Fatal("router had to fragment")
	}
	frags := 0
	for _, p := range c.packets(t) {
		if ipl, _ := icmpOf(p); ipl != nil && ipl.Protocol == fakeProto {
			frags++
			if int(ipl.Length) > 576 {
				t.Fatalf("fragment of %d bytes on a 576 path", ipl.Length)
			}
		}
	}
	if frags != 3 {
		t.Fatalf("%d fragments, want 3", frags)
	}
}

// fragNeededFrame builds an ICMP "fragmentation needed" from router (MAC
// of station r) to host, quoting a datagram host→dst of quotedLen bytes.
func fragNeededFrame(r *rawStation, hostMAC wire.MAC, router, host, dst netip.Addr, mtu, quotedLen int) []byte {
	return fragNeededFrameFrom(r, hostMAC, router, host, host, dst, mtu, quotedLen)
}

// fragNeededFrameFrom quotes a datagram from qsrc (not necessarily host).
func fragNeededFrameFrom(r *rawStation, hostMAC wire.MAC, router, host, qsrc, dst netip.Addr, mtu, quotedLen int) []byte {
	const qlen = wire.IPv4MinHeaderLen + 8
	icmpLen := wire.ICMPv4HeaderLen + qlen
	f := make([]byte, wire.EthernetHeaderLen+wire.IPv4MinHeaderLen+icmpLen)
	eh := wire.EthernetHeader{Dst: hostMAC, Src: r.mac(), Type: wire.EtherTypeIPv4}
	eh.Put(f)
	ipb := f[wire.EthernetHeaderLen:]
	ih := wire.IPv4Header{TotalLen: uint16(wire.IPv4MinHeaderLen + icmpLen), TTL: 64, Protocol: wire.ProtoICMP, Src: router, Dst: host}
	ih.Put(ipb)
	ib := ipb[wire.IPv4MinHeaderLen:]
	q := ib[wire.ICMPv4HeaderLen:]
	qh := wire.IPv4Header{TotalLen: uint16(quotedLen), ID: 7, DF: true, TTL: 64, Protocol: wire.ProtoTCP, Src: qsrc, Dst: dst}
	qh.Put(q)
	m := wire.ICMPv4{Type: wire.ICMPDestUnreachable, Code: wire.ICMPFragmentationNeeded, Body: q}
	m.SetNextHopMTU(uint16(mtu))
	m.Put(ib)
	return f
}

// SPEC: ICMP-6, TCP-PMTU-3, TCP-PMTU-7, AMB-2 — routers that give no MTU
// (RFC 1191 plateaus), the 88-byte floor, and the estimate raised again
// after 10 minutes (RFC 1191 §6.3), its host route leaving the table.
func TestPMTUPlateauFloorAndAging(t *testing.T) {
	rn := newRouted(t, 1500, nil)
	r := newRawStation(rn.segA)
	a, router := ip("198.51.100.2"), ip("198.51.100.1")
	inject := func(dst string, mtu, qlen int) {
		r.ep.WriteFrame(fragNeededFrame(r, rn.a.ifc.MAC(), router, a, ip(dst), mtu, qlen))
		rn.n.Run(time.Millisecond)
	}
	inject("203.0.113.2", 0, 1000)
	if got := rn.a.PathMTU(ip("203.0.113.2")); got != 508 {
		t.Fatalf("plateau estimate %d, want 508", got)
	}
	inject("203.0.113.3", 60, 1500)
	if got := rn.a.PathMTU(ip("203.0.113.3")); got != hostroutes.MinPMTU {
		t.Fatalf("floor %d, want 88", got)
	}
	inject("203.0.113.3", 1400, 1500) // never raised by an ICMP
	if got := rn.a.PathMTU(ip("203.0.113.3")); got != 88 {
		t.Fatalf("raised by ICMP to %d", got)
	}
	// Not about our datagram: ignored.
	r.ep.WriteFrame(fragNeededFrameFrom(r, rn.a.ifc.MAC(), router, a, ip("198.51.100.99"), ip("203.0.113.4"), 500, 1500))
	rn.n.Run(time.Millisecond)
	if rn.a.Stats().PMTUIgnored != 1 || rn.a.PathMTU(ip("203.0.113.4")) != 1500 {
		t.Fatal("foreign frag needed applied")
	}
	rn.n.Run(10*time.Minute - 10*time.Millisecond)
	if st := rn.a.LearnedRouteStats(); st.Entries != 2 {
		t.Fatalf("aged early: %+v", st)
	}
	rn.n.Run(20 * time.Millisecond)
	if st := rn.a.LearnedRouteStats(); st.Entries != 0 || st.PMTUAged != 2 {
		t.Fatalf("after 10 min: %+v", st)
	}
	if got := rn.a.PathMTU(ip("203.0.113.2")); got != 1500 {
		t.Fatalf("PMTU not raised again: %d", got)
	}
}

// SPEC: TCP-PMTU-5 — EnablePMTUDiscovery=0: 576 to every destination not
// on a local subnet, the interface MTU on it.
func TestPMTUDiscoveryOff(t *testing.T) {
	rn := newRouted(t, 1500, nil)
	off := newHost(t, rn.n, rn.segA, "198.51.100.5/24", "198.51.100.1", func(p *config.Tcpip) { p.EnablePMTUDiscovery = false })
	if ri, _ := off.Route(ip("203.0.113.2")); ri.MTU != 576 || ri.OnLink {
		t.Fatalf("off-subnet %+v", ri)
	}
	if ri, _ := off.Route(ip("198.51.100.2")); ri.MTU != 1500 || !ri.OnLink {
		t.Fatalf("on-link %+v", ri)
	}
	if ri, _ := rn.a.Route(ip("203.0.113.2")); ri.MTU != 1500 {
		t.Fatalf("discovery on: %+v", ri)
	}
}

// SPEC: KB-3, KB-4, ICMP-6 — KB 898060 regression through the whole
// receive path: 100,000 "fragmentation needed" frames with changing MTUs
// for the same 500 destinations (routes flapping between routers with
// different MTUs), then one each for 50,000 distinct destinations.
// After every message the destination's path MTU is what that message
// implies (never ignored), and the learned-route count equals the
// entries present and never exceeds MaxIcmpHostRoutes.
func TestKB898060ThroughStack(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 frames")
	}
	rn := newRouted(t, 1500, nil)
	r := newRawStation(rn.segA)
	a := ip("198.51.100.2")
	routers := []netip.Addr{ip("198.51.100.1"), ip("198.51.100.3"), ip("198.51.100.4")}
	mtus := []int{1400, 1300, 1492, 1006, 576, 320, 0, 60}
	model := map[netip.Addr]int{}
	dstOf := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}) }
	check := func(i int, dst netip.Addr, want int) {
		if got := rn.a.PathMTU(dst); got != want {
			t.Fatalf("message %d to %v: path MTU %d, want %d (last message not applied)", i, dst, got, want)
		}
		st := rn.a.LearnedRouteStats()
		if st.Entries > st.Max || st.Max != 10000 {
			t.Fatalf("message %d: %d entries, max %d", i, st.Entries, st.Max)
		}
		if i%2000 == 0 {
			if n := len(rn.a.LearnedRoutes()); n != st.Entries {
				t.Fatalf("message %d: count %d, entries present %d", i, st.Entries, n)
			}
		}
	}
	const flaps = 100000
	for i := range flaps {
		d := dstOf(i*7919%500 + 1)
		cur, ok := model[d]
		if !ok {
			cur = 1500
		}
		hop := mtus[i%len(mtus)]
		// The route moved to a router whose next hop takes hop bytes: it
		// quotes the datagram of cur bytes that did not fit.
		want := cur
		switch {
		case hop == 0:
			want = hostroutes.PlateauBelow(cur)
		case hop < cur:
			want = hop
		}
		want = min(max(want, 88), cur)
		if cur <= 100 { // at the floor: start this destination over
			rn.a.learned.Delete(d)
			cur, want = 1500, 1400
			hop = 1400
		}
		quoted := cur
		if hop >= cur { // a stale message about an older full-size datagram
			quoted = 1500
		}
		r.ep.WriteFrame(fragNeededFrame(r, rn.a.ifc.MAC(), routers[i%3], a, d, hop, quoted))
		rn.n.Run(time.Millisecond)
		model[d] = want
		check(i, d, want)
	}
	rn.a.FlushLearnedRoutes()
	for i := range 50000 {
		d := dstOf(1000 + i)
		r.ep.WriteFrame(fragNeededFrame(r, rn.a.ifc.MAC(), routers[i%3], a, d, 1280, 1500))
		rn.n.Run(time.Millisecond)
		check(flaps+i, d, 1280)
	}
	st := rn.a.LearnedRouteStats()
	if st.Entries != 10000 || st.Evictions != 40000 || len(rn.a.LearnedRoutes()) != 10000 {
		t.Fatalf("after 50,000 destinations: %+v", st)
	}
	t.Logf("stack stats: pmtuUpdates=%d, learned %+v", rn.a.Stats().PMTUUpdates, st)
}

// SPEC: ICMP-7 — TTL exceeded and unreachables about a transport's
// datagram reach that transport (TCP's soft errors) with the sender.
func TestTransportGetsSoftErrors(t *testing.T) {
	rn := newRouted(t, 1500, nil)
	ft := &errTransport{}
	rn.a.RegisterTransport(fakeProto, ft)
	rn.a.WriteIP(OutboundPacket{Dst: ip("203.0.113.2"), Proto: fakeProto, TTL: 1, Payload: seg(20, 5)})
	rn.n.Run(time.Second)                                                                       // one datagram waits for ARP at a time (ARP-6)
	rn.a.WriteIP(OutboundPacket{Dst: ip("203.0.113.2"), Proto: fakeProto, Payload: seg(20, 6)}) // B: protocol unreachable
	rn.n.Run(time.Second)
	errs := ft.take()
	if len(errs) != 2 || errs[0].Type != 11 || errs[0].From != ip("198.51.100.1") || errs[0].Payload[0] != 5 ||
		errs[1].Type != 3 || errs[1].Code != 2 || errs[1].From != ip("203.0.113.2") || errs[1].Dst != ip("203.0.113.2") {
		t.Fatalf("%+v", errs)
	}
}
