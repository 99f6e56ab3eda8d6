package stack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/wire"
)

func advertFrame(r *rawStation, from netip.Addr, life uint16, entries ...wire.RouterAddr) []byte {
	ra := wire.RouterAdvertisement{Lifetime: life, Entries: entries}
	icmpLen := wire.RouterAdvertisementLen(len(entries))
	f := make([]byte, wire.EthernetHeaderLen+wire.IPv4MinHeaderLen+icmpLen)
	dst := allSystemsGroup
	eh := wire.EthernetHeader{Dst: wire.MulticastMAC(dst), Src: r.mac(), Type: wire.EtherTypeIPv4}
	eh.Put(f)
	ih := wire.IPv4Header{TotalLen: uint16(wire.IPv4MinHeaderLen + icmpLen), TTL: 1, Protocol: wire.ProtoICMP, Src: from, Dst: dst}
	ih.Put(f[wire.EthernetHeaderLen:])
	wire.PutRouterAdvertisement(f[wire.EthernetHeaderLen+wire.IPv4MinHeaderLen:], &ra)
	return f
}

func rdiscHost(t *testing.T, n *sim.Network, seg *sim.Segment, bcast bool) *Stack {
	s := New(Options{Clock: n.Clock(), Params: config.Default().Tcpip, Seed: 1})
	t.Cleanup(func() { s.Close() })
	if _, err := s.AddInterface(InterfaceConfig{Name: "eth0", Addrs: []netip.Prefix{pfx("198.51.100.2/24")},
		RouterDiscovery: 1, SolicitationAddressBcast: bcast}, seg.NewPort(sim.MAC(600))); err != nil {
		t.Fatal(err)
	}
	return s
}

// SPEC: ICMP-2 — with PerformRouterDiscovery=1 the host sends three
// solicitations 600 ms apart to 224.0.0.2 (255.255.255.255 with
// SolicitationAddressBcast) and no more.
func TestRouterSolicitations(t *testing.T) {
	for _, bcast := range []bool{false, true} {
		n := sim.ForTest(t, 1)
		seg := n.NewSegment("a", 1500, link.FaultConfig{})
		c := startCapture(seg)
		start := n.Now()
		rdiscHost(t, n, seg, bcast)
		n.Run(10 * time.Second)
		var at []time.Duration
		for _, p := range c.packets(t) {
			ipl, ic := icmpOf(p)
			if ic == nil || ic.TypeCode.Type() != layers.ICMPv4TypeRouterSolicitation {
				continue
			}
			want := "224.0.0.2"
			if bcast {
				want = "255.255.255.255"
			}
			if ipl.DstIP.String() != want || ipl.TTL != 1 {
				t.Fatalf("solicitation to %v ttl %d", ipl.DstIP, ipl.TTL)
			}
			at = append(at, p.Metadata().Timestamp.Sub(start))
		}
		if len(at) != 3 || at[1]-at[0] != 600*time.Millisecond || at[2]-at[1] != 600*time.Millisecond {
			t.Fatalf("bcast=%v: solicitations at %v", bcast, at)
		}
	}
}

// SPEC: ICMP-2 — advertisements stop soliciting; advertised routers
// become default gateways ranked by preference; when the preferred one's
// lifetime ends the backup takes over; lifetime 0 withdraws at once.
func TestRouterAdvertisements(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("a", 1500, link.FaultConfig{})
	s := rdiscHost(t, n, seg, false)
	r := newRawStation(seg)
	n.Run(100 * time.Millisecond) // first solicitation out
	r1, r2 := ip("198.51.100.1"), ip("198.51.100.3")
	r.ep.WriteFrame(advertFrame(r, r1, 30, wire.RouterAddr{Addr: r1, Preference: 10},
		wire.RouterAddr{Addr: ip("192.0.2.1"), Preference: 100})) // off-link entry ignored
	r.ep.WriteFrame(advertFrame(r, r2, 90, wire.RouterAddr{Addr: r2, Preference: 5}))
	n.Run(10 * time.Millisecond)
	if gw, ok := s.ActiveGateway(); !ok || gw != r1 {
		t.Fatalf("active %v %v, want the preferred router", gw, ok)
	}
	if got := s.DefaultGateways(); len(got) != 2 || got[1] != r2 {
		t.Fatalf("gateways %v", got)
	}
	n.Run(5 * time.Second)
	if got := s.Stats().RouterSolicitsOut; got != 1 {
		t.Fatalf("%d solicitations: an advertisement must stop them", got)
	}
	n.Run(24 * time.Second) // 29.11 s after the advertisement at ~0.1 s
	if gw, _ := s.ActiveGateway(); gw != r1 {
		t.Fatalf("preferred router gone before its lifetime: active %v", gw)
	}
	n.Run(time.Second)
	if gw, _ := s.ActiveGateway(); gw != r2 {
		t.Fatalf("after the preferred router's lifetime: active %v", gw)
	}
	r.ep.WriteFrame(advertFrame(r, r2, 0, wire.RouterAddr{Addr: r2, Preference: 5}))
	n.Run(10 * time.Millisecond)
	if _, ok := s.ActiveGateway(); ok {
		t.Fatal("lifetime 0 did not withdraw the router")
	}
}
