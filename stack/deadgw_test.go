package stack

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
)

func newMultiGW(t *testing.T, mod func(*config.Tcpip), gws ...string) *Stack {
	t.Helper()
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("a", 1500, link.FaultConfig{})
	p := config.Default().Tcpip
	if mod != nil {
		mod(&p)
	}
	s := New(Options{Clock: n.Clock(), Params: p, Seed: 1})
	t.Cleanup(func() { s.Close() })
	var g []netip.Addr
	for _, a := range gws {
		g = append(g, ip(a))
	}
	if _, err := s.AddInterface(InterfaceConfig{Name: "eth0", Addrs: []netip.Prefix{pfx("198.51.100.2/24")}, Gateways: g},
		seg.NewPort(sim.MAC(700))); err != nil {
		t.Fatal(err)
	}
	return s
}

func gwOf(t *testing.T, s *Stack, dst netip.Addr) netip.Addr {
	t.Helper()
	ri, err := s.Route(dst)
	if err != nil {
		t.Fatal(err)
	}
	return ri.Gateway
}

// SPEC: TCP-DGD-2, TCP-DGD-3, AMB-10 — the whitepaper's example: 11 RCEs
// use the default gateway; each report moves one destination to the next
// gateway (others keep the old one); the 2nd move (2/11) leaves the host
// default alone, the 3rd (3/11 ≥ 25 %) makes the next gateway the host's
// active default gateway, and every RCE follows it.
func TestDeadGatewayElevenConnections(t *testing.T) {
	g1, g2, g3 := ip("198.51.100.1"), ip("198.51.100.11"), ip("198.51.100.21")
	s := newMultiGW(t, nil, "198.51.100.1", "198.51.100.11", "198.51.100.21")
	var dsts []netip.Addr
	for i := range 11 {
		d := ip(fmt.Sprintf("203.0.113.%d", 10+i))
		dsts = append(dsts, d)
		if gwOf(t, s, d) != g1 { // a connection's Route creates its RCE
			t.Fatal("initial gateway")
		}
	}
	for i := range 2 {
		if s.DeadGateway(dsts[i]) {
			t.Fatalf("host default switched after %d/11 moves", i+1)
		}
		if gwOf(t, s, dsts[i]) != g2 {
			t.Fatalf("moved RCE %d via %v", i, gwOf(t, s, dsts[i]))
		}
		if gw, _ := s.ActiveGateway(); gw != g1 {
			t.Fatalf("active %v after %d moves", gw, i+1)
		}
	}
	if gwOf(t, s, dsts[5]) != g1 {
		t.Fatal("an unaffected destination moved")
	}
	if !s.DeadGateway(dsts[2]) {
		t.Fatal("3/11 moves did not switch the host default")
	}
	if gw, _ := s.ActiveGateway(); gw != g2 {
		t.Fatalf("active %v, want %v", gw, g2)
	}
	for _, d := range dsts {
		if gwOf(t, s, d) != g2 {
			t.Fatalf("%v still via %v", d, gwOf(t, s, d))
		}
	}
	if got := s.Stats(); got.DeadGatewayReports != 3 || got.DeadGatewaySwitches != 1 {
		t.Fatalf("counters %d %d", got.DeadGatewayReports, got.DeadGatewaySwitches)
	}
	// SPEC TCP-DGD-4: the search goes on to g3, then wraps to g1.
	for _, want := range []netip.Addr{g3, g1} {
		for i := 0; ; i++ {
			if s.DeadGateway(dsts[i]) {
				break
			}
		}
		if gw, _ := s.ActiveGateway(); gw != want {
			t.Fatalf("active %v, want %v", gw, want)
		}
	}
}

// SPEC: TCP-DGD-1 — off with EnableDeadGWDetect=0, and with a single
// default gateway there is nowhere to go.
func TestDeadGatewayDisabledOrSingle(t *testing.T) {
	s := newMultiGW(t, func(p *config.Tcpip) { p.EnableDeadGWDetect = false }, "198.51.100.1", "198.51.100.11")
	d := ip("203.0.113.7")
	gwOf(t, s, d)
	for range 5 {
		s.DeadGateway(d)
	}
	if gwOf(t, s, d) != ip("198.51.100.1") {
		t.Fatal("moved with EnableDeadGWDetect=0")
	}
	one := newMultiGW(t, nil, "198.51.100.1")
	gwOf(t, one, d)
	if one.DeadGateway(d) || gwOf(t, one, d) != ip("198.51.100.1") {
		t.Fatal("moved with one gateway")
	}
	// A destination on a more specific route is not the default
	// gateway's business.
	two := newMultiGW(t, nil, "198.51.100.1", "198.51.100.11")
	if err := two.AddRoute(Route{Dst: pfx("203.0.113.0/24"), Gateway: ip("198.51.100.30")}); err != nil {
		t.Fatal(err)
	}
	two.DeadGateway(d)
	if gwOf(t, two, d) != ip("198.51.100.30") {
		t.Fatal("static route overridden")
	}
}
