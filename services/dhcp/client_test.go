package dhcp

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/wire"
)

var (
	serverIP = netip.MustParseAddr("198.18.0.2")
	gwIP     = netip.MustParseAddr("198.18.0.1")
	srvMAC   = sim.MAC(200)
	bogusMAC = sim.MAC(201)
)

// seen is one message the fake server received.
type seen struct {
	at       time.Time
	typ      byte
	src, dst netip.Addr
	ciaddr   netip.Addr
}

// fakeServer is a DHCP server on a raw port of the simulated segment:
// deterministic (it answers from the receive callback, and frames travel
// on the virtual clock). It also answers ARP for its address and, when
// claimAPIPA or claim is set, claims addresses being probed (conflicts).
type fakeServer struct {
	port *sim.Port
	clk  interface{ Now() time.Time }

	mu         sync.Mutex
	silent     bool
	fqdn       string // the last option 81 name seen
	nakOnce    bool   // NAK the next REQUEST
	routers    []netip.Addr
	unicast    bool // send OFFER and ACK to yiaddr at chaddr, as RFC 2131 4.1 allows
	lease      uint32
	next       int
	claim      map[netip.Addr]bool
	claimAPIPA bool
	msgs       []seen
	probes     int // APIPA addresses claimed
	claimed    map[netip.Addr]bool
}

func newFakeServer(seg *sim.Segment, clk interface{ Now() time.Time }) *fakeServer {
	f := &fakeServer{port: seg.NewPort(srvMAC), clk: clk, lease: 120, next: 100, claim: map[netip.Addr]bool{},
		claimed: map[netip.Addr]bool{}}
	f.port.Attach(f)
	return f
}

func (f *fakeServer) LinkStateChanged(bool) {}

func (f *fakeServer) DeliverFrame(frame []byte) {
	eh, p, err := wire.ParseEthernet(frame)
	if err != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if eh.Type == wire.EtherTypeARP {
		a, err := wire.ParseARP(p)
		if err != nil || a.Op != wire.ARPRequest {
			return
		}
		claim := f.claim[a.TargetIP] || f.claimAPIPA && netip.MustParsePrefix("169.254.0.0/16").Contains(a.TargetIP)
		switch {
		case a.TargetIP == serverIP:
			f.arp(wire.ARPReply, eh.Src, serverIP, a.SenderMAC, a.SenderIP)
		case claim && a.SenderIP == a.TargetIP: // a probe for an address "in use"
			if f.claimAPIPA && !f.claimed[a.TargetIP] {
				f.probes++
				f.claimed[a.TargetIP] = true
			}
			f.arp(wire.ARPReply, eh.Src, a.TargetIP, a.SenderMAC, a.SenderIP)
		}
		return
	}
	h, pl, err := wire.ParseIPv4(p)
	if err != nil || h.Protocol != wire.ProtoUDP {
		return
	}
	u, pl, err := wire.ParseUDP(pl, h.Src, h.Dst)
	if err != nil || u.DstPort != stack.DHCPServerPort {
		return
	}
	m, err := Parse(pl)
	if err != nil {
		return
	}
	f.msgs = append(f.msgs, seen{at: f.clk.Now(), typ: m.Type(), src: h.Src, dst: h.Dst, ciaddr: m.CIAddr})
	if f.silent {
		return
	}
	var yi netip.Addr
	reply := byte(0)
	switch m.Type() {
	case Discover:
		yi, reply = netip.AddrFrom4([4]byte{198, 18, 0, byte(f.next)}), Offer
	case Request:
		yi = m.CIAddr
		if r, ok := m.Addr(OptRequestedIP); ok {
			yi = r
		}
		reply = Ack
		if f.nakOnce {
			f.nakOnce, reply = false, Nak
		}
	case Decline:
		f.next++
	}
	if reply == 0 {
		return
	}
	r := &Message{Op: bootReply, HType: 1, HLen: 6, XID: m.XID, YIAddr: yi, CHAddr: m.CHAddr}
	r.Add(OptMessageType, []byte{reply})
	r.Add(OptServerID, addrBytes(serverIP))
	r.Add(OptLeaseTime, be32(f.lease))
	r.Add(OptSubnetMask, []byte{255, 255, 255, 0})
	var rt []byte
	for _, a := range append([]netip.Addr{gwIP}, f.routers...) {
		rt = append(rt, addrBytes(a)...)
	}
	r.Add(OptRouter, rt)
	r.Add(OptDNS, addrBytes(gwIP))
	r.Add(OptDomainName, []byte("example.test"))
	if fq := m.Opt(OptFQDN); len(fq) > 3 {
		f.fqdn = string(fq[3:])
		r.Add(OptFQDN, []byte{0x01, 255, 255}) // S: the server registers both
	}
	dst, dmac := netip.AddrFrom4([4]byte{255, 255, 255, 255}), wire.BroadcastMAC
	if m.CIAddr.IsValid() && !m.CIAddr.IsUnspecified() {
		dst, dmac = m.CIAddr, m.CHAddr
	} else if f.unicast {
		dst, dmac = yi, m.CHAddr
	}
	f.sendUDP(dmac, dst, r.Marshal())
}

