package stackhost

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tools"
)

// chain is H — R1 — R2 — B: 198.51.100.0/24, 192.0.2.0/24, 203.0.113.0/24;
// R2's link to B has MTU mtuB.
func chain(t *testing.T, mtuB int) (*sim.Network, *Host, map[string]*stack.Stack) {
	t.Helper()
	n := sim.ForTest(t, 1)
	s1 := n.NewSegment("stp1", 1500, link.FaultConfig{Delay: time.Millisecond})
	s2 := n.NewSegment("stp2", 1500, link.FaultConfig{Delay: time.Millisecond})
	s3 := n.NewSegment("stp3", mtuB, link.FaultConfig{Delay: time.Millisecond})
	mac := 10
	mk := func(router bool, ifs ...stack.InterfaceConfig) *stack.Stack {
		p := config.Default().Tcpip
		p.IPEnableRouter = router
		st := stack.New(stack.Options{Clock: n.Clock(), Params: p, Seed: int64(mac)})
		t.Cleanup(func() { st.Close() })
		segs := map[string]*sim.Segment{"1": s1, "2": s2, "3": s3}
		for _, ic := range ifs {
			mac++
			if _, err := st.AddInterface(ic, segs[ic.Name[len(ic.Name)-1:]].NewPort(sim.MAC(mac))); err != nil {
				t.Fatal(err)
			}
		}
		return st
	}
	pf := netip.MustParsePrefix
	a := netip.MustParseAddr
	h := mk(false, stack.InterfaceConfig{Name: "lan1", Addrs: []netip.Prefix{pf("198.51.100.2/24")}, Gateways: []netip.Addr{a("198.51.100.1")}})
	r1 := mk(true, stack.InterfaceConfig{Name: "r1", Addrs: []netip.Prefix{pf("198.51.100.1/24")}},
		stack.InterfaceConfig{Name: "r2", Addrs: []netip.Prefix{pf("192.0.2.1/24")}, Gateways: []netip.Addr{a("192.0.2.2")}})
	r2 := mk(true, stack.InterfaceConfig{Name: "s2", Addrs: []netip.Prefix{pf("192.0.2.2/24")}, Gateways: []netip.Addr{a("192.0.2.1")}},
		stack.InterfaceConfig{Name: "s3", Addrs: []netip.Prefix{pf("203.0.113.1/24")}})
	b := mk(false, stack.InterfaceConfig{Name: "b3", Addrs: []netip.Prefix{pf("203.0.113.2/24")}, Gateways: []netip.Addr{a("203.0.113.1")}})
	n.Run(5 * time.Second)
	return n, New(h, Options{Runner: n}), map[string]*stack.Stack{"r1": r1, "r2": r2, "b": b}
}

// SPEC: TOOL-TRACERT, ICMP-7 — tracert through two routers lists both
// hops, then the destination, three probes each, with exact virtual RTTs.
func TestTracertTwoRouters(t *testing.T) {
	_, h, _ := chain(t, 1500)
	var out bytes.Buffer
	hops, err := tools.RunTracert(context.Background(), h, netip.MustParseAddr("203.0.113.2"), tools.TracertOptions{NoDNS: true}, &out)
	if err != nil || len(hops) != 3 {
		t.Fatalf("%v %d hops\n%s", err, len(hops), out.String())
	}
	want := []string{"198.51.100.1", "192.0.2.2", "203.0.113.2"}
	for i, hp := range hops {
		if hp.From.String() != want[i] || len(hp.Probes) != 3 {
			t.Fatalf("hop %d: %+v", i+1, hp)
		}
	}
	text := out.String()
	for _, line := range []string{
		"Tracing route to 203.0.113.2\nover a maximum of 30 hops:\n",
		// 1 ms per link each way; each hop's first probe waits for one
		// more ARP resolution (2 ms) further down the path.
		"  1     4 ms     2 ms     2 ms  198.51.100.1\n",
		"  2     6 ms     4 ms     4 ms  192.0.2.2\n",
		"  3     8 ms     6 ms     6 ms  203.0.113.2\n",
		"\nTrace complete.\n",
	} {
		if !strings.Contains(text, line) {
			t.Fatalf("missing %q in\n%s", line, text)
		}
	}
	// -h 1 stops after the first hop.
	out.Reset()
	hops, _ = tools.RunTracert(context.Background(), h, netip.MustParseAddr("203.0.113.2"), tools.TracertOptions{MaxHops: 1}, &out)
	if len(hops) != 1 || !strings.Contains(out.String(), "over a maximum of 1 hops") {
		t.Fatalf("-h 1: %d hops\n%s", len(hops), out.String())
	}
	t.Logf("\n%s", text)
}

