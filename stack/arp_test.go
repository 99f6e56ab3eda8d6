package stack

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/wire"
)

func findARP(s *Stack, a netip.Addr) (ARPEntry, bool) {
	for _, e := range s.ARPEntries() {
		if e.IP == a {
			return e, true
		}
	}
	return ARPEntry{}, false
}

// SPEC: ARP-1
func TestARPResolutionOnWire(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", nil)
	b := newHost(t, n, seg, "192.0.2.2/24", "", nil)
	n.Run(5 * time.Second)
	c := startCapture(seg)
	es, _ := a.NewEchoSocket()
	es.Send(EchoRequest{Dst: ip("192.0.2.2"), Seq: 1, Size: 8})
	if _, ok := waitEvent(t, n, es, time.Second); !ok {
		t.Fatal("no reply")
	}
	pk := c.packets(t)
	if len(pk) != 4 {
		t.Fatalf("want ARP request, ARP reply, echo, echo reply; got %d frames", len(pk))
	}
	req, rep := arpOf(pk[0]), arpOf(pk[1])
	if req == nil || req.Operation != layers.ARPRequest || net.IP(req.DstProtAddress).String() != "192.0.2.2" ||
		pk[0].LinkLayer().LinkFlow().Dst().String() != "ff:ff:ff:ff:ff:ff" {
		t.Fatalf("first frame not a broadcast ARP request: %v", pk[0])
	}
	if rep == nil || rep.Operation != layers.ARPReply || net.HardwareAddr(rep.SourceHwAddress).String() != b.ifc.MAC().String() {
		t.Fatalf("second frame not the ARP reply: %v", pk[1])
	}
	e, ok := findARP(a.Stack, ip("192.0.2.2"))
	if !ok || e.MAC != b.ifc.MAC() || e.Type != ARPDynamic || e.IfAddr != ip("192.0.2.1") {
		t.Fatalf("entry %+v %v", e, ok)
	}
	// The replier learned the requester too (RFC 826 merge).
	if _, ok := findARP(b.Stack, ip("192.0.2.1")); !ok {
		t.Fatal("responder did not learn requester")
	}
	if mac, err := b.SendARP(context.Background(), ip("192.0.2.1")); err != nil || mac != a.ifc.MAC() {
		t.Fatalf("SendARP = %v %v", mac, err)
	}
}

// injectARPRequest makes a raw station ask for target, so the target
// learns the station's entry without ever using it.
func injectARPRequest(t *testing.T, r *rawStation, srcIP, target string, senderMAC wire.MAC) {
	t.Helper()
	f := make([]byte, 14+28)
	eh := wire.EthernetHeader{Dst: wire.BroadcastMAC, Src: r.mac(), Type: wire.EtherTypeARP}
	eh.Put(f)
	a := wire.ARP{Op: wire.ARPRequest, SenderMAC: senderMAC, SenderIP: ip(srcIP), TargetIP: ip(target)}
	a.Put(f[14:])
	if err := r.ep.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
}

// agingCase runs one host and measures how long entries live.
func agingLife(t *testing.T, mod func(*config.Tcpip), referenced bool, pingEvery time.Duration) time.Duration {
	t.Helper()
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", mod)
	b := newHost(t, n, seg, "192.0.2.2/24", "", nil)
	_ = b
	n.Run(5 * time.Second)
	peer := ip("192.0.2.2")
	var start time.Time
	if referenced {
		es, _ := a.NewEchoSocket()
		es.Send(EchoRequest{Dst: peer, Seq: 0})
		n.Run(0)
		start = n.Now()
		if pingEvery > 0 {
			seq := uint16(1)
			var tick func()
			tick = func() {
				es.Send(EchoRequest{Dst: peer, Seq: seq})
				seq++
				n.Clock().AfterFunc(pingEvery, tick)
			}
			n.Clock().AfterFunc(pingEvery/2, tick)
		}
	} else {
		r := newRawStation(seg)
		injectARPRequest(t, r, "192.0.2.77", "192.0.2.1", r.mac())
		peer = ip("192.0.2.77")
		n.Run(0)
		start = n.Now()
	}
	if _, ok := findARP(a.Stack, peer); !ok {
		t.Fatal("entry not created")
	}
	// Step in 1 ms: the entry's removal time is its life.
	for i := 0; i < 3600*1000; i++ {
		e, ok := findARP(a.Stack, peer)
		if !ok || e.Type == ARPIncomplete || (referenced && n.Now().Sub(start) > 0 && false) {
			return n.Now().Sub(start)
		}
		next, _ := n.Clock().Next()
		if d := next.Sub(n.Now()); d > time.Millisecond {
			n.Run(d - time.Millisecond) // jump close to the next event
		}
		n.Run(time.Millisecond)
	}
	t.Fatal("entry never expired")
	return 0
}

// SPEC: ARP-4
func TestARPAgingDefaults(t *testing.T) {
	if got := agingLife(t, nil, false, 0); got != 2*time.Minute {
		t.Errorf("unreferenced entry lived %v, want 2m", got)
	}
	if got := agingLife(t, nil, true, time.Second); got != 10*time.Minute {
		t.Errorf("referenced entry lived %v, want 10m", got)
	}
	// Used once, then idle: gone 2 min after that use.
	if got := agingLife(t, nil, true, 0); got != 2*time.Minute {
		t.Errorf("idle entry lived %v, want 2m", got)
	}
}