func (f *fakeServer) arp(op uint16, dst wire.MAC, sip netip.Addr, tmac wire.MAC, tip netip.Addr) {
	b := make([]byte, wire.EthernetHeaderLen+wire.ARPLen)
	wire.EthernetHeader{Dst: dst, Src: bogusMAC, Type: wire.EtherTypeARP}.Put(b)
	if sip == serverIP {
		copy(b[6:12], srvMAC[:])
	}
	a := wire.ARP{Op: op, SenderMAC: wire.MAC(b[6:12]), SenderIP: sip, TargetMAC: tmac, TargetIP: tip}
	a.Put(b[wire.EthernetHeaderLen:])
	f.port.WriteFrame(b)
}

func (f *fakeServer) sendUDP(dmac wire.MAC, dst netip.Addr, payload []byte) {
	n := wire.IPv4MinHeaderLen + wire.UDPHeaderLen + len(payload)
	b := make([]byte, wire.EthernetHeaderLen+n)
	wire.EthernetHeader{Dst: dmac, Src: srvMAC, Type: wire.EtherTypeIPv4}.Put(b)
	ip := b[wire.EthernetHeaderLen:]
	copy(ip[28:], payload)
	wire.PutUDP(ip[20:], serverIP, dst, stack.DHCPServerPort, stack.DHCPClientPort)
	h := wire.IPv4Header{TotalLen: uint16(n), TTL: 64, Protocol: wire.ProtoUDP, Src: serverIP, Dst: dst}
	h.Put(ip)
	f.port.WriteFrame(b)
}

func (f *fakeServer) set(fn func(f *fakeServer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeServer) messages() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.msgs...)
}

func (f *fakeServer) count(typ byte) int {
	n := 0
	for _, m := range f.messages() {
		if m.typ == typ {
			n++
		}
	}
	return n
}

type rig struct {
	net    *sim.Network
	seg    *sim.Segment
	st     *stack.Stack
	ifc    *stack.Interface
	port   *sim.Port
	peer   *stack.Stack
	srv    *fakeServer
	c      *Client
	mu     sync.Mutex
	infos  []Info
	logBuf *strings.Builder
}

// newRig builds the client's stack, a peer stack at the gateway address,
// and the fake server on one segment.
func newRig(t *testing.T, mod func(*Config)) *rig {
	t.Helper()
	n := sim.ForTest(t, 1)
	r := &rig{net: n, seg: n.NewSegment("lan", 1500, link.FaultConfig{})}
	r.srv = newFakeServer(r.seg, n.Clock())
	p := config.Default().Tcpip
	r.st = stack.New(stack.Options{Clock: n.Clock(), Params: p, Seed: 1})
	r.port = r.seg.NewPort(sim.MAC(1))
	var err error
	if r.ifc, err = r.st.AddInterface(stack.InterfaceConfig{Name: "eth0"}, r.port); err != nil {
		t.Fatal(err)
	}
	r.peer = stack.New(stack.Options{Clock: n.Clock(), Params: p, Seed: 2})
	if _, err := r.peer.AddInterface(stack.InterfaceConfig{Name: "eth0",
		Addrs: []netip.Prefix{netip.PrefixFrom(gwIP, 24)}}, r.seg.NewPort(sim.MAC(2))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.st.Close(); r.peer.Close() })
	cfg := Config{Iface: r.ifc, Clock: n.Clock(), DADTime: r.st.DADTime(), HostName: "stapel1",
		Ping: StackPinger(r.st, n.Clock()), APIPA: true, Seed: 7,
		Log:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnChange: func(in Info) { r.mu.Lock(); r.infos = append(r.infos, in); r.mu.Unlock() }}
	if mod != nil {
		mod(&cfg)
	}
	r.c = New(cfg)
	return r
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func (r *rig) until(t *testing.T, what string, cond func() bool, limit time.Duration) {
	t.Helper()
	if !r.net.RunUntil(cond, limit) {
		t.Fatalf("%s: not within %v (state %v)", what, limit, r.c.Info().State)
	}
}

