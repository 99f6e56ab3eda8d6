package stack

import (
	"bytes"
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/tcp"
	"github.com/stapel-net/stapel/wire"
)

// tcpGlue joins a real tcp.Protocol to a Stack the way the daemon must:
// Route gives the path MTU (RouteInfo.MTU), HandleError passes the MTU
// of "fragmentation needed", and DeadGateway forwards TCP's dead-gateway
// reports (tcp.DeadGatewayReporter) to Stack.DeadGateway.
type tcpGlue struct {
	s *Stack
	p *tcp.Protocol
}

func attachTCP(s *Stack, params tcp.Params) *tcp.Protocol {
	g := &tcpGlue{s: s}
	g.p = tcp.New(g, tcp.Options{Params: params, Seed: 5})
	s.RegisterTransport(wire.ProtoTCP, g)
	return g.p
}

func (g *tcpGlue) Clock() clock.Clock { return g.s.Clock() }
func (g *tcpGlue) Route(dst netip.Addr) (netip.Addr, int, error) {
	ri, err := g.s.Route(dst)
	return ri.Src, ri.MTU, err
}
func (g *tcpGlue) Output(src, dst netip.Addr, ttl, tos uint8, df bool, seg []byte) error {
	return g.s.WriteIP(OutboundPacket{Src: src, Dst: dst, Proto: wire.ProtoTCP, TTL: ttl, TOS: tos, DF: df, Payload: seg})
}
func (g *tcpGlue) DeadGateway(dst netip.Addr) { g.s.DeadGateway(dst) }
func (g *tcpGlue) HandlePacket(p *InboundPacket) {
	if !p.Broadcast {
		g.p.HandleSegment(p.Src, p.Dst, p.Payload)
	}
}
func (g *tcpGlue) HandleError(e *ControlError) {
	g.p.HandleICMP(e.Type, e.Code, e.MTU, e.Src, e.Dst, e.Payload)
}

// newNarrowRouted is A — R — B with 1500-byte links everywhere except
// R's egress towards B, which takes mtu: both hosts announce MSS 1460, so
// only path MTU discovery can find the narrow hop.
func newNarrowRouted(t *testing.T, mtu int) *routedNet {
	n := sim.ForTest(t, 1)
	segA := n.NewSegment("a", 1500, link.FaultConfig{})
	segB := n.NewSegment("b", 1500, link.FaultConfig{})
	a := newHost(t, n, segA, "198.51.100.2/24", "198.51.100.1", nil)
	r := newHost(t, n, segA, "198.51.100.1/24", "", func(p *config.Tcpip) { p.IPEnableRouter = true })
	macCounter++
	if _, err := r.AddInterface(InterfaceConfig{Name: "eth1", Addrs: []netip.Prefix{pfx("203.0.113.1/24")}},
		segB.NewPortMTU(sim.MAC(macCounter), mtu)); err != nil {
		t.Fatal(err)
	}
	b := newHost(t, n, segB, "203.0.113.2/24", "203.0.113.1", nil)
	n.Run(5 * time.Second)
	return &routedNet{n, segA, segB, a, r, b}
}

