package stack

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
)

// SPEC: LINK-8
func TestMediaSense(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "192.0.2.254", nil)
	n.Run(5 * time.Second)
	a.port.SetCarrier(false)
	n.Run(2999 * time.Millisecond)
	if inf := a.Interfaces()[0]; !inf.MediaConnected || inf.LinkUp {
		t.Fatalf("before damping: %+v", inf)
	}
	if _, err := a.Route(ip("198.51.100.7")); err != nil {
		t.Fatal("route withdrawn too early")
	}
	n.Run(time.Millisecond)
	if inf := a.Interfaces()[0]; inf.MediaConnected {
		t.Fatalf("after 3 s: %+v", inf)
	}
	if _, err := a.Route(ip("198.51.100.7")); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("default route not withdrawn: %v", err)
	}
	if a.IsLocalAddr(ip("192.0.2.1")) {
		t.Fatal("address still in use")
	}
	if !contains(a.log.String(), "disconnected") {
		t.Fatal("not logged")
	}
	c := startCapture(seg)
	a.port.SetCarrier(true)
	n.Run(time.Second)
	if inf := a.Interfaces()[0]; !inf.MediaConnected || len(inf.Addrs) != 1 {
		t.Fatalf("not restored: %+v", inf)
	}
	if _, err := a.Route(ip("198.51.100.7")); err != nil {
		t.Fatal("routes not restored")
	}
	grat := false
	for _, p := range c.packets(t) {
		if ar := arpOf(p); ar != nil && net.IP(ar.SourceProtAddress).String() == "192.0.2.1" && net.IP(ar.DstProtAddress).String() == "192.0.2.1" {
			grat = true
		}
	}
	if !grat {
		t.Fatal("no gratuitous ARP on reconnect")
	}
	// A short flap (< 3 s) changes nothing.
	a.port.SetCarrier(false)
	n.Run(time.Second)
	a.port.SetCarrier(true)
	n.Run(5 * time.Second)
	if inf := a.Interfaces()[0]; !inf.MediaConnected {
		t.Fatal("flap took the interface down")
	}
}

// SPEC: ARCH-2, IP-9, IP-4
func TestHotAddRemoveAndRoutes(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	seg2 := n.NewSegment("lan2", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "192.0.2.254", nil)
	b := newHost(t, n, seg, "192.0.2.2/24", "", nil)
	n.Run(5 * time.Second)
	want := map[string]RouteKind{
		"0.0.0.0/0": RouteDefault, "192.0.2.0/24": RouteConnected, "192.0.2.1/32": RouteLocal,
		"192.0.2.255/32": RouteBroadcast, "127.0.0.0/8": RouteLoopback, "224.0.0.0/4": RouteMulticast,
		"255.255.255.255/32": RouteBroadcast,
	}
	rs := a.Routes()
	if len(rs) != len(want) {
		t.Fatalf("routes %+v", rs)
	}
	for _, r := range rs {
		if k, ok := want[r.Dst.String()]; !ok || k != r.Kind || r.Metric != 1 {
			t.Fatalf("unexpected route %+v", r)
		}
	}
	// Second address on the same interface, hot.
	if err := a.ifc.AddAddress(pfx("198.51.100.1/24")); err != nil {
		t.Fatal(err)
	}
	if !a.IsLocalAddr(ip("198.51.100.1")) {
		t.Fatal("added address not local")
	}
	b.AddRoute(Route{Dst: pfx("198.51.100.0/24"), Gateway: ip("192.0.2.2")}) // IP-7: on-link
	n.Run(time.Second)
	es, _ := b.NewEchoSocket()
	es.Send(EchoRequest{Dst: ip("198.51.100.1"), Seq: 1})
	if ev, ok := waitEvent(t, n, es, time.Second); !ok || ev.Type != 0 {
		t.Fatalf("second address unreachable: %+v", ev)
	}
	// Second interface.
	if2 := a.addIf(t, seg2, "eth1", "203.0.113.1/24", "")
	if if2.Index() != 3 || a.Interfaces()[1].Name != "eth1" {
		t.Fatalf("index %d", if2.Index())
	}
	if ri, err := a.Route(ip("203.0.113.50")); err != nil || ri.IfIndex != 3 || ri.Src != ip("203.0.113.1") {
		t.Fatalf("route via eth1: %+v %v", ri, err)
	}
	if err := a.RemoveInterface("eth1"); err != nil {
		t.Fatal(err)
	}
	if ri, _ := a.Route(ip("203.0.113.50")); ri.IfIndex == 3 {
		t.Fatal("routes of removed interface remain")
	}
	if err := a.ifc.RemoveAddress(ip("198.51.100.1")); err != nil || a.IsLocalAddr(ip("198.51.100.1")) {
		t.Fatal("remove address")
	}
	// Static routes and longest match then metric (IP-3).
	a.AddRoute(Route{Dst: pfx("198.18.0.0/15"), Gateway: ip("192.0.2.2"), Metric: 5})
	a.AddRoute(Route{Dst: pfx("198.18.0.0/15"), Gateway: ip("192.0.2.3"), Metric: 2})
	a.AddRoute(Route{Dst: pfx("198.18.4.0/24"), Gateway: ip("192.0.2.4"), Metric: 9})
	for dst, gw := range map[string]string{"198.18.1.1": "192.0.2.3", "198.18.4.1": "192.0.2.4", "203.0.113.9": "192.0.2.254"} {
		if ri, err := a.Route(ip(dst)); err != nil || ri.Gateway != ip(gw) {
			t.Fatalf("%s via %v (%v), want %s", dst, ri.Gateway, err, gw)
		}
	}
	if err := a.DeleteRoute(pfx("198.18.0.0/15"), ip("192.0.2.3")); err != nil {
		t.Fatal(err)
	}
	if ri, _ := a.Route(ip("198.18.1.1")); ri.Gateway != ip("192.0.2.2") {
		t.Fatal("delete route")
	}
	if _, err := a.AddInterface(InterfaceConfig{Name: "eth0"}, seg.NewPort(sim.MAC(999))); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("duplicate name: %v", err)
	}
}

