package stack

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/wire"
)

// igmpSeen is one IGMP message on the segment, decoded by gopacket (the
// independent oracle) with the virtual time it arrived.
type igmpSeen struct {
	at       time.Time
	src, dst netip.Addr
	ttl      uint8
	ra       bool // IP Router Alert option (RFC 2113)
	typ      layers.IGMPType
	group    netip.Addr
	dstMAC   net.HardwareAddr
}

// igmpWatcher is a station on the segment that records IGMP messages.
type igmpWatcher struct {
	n   *sim.Network
	seg *sim.Segment
	ep  link.Endpoint
	mu  sync.Mutex
	got []igmpSeen
}

func newIGMPWatcher(n *sim.Network, seg *sim.Segment) *igmpWatcher {
	macCounter++
	w := &igmpWatcher{n: n, seg: seg, ep: seg.NewPort(sim.MAC(macCounter))}
	w.ep.Attach(w)
	return w
}

func (w *igmpWatcher) LinkStateChanged(bool) {}

func (w *igmpWatcher) DeliverFrame(f []byte) {
	p := gopacket.NewPacket(bytes.Clone(f), layers.LayerTypeEthernet, gopacket.Default)
	ipl, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	ig, _ := p.Layer(layers.LayerTypeIGMP).(*layers.IGMPv1or2)
	if ipl == nil || ig == nil {
		return
	}
	s := igmpSeen{at: w.n.Now(), ttl: ipl.TTL, typ: ig.Type,
		dstMAC: p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet).DstMAC}
	s.src, _ = netip.AddrFromSlice(ipl.SrcIP.To4())
	s.dst, _ = netip.AddrFromSlice(ipl.DstIP.To4())
	s.group, _ = netip.AddrFromSlice(ig.GroupAddress.To4())
	for _, o := range ipl.Options {
		if o.OptionType == wire.IPv4OptRA && o.OptionLength == 4 {
			s.ra = true
		}
	}
	w.mu.Lock()
	w.got = append(w.got, s)
	w.mu.Unlock()
}

// take returns the messages of type typ (0: all) seen since the last take.
func (w *igmpWatcher) take(typ layers.IGMPType) []igmpSeen {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []igmpSeen
	for _, s := range w.got {
		if typ == 0 || s.typ == typ {
			out = append(out, s)
		}
	}
	w.got = nil
	return out
}

// query injects an IGMP query from a "router" 192.0.2.254 (maxResp in
// tenths of a second, 0 = IGMPv1; group unspecified = general).
func (w *igmpWatcher) query(t *testing.T, maxResp uint8, group netip.Addr) {
	t.Helper()
	dst := allSystemsGroup
	if !group.IsUnspecified() {
		dst = group
	}
	b := make([]byte, wire.IGMPLen)
	m := wire.IGMP{Type: wire.IGMPMembershipQuery, MaxRespTime: maxResp, Group: group}
	m.Put(b)
	mac := wire.MulticastMAC(dst)
	ipl := &layers.IPv4{Version: 4, TTL: 1, Protocol: layers.IPProtocolIGMP,
		SrcIP: net.ParseIP("192.0.2.254").To4(), DstIP: dst.AsSlice(),
		Options: []layers.IPv4Option{{OptionType: wire.IPv4OptRA, OptionLength: 4, OptionData: []byte{0, 0}}}}
	eth := &layers.Ethernet{SrcMAC: hw(w.ep.MAC()), DstMAC: hw(mac), EthernetType: layers.EthernetTypeIPv4}
	if err := w.ep.WriteFrame(buildFrame(t, eth, ipl, gopacketPayload(b))); err != nil {
		t.Fatal(err)
	}
}

var testGroup = ip("239.1.2.3")

func (ifc *Interface) igmpLastReporter(group netip.Addr) bool {
	ifc.s.mu.Lock()
	defer ifc.s.mu.Unlock()
	g := ifc.igmp.groups[group]
	return g != nil && g.lastReporter
}

func (ifc *Interface) primaryAddr() netip.Addr {
	ifc.s.mu.Lock()
	defer ifc.s.mu.Unlock()
	return ifc.primaryAddrLocked()
}

// checkWire checks what RFC 2236 2 and 3 ask of every message we send.
func checkWire(t *testing.T, s igmpSeen, src netip.Addr) {
	t.Helper()
	if s.ttl != 1 || !s.ra || s.src != src {
		t.Errorf("%v: ttl %d, router alert %v, src %v; want 1, true, %v", s.typ, s.ttl, s.ra, s.src, src)
	}
	if want := wire.MulticastMAC(s.dst); !bytes.Equal(s.dstMAC, want[:]) { // SPEC: MCAST-3
		t.Errorf("dst MAC %v for %v", s.dstMAC, s.dst)
	}
}