// transfer sends size bytes from client to server over TCP in virtual
// time and reports whether they arrived intact, and when.
func transfer(t *testing.T, n *sim.Network, ctcp, stcp *tcp.Protocol, dst netip.Addr, size int, limit time.Duration, mid func()) (bool, time.Duration) {
	t.Helper()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	ln, err := stcp.Listen(netip.AddrPortFrom(dst, 5001), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var got []byte
	done, sent := false, false
	go func() {
		c, err := ln.AcceptTCP()
		if err != nil {
			return
		}
		b, _ := io.ReadAll(c)
		c.Close()
		mu.Lock()
		got, done = b, true
		mu.Unlock()
	}()
	go func() {
		c, err := ctcp.Dial(netip.AddrPort{}, netip.AddrPortFrom(dst, 5001))
		if err != nil {
			t.Errorf("dial: %v", err)
			mu.Lock()
			done = true
			mu.Unlock()
			return
		}
		mu.Lock()
		sent = true
		mu.Unlock()
		c.Write(data)
		c.CloseWrite()
		io.Copy(io.Discard, c)
		c.Close()
	}()
	start := n.Now()
	if mid != nil {
		runUntil(n, func() bool { mu.Lock(); defer mu.Unlock(); return sent }, limit)
		n.Run(50 * time.Millisecond)
		mid()
	}
	runUntil(n, func() bool { mu.Lock(); defer mu.Unlock(); return done }, limit)
	mu.Lock()
	defer mu.Unlock()
	return done && bytes.Equal(got, data), n.Now().Sub(start)
}

// runUntil is sim's RunUntil in short slices, so application goroutines
// (blocked in Dial, Write, Read) get real time to run before virtual time
// moves far ahead of them.
func runUntil(n *sim.Network, cond func() bool, limit time.Duration) bool {
	end := n.Now().Add(limit)
	for n.Now().Before(end) {
		if n.RunUntil(cond, min(250*time.Millisecond, end.Sub(n.Now()))) {
			return true
		}
	}
	return cond()
}

// tcpSegments returns the sizes (IP total length) and DF bits of the TCP
// data segments in a capture.
func tcpSegments(t *testing.T, c *capture, from netip.Addr) (sizes []int, df []bool) {
	for _, p := range c.packets(t) {
		ipl, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tl, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ipl == nil || tl == nil || len(tl.Payload) == 0 || ipl.SrcIP.String() != from.String() {
			continue
		}
		sizes = append(sizes, int(ipl.Length))
		df = append(df, ipl.Flags&layers.IPv4DontFragment != 0)
	}
	return
}

// SPEC: TCP-PMTU-2, TCP-PMTU-3, ICMP-6 — a transfer through a router with
// a 576-byte next hop: DF segments, the router's "fragmentation needed"
// lowers the path MTU and the connection's MSS, segments are resent at
// the new size and the transfer completes with no fragmentation.
func TestTCPThroughSmallMTURouter(t *testing.T) {
	rn := newNarrowRouted(t, 576)
	ca := attachTCP(rn.a.Stack, tcp.DefaultParams())
	cb := attachTCP(rn.b.Stack, tcp.DefaultParams())
	c := startCapture(rn.segB)
	ok, took := transfer(t, rn.n, ca, cb, ip("203.0.113.2"), 200_000, 2*time.Minute, nil)
	if !ok {
		t.Fatalf("transfer failed after %v\nA %v\nR %v\nB %v\nA tcp %v\nB tcp %v", took, rn.a.StatsMap(), rn.r.StatsMap(), rn.b.StatsMap(), ca.StatsMap(), cb.StatsMap())
	}
	sizes, df := tcpSegments(t, c, ip("198.51.100.2"))
	for i, sz := range sizes {
		if sz > 576 || !df[i] {
			t.Fatalf("segment %d: %d bytes DF=%v on the 576 link", i, sz, df[i])
		}
	}
	if rn.a.PathMTU(ip("203.0.113.2")) != 576 || rn.r.Stats().IPFragOKs != 0 || rn.a.Stats().PMTUUpdates == 0 {
		t.Fatalf("PMTU %d, router fragmented %d", rn.a.PathMTU(ip("203.0.113.2")), rn.r.Stats().IPFragOKs)
	}
	t.Logf("200 kB through the 576 router in %v virtual, %d segments", took, len(sizes))
}

// SPEC: TCP-PMTU-4, AMB-8 — the router's "fragmentation needed" never
// arrives (a black hole): with EnablePMTUBHDetect the connection retries
// without DF after two retransmissions, the router fragments, and the
// transfer completes; without it, the transfer does not progress.
func TestTCPBlackHoleDetection(t *testing.T) {
	for _, detect := range []bool{true, false} {
		rn := newNarrowRouted(t, 576)
		rn.segA.SetFaults(link.FaultConfig{DropICMPFragNeeded: true})
		params := tcp.DefaultParams()
		params.EnablePMTUBHDetect = detect
		ca := attachTCP(rn.a.Stack, params)
		cb := attachTCP(rn.b.Stack, tcp.DefaultParams())
		ok, took := transfer(t, rn.n, ca, cb, ip("203.0.113.2"), 20_000, 90*time.Second, nil)
		if ok != detect {
			t.Fatalf("detect=%v: transfer ok=%v after %v", detect, ok, took)
		}
		if detect {
			t.Logf("black hole: 20 kB in %v virtual", took)
		}
	}
}

// SPEC: TCP-DGD-2, AMB-9, IP-6 — two default gateways; the first dies
// mid-transfer; after ⌈5/2⌉ = 3 retransmissions TCP reports the dead
// gateway, the destination's RCE moves to the second gateway, and the
// transfer completes through it.
func TestTCPDeadGatewayFailover(t *testing.T) {
	n := sim.ForTest(t, 1)
	segA := n.NewSegment("a", 1500, link.FaultConfig{})
	segB := n.NewSegment("b", 1500, link.FaultConfig{})
	router := func(p *config.Tcpip) { p.IPEnableRouter = true }
	p := config.Default().Tcpip
	a := New(Options{Clock: n.Clock(), Params: p, Seed: 1})
	defer a.Close()
	if _, err := a.AddInterface(InterfaceConfig{Name: "eth0", Addrs: []netip.Prefix{pfx("198.51.100.2/24")},
		Gateways: []netip.Addr{ip("198.51.100.1"), ip("198.51.100.3")}}, segA.NewPort(sim.MAC(500))); err != nil {
		t.Fatal(err)
	}
	g1 := newHost(t, n, segA, "198.51.100.1/24", "", router)
	g1.addIf(t, segB, "eth1", "203.0.113.1/24", "")
	g2 := newHost(t, n, segA, "198.51.100.3/24", "", router)
	g2.addIf(t, segB, "eth1", "203.0.113.3/24", "")
	b := newHost(t, n, segB, "203.0.113.2/24", "203.0.113.3", nil)
	n.Run(5 * time.Second)
	ca := attachTCP(a, tcp.DefaultParams())
	cb := attachTCP(b.Stack, tcp.DefaultParams())
	dst := ip("203.0.113.2")
	var killedAt time.Time
	c := startCapture(segA)
	ok, took := transfer(t, n, ca, cb, dst, 2_000_000, 5*time.Minute, func() {
		if gw, _ := a.ActiveGateway(); gw != ip("198.51.100.1") {
			t.Fatalf("active %v before failure", gw)
		}
		killedAt = n.Now()
		g1.RemoveInterface("eth0") // the first gateway dies
	})
	if !ok {
		t.Fatalf("transfer did not survive the gateway failure (%v)", took)
	}
	if ri, _ := a.Route(dst); ri.Gateway != ip("198.51.100.3") {
		t.Fatalf("RCE via %v after failover", ri.Gateway)
	}
	if st := a.Stats(); st.DeadGatewayReports != 1 {
		t.Fatalf("%d dead gateway reports, want 1", st.DeadGatewayReports)
	}
	// The stalled segment went to g1 three times (the original and two
	// retransmissions); the 3rd retransmission, when TCP reports the dead
	// gateway, already goes to g2 (AMB-9: ⌈5/2⌉ = 3).
	g1mac, g2mac := g1.ifc.MAC().String(), g2.ifc.MAC().String()
	var first uint32
	found := false
	toG1 := map[uint32]int{}
	for _, p := range c.packets(t) {
		eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		tl, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if eth == nil || tl == nil || len(tl.Payload) == 0 {
			continue
		}
		switch eth.DstMAC.String() {
		case g1mac:
			toG1[tl.Seq]++
		case g2mac:
			if !found {
				first, found = tl.Seq, true
			}
		}
	}
	if !found || toG1[first] != 3 {
		t.Fatalf("first segment via g2 (seq %d) had gone %d times to g1, want 3", first, toG1[first])
	}
	t.Logf("failover: gateway killed at %v, transfer done %v after start", killedAt.Sub(sim.Epoch), took)
}

// SPEC: ICMP-6, TCP-PMTU-3 — "lowers the MSS of every connection on that
// path": a second connection, established before the router's ICMP,
// never puts an oversized segment on the wire; the stack refuses it
// locally and reports the path MTU, and the transfer completes.
func TestTCPSecondConnectionLearnsPathMTU(t *testing.T) {
	rn := newNarrowRouted(t, 576)
	ca := attachTCP(rn.a.Stack, tcp.DefaultParams())
	cb := attachTCP(rn.b.Stack, tcp.DefaultParams())
	ln, err := cb.Listen(netip.AddrPortFrom(ip("203.0.113.2"), 6001), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var c2 *tcp.Conn
	got := 0
	go func() {
		c, err := ln.AcceptTCP()
		if err != nil {
			return
		}
		n, _ := io.Copy(io.Discard, c)
		mu.Lock()
		got = int(n)
		mu.Unlock()
	}()
	go func() {
		c, err := ca.Dial(netip.AddrPort{}, netip.AddrPortFrom(ip("203.0.113.2"), 6001))
		if err == nil {
			mu.Lock()
			c2 = c
			mu.Unlock()
		}
	}()
	if !runUntil(rn.n, func() bool { mu.Lock(); defer mu.Unlock(); return c2 != nil }, time.Minute) {
		t.Fatal("second connection not established")
	}
	// Connection 1 meets the narrow hop first.
	if ok, _ := transfer(t, rn.n, ca, cb, ip("203.0.113.2"), 50_000, time.Minute, nil); !ok {
		t.Fatal("first transfer failed")
	}
	icmps := rn.r.Stats().ICMPOutDestUnreachs
	c := startCapture(rn.segA)
	go func() {
		c2.Write(make([]byte, 50_000))
		c2.Close()
	}()
	if !runUntil(rn.n, func() bool { mu.Lock(); defer mu.Unlock(); return got == 50_000 }, time.Minute) {
		t.Fatalf("second transfer: %d bytes", got)
	}
	sizes, _ := tcpSegments(t, c, ip("198.51.100.2"))
	for _, sz := range sizes {
		if sz > 576 {
			t.Fatalf("second connection sent a %d-byte segment", sz)
		}
	}
	if rn.r.Stats().ICMPOutDestUnreachs != icmps || rn.a.Stats().PMTULocalTooBig == 0 {
		t.Fatalf("router ICMPs %d→%d, local too-big %d", icmps, rn.r.Stats().ICMPOutDestUnreachs, rn.a.Stats().PMTULocalTooBig)
	}
}
