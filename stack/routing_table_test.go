package stack

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
)

func routeLines(rs []Route) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%v %v %v %v %d", r.Dst.Addr(), prefixMask(r.Dst.Bits()), r.DisplayGateway(), r.IfAddr, r.Metric))
	}
	return out
}

// SPEC: IP-4, AMB-5 — the start-up routes of the whitepaper's example,
// mapped to 198.51.100.1/24 with gateway 198.51.100.254.
func TestStartupRoutes(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("a", 1500, link.FaultConfig{})
	h := newHost(t, n, seg, "198.51.100.1/24", "198.51.100.254", nil)
	got := strings.Join(routeLines(h.Routes()), "\n")
	want := strings.Join([]string{
		"0.0.0.0 0.0.0.0 198.51.100.254 198.51.100.1 1",
		"127.0.0.0 255.0.0.0 127.0.0.1 127.0.0.1 1",
		"198.51.100.0 255.255.255.0 198.51.100.1 198.51.100.1 1",
		"198.51.100.1 255.255.255.255 127.0.0.1 127.0.0.1 1",
		"198.51.100.255 255.255.255.255 198.51.100.1 198.51.100.1 1", // AMB-5: subnet broadcast
		"224.0.0.0 240.0.0.0 198.51.100.1 198.51.100.1 1",
		"255.255.255.255 255.255.255.255 198.51.100.1 198.51.100.1 1",
	}, "\n")
	if got != want {
		t.Fatalf("routes:\n%s\nwant:\n%s", got, want)
	}
}

