package stack

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/wire"
)

// routed builds A (198.51.100.2) — R — B (203.0.113.2); mtuB is the MTU of
// B's segment.
type routedNet struct {
	n          *sim.Network
	segA, segB *sim.Segment
	a, r, b    *testHost
}

func newRouted(t *testing.T, mtuB int, rmod func(*config.Tcpip)) *routedNet {
	n := sim.ForTest(t, 1)
	segA := n.NewSegment("a", 1500, link.FaultConfig{})
	segB := n.NewSegment("b", mtuB, link.FaultConfig{})
	a := newHost(t, n, segA, "198.51.100.2/24", "198.51.100.1", nil)
	r := newHost(t, n, segA, "198.51.100.1/24", "", func(p *config.Tcpip) {
		p.IPEnableRouter = true
		if rmod != nil {
			rmod(p)
		}
	})
	r.addIf(t, segB, "eth1", "203.0.113.1/24", "")
	b := newHost(t, n, segB, "203.0.113.2/24", "203.0.113.1", nil)
	n.Run(5 * time.Second)
	return &routedNet{n, segA, segB, a, r, b}
}

// SPEC: IP-8, IP-3, IP-4
func TestPingAcrossRouter(t *testing.T) {
	rn := newRouted(t, 1500, nil)
	es, _ := rn.a.NewEchoSocket()
	es.Send(EchoRequest{Dst: ip("203.0.113.2"), Seq: 7, Size: 32})
	ev, ok := waitEvent(t, rn.n, es, 5*time.Second)
	if !ok || ev.Type != 0 || ev.Seq != 7 || ev.TTL != 127 {
		t.Fatalf("reply %+v %v (want TTL 127: 128 minus one hop)", ev, ok)
	}
	if rn.r.Stats().IPForwDatagrams != 2 {
		t.Fatalf("router forwarded %d", rn.r.Stats().IPForwDatagrams)
	}
	// A host (IPEnableRouter=0) does not forward.
	if gw, ok := rn.a.ActiveGateway(); !ok || gw != ip("198.51.100.1") {
		t.Fatalf("active gateway %v %v", gw, ok)
	}
}

// SPEC: IP-8
func TestHostDoesNotForward(t *testing.T) {
	rn := newRouted(t, 1500, func(p *config.Tcpip) { p.IPEnableRouter = false })
	es, _ := rn.a.NewEchoSocket()
	es.Send(EchoRequest{Dst: ip("203.0.113.2"), Seq: 1})
	if _, ok := waitEvent(t, rn.n, es, 5*time.Second); ok {
		t.Fatal("non-router forwarded")
	}
	if rn.r.Stats().IPInAddrErrors == 0 {
		t.Fatal("not counted")
	}
}

// SPEC: IP-17, ICMP-7
func TestTTLExpiryAtRouter(t *testing.T) {
	rn := newRouted(t, 1500, nil)
	es, _ := rn.a.NewEchoSocket()
	es.Send(EchoRequest{Dst: ip("203.0.113.2"), Seq: 3, TTL: 1})
	ev, ok := waitEvent(t, rn.n, es, 5*time.Second)
	if !ok || ev.Type != 11 || ev.Code != 0 || ev.From != ip("198.51.100.1") || ev.Seq != 3 {
		t.Fatalf("want time exceeded from the router, got %+v %v", ev, ok)
	}
	if rn.r.Stats().ICMPOutTimeExcds != 1 || rn.a.Stats().ICMPInTimeExcds != 1 {
		t.Fatal("time exceeded not counted")
	}
}

// SPEC: IP-20
func TestFragmentedPing(t *testing.T) {
	for _, mtu := range []int{1500, 576} {
		for _, size := range []int{4000, 65000} {
			rn := newRouted(t, mtu, nil)
			es, _ := rn.a.NewEchoSocket()
			if err := es.Send(EchoRequest{Dst: ip("203.0.113.2"), Seq: 1, Size: size}); err != nil {
				t.Fatal(err)
			}
			ev, ok := waitEvent(t, rn.n, es, 5*time.Second)
			if !ok || ev.Type != 0 || ev.Size != size {
				t.Logf("A %+v\nR %+v\nB %+v", rn.a.StatsMap(), rn.r.StatsMap(), rn.b.StatsMap())
				t.Fatalf("mtu %d size %d: %+v %v", mtu, size, ev, ok)
			}
			perFrag := (mtu - 20) &^ 7
			wantB := (size + 8 + perFrag - 1) / perFrag
			if got := rn.b.Stats(); got.IPReasmOKs != 1 || got.IPFragCreates != uint64(wantB) {
				t.Fatalf("mtu %d size %d: B reasm %d frags created %d want %d", mtu, size, got.IPReasmOKs, got.IPFragCreates, wantB)
			}
			if mtu < 1500 && rn.r.Stats().IPFragOKs == 0 {
				t.Fatalf("router did not refragment: %+v", rn.r.Stats())
			}
		}
	}
}