// SPEC: LINK-6, AMB-2
func TestMTUClamp(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	s := New(Options{Clock: n.Clock()})
	for in, want := range map[int]int{0: 1500, 9000: 1500, 20: 68, 576: 576} {
		ifc, err := s.AddInterface(InterfaceConfig{Name: "x", MTU: in}, seg.NewPort(sim.MAC(500+in)))
		if err != nil {
			t.Fatal(err)
		}
		if ifc.MTU() != want {
			t.Errorf("MTU %d -> %d, want %d", in, ifc.MTU(), want)
		}
		s.RemoveInterface("x")
	}
}

// SPEC: LINK-3, ARP-12
func TestMulticastJoin(t *testing.T) {
	n, _, a, b := twoHosts(t)
	g := ip("224.0.1.99")
	rcv, _ := b.ListenUDP(addrPort("0.0.0.0:5000"))
	snd, _ := a.ListenUDP(addrPort("0.0.0.0:0"))
	snd.WriteToAddrPort([]byte("m"), netip.AddrPortFrom(g, 5000))
	n.Run(time.Second)
	if b.Stats().UDPInDatagrams != 0 || b.Stats().LinkRxFiltered == 0 {
		t.Fatal("unjoined group delivered")
	}
	b.JoinGroup(g, netip.Addr{})
	snd.WriteToAddrPort([]byte("m"), netip.AddrPortFrom(g, 5000))
	r, ok := runUntilRead(t, n, readAsync(rcv), time.Second)
	if !ok || string(r.data) != "m" {
		t.Fatalf("%+v %v", r, ok)
	}
	// 224.0.0.1 is joined on every interface (igmp.go, RFC 1112 7.2).
	if gs := b.Interfaces()[0].Groups; len(gs) != 2 || gs[0] != allSystemsGroup || gs[1] != g {
		t.Fatalf("groups %v", gs)
	}
}

// SPEC: ICMP-4
func TestAddrMaskReply(t *testing.T) {
	for _, on := range []bool{false, true} {
		n := sim.ForTest(t, 1)
		seg := n.NewSegment("lan", 1500, link.FaultConfig{})
		a := newHost(t, n, seg, "192.0.2.1/26", "", func(p *config.Tcpip) { p.EnableAddrMaskReply = on })
		r := newRawStation(seg)
		a.AddStaticARP(ip("192.0.2.9"), r.mac(), netip.Addr{})
		n.Run(5 * time.Second)
		r.take()
		ipl := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.ParseIP("192.0.2.9").To4(), DstIP: net.ParseIP("192.0.2.1").To4()}
		ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(17, 0), Id: 1, Seq: 1}
		eth := &layers.Ethernet{SrcMAC: hw(r.mac()), DstMAC: hw(a.ifc.MAC()), EthernetType: layers.EthernetTypeIPv4}
		r.ep.WriteFrame(buildFrame(t, eth, ipl, ic, gopacketPayload(make([]byte, 4))))
		n.Run(time.Second)
		fs := r.take()
		if !on && len(fs) != 0 {
			t.Fatal("answered with EnableAddrMaskReply=0")
		}
		if on && (len(fs) != 1 || !bytes.Contains(fs[0][14+20:], []byte{255, 255, 255, 192})) {
			t.Fatalf("reply %x", fs)
		}
	}
}

