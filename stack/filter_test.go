package stack

import (
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
)

// newFilteredHost is newHost with EnableSecurityFilters on and the
// interface's allow-lists set by mod.
func newFilteredHost(t *testing.T, n *sim.Network, seg *sim.Segment, addr string, mod func(*InterfaceConfig)) *testHost {
	t.Helper()
	p := config.Default().Tcpip
	p.EnableSecurityFilters = true
	s := New(Options{Clock: n.Clock(), Params: p, Logger: slog.New(slog.DiscardHandler), Seed: 2})
	t.Cleanup(func() { s.Close() })
	macCounter++
	port := seg.NewPort(sim.MAC(macCounter))
	ic := InterfaceConfig{Name: "eth0", Addrs: []netip.Prefix{pfx(addr)}}
	mod(&ic)
	ifc, err := s.AddInterface(ic, port)
	if err != nil {
		t.Fatal(err)
	}
	return &testHost{Stack: s, log: &logBuf{}, ifc: ifc, port: port}
}

// recTransport records the TCP segments delivered to it.
type recTransport struct {
	mu    sync.Mutex
	ports []uint16
}

func (r *recTransport) HandlePacket(p *InboundPacket) {
	r.mu.Lock()
	r.ports = append(r.ports, uint16(p.Payload[2])<<8|uint16(p.Payload[3]))
	r.mu.Unlock()
}
func (r *recTransport) HandleError(*ControlError) {}

func (r *recTransport) got() []uint16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint16(nil), r.ports...)
}

// SPEC: IP-21 — the list semantics: absent = all, empty = none, 0 = all.
func TestIfFilterSemantics(t *testing.T) {
	if newIfFilter(&InterfaceConfig{}, true) != nil || newIfFilter(&InterfaceConfig{TCPAllowedPorts: []int{}}, false) != nil {
		t.Fatal("absent lists must compile to no filter")
	}
	if newIfFilter(&InterfaceConfig{TCPAllowedPorts: []int{0}, UDPAllowedPorts: []int{0}, RawAllowedProtocols: []int{0}}, true) != nil {
		t.Fatal("[0] must allow all")
	}
	f := newIfFilter(&InterfaceConfig{TCPAllowedPorts: []int{}, UDPAllowedPorts: []int{7, 65535}, RawAllowedProtocols: []int{1}}, true)
	if f == nil || f.tcp == nil || f.udp == nil || f.raw == nil {
		t.Fatalf("filter %+v", f)
	}
	for p := range 65536 {
		if bitSet(f.tcp[:], p) {
			t.Fatalf("empty TCP list allows %d", p)
		}
		if want := p == 7 || p == 65535; bitSet(f.udp[:], p) != want {
			t.Fatalf("UDP %d: %v", p, !want)
		}
	}
	if !f.allowsRaw(1) || f.allowsRaw(2) || !(*ifFilter)(nil).allowsRaw(2) {
		t.Fatal("raw list")
	}
}

// SPEC: IP-21, SEC-5 — a filtered SYN is dropped silently and counted;
// allowed SYNs and non-SYN segments pass.
func TestSecurityFilterTCP(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	b := newFilteredHost(t, n, seg, "192.0.2.2/24", func(ic *InterfaceConfig) { ic.TCPAllowedPorts = []int{7} })
	rec := &recTransport{}
	b.RegisterTransport(6, rec)
	st := newRawStation(seg)
	n.Run(5 * time.Second)
	syn := func(port uint16, flags string) {
		tcp := &layers.TCP{SrcPort: 40000, DstPort: layers.TCPPort(port), Seq: 1, Window: 8192}
		switch flags {
		case "S":
			tcp.SYN = true
		case "SA":
			tcp.SYN, tcp.ACK = true, true
		case "A":
			tcp.ACK = true
		}
		ipl := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: ip("192.0.2.9").AsSlice(), DstIP: ip("192.0.2.2").AsSlice()}
		tcp.SetNetworkLayerForChecksum(ipl)
		eth := &layers.Ethernet{SrcMAC: hw(st.mac()), DstMAC: hw(b.ifc.MAC()), EthernetType: layers.EthernetTypeIPv4}
		st.ep.WriteFrame(buildFrame(t, eth, ipl, tcp))
		n.Run(100 * time.Millisecond)
	}
	c := startCapture(seg)
	syn(7, "S")  // allowed
	syn(13, "S") // filtered
	syn(9, "S")  // filtered
	syn(13, "A") // not a SYN: passes
	syn(13, "SA")
	got := b.Stats().SecFilterTCPDrops
	if got != 2 {
		t.Fatalf("secFilterTcpDrops = %d, want 2", got)
	}
	ports := rec.got()
	if len(ports) != 3 || ports[0] != 7 || ports[1] != 13 || ports[2] != 13 {
		t.Fatalf("delivered %v", ports)
	}
	for _, p := range c.packets(t) {
		if ipl, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ipl != nil && ipl.SrcIP.Equal(ip("192.0.2.2").AsSlice()) {
			t.Fatalf("the filtered host answered: %v", p)
		}
	}
}