// SPEC: IP-20
func TestDFTooBig(t *testing.T) {
	rn := newRouted(t, 576, nil)
	es, _ := rn.a.NewEchoSocket()
	err := es.Send(EchoRequest{Dst: ip("203.0.113.2"), Size: 2000, DF: true})
	if !errors.Is(err, ErrNeedsFragmentation) {
		t.Fatalf("local DF too big: %v", err)
	}
	// Fits our link, not the next hop: the router says fragmentation needed.
	es.Send(EchoRequest{Dst: ip("203.0.113.2"), Seq: 2, Size: 1000, DF: true})
	ev, ok := waitEvent(t, rn.n, es, 5*time.Second)
	if !ok || ev.Type != 3 || ev.Code != 4 || ev.MTU != 576 || ev.From != ip("198.51.100.1") {
		t.Fatalf("want frag needed with MTU 576, got %+v %v", ev, ok)
	}
}

// fragment builds one raw IP fragment frame from station r to dst.
func fragFrame(t *testing.T, r *rawStation, dstMAC wire.MAC, src, dst string, id uint16, off int, mf bool, data []byte) []byte {
	t.Helper()
	ipl := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, Id: id,
		SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4(), FragOffset: uint16(off / 8)}
	if mf {
		ipl.Flags = layers.IPv4MoreFragments
	}
	eth := &layers.Ethernet{SrcMAC: hw(r.mac()), DstMAC: hw(dstMAC), EthernetType: layers.EthernetTypeIPv4}
	return buildFrame(t, eth, ipl, gopacket.Payload(data))
}

func udpSeg(t *testing.T, src, dst string, sport, dport uint16, payload []byte) []byte {
	b := make([]byte, 8+len(payload))
	copy(b[8:], payload)
	wire.PutUDP(b, ip(src), ip(dst), sport, dport)
	return b
}

// SPEC: IP-20 (reassembly timeout, RFC 1122 3.3.2)
func TestReassemblyTimeout(t *testing.T) {
	for _, secs := range []int{60, 15} {
		reassemblyTimeout(t, secs)
	}
}

func reassemblyTimeout(t *testing.T, secs int) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", func(p *config.Tcpip) { p.ReassemblyTimeout = secs })
	r := newRawStation(seg)
	a.AddStaticARP(ip("192.0.2.9"), r.mac(), ip("192.0.2.1"))
	n.Run(5 * time.Second)
	r.take()
	d := udpSeg(t, "192.0.2.9", "192.0.2.1", 1000, 9, make([]byte, 100))
	t0 := n.Now()
	r.ep.WriteFrame(fragFrame(t, r, a.ifc.MAC(), "192.0.2.9", "192.0.2.1", 42, 0, true, d[:64]))
	var at time.Duration
	var got []byte
	n.RunUntil(func() bool {
		for _, f := range r.take() {
			got, at = f, n.Now().Sub(t0)
		}
		return got != nil
	}, 2*time.Minute)
	if got == nil {
		t.Fatal("no ICMP")
	}
	_, p, _ := wire.ParseEthernet(got)
	h, pl, err := wire.ParseIPv4(p)
	if err != nil || h.Protocol != 1 {
		t.Fatalf("not ICMP: %v", err)
	}
	m, _ := wire.ParseICMPv4(pl)
	if m.Type != 11 || m.Code != 1 || at != time.Duration(secs)*time.Second {
		t.Fatalf("type %d code %d after %v; want 11/1 after %ds", m.Type, m.Code, at, secs)
	}
	if st := a.Stats(); st.ReasmTimeouts != 1 || st.IPReasmFails != 1 {
		t.Fatalf("%+v", st)
	}
	// Without the first fragment: no ICMP.
	r.ep.WriteFrame(fragFrame(t, r, a.ifc.MAC(), "192.0.2.9", "192.0.2.1", 43, 64, false, d[64:]))
	n.Run(2 * time.Minute)
	if len(r.take()) != 0 {
		t.Fatal("ICMP sent although the first fragment never came")
	}
}