// igmpHosts makes n hosts 192.0.2.1.. on one segment with a watcher.
func igmpHosts(t *testing.T, count int, mod func(*config.Tcpip)) (*sim.Network, *igmpWatcher, []*testHost) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	w := newIGMPWatcher(n, seg)
	var hs []*testHost
	for i := range count {
		hs = append(hs, newHost(t, n, seg, netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}).String()+"/24", "", mod))
	}
	n.Run(5 * time.Second)
	w.take(0)
	return n, w, hs
}

func join(t *testing.T, h *testHost, group netip.Addr) *UDPConn {
	t.Helper()
	c, err := h.ListenUDP(addrPort("0.0.0.0:5000"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.JoinGroup(group, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	return c
}

// SPEC: MCAST-1, MCAST-3
// The first join sends a v2 report at once and repeats it once within the
// Unsolicited Report Interval; 224.0.0.1 is joined but never reported.
func TestIGMPUnsolicitedReport(t *testing.T) {
	n, w, hs := igmpHosts(t, 1, nil)
	b := hs[0]
	if gs := b.Interfaces()[0].Groups; len(gs) != 1 || gs[0] != allSystemsGroup {
		t.Fatalf("groups before joining: %v", gs)
	}
	t0 := n.Now()
	join(t, b, testGroup)
	n.Run(30 * time.Second)
	got := w.take(0)
	if len(got) != 2 {
		t.Fatalf("want 2 reports, got %+v", got)
	}
	for _, s := range got {
		if s.typ != layers.IGMPMembershipReportV2 || s.group != testGroup || s.dst != testGroup {
			t.Errorf("report %+v", s)
		}
		checkWire(t, s, ip("192.0.2.1"))
	}
	if d := got[0].at.Sub(t0); d > 10*time.Millisecond {
		t.Errorf("first report after %v, want at once", d)
	}
	if d := got[1].at.Sub(got[0].at); d > igmpUnsolicitedInterval {
		t.Errorf("repetition after %v, want <= 10 s", d)
	}
	if st := b.Stats(); st.IGMPOutReports != 2 || st.IGMPOutMsgs != 2 {
		t.Errorf("stats %d reports, %d msgs", st.IGMPOutReports, st.IGMPOutMsgs)
	}
	// A second join of the same group on the host reports nothing.
	c2, err := b.ListenUDP(addrPort("0.0.0.0:5001"))
	if err != nil {
		t.Fatal(err)
	}
	c2.JoinGroup(testGroup, ip("192.0.2.1"))
	n.Run(30 * time.Second)
	if got := w.take(0); len(got) != 0 {
		t.Errorf("second join sent %+v", got)
	}
}

// SPEC: MCAST-1
// General and group-specific queries are answered within Max Resp Time.
func TestIGMPQueryResponse(t *testing.T) {
	n, w, hs := igmpHosts(t, 1, nil)
	b := hs[0]
	join(t, b, testGroup)
	n.Run(30 * time.Second)
	w.take(0)
	for i := range 20 { // the delay is random: try it a few times
		maxResp := uint8(10 + 5*i) // 1 s .. 10.5 s
		t0 := n.Now()
		w.query(t, maxResp, netip.IPv4Unspecified())
		n.Run(15 * time.Second)
		got := w.take(layers.IGMPMembershipReportV2)
		if len(got) != 1 || got[0].group != testGroup {
			t.Fatalf("query %d: reports %+v", i, got)
		}
		checkWire(t, got[0], ip("192.0.2.1"))
		if d := got[0].at.Sub(t0); d > time.Duration(maxResp)*100*time.Millisecond+10*time.Millisecond {
			t.Fatalf("report %v after a query with Max Resp Time %d", d, maxResp)
		}
	}
	// Group-specific: only for our groups.
	w.query(t, 20, ip("239.9.9.9"))
	n.Run(5 * time.Second)
	if got := w.take(layers.IGMPMembershipReportV2); len(got) != 0 {
		t.Fatalf("answered a query for another group: %+v", got)
	}
	w.query(t, 20, testGroup)
	n.Run(5 * time.Second)
	if got := w.take(layers.IGMPMembershipReportV2); len(got) != 1 {
		t.Fatalf("group-specific query: %+v", got)
	}
	if b.Stats().IGMPInQueries != 21 { // the query for 239.9.9.9 is filtered (MCAST-3)
		t.Errorf("igmpInQueries %d", b.Stats().IGMPInQueries)
	}
}

// SPEC: MCAST-1
// Two members: after a query only one reports, the other hears it and
// suppresses its own; only the last reporter sends Leave Group.
func TestIGMPSuppressionAndLeave(t *testing.T) {
	n, w, hs := igmpHosts(t, 2, nil)
	a, b := hs[0], hs[1]
	ca := join(t, a, testGroup)
	cb := join(t, b, testGroup)
	n.Run(30 * time.Second)
	w.take(0)
	// (The join's repetitions may already have been suppressed.)
	before := a.Stats().IGMPReportsSuppressed + b.Stats().IGMPReportsSuppressed
	for range 5 {
		w.query(t, 100, netip.IPv4Unspecified())
		n.Run(15 * time.Second)
		if got := w.take(layers.IGMPMembershipReportV2); len(got) != 1 {
			t.Fatalf("want one report per query, got %+v", got)
		}
	}
	suppressed := a.Stats().IGMPReportsSuppressed + b.Stats().IGMPReportsSuppressed - before
	if suppressed != 5 {
		t.Fatalf("suppressed %d, want 5", suppressed)
	}
	// The host that did not report last leaves silently...
	last, other, lastC, otherC := a, b, ca, cb
	if a.ifc.igmpLastReporter(testGroup) == b.ifc.igmpLastReporter(testGroup) {
		t.Fatal("both or neither flagged as last reporter")
	}
	if !a.ifc.igmpLastReporter(testGroup) {
		last, other, lastC, otherC = b, a, cb, ca
	}
	otherC.Close()
	n.Run(time.Second)
	if got := w.take(0); len(got) != 0 {
		t.Fatalf("non-reporter sent %+v", got)
	}
	// ... the last reporter sends Leave Group to 224.0.0.2.
	lastC.Close()
	n.Run(time.Second)
	got := w.take(0)
	if len(got) != 1 || got[0].typ != layers.IGMPLeaveGroup || got[0].dst != allRoutersGroup || got[0].group != testGroup {
		t.Fatalf("leave: %+v", got)
	}
	checkWire(t, got[0], last.ifc.primaryAddr())
	if last.Stats().IGMPOutLeaves != 1 || other.Stats().IGMPOutLeaves != 0 {
		t.Error("leave counters")
	}
	if gs := last.Interfaces()[0].Groups; len(gs) != 1 {
		t.Errorf("groups after leave %v", gs)
	}
}

// SPEC: MCAST-1
// An IGMPv1 query (Max Resp Time 0): v1 reports within 10 s, no Leave,
// for 400 s; then v2 again.
func TestIGMPv1Compat(t *testing.T) {
	n, w, hs := igmpHosts(t, 1, nil)
	b := hs[0]
	c := join(t, b, testGroup)
	n.Run(30 * time.Second)
	w.take(0)
	t0 := n.Now()
	w.query(t, 0, netip.IPv4Unspecified())
	n.Run(15 * time.Second)
	got := w.take(0)
	if len(got) != 1 || got[0].typ != layers.IGMPMembershipReportV1 || got[0].at.Sub(t0) > 10*time.Second+10*time.Millisecond {
		t.Fatalf("v1 report: %+v", got)
	}
	checkWire(t, got[0], ip("192.0.2.1"))
	c.Close()
	n.Run(time.Second)
	if got := w.take(0); len(got) != 0 {
		t.Fatalf("sent %+v with an IGMPv1 router present", got)
	}
	// 400 s after the v1 query the router is forgotten.
	n.Run(igmpV1RouterTimeout)
	c = join(t, b, testGroup)
	n.Run(time.Second)
	if got := w.take(0); len(got) == 0 || got[0].typ != layers.IGMPMembershipReportV2 {
		t.Fatalf("after v1 timeout: %+v", got)
	}
	c.Close()
	n.Run(time.Second)
	if got := w.take(0); len(got) != 1 || got[0].typ != layers.IGMPLeaveGroup {
		t.Fatalf("leave after v1 timeout: %+v", got)
	}
	if b.Stats().IGMPOutV1Reports != 1 {
		t.Errorf("igmpOutV1Reports %d", b.Stats().IGMPOutV1Reports)
	}
}

// SPEC: MCAST-1
// IGMPLevel 0 refuses multicast; 1 sends but neither joins nor speaks IGMP.
func TestIGMPLevel(t *testing.T) {
	for _, level := range []int{0, 1} {
		n, w, hs := igmpHosts(t, 1, func(p *config.Tcpip) { p.IGMPLevel = level })
		b := hs[0]
		if gs := b.Interfaces()[0].Groups; len(gs) != 0 {
			t.Errorf("level %d: groups %v", level, gs)
		}
		c, _ := b.ListenUDP(addrPort("0.0.0.0:5000"))
		if err := c.JoinGroup(testGroup, netip.Addr{}); !errors.Is(err, ErrMulticastDisabled) {
			t.Errorf("level %d: join: %v", level, err)
		}
		_, err := c.WriteToAddrPort([]byte("x"), netip.AddrPortFrom(testGroup, 5000))
		if level == 0 && !errors.Is(err, ErrMulticastDisabled) || level == 1 && err != nil {
			t.Errorf("level %d: send: %v", level, err)
		}
		w.query(t, 10, netip.IPv4Unspecified())
		n.Run(5 * time.Second)
		if got := w.take(0); len(got) != 0 {
			t.Errorf("level %d: IGMP sent %+v", level, got)
		}
	}
}

// SPEC: MCAST-4, MCAST-5
// Socket options: multicast TTL (default 1), loopback, outgoing interface;
// datagrams to groups reach the members on another host.
func TestUDPMulticastOptions(t *testing.T) {
	n, w, hs := igmpHosts(t, 2, nil)
	a, b := hs[0], hs[1]
	seg := w.seg
	rx := join(t, b, testGroup)
	self := join(t, a, testGroup) // a member on the sending host too
	snd, _ := a.ListenUDP(addrPort("0.0.0.0:0"))
	to := netip.AddrPortFrom(testGroup, 5000)
	var c capture
	seg.Capture(&c.buf)
	ttlOf := func() []uint8 {
		var ttls []uint8
		for _, p := range c.packets(t) {
			if u, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP); u != nil && u.DstPort == 5000 {
				ttls = append(ttls, p.Layer(layers.LayerTypeIPv4).(*layers.IPv4).TTL)
			}
		}
		c.buf.Reset()
		seg.Capture(&c.buf)
		return ttls
	}
	snd.SetTTL(64) // unicast TTL: not used for groups
	if _, err := snd.WriteToAddrPort([]byte("one"), to); err != nil {
		t.Fatal(err)
	}
	if r, ok := runUntilRead(t, n, readAsync(rx), time.Second); !ok || string(r.data) != "one" {
		t.Fatalf("member on b: %+v %v", r, ok)
	}
	if r, ok := runUntilRead(t, n, readAsync(self), time.Second); !ok || string(r.data) != "one" {
		t.Fatalf("looped back to a: %+v %v", r, ok)
	}
	if ttls := ttlOf(); len(ttls) != 1 || ttls[0] != 1 {
		t.Fatalf("default multicast TTL: %v", ttls)
	}
	snd.SetMulticastTTL(32)
	snd.SetMulticastLoopback(false)
	snd.WriteToAddrPort([]byte("two"), to)
	if r, ok := runUntilRead(t, n, readAsync(rx), time.Second); !ok || string(r.data) != "two" {
		t.Fatalf("member on b: %+v %v", r, ok)
	}
	ch := readAsync(self)
	if _, ok := runUntilRead(t, n, ch, time.Second); ok {
		t.Fatal("looped back with loopback off")
	}
	if ttls := ttlOf(); len(ttls) != 1 || ttls[0] != 32 {
		t.Fatalf("multicast TTL 32: %v", ttls)
	}
	// TTL 0: this host only.
	snd.SetMulticastTTL(0)
	snd.SetMulticastLoopback(true)
	snd.WriteToAddrPort([]byte("three"), to)
	if r, ok := runUntilRead(t, n, ch, time.Second); !ok || string(r.data) != "three" {
		t.Fatalf("TTL 0 on this host: %+v %v", r, ok)
	}
	if ttls := ttlOf(); len(ttls) != 0 {
		t.Fatalf("TTL 0 went on the wire: %v", ttls)
	}
	if err := snd.SetMulticastInterface(ip("192.0.2.99")); err == nil {
		t.Error("foreign interface address accepted")
	}
	if err := snd.SetMulticastInterface(ip("192.0.2.1")); err != nil {
		t.Error(err)
	}
	if err := rx.JoinGroup(testGroup, netip.Addr{}); !errors.Is(err, ErrAddrInUse) {
		t.Errorf("double join: %v", err)
	}
	if err := rx.LeaveGroup(ip("239.9.9.9"), netip.Addr{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("leave of a group not joined: %v", err)
	}
}
