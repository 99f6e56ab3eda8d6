package stackhost

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tools"
)

func twoHosts(t *testing.T) (*sim.Network, *Host, *Host) {
	t.Helper()
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("stpseg", 1500, link.FaultConfig{Delay: time.Millisecond})
	mk := func(i int, addr string) *Host {
		s := stack.New(stack.Options{Clock: n.Clock(), Seed: int64(i), HostName: "h"})
		t.Cleanup(func() { s.Close() })
		if _, err := s.AddInterface(stack.InterfaceConfig{Name: "lan",
			Addrs: []netip.Prefix{netip.MustParsePrefix(addr)}}, seg.NewPort(sim.MAC(i))); err != nil {
			t.Fatal(err)
		}
		return New(s, Options{Runner: n})
	}
	a, b := mk(1, "198.51.100.10/24"), mk(2, "198.51.100.20/24")
	n.Run(5 * time.Second) // duplicate address detection
	return n, a, b
}

// SPEC: TOOL-PING — probes 1 s apart, 4 s wait per probe, exact in virtual time.
func TestPingVirtualTimings(t *testing.T) {
	n, a, _ := twoHosts(t)
	ctx := context.Background()
	start := n.Now()
	var got []tools.ProbeResult
	err := a.Ping(ctx, netip.MustParseAddr("198.51.100.20"), tools.PingOptions{Count: 3, Size: 32},
		func(r tools.ProbeResult) { got = append(got, r) })
	if err != nil || len(got) != 3 {
		t.Fatalf("%v %+v", err, got)
	}
	// First probe waits for ARP (two 1 ms hops more); later ones take 2 ms.
	wantRTT := []time.Duration{4 * time.Millisecond, 2 * time.Millisecond, 2 * time.Millisecond}
	for i, r := range got {
		if r.Kind != tools.ProbeReply || r.RTT != wantRTT[i] || r.Bytes != 32 || r.TTL != 128 {
			t.Errorf("probe %d: %+v", i, r)
		}
	}
	if el := n.Now().Sub(start); el != 2*time.Second+2*time.Millisecond {
		t.Errorf("3 probes took %v", el)
	}

	// Nobody home: ARP gives up and the stack reports the host
	// unreachable from our own address, as Windows does.
	start = n.Now()
	got = nil
	a.Ping(ctx, netip.MustParseAddr("198.51.100.99"), tools.PingOptions{Count: 2},
		func(r tools.ProbeResult) { got = append(got, r) })
	if len(got) != 2 || got[0].Kind != tools.ProbeUnreachable || got[0].From != netip.MustParseAddr("198.51.100.10") {
		t.Fatalf("%+v", got)
	}
	t.Logf("2 unreachable probes took %v", n.Now().Sub(start))

	// A silent host (static ARP entry, nobody answers): 4 s wait per probe, no
	// extra wait after a timeout.
	if err := a.AddStaticARP(ctx, netip.MustParseAddr("198.51.100.98"), "02-00-00-00-00-62", netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	start = n.Now()
	got = nil
	a.Ping(ctx, netip.MustParseAddr("198.51.100.98"), tools.PingOptions{Count: 2},
		func(r tools.ProbeResult) { got = append(got, r) })
	if len(got) != 2 || got[0].Kind != tools.ProbeTimeout || got[1].Kind != tools.ProbeTimeout {
		t.Fatalf("%+v", got)
	}
	if el := n.Now().Sub(start); el != 8*time.Second {
		t.Errorf("2 timeouts took %v", el)
	}

	// -w 500: the wait is the option's.
	start = n.Now()
	a.Ping(ctx, netip.MustParseAddr("198.51.100.98"), tools.PingOptions{Count: 1, Timeout: 500 * time.Millisecond},
		func(tools.ProbeResult) {})
	if el := n.Now().Sub(start); el != 500*time.Millisecond {
		t.Errorf("-w 500 took %v", el)
	}
}

func TestARPTablesAndStatic(t *testing.T) {
	n, a, b := twoHosts(t)
	ctx := context.Background()
	a.Ping(ctx, netip.MustParseAddr("198.51.100.20"), tools.PingOptions{Count: 1}, func(tools.ProbeResult) {})
	if err := a.AddStaticARP(ctx, netip.MustParseAddr("198.51.100.7"), "02-00-00-00-00-07", netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	tabs, _ := a.ARPTables(ctx)
	want := "\nInterface: 198.51.100.10 --- 0x2\n" +
		"  Internet Address      Physical Address      Type\n" +
		"  198.51.100.7          02-00-00-00-00-07     static\n" +
		"  198.51.100.20         02-00-00-00-00-02     dynamic\n"
	if got := tools.FormatARP(tabs); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if err := a.AddStaticARP(ctx, netip.MustParseAddr("198.51.100.8"), "nonsense", netip.Addr{}); err == nil {
		t.Fatal("bad MAC accepted")
	}
	_ = n
	_ = b
}