func (r *rig) addrs() []netip.Prefix { return r.ifc.Info().Addrs }

func (r *rig) bound() bool { return r.c.Info().State == StateBound }

// TestLeaseAndRenewal: DISCOVER/OFFER/REQUEST/ACK, the address and the
// gateway installed, renewal at T1 by unicast to the server, rebinding at
// T2 by broadcast when the server is silent, expiry.
func TestLeaseAndRenewal(t *testing.T) {
	r := newRig(t, nil)
	r.c.Start()
	r.until(t, "bound", r.bound, 10*time.Second)
	in := r.c.Info()
	if in.Lease.Addr != netip.MustParsePrefix("198.18.0.100/24") || in.Lease.Server != serverIP ||
		in.Lease.Domain != "example.test" || len(in.Lease.DNS) != 1 {
		t.Fatalf("lease %+v", in.Lease)
	}
	inf := r.ifc.Info()
	if len(inf.Addrs) != 1 || inf.Addrs[0] != in.Lease.Addr || len(inf.Gateways) != 1 || inf.Gateways[0] != gwIP {
		t.Fatalf("interface %+v", inf)
	}
	// The leased address works: ping the gateway from it.
	es, _ := r.st.NewEchoSocket()
	defer es.Close()
	es.Send(stack.EchoRequest{Dst: gwIP, Seq: 1, Size: 8})
	got := false
	r.until(t, "echo reply", func() bool {
		select {
		case ev := <-es.Events():
			got = ev.Type == 0
		default:
		}
		return got
	}, 5*time.Second)

	// SPEC DHCP-2: renew at T1 = 60 s, unicast to the server.
	obtained := in.Lease.Obtained
	r.until(t, "renewal", func() bool { return r.srv.count(Request) >= 2 }, 2*time.Minute)
	last := r.srv.messages()[len(r.srv.messages())-1]
	if d := last.at.Sub(obtained); d < 60*time.Second || d > 61*time.Second {
		t.Errorf("renewal %v after the lease, want T1 = 60 s", d)
	}
	if last.dst != serverIP || last.src != in.Lease.Addr.Addr() || last.ciaddr != in.Lease.Addr.Addr() {
		t.Errorf("renewal %+v, want unicast from the lease to the server", last)
	}
	r.until(t, "bound again", r.bound, time.Second)
	renewed := r.c.Info().Lease.Obtained

	// Server gone: renewals until T2 (105 s), then broadcast rebinding.
	r.srv.set(func(f *fakeServer) { f.silent = true })
	r.until(t, "rebinding", func() bool { return r.c.Info().State == StateRebinding }, 2*time.Minute)
	if d := r.net.Now().Sub(renewed); d != 105*time.Second {
		t.Errorf("rebinding %v after the lease, want T2 = 105 s", d)
	}
	r.net.Run(time.Millisecond) // the broadcast reaches the server
	msgs := r.srv.messages()
	if m := msgs[len(msgs)-1]; m.dst != netip.AddrFrom4([4]byte{255, 255, 255, 255}) || m.typ != Request {
		t.Errorf("rebinding request %+v, want a broadcast", m)
	}
	// Expiry: the address goes, and the client starts over.
	r.until(t, "expiry", func() bool { return len(r.addrs()) == 0 }, time.Minute)
	if d := r.net.Now().Sub(renewed); d != 120*time.Second {
		t.Errorf("expired %v after the lease, want 120 s", d)
	}
}