// SPEC: IP-3, IP-13, IP-14 — longest prefix, then lowest metric; CIDR
// supernets, zero and all-ones subnets.
func TestLongestPrefixThenMetric(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("a", 1500, link.FaultConfig{})
	h := newHost(t, n, seg, "198.51.100.1/24", "198.51.100.254", nil)
	add := func(dst, gw string, metric int) {
		t.Helper()
		if err := h.AddRoute(Route{Dst: pfx(dst), Gateway: ip(gw), Metric: metric}); err != nil {
			t.Fatal(err)
		}
	}
	add("198.18.0.0/15", "198.51.100.10", 1)   // CIDR supernet
	add("198.18.0.0/24", "198.51.100.11", 5)   // zero subnet, worse metric
	add("198.18.0.0/24", "198.51.100.12", 2)   // zero subnet, better metric
	add("198.19.255.0/24", "198.51.100.13", 1) // all-ones subnet
	add("198.19.255.7/32", "198.51.100.14", 9) // host route beats everything
	for dst, gw := range map[string]string{
		"198.18.0.9":    "198.51.100.12",
		"198.18.1.1":    "198.51.100.10",
		"198.19.255.1":  "198.51.100.13",
		"198.19.255.7":  "198.51.100.14",
		"203.0.113.9":   "198.51.100.254",
		"198.51.100.77": "",
	} {
		ri, err := h.Route(ip(dst))
		if err != nil {
			t.Fatal(err)
		}
		if gw != "" {
			if ri.Gateway != ip(gw) {
				t.Errorf("%s via %v, want %s", dst, ri.Gateway, gw)
			}
		} else if ri.Gateway.IsValid() || !ri.OnLink {
			t.Errorf("%s via %v, want on-link", dst, ri.Gateway)
		}
	}
	if err := h.AddRoute(Route{Dst: pfx("198.18.0.0/15"), Gateway: ip("198.51.100.10")}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := h.AddRoute(Route{Dst: pfx("198.18.0.0/15"), Gateway: ip("203.0.113.1")}); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("off-link gateway: %v", err)
	}
	// route change: new gateway and metric for the /15.
	if err := h.ChangeRoute(Route{Dst: pfx("198.18.0.0/15"), Gateway: ip("198.51.100.20"), Metric: 3}); err != nil {
		t.Fatal(err)
	}
	if ri, _ := h.Route(ip("198.18.1.1")); ri.Gateway != ip("198.51.100.20") {
		t.Fatalf("after change via %v", ri.Gateway)
	}
	if err := h.ChangeRoute(Route{Dst: pfx("192.0.2.0/24"), Gateway: ip("198.51.100.20")}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("change of a missing route: %v", err)
	}
	if err := h.DeleteRoute(pfx("198.18.0.0/24"), netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if ri, _ := h.Route(ip("198.18.0.9")); ri.Gateway != ip("198.51.100.20") {
		t.Fatalf("after delete via %v", ri.Gateway)
	}
}

// SPEC: IP-6 — several default gateways with metrics, only one active;
// traffic goes to the active one only.
func TestSeveralDefaultGatewaysOneActive(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("a", 1500, link.FaultConfig{})
	p := config.Default().Tcpip
	s := New(Options{Clock: n.Clock(), Params: p, Seed: 1})
	defer s.Close()
	port := seg.NewPort(sim.MAC(900))
	_, err := s.AddInterface(InterfaceConfig{Name: "eth0", Addrs: []netip.Prefix{pfx("198.51.100.1/24")},
		Gateways: []netip.Addr{ip("198.51.100.253"), ip("198.51.100.254")}, GatewayMetrics: []int{20, 10}}, port)
	if err != nil {
		t.Fatal(err)
	}
	if gw, _ := s.ActiveGateway(); gw != ip("198.51.100.254") {
		t.Fatalf("active %v, want the metric-10 gateway", gw)
	}
	if got := s.DefaultGateways(); len(got) != 2 || got[0] != ip("198.51.100.254") || got[1] != ip("198.51.100.253") {
		t.Fatalf("gateway order %v", got)
	}
	for _, dst := range []string{"203.0.113.1", "192.0.2.9", "198.18.4.4"} {
		if ri, _ := s.Route(ip(dst)); ri.Gateway != ip("198.51.100.254") {
			t.Fatalf("%s via %v", dst, ri.Gateway)
		}
	}
}

// SPEC: IP-5 — persistent routes survive a restart in the state file;
// volatile ones do not; Tcpip.Parameters.PersistentRoutes are loaded too.
func TestPersistentRoutesStateFile(t *testing.T) {
	dir := t.TempDir()
	fn := filepath.Join(dir, "state", "routes")
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("a", 1500, link.FaultConfig{})
	start := func(params []string) *Stack {
		p := config.Default().Tcpip
		p.PersistentRoutes = params
		s := New(Options{Clock: n.Clock(), Params: p, Seed: 1, PersistentRoutesFile: fn})
		if _, err := s.AddInterface(InterfaceConfig{Name: "eth0", Addrs: []netip.Prefix{pfx("198.51.100.1/24")}}, seg.NewPort(sim.MAC(len(seg.Ports())+800))); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := start([]string{"192.0.2.0,255.255.255.0,198.51.100.7,3"})
	if err := s.AddRoute(Route{Dst: pfx("198.18.0.0/16"), Gateway: ip("198.51.100.9"), Metric: 2, Persistent: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRoute(Route{Dst: pfx("203.0.113.0/24"), Gateway: ip("198.51.100.9")}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fn)
	if err != nil || !strings.Contains(string(b), "198.18.0.0,255.255.0.0,198.51.100.9,2\n") ||
		!strings.Contains(string(b), "192.0.2.0,255.255.255.0,198.51.100.7,3\n") || strings.Contains(string(b), "203.0.113") {
		t.Fatalf("state file %q %v", b, err)
	}
	s.Close()

	s = start(nil) // restart
	defer s.Close()
	if ri, _ := s.Route(ip("198.18.3.3")); ri.Gateway != ip("198.51.100.9") {
		t.Fatalf("persistent route lost: via %v", ri.Gateway)
	}
	if ri, _ := s.Route(ip("192.0.2.5")); ri.Gateway != ip("198.51.100.7") {
		t.Fatalf("configured persistent route lost: via %v", ri.Gateway)
	}
	if _, err := s.Route(ip("203.0.113.5")); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("volatile route survived: %v", err)
	}
	if pr := s.PersistentRoutes(); len(pr) != 2 {
		t.Fatalf("persistent list %v", pr)
	}
	if err := s.DeleteRoute(pfx("198.18.0.0/16"), netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(fn)
	if strings.Contains(string(b), "198.18.0.0") {
		t.Fatalf("deleted route still in state file: %q", b)
	}
	if _, err := ParsePersistentRoute("198.18.0.0,255.0.255.0,198.51.100.1,1"); err == nil {
		t.Fatal("non-contiguous mask accepted")
	}
}

// SPEC: IP-10, IP-11 — a multihomed host sends through the interface of
// the best route, from the address on the destination's subnet; a bound
// source is kept (weak host).
func TestSourceAddressSelection(t *testing.T) {
	n := sim.ForTest(t, 1)
	segA := n.NewSegment("a", 1500, link.FaultConfig{})
	segB := n.NewSegment("b", 1500, link.FaultConfig{})
	h := newHost(t, n, segA, "198.51.100.1/24", "198.51.100.254", nil)
	ifB := h.addIf(t, segB, "eth1", "203.0.113.1/24", "")
	if err := ifB.AddAddress(pfx("192.0.2.1/24")); err != nil {
		t.Fatal(err)
	}
	n.Run(5 * time.Second)
	cases := map[string]string{
		"203.0.113.50":  "203.0.113.1",
		"192.0.2.50":    "192.0.2.1",
		"198.51.100.50": "198.51.100.1",
		"198.18.0.1":    "198.51.100.1", // default route's interface
	}
	for dst, src := range cases {
		ri, err := h.Route(ip(dst))
		if err != nil || ri.Src != ip(src) {
			t.Errorf("%s: source %v (%v), want %s", dst, ri.Src, err, src)
		}
	}
	ri, _ := h.RouteFrom(ip("198.18.0.1"), ip("203.0.113.1"))
	if ri.Src != ip("203.0.113.1") || ri.IfIndex != h.ifc.Index() {
		t.Fatalf("bound source: %+v", ri)
	}
}