type fakeTransport struct {
	mu   sync.Mutex
	pkts []InboundPacket
	errs []ControlError
}

func (f *fakeTransport) HandlePacket(p *InboundPacket) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *p
	c.Payload = bytes.Clone(p.Payload)
	f.pkts = append(f.pkts, c)
}

func (f *fakeTransport) HandleError(e *ControlError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *e
	c.Payload = bytes.Clone(e.Payload)
	f.errs = append(f.errs, c)
}

// The transport seam TCP uses (CONTRACTS.md stack/), and ICMP-3 protocol
// unreachable for an unregistered protocol.
func TestTransportSeam(t *testing.T) {
	n, _, a, b := twoHosts(t)
	ta, tb := &fakeTransport{}, &fakeTransport{}
	a.RegisterTransport(6, ta)
	hdr := []byte{0x04, 0xd2, 0x00, 0x50, 1, 2, 3, 4}
	// B has no TCP yet: protocol unreachable comes back as a ControlError.
	if err := a.WriteIP(OutboundPacket{Dst: ip("192.0.2.2"), Proto: 6, Header: hdr, Payload: []byte("data")}); err != nil {
		t.Fatal(err)
	}
	n.Run(time.Second)
	if len(ta.errs) != 1 || ta.errs[0].Type != 3 || ta.errs[0].Code != 2 || ta.errs[0].Dst != ip("192.0.2.2") ||
		!bytes.Equal(ta.errs[0].Payload[:8], hdr) || b.Stats().IPInUnknownProtos != 1 {
		t.Fatalf("errs %+v", ta.errs)
	}
	b.RegisterTransport(6, tb)
	a.WriteIP(OutboundPacket{Dst: ip("192.0.2.2"), Proto: 6, TTL: 9, Header: hdr, Payload: []byte("data")})
	n.Run(time.Second)
	if len(tb.pkts) != 1 || tb.pkts[0].Src != ip("192.0.2.1") || tb.pkts[0].TTL != 9 || string(tb.pkts[0].Payload[8:]) != "data" || tb.pkts[0].Interface != 2 {
		t.Fatalf("pkts %+v", tb.pkts)
	}
	ri, err := a.Route(ip("192.0.2.2"))
	if err != nil || ri.Src != ip("192.0.2.1") || ri.MTU != 1500 || ri.Local || ri.IfIndex != 2 {
		t.Fatalf("route %+v %v", ri, err)
	}
	if ri, _ := a.Route(ip("192.0.2.1")); !ri.Local {
		t.Fatal("own address not local")
	}
	if err := a.WriteIP(OutboundPacket{Dst: ip("192.0.2.2"), Proto: 6, DF: true, Payload: make([]byte, 1600)}); !errors.Is(err, ErrNeedsFragmentation) {
		t.Fatalf("DF: %v", err)
	}
	if _, err := a.Route(ip("203.0.113.1")); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("no route: %v", err)
	}
	// Loopback to ourselves is asynchronous.
	a.WriteIP(OutboundPacket{Dst: ip("192.0.2.1"), Proto: 6, Header: hdr})
	if len(ta.pkts) != 0 {
		t.Fatal("loopback delivered synchronously")
	}
	n.Run(0)
	if len(ta.pkts) != 1 || ta.pkts[0].Interface != LoopbackIndex {
		t.Fatalf("loopback %+v", ta.pkts)
	}
}

// SPEC: ICMP-7 (rate limit, no errors about errors)
func TestICMPErrorRateLimit(t *testing.T) {
	n, _, a, b := twoHosts(t)
	a.AddStaticARP(ip("192.0.2.2"), b.ifc.MAC(), netip.Addr{})
	b.AddStaticARP(ip("192.0.2.1"), a.ifc.MAC(), netip.Addr{})
	snd, _ := a.ListenUDP(addrPort("0.0.0.0:0"))
	for i := 0; i < 80; i++ {
		snd.WriteToAddrPort([]byte("x"), addrPort("192.0.2.2:9"))
	}
	n.Run(0)
	st := b.Stats()
	if st.ICMPOutDestUnreachs != 50 || st.ICMPRateLimited != 30 {
		t.Fatalf("sent %d limited %d", st.ICMPOutDestUnreachs, st.ICMPRateLimited)
	}
	n.Run(100 * time.Millisecond) // 10 tokens back
	for i := 0; i < 20; i++ {
		snd.WriteToAddrPort([]byte("x"), addrPort("192.0.2.2:9"))
	}
	n.Run(0)
	if st := b.Stats(); st.ICMPOutDestUnreachs != 60 {
		t.Fatalf("after refill sent %d", st.ICMPOutDestUnreachs)
	}
}