// SPEC: IP-20 (bounds and overlap policy)
func TestReassemblyBoundsAndOverlap(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", func(p *config.Tcpip) {
		p.ReassemblyMaxBytes = 65535
		p.ReassemblyMaxDatagrams = 4
	})
	r := newRawStation(seg)
	n.Run(5 * time.Second)
	conn, _ := a.ListenUDP(addrPort("0.0.0.0:9"))
	send := func(id uint16, off int, mf bool, data []byte) {
		r.ep.WriteFrame(fragFrame(t, r, a.ifc.MAC(), "192.0.2.9", "192.0.2.1", id, off, mf, data))
		n.Run(0)
	}
	d := udpSeg(t, "192.0.2.9", "192.0.2.1", 1000, 9, make([]byte, 200))
	// Overlap: the whole datagram is dropped.
	send(1, 0, true, d[:104])
	send(1, 96, false, d[96:])
	if st := a.Stats(); st.ReasmOverlaps != 1 || st.UDPInDatagrams != 0 {
		t.Fatalf("overlap: %+v", st)
	}
	// Exact duplicate: ignored, datagram completes.
	send(2, 0, true, d[:104])
	send(2, 0, true, d[:104])
	send(2, 104, false, d[104:])
	if st := a.Stats(); st.ReasmDuplicates != 1 || st.UDPInDatagrams != 1 {
		t.Fatalf("duplicate: dup %d delivered %d", st.ReasmDuplicates, st.UDPInDatagrams)
	}
	// Datagram-count bound.
	for id := uint16(10); id < 15; id++ {
		send(id, 0, true, d[:8])
	}
	if st := a.Stats(); st.ReasmDatagramDrops != 1 {
		t.Fatalf("datagram bound: %d", st.ReasmDatagramDrops)
	}
	n.Run(2 * time.Minute) // time them out
	// Memory bound: 65535 bytes of fragment data at most.
	big := make([]byte, 1400)
	for i := 0; i < 50; i++ {
		send(uint16(100+i%3), i/3*1400, true, big)
	}
	if st := a.Stats(); st.ReasmMemoryDrops == 0 {
		t.Fatalf("memory bound not hit: %+v", st)
	}
	conn.Close()
}

// SPEC: IP-1 (malformed input is dropped and counted)
func TestMalformedDatagrams(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", nil)
	r := newRawStation(seg)
	n.Run(5 * time.Second)
	d := udpSeg(t, "192.0.2.9", "192.0.2.1", 1000, 9, make([]byte, 20))
	good := fragFrame(t, r, a.ifc.MAC(), "192.0.2.9", "192.0.2.1", 1, 0, false, d)
	badSum := append([]byte(nil), good...)
	badSum[14+10] ^= 0xff
	badLen := append([]byte(nil), good...)
	badLen[14+2], badLen[14+3] = 0x10, 0x00 // total length beyond the frame
	trunc := good[:14+12]
	badVer := append([]byte(nil), good...)
	badVer[14] = 0x65
	for _, f := range [][]byte{badSum, badLen, trunc, badVer} {
		r.ep.WriteFrame(f)
	}
	a.rxFrame(a.ifc, good[:10]) // runt: the switch would not pass it
	n.Run(time.Second)
	st := a.Stats()
	if st.IPInHdrErrors != 4 || st.LinkRxMalformed != 1 {
		t.Fatalf("hdr errors %d malformed %d", st.IPInHdrErrors, st.LinkRxMalformed)
	}
	// Bad UDP checksum.
	bad := fragFrame(t, r, a.ifc.MAC(), "192.0.2.9", "192.0.2.1", 2, 0, false, d)
	bad[len(bad)-1] ^= 0xff
	r.ep.WriteFrame(bad)
	n.Run(time.Second)
	if a.Stats().UDPInErrors != 1 {
		t.Fatal("bad UDP checksum not counted")
	}
	// Frames for another MAC are filtered (LINK-3).
	other := append([]byte(nil), good...)
	copy(other[0:6], []byte{0x02, 9, 9, 9, 9, 9})
	r.ep.WriteFrame(other)
	n.Run(time.Second)
	_ = other
}