// TestDiscoverBackoff: RFC 2131 4.1 retransmissions 4, 8, 16, 32 s ± 1 s,
// then APIPA (SPEC DHCP-4) and a new search every 5 minutes; when a server
// appears the client drops the APIPA address for the lease.
func TestDiscoverBackoffAPIPAAndBack(t *testing.T) {
	r := newRig(t, nil)
	r.srv.set(func(f *fakeServer) { f.silent = true })
	r.c.Start()
	r.until(t, "autoconf", func() bool { return r.c.Info().State == StateAutoconf }, 2*time.Minute)
	var ds []seen
	for _, m := range r.srv.messages() {
		if m.typ == Discover {
			ds = append(ds, m)
		}
	}
	if len(ds) != 4 {
		t.Fatalf("%d DISCOVERs before APIPA, want 4", len(ds))
	}
	for i := 1; i < len(ds); i++ {
		want := time.Duration(4<<(i-1)) * time.Second
		if d := ds[i].at.Sub(ds[i-1].at); d < want-time.Second || d > want+time.Second {
			t.Errorf("retransmission %d after %v, want %v ± 1 s", i, d, want)
		}
		if ds[i].src != netip.IPv4Unspecified() {
			t.Errorf("DISCOVER from %v", ds[i].src)
		}
	}
	a := r.c.Info().APIPA
	if !netip.MustParsePrefix("169.254.0.0/16").Contains(a.Addr()) || a.Bits() != 16 {
		t.Fatalf("APIPA %v", a)
	}
	if ad := r.addrs(); len(ad) != 1 || ad[0] != a {
		t.Fatalf("interface addresses %v, want %v", ad, a)
	}
	// SPEC DHCP-4: look again every 5 minutes; switch to the lease.
	n := r.srv.count(Discover)
	auto := r.net.Now()
	r.until(t, "next search", func() bool { return r.srv.count(Discover) > n }, 6*time.Minute)
	if d := r.net.Now().Sub(auto); d != 5*time.Minute {
		t.Errorf("searched again after %v, want 5 min", d)
	}
	r.srv.set(func(f *fakeServer) { f.silent = false })
	r.until(t, "lease after APIPA", r.bound, 2*time.Minute)
	if ad := r.addrs(); len(ad) != 1 || ad[0].Addr() != netip.MustParseAddr("198.18.0.100") {
		t.Fatalf("interface addresses %v after the lease", ad)
	}
	if r.c.Info().APIPA.IsValid() {
		t.Fatal("APIPA address kept")
	}
}

// TestAPIPATenTries: every probed address is claimed: 10 tries, then no
// address (SPEC DHCP-4).
func TestAPIPATenTries(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Retries = 1 })
	r.srv.set(func(f *fakeServer) { f.silent, f.claimAPIPA = true, true })
	r.c.Start()
	r.until(t, "idle", func() bool { return r.c.Info().State == StateIdle }, 2*time.Minute)
	if r.srv.probes != 10 {
		t.Errorf("%d APIPA addresses probed, want 10", r.srv.probes)
	}
	if ad := r.addrs(); len(ad) != 0 {
		t.Errorf("addresses %v", ad)
	}
}

// TestDeclineOnConflict: the leased address is in use; the client sends
// DHCPDECLINE and takes the next one (SPEC DHCP-5, ARP-10).
func TestDeclineOnConflict(t *testing.T) {
	r := newRig(t, nil)
	r.srv.set(func(f *fakeServer) { f.claim[netip.MustParseAddr("198.18.0.100")] = true })
	r.c.Start()
	r.until(t, "decline", func() bool { return r.srv.count(Decline) == 1 }, 30*time.Second)
	r.until(t, "second lease", func() bool {
		in := r.c.Info()
		return in.State == StateBound && in.Lease.Addr.Addr() == netip.MustParseAddr("198.18.0.101")
	}, time.Minute)
	r.net.Run(10 * time.Second)
	if ad := r.addrs(); len(ad) != 1 || ad[0].Addr() != netip.MustParseAddr("198.18.0.101") {
		t.Fatalf("addresses %v", ad)
	}
	if n := r.srv.count(Decline); n != 1 {
		t.Errorf("%d DECLINEs", n)
	}
}

