package stack

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
)

type rawResult struct {
	data []byte
	from netip.Addr
	err  error
}

func rawReadAsync(c *RawConn) chan rawResult {
	ch := make(chan rawResult, 1)
	go func() {
		buf := make([]byte, 65536)
		k, from, err := c.ReadFromAddr(buf)
		ch <- rawResult{buf[:k], from, err}
	}()
	return ch
}

func runUntilRaw(t *testing.T, n *sim.Network, ch chan rawResult, limit time.Duration) (rawResult, bool) {
	t.Helper()
	var r rawResult
	ok := n.RunUntil(func() bool {
		select {
		case r = <-ch:
			return true
		case <-time.After(time.Millisecond):
			return false
		}
	}, limit)
	return r, ok
}

// decodeIP decodes a raw socket's datagram with gopacket.
func decodeIP(t *testing.T, b []byte) gopacket.Packet {
	t.Helper()
	p := gopacket.NewPacket(b, layers.LayerTypeIPv4, gopacket.Default)
	if p.Layer(layers.LayerTypeIPv4) == nil { // experimental protocols: payload undecoded
		t.Fatalf("gopacket: %v", p.ErrorLayer().Error())
	}
	if ipl := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); int(ipl.Length) != len(b) {
		t.Fatalf("total length %d, read %d", ipl.Length, len(b))
	}
	return p
}

// SPEC: MCAST-5 — a raw ICMP socket sees the whole echo request (header
// included) while the stack still answers it.
func TestRawICMPReceivesEcho(t *testing.T) {
	n, _, a, b := twoHosts(t)
	rc, err := b.ListenRaw(1, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	es, _ := a.NewEchoSocket()
	defer es.Close()
	ch := rawReadAsync(rc)
	if err := es.Send(EchoRequest{Dst: ip("192.0.2.2"), Seq: 5, Size: 32}); err != nil {
		t.Fatal(err)
	}
	r, ok := runUntilRaw(t, n, ch, time.Second)
	if !ok || r.err != nil || r.from != ip("192.0.2.1") {
		t.Fatalf("raw read %+v %v", r, ok)
	}
	p := decodeIP(t, r.data)
	ipl, ic := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4), p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ipl.Protocol != layers.IPProtocolICMPv4 || !ipl.DstIP.Equal(ip("192.0.2.2").AsSlice()) ||
		ic.TypeCode.Type() != layers.ICMPv4TypeEchoRequest || ic.Seq != 5 || len(ic.Payload) != 32 {
		t.Fatalf("decoded %v", p)
	}
	if ev, ok := waitEvent(t, n, es, time.Second); !ok || ev.Type != 0 || ev.Seq != 5 {
		t.Fatalf("echo reply %+v %v", ev, ok)
	}
	if st := b.Stats(); st.RawInDelivers != 1 || st.ICMPOutEchoReps != 1 {
		t.Fatalf("raw %d echo replies %d", st.RawInDelivers, st.ICMPOutEchoReps)
	}
}