// SPEC: IP-18
func TestSourceRouting(t *testing.T) {
	lsrr := []byte{0x83, 7, 4, 203, 0, 113, 2, 0} // LSRR with one hop, NOP pad
	mk := func(t *testing.T, r *rawStation, dstMAC wire.MAC, dst string) []byte {
		ipl := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4,
			SrcIP: net.ParseIP("198.51.100.9").To4(), DstIP: net.ParseIP(dst).To4(),
			Options: []layers.IPv4Option{{OptionType: 0x83, OptionLength: 7, OptionData: lsrr[2:7]}}}
		ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 5, Seq: 1}
		eth := &layers.Ethernet{SrcMAC: hw(r.mac()), DstMAC: hw(dstMAC), EthernetType: layers.EthernetTypeIPv4}
		return buildFrame(t, eth, ipl, ic)
	}
	// 0: the router follows the route to B.
	{
		rn := newRouted(t, 1500, func(p *config.Tcpip) { p.DisableIPSourceRouting = 0 })
		r := newRawStation(rn.segA)
		rn.r.AddStaticARP(ip("198.51.100.9"), r.mac(), ip("198.51.100.1"))
		r.ep.WriteFrame(mk(t, r, rn.r.ifc.MAC(), "198.51.100.1"))
		rn.n.Run(time.Second)
		if rn.r.Stats().IPForwDatagrams < 1 || rn.b.Stats().ICMPInEchos != 1 {
			t.Fatalf("mode 0: not forwarded along the route: R %+v", rn.r.Stats())
		}
	}
	for _, mode := range []int{1, 2} {
		rn := newRouted(t, 1500, func(p *config.Tcpip) { p.DisableIPSourceRouting = mode })
		r := newRawStation(rn.segA)
		rn.r.AddStaticARP(ip("198.51.100.9"), r.mac(), ip("198.51.100.1"))
		// Through the router: never forwarded with 1 or 2.
		r.ep.WriteFrame(mk(t, r, rn.r.ifc.MAC(), "203.0.113.2"))
		// Addressed to the router: answered with 1, dropped with 2.
		r.ep.WriteFrame(mk(t, r, rn.r.ifc.MAC(), "198.51.100.1"))
		rn.n.Run(time.Second)
		st := rn.r.Stats()
		if st.IPForwDatagrams != 0 {
			t.Fatalf("mode %d: source-routed datagram forwarded", mode)
		}
		wantReplies, wantDrops := uint64(1), uint64(1)
		if mode == 2 {
			wantReplies, wantDrops = 0, 2
		}
		if st.ICMPOutEchoReps != wantReplies || st.IPSrcRouteDrops != wantDrops {
			t.Fatalf("mode %d: replies %d drops %d", mode, st.ICMPOutEchoReps, st.IPSrcRouteDrops)
		}
	}
}

// SPEC: IP-15, AMB-5
func TestBroadcastKinds(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "169.254.1.1/24", "", nil)
	r := newRawStation(seg)
	n.Run(5 * time.Second)
	conn, err := a.ListenUDP(addrPort("0.0.0.0:137"))
	if err != nil {
		t.Fatal(err)
	}
	dsts := []string{"255.255.255.255", "0.0.0.0", "169.254.1.255", "169.254.1.0", "169.254.255.255", "169.254.0.0"}
	for _, dst := range dsts {
		d := udpSeg(t, "169.254.1.9", dst, 137, 137, []byte(dst))
		r.ep.WriteFrame(fragFrame(t, r, wire.BroadcastMAC, "169.254.1.9", dst, 1, 0, false, d))
	}
	// Not ours: another subnet's broadcast, and a unicast in a link broadcast.
	for _, dst := range []string{"169.254.2.255", "169.254.1.7"} {
		d := udpSeg(t, "169.254.1.9", dst, 137, 137, []byte(dst))
		r.ep.WriteFrame(fragFrame(t, r, wire.BroadcastMAC, "169.254.1.9", dst, 1, 0, false, d))
	}
	n.Run(time.Second)
	if got := a.Stats().UDPInDatagrams; got != uint64(len(dsts)) {
		t.Fatalf("delivered %d broadcasts, want %d", got, len(dsts))
	}
	if a.Stats().IPInAddrErrors != 2 {
		t.Fatalf("addr errors %d", a.Stats().IPInAddrErrors)
	}
	// No port unreachable for broadcasts.
	conn.Close()
	d := udpSeg(t, "169.254.1.9", "255.255.255.255", 137, 137, []byte("x"))
	r.take()
	r.ep.WriteFrame(fragFrame(t, r, wire.BroadcastMAC, "169.254.1.9", "255.255.255.255", 1, 0, false, d))
	n.Run(time.Second)
	if len(r.take()) != 0 || a.Stats().ICMPOutDestUnreachs != 0 {
		t.Fatal("ICMP error about a broadcast")
	}
}

