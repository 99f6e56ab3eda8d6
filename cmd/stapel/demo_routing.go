package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tcp"
	"github.com/stapel-net/stapel/tools"
	"github.com/stapel-net/stapel/tools/stackhost"
	"github.com/stapel-net/stapel/wire"
)

// The routing part of the demo (issue 5): a second internetwork where
// hostc has two default gateways. gw1 (metric 1) reaches the server over
// a link with a 576-byte MTU; gw2 (metric 2) over a normal one. Three
// TCP transfers show path MTU discovery, black-hole detection and dead
// gateway failover, with route print before and after.
//
//	hostc 198.18.0.10 --[net-c]-- gw1 198.18.0.1 --[MTU 576]--\
//	                          \-- gw2 198.18.0.2 --------------[net-d]-- server 198.18.1.10
//
// TCP runs in the stack's clock callbacks; the demo only writes into a
// send buffer and lets virtual time run, so it replays exactly.

var (
	rdHostC  = netip.MustParsePrefix("198.18.0.10/24")
	rdGW1    = netip.MustParsePrefix("198.18.0.1/24")
	rdGW2    = netip.MustParsePrefix("198.18.0.2/24")
	rdGW1D   = netip.MustParsePrefix("198.18.1.1/24")
	rdGW2D   = netip.MustParsePrefix("198.18.1.2/24")
	rdServer = netip.MustParsePrefix("198.18.1.10/24")
)

// demoTCPGlue joins a tcp.Protocol to a stack, with the seams of issue 5:
// path MTU from Route, ICMP MTU to TCP, dead gateway reports to the stack.
type demoTCPGlue struct {
	s *stack.Stack
	p *tcp.Protocol
}

func demoTCP(s *stack.Stack, bh bool) *tcp.Protocol {
	params := tcp.DefaultParams()
	params.EnablePMTUBHDetect = bh
	params.TcpWindowSize = 64 << 10 // the server never reads during a transfer
	g := &demoTCPGlue{s: s}
	g.p = tcp.New(g, tcp.Options{Params: params, Seed: 7})
	s.RegisterTransport(wire.ProtoTCP, g)
	return g.p
}

func (g *demoTCPGlue) Clock() clock.Clock { return g.s.Clock() }
func (g *demoTCPGlue) Route(dst netip.Addr) (netip.Addr, int, error) {
	ri, err := g.s.Route(dst)
	return ri.Src, ri.MTU, err
}
func (g *demoTCPGlue) Output(src, dst netip.Addr, ttl, tos uint8, df bool, seg []byte) error {
	return g.s.WriteIP(stack.OutboundPacket{Src: src, Dst: dst, Proto: wire.ProtoTCP, TTL: ttl, TOS: tos, DF: df, Payload: seg})
}
func (g *demoTCPGlue) DeadGateway(dst netip.Addr) { g.s.DeadGateway(dst) }
func (g *demoTCPGlue) HandlePacket(p *stack.InboundPacket) {
	if !p.Broadcast {
		g.p.HandleSegment(p.Src, p.Dst, p.Payload)
	}
}
func (g *demoTCPGlue) HandleError(e *stack.ControlError) {
	g.p.HandleICMP(e.Type, e.Code, e.MTU, e.Src, e.Dst, e.Payload)
}

// routingDemo is the second internetwork.
type routingDemo struct {
	d             *demo
	segC, segD    *sim.Segment
	c, g1, g2, sv *stack.Stack
	hc            *stackhost.Host
	ctcp, stcp    *tcp.Protocol
	ln            *tcp.Listener
	bigOnD        int        // data segments on net-d larger than 576
	maxOnD        int        // largest datagram gw1 put on its 576 link
	fragsOnD      int        // fragments on net-d
	dMu           sync.Mutex // guards maxOnD and fragsOnD: gw1 may send from two goroutines
}

// dCounts reads what dTap counted.
func (rd *routingDemo) dCounts() (maxOnD, fragsOnD int) {
	rd.dMu.Lock()
	defer rd.dMu.Unlock()
	return rd.maxOnD, rd.fragsOnD
}

// tap counts what gw1 sends onto net-d.
type dTap struct {
	link.Endpoint
	rd *routingDemo
}

func (t dTap) WriteFrame(f []byte) error {
	if _, p, err := wire.ParseEthernet(f); err == nil {
		if h, _, err := wire.ParseIPv4(p); err == nil && h.Protocol == wire.ProtoTCP {
			t.rd.dMu.Lock()
			t.rd.maxOnD = max(t.rd.maxOnD, int(h.TotalLen))
			if h.MF || h.FragOff > 0 {
				t.rd.fragsOnD++
			}
			t.rd.dMu.Unlock()
		}
	}
	return t.Endpoint.WriteFrame(f)
}