// SPEC: IP-21 — a filtered UDP datagram draws no port unreachable.
func TestSecurityFilterUDP(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", nil)
	b := newFilteredHost(t, n, seg, "192.0.2.2/24", func(ic *InterfaceConfig) { ic.UDPAllowedPorts = []int{7} })
	n.Run(5 * time.Second)
	srv7, _ := b.ListenUDP(addrPort("0.0.0.0:7"))
	srv13, _ := b.ListenUDP(addrPort("0.0.0.0:13"))
	cl, _ := a.ListenUDP(addrPort("0.0.0.0:0"))
	c := startCapture(seg)
	cl.WriteToAddrPort([]byte("x"), addrPort("192.0.2.2:7"))
	r, ok := runUntilRead(t, n, readAsync(srv7), time.Second)
	if !ok || string(r.data) != "x" {
		t.Fatalf("port 7: %+v %v", r, ok)
	}
	cl.WriteToAddrPort([]byte("x"), addrPort("192.0.2.2:13")) // ARP resolved now
	cl.WriteToAddrPort([]byte("x"), addrPort("192.0.2.2:9"))
	n.Run(time.Second)
	srv13.SetReadDeadline(n.Now())
	if _, _, err := srv13.ReadFromAddrPort(make([]byte, 10)); err == nil {
		t.Fatal("port 13 received a filtered datagram")
	}
	st := b.Stats()
	if st.SecFilterUDPDrops != 2 || st.UDPNoPorts != 0 || st.ICMPOutDestUnreachs != 0 || st.IPInDiscards != 2 {
		t.Fatalf("stats %+v", st)
	}
	for _, p := range c.packets(t) {
		if _, ic := icmpOf(p); ic != nil {
			t.Fatalf("ICMP on the wire: %v", p)
		}
	}
	// Looped-back datagrams are not filtered.
	srv13.SetReadDeadline(time.Time{})
	lo, _ := b.ListenUDP(addrPort("0.0.0.0:0"))
	lo.WriteToAddrPort([]byte("self"), addrPort("192.0.2.2:13"))
	r, ok = runUntilRead(t, n, readAsync(srv13), time.Second)
	if !ok || string(r.data) != "self" {
		t.Fatalf("loopback to 13: %+v %v", r, ok)
	}
}

// BenchmarkUDPPipeFiltered is BenchmarkUDPPipe's 1400-byte case with the
// security filters on and the port allowed: the filter's cost on the
// receive path (one bit test, no allocation).
func BenchmarkUDPPipeFiltered(b *testing.B) {
	clk := clock.NewVirtual(sim.Epoch)
	pa, pb := link.NewPipe(clk, 1500, sim.MAC(1), sim.MAC(2))
	p := config.Default().Tcpip
	p.EnableSecurityFilters = true
	sa, sb := New(Options{Clock: clk}), New(Options{Clock: clk, Params: p})
	sa.AddInterface(InterfaceConfig{Name: "a", Addrs: []netip.Prefix{pfx("192.0.2.1/24")}}, pa)
	sb.AddInterface(InterfaceConfig{Name: "b", Addrs: []netip.Prefix{pfx("192.0.2.2/24")},
		TCPAllowedPorts: []int{80}, UDPAllowedPorts: []int{9, 53}}, pb)
	clk.Advance(5 * time.Second)
	rcv, _ := sb.ListenUDP(addrPort("0.0.0.0:9"))
	snd, _ := sa.DialUDP(netip.AddrPort{}, addrPort("192.0.2.2:9"))
	msg, buf := make([]byte, 1400), make([]byte, 2048)
	snd.Write(msg)
	clk.Advance(0)
	rcv.ReadFromAddrPort(buf)
	b.ReportAllocs()
	b.SetBytes(1400)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := snd.Write(msg); err != nil {
			b.Fatal(err)
		}
		clk.Advance(0)
		if n, _, err := rcv.ReadFromAddrPort(buf); err != nil || n != 1400 {
			b.Fatal(n, err)
		}
	}
}

// SPEC: SEC-5 — PPTPFiltering keeps only TCP port 1723 and GRE.
func TestPPTPFiltering(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", nil)
	p := config.Default().Tcpip // EnableSecurityFilters off: PPTPFiltering stands alone
	b := New(Options{Clock: n.Clock(), Params: p, Logger: slog.New(slog.DiscardHandler), Seed: 2})
	t.Cleanup(func() { b.Close() })
	macCounter++
	if _, err := b.AddInterface(InterfaceConfig{Name: "eth0", Addrs: []netip.Prefix{pfx("192.0.2.2/24")}, PPTPFiltering: true},
		seg.NewPort(sim.MAC(macCounter))); err != nil {
		t.Fatal(err)
	}
	rec := &recTransport{}
	b.RegisterTransport(6, rec)
	gre := &recTransport{}
	b.RegisterTransport(47, gre)
	n.Run(5 * time.Second)
	es, _ := a.NewEchoSocket()
	defer es.Close()
	es.Send(EchoRequest{Dst: ip("192.0.2.2"), Seq: 1}) // dropped: not PPTP
	if _, ok := waitEvent(t, n, es, 2*time.Second); ok {
		t.Fatal("echo answered on a PPTP-only interface")
	}
	seg13 := []byte{0x9c, 0x40, 0, 13, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0}
	seg1723 := []byte{0x9c, 0x40, 0x06, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0}
	for _, pk := range []OutboundPacket{
		{Dst: ip("192.0.2.2"), Proto: 6, Header: seg13},
		{Dst: ip("192.0.2.2"), Proto: 6, Header: seg1723},
		{Dst: ip("192.0.2.2"), Proto: 47, Header: []byte{0, 0, 0x88, 0x0b}},
	} {
		if err := a.WriteIP(pk); err != nil {
			t.Fatal(err)
		}
	}
	n.Run(time.Second)
	if got := rec.got(); len(got) != 1 || got[0] != 1723 {
		t.Fatalf("TCP delivered %v", got)
	}
	if len(gre.got()) != 1 {
		t.Fatal("GRE not delivered")
	}
	if st := b.Stats(); st.PPTPFilterDrops != 2 || st.ICMPInEchos != 0 {
		t.Fatalf("pptp drops %d echos %d", st.PPTPFilterDrops, st.ICMPInEchos)
	}
}