// A raw socket sends with the stack building the header; the peer's raw
// socket of the same protocol receives it, and an unknown protocol with
// no raw socket still draws a protocol unreachable.
func TestRawSendReceiveProtocol(t *testing.T) {
	n, seg, a, b := twoHosts(t)
	if _, err := a.ListenRaw(6, netip.Addr{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("raw TCP: %v", err)
	}
	if _, err := a.ListenRaw(253, ip("192.0.2.9")); !errors.Is(err, ErrAddrNotAvailable) {
		t.Fatalf("foreign bind: %v", err)
	}
	sa, _ := a.ListenRaw(253, netip.Addr{})
	sb, _ := b.ListenRaw(253, ip("192.0.2.2"))
	defer sa.Close()
	ch := rawReadAsync(sb)
	if _, err := sa.WriteTo([]byte("experiment"), &net.IPAddr{IP: ip("192.0.2.2").AsSlice()}); err != nil {
		t.Fatal(err)
	}
	r, ok := runUntilRaw(t, n, ch, time.Second)
	if !ok || r.err != nil {
		t.Fatalf("%+v %v", r, ok)
	}
	ipl := decodeIP(t, r.data).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ipl.Protocol != 253 || string(ipl.Payload) != "experiment" || !ipl.SrcIP.Equal(ip("192.0.2.1").AsSlice()) {
		t.Fatalf("got %v", ipl)
	}
	if b.Stats().IPInUnknownProtos != 0 {
		t.Fatal("protocol with a raw socket counted unknown")
	}
	// Closed: the protocol is unknown again.
	sb.Close()
	c := startCapture(seg)
	sa.WriteTo([]byte("anyone?"), &net.IPAddr{IP: ip("192.0.2.2").AsSlice()})
	n.Run(time.Second)
	found := false
	for _, p := range c.packets(t) {
		if _, ic := icmpOf(p); ic != nil && ic.TypeCode.Type() == 3 && ic.TypeCode.Code() == 2 {
			found = true
		}
	}
	if !found || b.Stats().IPInUnknownProtos != 1 {
		t.Fatal("no protocol unreachable after close")
	}
}

// IP_HDRINCL: the caller's header fields are kept; length, ID and checksum
// are the stack's.
func TestRawHeaderIncluded(t *testing.T) {
	n, _, a, b := twoHosts(t)
	sa, _ := a.ListenRaw(255, netip.Addr{})
	sb, _ := b.ListenRaw(254, netip.Addr{})
	defer sa.Close()
	defer sb.Close()
	ipl := &layers.IPv4{Version: 4, IHL: 5, TTL: 9, TOS: 0x10, Protocol: 254, Flags: layers.IPv4DontFragment,
		SrcIP: ip("192.0.2.1").AsSlice(), DstIP: ip("192.0.2.2").AsSlice()}
	dg := buildFrame(t, ipl, gopacketPayload([]byte("hdrincl")))
	dg[10], dg[11] = 0, 0 // checksum left to the stack
	ch := rawReadAsync(sb)
	if _, err := sa.WriteTo(dg, nil); err != nil {
		t.Fatal(err)
	}
	r, ok := runUntilRaw(t, n, ch, time.Second)
	if !ok || r.err != nil {
		t.Fatalf("%+v %v", r, ok)
	}
	got := decodeIP(t, r.data).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if got.TTL != 9 || got.TOS != 0x10 || got.Protocol != 254 || got.Flags != layers.IPv4DontFragment || string(got.Payload) != "hdrincl" {
		t.Fatalf("got %+v", got)
	}
}

// SPEC: IP-21 — RawIpAllowedProtocols keeps datagrams from raw sockets but
// not from the stack's own ICMP.
func TestRawFilteredByRawIpAllowedProtocols(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", nil)
	b := newFilteredHost(t, n, seg, "192.0.2.2/24", func(ic *InterfaceConfig) { ic.RawAllowedProtocols = []int{} })
	n.Run(5 * time.Second)
	rc, _ := b.ListenRaw(1, netip.Addr{})
	defer rc.Close()
	es, _ := a.NewEchoSocket()
	defer es.Close()
	es.Send(EchoRequest{Dst: ip("192.0.2.2"), Seq: 1})
	if ev, ok := waitEvent(t, n, es, time.Second); !ok || ev.Type != 0 {
		t.Fatalf("echo %+v %v", ev, ok)
	}
	st := b.Stats()
	if st.SecFilterRawDrops != 1 || st.RawInDelivers != 0 {
		t.Fatalf("raw drops %d delivers %d", st.SecFilterRawDrops, st.RawInDelivers)
	}
}

// The receive queue is bounded; losses are counted.
func TestRawQueueBound(t *testing.T) {
	n, _, a, b := twoHosts(t)
	rc, _ := b.ListenRaw(253, netip.Addr{})
	defer rc.Close()
	rc.SetReadBuffer(2)
	sa, _ := a.ListenRaw(253, netip.Addr{})
	dst := &net.IPAddr{IP: ip("192.0.2.2").AsSlice()}
	sa.WriteTo([]byte("arp"), dst)
	n.Run(time.Second)
	for range 3 {
		sa.WriteTo([]byte("x"), dst)
	}
	n.Run(time.Second)
	if rc.Drops() != 2 || b.Stats().RawRecvQueueDrops != 2 {
		t.Fatalf("drops %d", rc.Drops())
	}
	rc.SetReadDeadline(n.Now().Add(time.Second))
	ch := rawReadAsync(rc)
	for range 2 {
		if r, ok := runUntilRaw(t, n, ch, time.Second); !ok || r.err != nil {
			t.Fatalf("%+v", r)
		}
		ch = rawReadAsync(rc)
	}
	if r, ok := runUntilRaw(t, n, ch, 2*time.Second); !ok || !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Fatalf("want deadline, got %+v %v", r, ok)
	}
}

// SPEC: MCAST-5 — a raw socket joins a group and receives its datagrams;
// without the membership they are not for this host.
func TestRawMulticastJoin(t *testing.T) {
	n, _, a, b := twoHosts(t)
	rc, _ := b.ListenRaw(253, netip.Addr{})
	defer rc.Close()
	sa, _ := a.ListenRaw(253, netip.Addr{})
	defer sa.Close()
	g := ip("239.1.2.3")
	dst := &net.IPAddr{IP: g.AsSlice()}
	sa.WriteTo([]byte("before"), dst)
	n.Run(time.Second)
	if b.Stats().RawInDelivers != 0 {
		t.Fatal("group datagram delivered without a membership")
	}
	if err := rc.JoinGroup(g, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(b.ifc.Info().Groups, g) {
		t.Fatalf("not a member after join: %v", b.ifc.Info().Groups)
	}
	if err := rc.JoinGroup(g, netip.Addr{}); err == nil {
		t.Fatal("second join of the same group accepted")
	}
	ch := rawReadAsync(rc)
	sa.WriteTo([]byte("after"), dst)
	r, ok := runUntilRaw(t, n, ch, time.Second)
	if !ok || r.err != nil {
		t.Fatalf("%+v %v", r, ok)
	}
	ipl := decodeIP(t, r.data).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if !ipl.DstIP.Equal(g.AsSlice()) || ipl.TTL != 1 || string(ipl.Payload) != "after" {
		t.Fatalf("got %+v", ipl)
	}
	rc.Close() // leaves the group
	if slices.Contains(b.ifc.Info().Groups, g) {
		t.Fatalf("still a member: %v", b.ifc.Info().Groups)
	}
}