func (d *demo) routing(ctx context.Context, seed int64) error {
	rd := &routingDemo{d: d}
	if err := rd.build(seed); err != nil {
		return err
	}
	defer rd.close()
	fmt.Fprintf(d.out, "\n\nRouting (issue 5): hostc has two default gateways; gw1 reaches the server over a 576-byte link\n\n")
	fmt.Fprintf(d.out, "  hostc %s --[net-c]-- gw1 %s (metric 1) --[MTU 576]-- %s\n", rdHostC, rdGW1.Addr(), rdGW1D.Addr())
	fmt.Fprintf(d.out, "                      `-- gw2 %s (metric 2) --[MTU 1500]- %s --[net-d]-- server %s\n\n", rdGW2.Addr(), rdGW2D.Addr(), rdServer.Addr())
	d.n.Run(3 * time.Second)
	if err := rd.routePrint(ctx); err != nil {
		return err
	}

	d.prompt("hostc", "send 60000 bytes over TCP to 198.18.1.10:5001 (DF set: path MTU discovery)")
	st0 := d.n.Now()
	if err := rd.transfer(nil); err != nil {
		return err
	}
	s := rd.c.Stats()
	d.say("gw1 answered %d x ICMP fragmentation needed (next-hop MTU 576); hostc's path MTU to the server is now %d, its MSS %d",
		rd.g1.Stats().ICMPOutDestUnreachs, rd.c.PathMTU(rdServer.Addr()), rd.c.PathMTU(rdServer.Addr())-40)
	maxOnD, fragsOnD := rd.dCounts()
	d.say("largest datagram gw1 forwarded onto the 576 link: %d bytes, fragments: %d; done in %v",
		maxOnD, fragsOnD, d.n.Now().Sub(st0).Round(time.Millisecond))
	d.say("learned host routes: %d (the count is the table's size: KB 898060 cannot recur), pmtuUpdates=%d",
		rd.c.LearnedRouteStats().Entries, s.PMTUUpdates)

	d.prompt("hostc", "send 60000 bytes again, gw1's ICMP now dropped on net-c (a black-hole router)")
	rd.c.FlushLearnedRoutes()
	rd.segC.SetFaults(link.FaultConfig{DropICMPFragNeeded: true})
	rd.dMu.Lock()
	rd.maxOnD, rd.fragsOnD = 0, 0
	rd.dMu.Unlock()
	r0 := rd.ctcp.Stats().RetransSegs
	st0 = d.n.Now()
	if err := rd.transfer(nil); err != nil {
		return err
	}
	d.say("no fragmentation needed reached hostc; after 2 retransmissions it resent without DF (EnablePMTUBHDetect),")
	_, fragsOnD = rd.dCounts()
	d.say("gw1 fragmented that one (%d fragments on net-d), then hostc went on at MSS 536: %d retransmissions, done in %v",
		fragsOnD, rd.ctcp.Stats().RetransSegs-r0, d.n.Now().Sub(st0).Round(time.Millisecond))
	rd.segC.SetFaults(link.FaultConfig{})

	d.prompt("hostc", "send 60000 bytes; gw1 dies mid-transfer")
	r0 = rd.ctcp.Stats().RetransSegs
	st0 = d.n.Now()
	if err := rd.transfer(func() {
		d.say("gw1 is switched off")
		rd.g1.RemoveInterface("net-c")
	}); err != nil {
		return err
	}
	gw, _ := rd.c.ActiveGateway()
	d.say("after %d unanswered retransmissions (half of TcpMaxDataRetransmissions, rounded up) TCP reported the dead gateway;",
		(tcp.DefaultParams().TcpMaxDataRetransmissions+1)/2)
	d.say("the server's RCE moved to gw2, 1 of 1 RCEs (>= 25%%) moved, so the host's default gateway is now %s; done in %v (%d retransmissions)",
		gw, d.n.Now().Sub(st0).Round(time.Millisecond), rd.ctcp.Stats().RetransSegs-r0)
	return rd.routePrint(ctx)
}

func (rd *routingDemo) routePrint(ctx context.Context) error {
	rd.d.prompt("hostc", "route print")
	rt, err := rd.hc.RouteTable(ctx)
	if err != nil {
		return err
	}
	io.WriteString(rd.d.out, tools.FormatRoutePrint(rt))
	return nil
}