// SPEC: ARP-5
func TestARPCacheLifeSettings(t *testing.T) {
	lt := func(L, R int) func(*config.Tcpip) {
		return func(p *config.Tcpip) { p.ArpCacheLife, p.ArpCacheMinReferencedLife = L, R }
	}
	// L < R: unreferenced after L, referenced after R.
	if got := agingLife(t, lt(300, 600), false, 0); got != 300*time.Second {
		t.Errorf("L<R unreferenced: %v", got)
	}
	if got := agingLife(t, lt(300, 600), true, 10*time.Second); got != 600*time.Second {
		t.Errorf("L<R referenced: %v", got)
	}
	// L >= R: everything after L.
	if got := agingLife(t, lt(900, 600), false, 0); got != 900*time.Second {
		t.Errorf("L>=R unreferenced: %v", got)
	}
	if got := agingLife(t, lt(900, 600), true, 10*time.Second); got != 900*time.Second {
		t.Errorf("L>=R referenced: %v", got)
	}
}

// SPEC: ARP-3
func TestARPStaticNeverAges(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", nil)
	mac := sim.MAC(900)
	if err := a.AddStaticARP(ip("192.0.2.50"), mac, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	n.Run(24 * time.Hour)
	e, ok := findARP(a.Stack, ip("192.0.2.50"))
	if !ok || e.Type != ARPStatic || e.MAC != mac || e.Type.String() != "static" {
		t.Fatalf("static entry %+v %v", e, ok)
	}
	if err := a.DeleteARP(ip("192.0.2.50")); err != nil {
		t.Fatal(err)
	}
	if _, ok := findARP(a.Stack, ip("192.0.2.50")); ok {
		t.Fatal("arp -d did not delete")
	}
}

// SPEC: ARP-6
func TestARPPendingQueueAndFailure(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", nil)
	n.Run(5 * time.Second)
	c := startCapture(seg)
	es, _ := a.NewEchoSocket()
	t0 := n.Now()
	for i := 0; i < 3; i++ { // only the first waits; two are dropped
		if err := es.Send(EchoRequest{Dst: ip("192.0.2.99"), Seq: uint16(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if st := a.Stats(); st.ARPQueueDrops != 2 {
		t.Fatalf("arpQueueDrops = %d, want 2", st.ARPQueueDrops)
	}
	ev, ok := waitEvent(t, n, es, 10*time.Second)
	if !ok || ev.Type != 3 || ev.Code != 1 || ev.Seq != 0 {
		t.Fatalf("want host unreachable for seq 0, got %+v %v", ev, ok)
	}
	// 3 requests 1 s apart, failure 1 s after the last.
	if got := ev.At.Sub(t0); got != 3*time.Second {
		t.Fatalf("failure after %v, want 3s", got)
	}
	var reqTimes []time.Duration
	for _, p := range c.packets(t) {
		if a := arpOf(p); a != nil && a.Operation == layers.ARPRequest {
			reqTimes = append(reqTimes, p.Metadata().Timestamp.Sub(t0))
		}
	}
	if len(reqTimes) != 3 || reqTimes[0] != 0 || reqTimes[1] != time.Second || reqTimes[2] != 2*time.Second {
		t.Fatalf("ARP requests at %v", reqTimes)
	}
	st := a.Stats()
	if st.ARPResolveFailures != 1 || st.ARPResolveQueueFailed != 1 {
		t.Fatalf("failures %d queued-failed %d", st.ARPResolveFailures, st.ARPResolveQueueFailed)
	}
	res := make(chan error, 1)
	go func() {
		_, err := a.SendARP(context.Background(), ip("192.0.2.98"))
		res <- err
	}()
	var err error
	if !n.RunUntil(func() bool {
		select {
		case err = <-res:
			return true
		default:
			time.Sleep(time.Millisecond) // let the goroutine register
			return false
		}
	}, 10*time.Second) || err == nil {
		t.Fatalf("SendARP to absent host: %v", err)
	}
}

// SPEC: ARP-7, ARP-8, ARP-9, AMB-4
func TestARPDuplicateAddress(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", nil)
	n.Run(5 * time.Second)
	c := startCapture(seg)
	b := newHost(t, n, seg, "192.0.2.1/24", "", nil)
	n.Run(5 * time.Second)
	inf := b.Interfaces()[0]
	if len(inf.Addrs) != 0 || len(inf.Conflicts) != 1 {
		t.Fatalf("newcomer still uses the address: %+v", inf)
	}
	if b.IsLocalAddr(ip("192.0.2.1")) {
		t.Fatal("conflicting address still local")
	}
	want := "The system detected an address conflict for IP address 192.0.2.1 with the system having network hardware address " + a.ifc.MAC().String()
	if !contains(b.log.String(), want) {
		t.Fatalf("newcomer log lacks %q:\n%s", want, b.log.String())
	}
	if !contains(a.log.String(), "network hardware address "+b.ifc.MAC().String()) {
		t.Fatalf("defender did not log the runtime conflict:\n%s", a.log.String())
	}
	// The defender keeps its address.
	if !a.IsLocalAddr(ip("192.0.2.1")) {
		t.Fatal("defender lost its address")
	}
	// Repair ARP: sent by the newcomer, carrying the defender's mapping.
	repaired := false
	probes := 0
	for _, p := range c.packets(t) {
		ar := arpOf(p)
		if ar == nil {
			continue
		}
		src := p.LinkLayer().LinkFlow().Src().String()
		if src == b.ifc.MAC().String() && net.HardwareAddr(ar.SourceHwAddress).String() == b.ifc.MAC().String() {
			probes++
		}
		if src == b.ifc.MAC().String() && net.HardwareAddr(ar.SourceHwAddress).String() == a.ifc.MAC().String() &&
			net.IP(ar.SourceProtAddress).String() == "192.0.2.1" {
			repaired = true
		}
	}
	if !repaired {
		t.Fatal("no repair ARP with the defender's MAC")
	}
	if probes != 1 {
		t.Fatalf("newcomer sent %d probes, want 1 (stops at the conflict)", probes)
	}
	if a.Stats().ARPConflicts == 0 || b.Stats().ARPConflicts == 0 {
		t.Fatal("conflicts not counted")
	}
}

// SPEC: ARP-7
func TestARPGratuitousProbes(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	c := startCapture(seg)
	t0 := n.Now()
	newHost(t, n, seg, "192.0.2.1/24", "", nil)
	n.Run(10 * time.Second)
	var at []time.Duration
	for _, p := range c.packets(t) {
		if ar := arpOf(p); ar != nil && net.IP(ar.SourceProtAddress).Equal(net.IP(ar.DstProtAddress)) {
			at = append(at, p.Metadata().Timestamp.Sub(t0))
		}
	}
	if len(at) != 3 || at[0] != 0 || at[1] != time.Second || at[2] != 2*time.Second {
		t.Fatalf("gratuitous ARPs at %v, want 0s 1s 2s", at)
	}
}

// SPEC: ARP-11
func TestARPBcastReply(t *testing.T) {
	for _, enable := range []bool{true, false} {
		n := sim.ForTest(t, 1)
		seg := n.NewSegment("lan", 1500, link.FaultConfig{})
		a := newHost(t, n, seg, "192.0.2.1/24", "", func(p *config.Tcpip) { p.EnableBcastArpReply = enable })
		n.Run(5 * time.Second)
		r := newRawStation(seg)
		nlb := wire.MAC{0x03, 0xbf, 0xc0, 0x00, 0x02, 0x0a} // NLB multicast MAC
		injectARPRequest(t, r, "192.0.2.10", "192.0.2.1", nlb)
		n.Run(time.Second)
		replies := 0
		for _, f := range r.take() {
			if eh, p, err := wire.ParseEthernet(f); err == nil && eh.Type == wire.EtherTypeARP {
				if ar, err := wire.ParseARP(p); err == nil && ar.Op == wire.ARPReply {
					replies++
				}
			}
		}
		if enable && replies != 1 || !enable && replies != 0 {
			t.Errorf("EnableBcastArpReply=%v: %d replies", enable, replies)
		}
		if !enable && a.Stats().ARPBcastReplySkipped != 1 {
			t.Errorf("skip not counted")
		}
	}
}

// SPEC: ARP-9
func TestARPRuntimeConflict(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", nil)
	n.Run(5 * time.Second)
	r := newRawStation(seg)
	c := startCapture(seg)
	// Another host claims our address while asking for someone else.
	injectARPRequest(t, r, "192.0.2.1", "192.0.2.50", r.mac())
	n.Run(time.Second)
	want := "The system detected an address conflict for IP address 192.0.2.1 with the system having network hardware address " +
		r.mac().String() + ". Network operations on this system may be disrupted as a result."
	if !contains(a.log.String(), want) {
		t.Fatalf("log lacks the ARP-9 text:\n%s", a.log.String())
	}
	if !a.IsLocalAddr(ip("192.0.2.1")) {
		t.Fatal("runtime conflict must not disable the address")
	}
	defended := 0
	for _, p := range c.packets(t) {
		if ar := arpOf(p); ar != nil && net.HardwareAddr(ar.SourceHwAddress).String() == a.ifc.MAC().String() &&
			net.IP(ar.SourceProtAddress).String() == "192.0.2.1" {
			defended++
		}
	}
	if defended != 1 {
		t.Fatalf("%d defending ARPs, want 1", defended)
	}
	// Within 10 s we do not defend again (no ARP storms between two hosts).
	injectARPRequest(t, r, "192.0.2.1", "192.0.2.50", r.mac())
	n.Run(time.Second)
	if a.Stats().ARPConflicts != 2 {
		t.Fatalf("conflicts %d", a.Stats().ARPConflicts)
	}
	// No cache entry for our own address was made.
	if _, ok := findARP(a.Stack, ip("192.0.2.1")); ok {
		t.Fatal("own address cached")
	}
}