// SPEC: LINK-2
func TestSNAPFraming(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", func(p *config.Tcpip) { p.ArpUseEtherSNAP = true })
	newHost(t, n, seg, "192.0.2.2/24", "", nil)
	n.Run(5 * time.Second)
	c := startCapture(seg)
	es, _ := a.NewEchoSocket()
	es.Send(EchoRequest{Dst: ip("192.0.2.2"), Seq: 1, Size: 100})
	if _, ok := waitEvent(t, n, es, time.Second); !ok {
		t.Fatal("SNAP host cannot talk to DIX host")
	}
	snap := 0
	for _, p := range c.packets(t) {
		if p.Layer(layers.LayerTypeSNAP) != nil && p.LinkLayer().LinkFlow().Src().String() == a.ifc.MAC().String() {
			snap++
		}
	}
	if snap != 2 { // ARP request + echo request
		t.Fatalf("%d SNAP frames from the SNAP host, want 2", snap)
	}
}

// SPEC: IP-16
func TestLoopbackPing(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", nil)
	n.Run(5 * time.Second)
	es, _ := a.NewEchoSocket()
	for _, dst := range []string{"192.0.2.1", "127.0.0.1"} {
		es.Send(EchoRequest{Dst: ip(dst), Seq: 1, Size: 5000})
		ev, ok := waitEvent(t, n, es, time.Second)
		if !ok || ev.Type != 0 || ev.From != ip(dst) || ev.Size != 5000 {
			t.Fatalf("%s: %+v %v", dst, ev, ok)
		}
	}
}

// RFC 1122 3.2.2: no ICMP error about an ICMP error (here: an ICMP error
// whose TTL expires at the router).
func TestNoICMPErrorAboutICMPError(t *testing.T) {
	rn := newRouted(t, 1500, nil)
	r := newRawStation(rn.segA)
	rn.r.AddStaticARP(ip("198.51.100.9"), r.mac(), ip("198.51.100.1"))
	mk := func(typ uint8) []byte {
		ipl := &layers.IPv4{Version: 4, TTL: 1, Protocol: layers.IPProtocolICMPv4,
			SrcIP: net.ParseIP("198.51.100.9").To4(), DstIP: net.ParseIP("203.0.113.2").To4()}
		ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: 1}
		eth := &layers.Ethernet{SrcMAC: hw(r.mac()), DstMAC: hw(rn.r.ifc.MAC()), EthernetType: layers.EthernetTypeIPv4}
		return buildFrame(t, eth, ipl, ic, gopacket.Payload(make([]byte, 28)))
	}
	r.ep.WriteFrame(mk(3)) // an error: suppressed
	r.ep.WriteFrame(mk(8)) // a query: answered with time exceeded
	rn.n.Run(time.Second)
	st := rn.r.Stats()
	if st.ICMPOutTimeExcds != 1 || st.ICMPErrorSuppressed != 1 {
		t.Fatalf("time exceeded %d suppressed %d", st.ICMPOutTimeExcds, st.ICMPErrorSuppressed)
	}
}

// The fragments on the wire, checked and reassembled by gopacket's
// ip4defrag as an independent oracle (SPEC IP-20).
func TestFragmentsOnWire(t *testing.T) {
	rn := newRouted(t, 576, nil)
	c := startCapture(rn.segB)
	es, _ := rn.a.NewEchoSocket()
	es.Send(EchoRequest{Dst: ip("203.0.113.2"), Seq: 1, Size: 4000})
	if ev, ok := waitEvent(t, rn.n, es, 5*time.Second); !ok || ev.Size != 4000 {
		t.Fatalf("%+v %v", ev, ok)
	}
	d := ip4defrag.NewIPv4Defragmenter()
	var whole *layers.IPv4
	frags := 0
	for _, p := range c.packets(t) {
		ipl, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ipl == nil || ipl.SrcIP.String() != "198.51.100.2" {
			continue
		}
		frags++
		if int(ipl.Length) > 576 {
			t.Fatalf("fragment of %d bytes on a 576-byte link", ipl.Length)
		}
		out, err := d.DefragIPv4(ipl)
		if err != nil {
			t.Fatal(err)
		}
		if out != nil {
			whole = out
		}
	}
	if whole == nil {
		t.Fatalf("gopacket could not reassemble %d fragments", frags)
	}
	p := gopacket.NewPacket(whole.Payload, layers.LayerTypeICMPv4, gopacket.Default)
	ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ic == nil || ic.TypeCode.Type() != 8 || len(ic.Payload) != 4000 || string(ic.Payload[:23]) != "abcdefghijklmnopqrstuvw" {
		t.Fatalf("reassembled echo wrong: %v", p)
	}
	if frags != (4008+551)/552 {
		t.Fatalf("%d fragments", frags)
	}
}