// SPEC: TOOL-PATHPING — hop list, then per-hop and per-link loss.
func TestPathpingTwoRouters(t *testing.T) {
	n, h, _ := chain(t, 1500)
	var out bytes.Buffer
	start := n.Now()
	st, err := tools.RunPathping(context.Background(), h, netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("203.0.113.2"),
		tools.PathpingOptions{Queries: 10}, &out)
	if err != nil || len(st) != 3 {
		t.Fatalf("%v %+v\n%s", err, st, out.String())
	}
	for i, s := range st {
		if s.Sent != 10 || s.Lost != 0 || s.RTT != time.Duration(2*(i+1))*time.Millisecond {
			t.Fatalf("hop %d: %+v", i+1, s)
		}
	}
	text := out.String()
	for _, line := range []string{"  0  198.51.100.2\n", "  2  192.0.2.2\n", "Computing statistics for 8 seconds...",
		"  3    6ms     0/  10 =   0%     0/  10 =   0%  203.0.113.2\n", "Trace complete."} {
		if !strings.Contains(text, line) {
			t.Fatalf("missing %q in\n%s", line, text)
		}
	}
	t.Logf("pathping took %v virtual\n%s", n.Now().Sub(start), text)
}

// SPEC: TOOL-PING, TCP-PMTU-6, IP-20 — ping -f -l 1472 through a 576
// link: the router's "fragmentation needed" is reported, then the host
// refuses the next probe itself (the learned path MTU); 548 passes.
func TestPingDFReportsNeedsFragmentation(t *testing.T) {
	_, h, _ := chain(t, 576)
	var out bytes.Buffer
	dst := netip.MustParseAddr("203.0.113.2")
	st, err := tools.RunPing(context.Background(), h, dst, tools.PingOptions{Count: 2, Size: 1472, DF: true}, &out)
	if err != nil || st.Received != 0 {
		t.Fatal(err, st)
	}
	if got := strings.Count(out.String(), "Packet needs to be fragmented but DF set.\n"); got != 2 {
		t.Fatalf("%d DF lines\n%s", got, out.String())
	}
	if h.Stack().PathMTU(dst) != 576 {
		t.Fatalf("path MTU %d", h.Stack().PathMTU(dst))
	}
	out.Reset()
	if st, _ := tools.RunPing(context.Background(), h, dst, tools.PingOptions{Count: 1, Size: 548, DF: true}, &out); st.Received != 1 {
		t.Fatalf("548 with DF:\n%s", out.String())
	}
}

// SPEC: TOOL-ROUTE, IP-4, IP-5 — route print's layout, add -p, change,
// delete through the host adapter.
func TestRoutePrintAddChangeDelete(t *testing.T) {
	_, h, _ := chain(t, 1500)
	ctx := context.Background()
	add := func(args ...string) tools.RouteSpec {
		sp, err := tools.ParseRouteSpec(args[0], args[1:])
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	sp := add("add", "198.18.0.0", "MASK", "255.254.0.0", "198.51.100.1", "METRIC", "3")
	sp.Persistent = true
	if err := h.ChangeRoutes(ctx, sp); err != nil {
		t.Fatal(err)
	}
	if err := h.ChangeRoutes(ctx, add("add", "192.0.2.77", "198.51.100.1")); err != nil { // host route
		t.Fatal(err)
	}
	if err := h.ChangeRoutes(ctx, add("change", "192.0.2.77", "198.51.100.1", "METRIC", "7")); err != nil {
		t.Fatal(err)
	}
	rt, err := h.RouteTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	text := tools.FormatRoutePrint(rt)
	for _, line := range []string{
		"Interface List\n0x1 ........................... MS TCP Loopback interface\n0x2 ...02 00 00 00 00 0b ...... Stapel virtual Ethernet adapter (lan1)\n",
		"Active Routes:\nNetwork Destination        Netmask          Gateway       Interface  Metric\n",
		"          0.0.0.0          0.0.0.0     198.51.100.1   198.51.100.2       1\n",
		"        127.0.0.0        255.0.0.0        127.0.0.1      127.0.0.1       1\n",
		"       192.0.2.77  255.255.255.255     198.51.100.1   198.51.100.2       7\n",
		"       198.18.0.0      255.254.0.0     198.51.100.1   198.51.100.2       3\n",
		"     198.51.100.2  255.255.255.255        127.0.0.1      127.0.0.1       1\n",
		"   198.51.100.255  255.255.255.255     198.51.100.2   198.51.100.2       1\n",
		"        224.0.0.0        240.0.0.0     198.51.100.2   198.51.100.2       1\n",
		"Default Gateway:      198.51.100.1\n",
		"Persistent Routes:\n  Network Address          Netmask  Gateway Address  Metric\n       198.18.0.0      255.254.0.0     198.51.100.1       3\n",
	} {
		if !strings.Contains(text, line) {
			t.Fatalf("missing %q in\n%s", line, text)
		}
	}
	if err := h.ChangeRoutes(ctx, add("delete", "198.18.0.0", "MASK", "255.254.0.0")); err != nil {
		t.Fatal(err)
	}
	rt, _ = h.RouteTable(ctx)
	if text := tools.FormatRoutePrint(rt); !strings.HasSuffix(text, "Persistent Routes:\n  None\n") {
		t.Fatalf("after delete:\n%s", text)
	}
	if _, err := tools.ParseRouteSpec("add", []string{"198.18.1.0", "MASK", "255.255.0.0", "198.51.100.1"}); err == nil {
		t.Fatal("destination outside its mask accepted")
	}
	if err := h.ChangeRoutes(ctx, add("delete", "198.18.0.0", "MASK", "255.254.0.0")); err == nil {
		t.Fatal("deleting a missing route succeeded")
	}
	t.Logf("\n%s", text)
}