// TestRebootWithStoredLease: INIT-REBOOT (SPEC DHCP-3). With a server the
// lease is confirmed; without one the lease's gateway is pinged: an answer
// keeps the lease, silence falls back to APIPA.
func TestRebootWithStoredLease(t *testing.T) {
	for _, tc := range []struct {
		name      string
		silent    bool
		gwAnswers bool
		want      State
	}{
		{"server", false, true, StateBound},
		{"gateway answers", true, true, StateBound},
		{"nothing answers", true, false, StateAutoconf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r *rig
			r = newRig(t, func(c *Config) {
				now := sim.Epoch
				c.Lease = &Lease{Addr: netip.MustParsePrefix("198.18.0.120/24"), Gateways: []netip.Addr{gwIP},
					Server: serverIP, Duration: time.Hour, Obtained: now, T1: now.Add(30 * time.Minute),
					T2: now.Add(52 * time.Minute), Expires: now.Add(time.Hour)}
				if !tc.gwAnswers {
					c.Lease.Gateways = []netip.Addr{netip.MustParseAddr("198.18.0.77")}
				}
			})
			r.srv.set(func(f *fakeServer) { f.silent = tc.silent })
			r.c.Start()
			r.until(t, tc.want.String(), func() bool { return r.c.Info().State == tc.want }, 3*time.Minute)
			if r.srv.count(Discover) != 0 && tc.want == StateBound {
				t.Error("DISCOVER sent with a valid lease")
			}
			if msgs := r.srv.messages(); len(msgs) == 0 || msgs[0].typ != Request {
				t.Fatalf("first message %+v, want an INIT-REBOOT REQUEST", msgs)
			}
			ad := r.addrs()
			if tc.want == StateBound && (len(ad) != 1 || ad[0].Addr() != netip.MustParseAddr("198.18.0.120")) {
				t.Fatalf("addresses %v, want the stored lease", ad)
			}
			if tc.want == StateAutoconf && (len(ad) != 1 || !netip.MustParsePrefix("169.254.0.0/16").Contains(ad[0].Addr())) {
				t.Fatalf("addresses %v, want APIPA", ad)
			}
		})
	}
}

// TestReleaseAndRenew: ipconfig /release sends DHCPRELEASE to the server
// and removes the address; /renew gets a lease again.
func TestReleaseAndRenew(t *testing.T) {
	r := newRig(t, nil)
	r.c.Start()
	r.until(t, "bound", r.bound, 10*time.Second)
	r.c.Release()
	r.until(t, "release", func() bool { return r.srv.count(Release) == 1 }, 5*time.Second)
	if len(r.addrs()) != 0 || r.c.Info().State != StateReleased {
		t.Fatalf("after release: %v %v", r.addrs(), r.c.Info().State)
	}
	r.net.Run(10 * time.Minute)
	if r.c.Info().State != StateReleased {
		t.Fatal("client left RELEASED by itself")
	}
	r.c.Renew()
	r.until(t, "bound", r.bound, 10*time.Second)
	if len(r.addrs()) != 1 {
		t.Fatal(r.addrs())
	}
}

// TestMediaSense: a disconnect withdraws the address after 3 s; the
// reconnect renews with INIT-REBOOT (SPEC DHCP-7, LINK-8).
func TestMediaSense(t *testing.T) {
	r := newRig(t, nil)
	r.c.Start()
	r.until(t, "bound", r.bound, 10*time.Second)
	r.port.SetCarrier(false)
	r.until(t, "disconnected", func() bool { return r.c.Info().State == StateDisconnected }, 5*time.Second)
	if r.ifc.Info().MediaConnected {
		t.Fatal("media still connected")
	}
	n := r.srv.count(Request)
	r.port.SetCarrier(true)
	r.until(t, "rebound", func() bool { return r.bound() && r.srv.count(Request) > n }, 10*time.Second)
	if r.srv.count(Discover) != 1 {
		t.Errorf("%d DISCOVERs, want the reconnect to use INIT-REBOOT", r.srv.count(Discover))
	}
	if ad := r.addrs(); len(ad) != 1 {
		t.Fatalf("addresses %v", ad)
	}
}

