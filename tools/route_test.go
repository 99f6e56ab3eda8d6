package tools

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// SPEC: TOOL-ROUTE — route add/delete/change arguments as Windows takes them.
func TestParseRouteSpec(t *testing.T) {
	sp, err := ParseRouteSpec(RouteAdd, []string{"198.18.0.0", "mask", "255.254.0.0", "198.51.100.1", "METRIC", "4", "IF", "0x2"})
	if err != nil || sp.Dst != netip.MustParsePrefix("198.18.0.0/15") || sp.Gateway != netip.MustParseAddr("198.51.100.1") ||
		sp.Metric != 4 || sp.IfIndex != 2 {
		t.Fatalf("%+v %v", sp, err)
	}
	if sp, err := ParseRouteSpec(RouteAdd, []string{"192.0.2.7", "198.51.100.1"}); err != nil || sp.Dst.Bits() != 32 {
		t.Fatalf("no MASK means a host route: %+v %v", sp, err)
	}
	if sp, err := ParseRouteSpec(RouteDelete, []string{"192.0.2.0", "MASK", "255.255.255.0"}); err != nil || sp.Gateway.IsValid() {
		t.Fatalf("delete without gateway: %+v %v", sp, err)
	}
	for _, bad := range [][]string{
		{},
		{"192.0.2.0", "MASK", "255.0.255.0", "198.51.100.1"},   // not contiguous
		{"192.0.2.1", "MASK", "255.255.255.0", "198.51.100.1"}, // bits outside the mask
		{"192.0.2.0", "MASK"}, // missing value
		{"192.0.2.0", "198.51.100.1", "METRIC", "0"},
		{"192.0.2.0", "198.51.100.1", "extra"},
		{"192.0.2.0"}, // add without gateway
		{"nonsense", "198.51.100.1"},
	} {
		if _, err := ParseRouteSpec(RouteAdd, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// SPEC: TOOL-ROUTE — "Persistent Routes: None" and the default gateway line.
func TestFormatRoutePrintEmpty(t *testing.T) {
	out := FormatRoutePrint(RouteTable{Interfaces: []RouteInterface{{Index: 1, Description: "MS TCP Loopback interface"}}})
	if !strings.HasSuffix(out, "Persistent Routes:\n  None\n") || strings.Contains(out, "Default Gateway") {
		t.Fatal(out)
	}
}

// SPEC: TOOL-TRACERT — the hop line layout: timeouts, sub-millisecond and
// millisecond RTTs, unreachable reports.
func TestFormatHop(t *testing.T) {
	a := netip.MustParseAddr("198.51.100.1")
	got := FormatHop(Hop{TTL: 2, From: a, Probes: []ProbeResult{
		{Kind: ProbeTTLExpired, RTT: 300 * time.Microsecond}, {Kind: ProbeTimeout}, {Kind: ProbeTTLExpired, RTT: 281 * time.Millisecond}}})
	if want := "  2    <1 ms     *      281 ms  198.51.100.1\n"; got != want {
		t.Fatalf("%q\nwant %q", got, want)
	}
	got = FormatHop(Hop{TTL: 5, Probes: []ProbeResult{{Kind: ProbeTimeout}, {Kind: ProbeTimeout}, {Kind: ProbeTimeout}}})
	if want := "  5     *        *        *     Request timed out.\n"; got != want {
		t.Fatalf("%q\nwant %q", got, want)
	}
	got = FormatHop(Hop{TTL: 1, From: a, Probes: []ProbeResult{{Kind: ProbeUnreachable, Code: 1, From: a}}})
	if !strings.Contains(got, "198.51.100.1 reports: Destination host unreachable.") {
		t.Fatalf("%q", got)
	}
}