func (rd *routingDemo) build(seed int64) error {
	d := rd.d
	rd.segC = d.n.NewSegment("net-c", 1500, link.FaultConfig{Delay: 200 * time.Microsecond})
	rd.segD = d.n.NewSegment("net-d", 1500, link.FaultConfig{Delay: 200 * time.Microsecond})
	rd.c = d.newStack("hostc", seed*10+5, false)
	rd.g1 = d.newStack("gw1", seed*10+6, true)
	rd.g2 = d.newStack("gw2", seed*10+7, true)
	rd.sv = d.newStack("server", seed*10+8, false)
	add := func(s *stack.Stack, ic stack.InterfaceConfig, ep link.Endpoint) error {
		_, err := s.AddInterface(ic, ep)
		return err
	}
	for _, err := range []error{
		add(rd.c, stack.InterfaceConfig{Name: "net-c", Addrs: []netip.Prefix{rdHostC},
			Gateways: []netip.Addr{rdGW1.Addr(), rdGW2.Addr()}, GatewayMetrics: []int{1, 2}}, rd.segC.NewPort(sim.MAC(21))),
		add(rd.g1, stack.InterfaceConfig{Name: "net-c", Addrs: []netip.Prefix{rdGW1}}, rd.segC.NewPort(sim.MAC(22))),
		add(rd.g1, stack.InterfaceConfig{Name: "net-d", Addrs: []netip.Prefix{rdGW1D}}, dTap{rd.segD.NewPortMTU(sim.MAC(23), 576), rd}),
		add(rd.g2, stack.InterfaceConfig{Name: "net-c", Addrs: []netip.Prefix{rdGW2}}, rd.segC.NewPort(sim.MAC(24))),
		add(rd.g2, stack.InterfaceConfig{Name: "net-d", Addrs: []netip.Prefix{rdGW2D}}, rd.segD.NewPort(sim.MAC(25))),
		add(rd.sv, stack.InterfaceConfig{Name: "net-d", Addrs: []netip.Prefix{rdServer},
			Gateways: []netip.Addr{rdGW2D.Addr()}}, rd.segD.NewPort(sim.MAC(26))),
	} {
		if err != nil {
			return err
		}
	}
	rd.hc = stackhost.New(rd.c, stackhost.Options{Runner: d.n})
	rd.ctcp = demoTCP(rd.c, true)
	rd.stcp = demoTCP(rd.sv, false)
	var err error
	rd.ln, err = rd.stcp.Listen(netip.AddrPortFrom(rdServer.Addr(), 5001), 8)
	return err
}

// transfer connects, writes 60000 bytes and half-closes, then runs
// virtual time until the server has everything (its side is in
// CLOSE-WAIT); mid runs once the first data is acknowledged.
func (rd *routingDemo) transfer(mid func()) error {
	d := rd.d
	type res struct {
		c   *tcp.Conn
		err error
	}
	// StartDial hands the SYN to the network before it returns, with the
	// clock stopped: no goroutine races the virtual clock.
	c0, err := rd.ctcp.StartDial(netip.AddrPort{}, netip.AddrPortFrom(rdServer.Addr(), 5001))
	r := res{c0, err}
	if r.err != nil {
		return fmt.Errorf("demo: connect to the server: %v", r.err)
	}
	established := func() bool { return r.c.State() == tcp.StateEstablished }
	if !d.n.RunUntil(established, 30*time.Second) {
		return fmt.Errorf("demo: hostc's connection was not established")
	}
	defer r.c.Close()
	data := make([]byte, 60000)
	if _, err := r.c.Write(data); err != nil {
		return err
	}
	r.c.CloseWrite()
	port := r.c.LocalAddr().(*net.TCPAddr).Port
	serverDone := func() bool {
		for _, ci := range rd.stcp.Connections() {
			if int(ci.Remote.Port()) == port && ci.State == tcp.StateCloseWait {
				return true
			}
		}
		return false
	}
	if mid != nil {
		d.n.Run(2 * time.Millisecond)
		mid()
	}
	if !d.n.RunUntil(serverDone, 5*time.Minute) {
		return fmt.Errorf("demo: the transfer did not complete")
	}
	return nil
}

func (rd *routingDemo) close() {
	if rd.ln != nil {
		rd.ln.Close()
	}
	for _, s := range []*stack.Stack{rd.c, rd.g1, rd.g2, rd.sv} {
		if s != nil {
			s.Close()
		}
	}
}