// TestFQDNOption: option 81 carries the FQDN; the server's answer is
// recorded (SPEC DHCP-8).
func TestFQDNOption(t *testing.T) {
	r := newRig(t, func(c *Config) { c.FQDN = "stapel1.example.test" })
	r.c.Start()
	r.until(t, "bound", r.bound, 10*time.Second)
	if r.srv.fqdn != "stapel1.example.test" {
		t.Errorf("option 81 name %q", r.srv.fqdn)
	}
	if l := r.c.Info().Lease; !l.ServerFQDN || !l.ServerUpdatesA {
		t.Errorf("lease %+v: server's option 81 not recorded", l)
	}
}

// TestGatewayMetrics: n DHCP routers get metrics B, B+1, … from the
// DHCP base metric (SPEC DHCP-6, IP-6).
func TestGatewayMetrics(t *testing.T) {
	r := newRig(t, func(c *Config) { c.MetricBase = 100 })
	r.srv.set(func(f *fakeServer) {
		f.routers = []netip.Addr{netip.MustParseAddr("198.18.0.3"), netip.MustParseAddr("198.18.0.4")}
	})
	r.c.Start()
	r.until(t, "bound", r.bound, 10*time.Second)
	inf := r.ifc.Info()
	if fmt.Sprint(inf.Gateways, inf.Metrics) != "[198.18.0.1 198.18.0.3 198.18.0.4] [100 101 102]" {
		t.Fatalf("gateways %v metrics %v", inf.Gateways, inf.Metrics)
	}
}

// TestRebootNak: the server refuses the stored lease (another network):
// the client drops it and starts over with DISCOVER (RFC 2131 3.2).
func TestRebootNak(t *testing.T) {
	r := newRig(t, func(c *Config) {
		now := sim.Epoch
		c.Lease = &Lease{Addr: netip.MustParsePrefix("198.18.0.120/24"), Gateways: []netip.Addr{gwIP},
			Server: serverIP, Duration: time.Hour, Obtained: now, T1: now.Add(30 * time.Minute),
			T2: now.Add(52 * time.Minute), Expires: now.Add(time.Hour)}
	})
	r.srv.set(func(f *fakeServer) { f.nakOnce = true })
	r.c.Start()
	r.until(t, "bound", r.bound, 30*time.Second)
	if a := r.c.Info().Lease.Addr.Addr(); a != netip.MustParseAddr("198.18.0.100") {
		t.Fatalf("lease %v after NAK, want a new one", a)
	}
	if r.srv.count(Discover) != 1 {
		t.Errorf("%d DISCOVERs", r.srv.count(Discover))
	}
}

// TestAPIPAPrevious: the address auto-configured last time is probed
// first (IPAutoconfigurationAddress, SPEC DHCP-4).
func TestAPIPAPrevious(t *testing.T) {
	prev := netip.MustParseAddr("169.254.9.9")
	r := newRig(t, func(c *Config) { c.APIPAPrevious = prev })
	r.srv.set(func(f *fakeServer) { f.silent = true })
	r.c.Start()
	r.until(t, "autoconf", func() bool { return r.c.Info().State == StateAutoconf }, 2*time.Minute)
	if a := r.c.Info().APIPA; a != netip.PrefixFrom(prev, 16) {
		t.Fatalf("APIPA %v, want %v", a, prev)
	}
}

// TestUnicastOffer: OFFER and ACK sent to the offered address, which
// the interface does not have yet, still reach the client (RFC 2131 4.1).
func TestUnicastOffer(t *testing.T) {
	r := newRig(t, nil)
	r.srv.set(func(f *fakeServer) { f.unicast = true })
	r.c.Start()
	r.until(t, "bound", r.bound, 10*time.Second)
	if n := r.srv.count(Discover); n != 1 {
		t.Errorf("%d DISCOVERs, want 1", n)
	}
}
