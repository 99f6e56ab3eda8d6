package stack

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/wire"
)

// qosPair is host A (QoS on its interface) and a plain host B on one
// segment, with A's ARP entry for B resolved.
func qosPair(t *testing.T, q InterfaceQoS) (*sim.Network, *sim.Segment, *Stack, *Interface, *testHost) {
	t.Helper()
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := New(Options{Clock: n.Clock(), Params: config.Default().Tcpip, Seed: 1})
	t.Cleanup(func() { a.Close() })
	macCounter++
	ifc, err := a.AddInterface(InterfaceConfig{Name: "eth0", Addrs: []netip.Prefix{pfx("192.0.2.1/24")}, QoS: q}, seg.NewPort(sim.MAC(macCounter)))
	if err != nil {
		t.Fatal(err)
	}
	b := newHost(t, n, seg, "192.0.2.2/24", "", nil)
	n.Run(5 * time.Second)
	// Resolve B so later datagrams take the planned path, not the ARP queue.
	c, err := a.DialUDP(netip.AddrPort{}, addrPort("192.0.2.2:9"))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("warm"))
	c.Close()
	n.Run(time.Second)
	return n, seg, a, ifc, b
}

// udpOut lists the captured UDP datagrams to dport: TOS, 802.1Q tag (nil
// if untagged), payload, and virtual time.
type udpOut struct {
	tos     uint8
	tag     *layers.Dot1Q
	payload string
	at      time.Time
}

func capturedUDP(t *testing.T, c *capture, dport layers.UDPPort) []udpOut {
	t.Helper()
	var out []udpOut
	for _, p := range c.packets(t) {
		ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ip4 == nil {
			continue
		}
		u, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		frag := ip4.FragOffset > 0 || ip4.Flags&layers.IPv4MoreFragments != 0
		if !frag && (u == nil || u.DstPort != dport) {
			continue
		}
		o := udpOut{tos: ip4.TOS, at: p.Metadata().Timestamp}
		if q, ok := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); ok {
			o.tag = q
		}
		if u != nil {
			o.payload = string(u.Payload)
		}
		out = append(out, o)
	}
	return out
}

func dialQoS(t *testing.T, s *Stack, dst string, svc ServiceType, rate int64) (*UDPConn, *QoSFlow) {
	t.Helper()
	c, err := s.DialUDP(netip.AddrPort{}, addrPort(dst))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if svc == 255 {
		return c, nil
	}
	fl, err := c.SetQoS(QoSSpec{Service: svc, TokenRate: rate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fl.Close() })
	return c, fl
}

// SPEC: QOS-1, QOS-4 — a socket's service type shows on the wire as the
// Packet Scheduler's DSCP and, with 802.1p allowed, a priority tag with
// VID 0; unclassified traffic stays unmarked and untagged; the peer
// takes priority-tagged frames; the tag costs 4 bytes of MTU.
func TestQoSMarkingOnWire(t *testing.T) {
	n, seg, a, ifc, b := qosPair(t, InterfaceQoS{Tag8021p: true})
	if ifc.MTU() != 1496 {
		t.Fatalf("MTU with 802.1p tagging = %d, want 1496", ifc.MTU())
	}
	srv, err := b.ListenUDP(addrPort("0.0.0.0:5001"))
	if err != nil {
		t.Fatal(err)
	}
	cap := startCapture(seg)
	want := map[string]struct {
		svc       ServiceType
		dscp, pcp uint8
	}{
		"be": {ServiceBestEffort, 0, 0}, "cl": {ServiceControlledLoad, 0x18, 4},
		"g": {ServiceGuaranteed, 0x28, 5}, "nc": {ServiceNetworkControl, 0x30, 7},
		"q": {ServiceQualitative, 0, 0},
	}
	for name, w := range want {
		c, _ := dialQoS(t, a, "192.0.2.2:5001", w.svc, 0)
		if _, err := c.Write([]byte(name)); err != nil {
			t.Fatal(err)
		}
	}
	plain, _ := dialQoS(t, a, "192.0.2.2:5001", 255, 0)
	plain.Write([]byte("plain"))
	got := 0
	for range len(want) + 1 {
		if _, ok := runUntilRead(t, n, readAsync(srv), 2*time.Second); !ok {
			break
		}
		got++
	}
	if got != len(want)+1 {
		t.Fatalf("receiver got %d of %d datagrams (priority-tagged frames refused?)", got, len(want)+1)
	}
	outs := capturedUDP(t, cap, 5001)
	if len(outs) != len(want)+1 {
		t.Fatalf("captured %d datagrams", len(outs))
	}
	for _, o := range outs {
		if o.payload == "plain" {
			if o.tos != 0 || o.tag != nil {
				t.Errorf("unclassified datagram: TOS %#x tag %v", o.tos, o.tag)
			}
			continue
		}
		w := want[o.payload]
		if o.tos>>2 != w.dscp || o.tag == nil || o.tag.Priority != w.pcp || o.tag.VLANIdentifier != 0 {
			t.Errorf("%s: TOS %#x tag %+v, want DSCP %#x priority %d VID 0", o.payload, o.tos, o.tag, w.dscp, w.pcp)
		}
	}
}

// SPEC: QOS-4 — without 802.1p on the interface the DSCP is still set and
// no tag is added; a closed flow no longer marks.
func TestQoSMarkWithoutTagAndClose(t *testing.T) {
	n, seg, a, ifc, _ := qosPair(t, InterfaceQoS{})
	if ifc.MTU() != 1500 || ifc.qos != nil {
		t.Fatalf("MTU %d qos %v with QoS off", ifc.MTU(), ifc.qos)
	}
	cap := startCapture(seg)
	c, fl := dialQoS(t, a, "192.0.2.2:5001", ServiceGuaranteed, 0)
	c.Write([]byte("one"))
	fl.Close()
	c.Write([]byte("two"))
	n.Run(time.Second)
	outs := capturedUDP(t, cap, 5001)
	if len(outs) != 2 || outs[0].tos != 0x28<<2 || outs[0].tag != nil || outs[1].tos != 0 {
		t.Fatalf("got %+v", outs)
	}
	if st := fl.Stats(); st.Sent != 1 {
		t.Fatalf("flow stats %+v", st)
	}
}

// SPEC: QOS-4 — every fragment of a marked datagram carries the DSCP and
// the tag, and the peer reassembles it.
func TestQoSFragmentsTagged(t *testing.T) {
	n, seg, a, _, b := qosPair(t, InterfaceQoS{Tag8021p: true})
	srv, _ := b.ListenUDP(addrPort("0.0.0.0:5001"))
	cap := startCapture(seg)
	c, _ := dialQoS(t, a, "192.0.2.2:5001", ServiceControlledLoad, 0)
	big := make([]byte, 4000)
	c.Write(big)
	r, ok := runUntilRead(t, n, readAsync(srv), 2*time.Second)
	if !ok || len(r.data) != 4000 {
		t.Fatalf("reassembled %d bytes ok=%v", len(r.data), ok)
	}
	outs := capturedUDP(t, cap, 5001)
	if len(outs) != 3 {
		t.Fatalf("%d fragments", len(outs))
	}
	for i, o := range outs {
		if o.tos != 0x18<<2 || o.tag == nil || o.tag.Priority != 4 {
			t.Fatalf("fragment %d: TOS %#x tag %v", i, o.tos, o.tag)
		}
	}
}

// SPEC: QOS-4 — the receive path accepts priority-tagged (VID 0) frames
// and ignores frames of another VLAN.
func TestQoSReceivePriorityTagged(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", nil)
	raw := newRawStation(seg)
	n.Run(5 * time.Second)
	srv, err := a.ListenUDP(addrPort("0.0.0.0:5001"))
	if err != nil {
		t.Fatal(err)
	}
	send := func(vid uint16, msg string) {
		udp := &layers.UDP{SrcPort: 4000, DstPort: 5001}
		ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{192, 0, 2, 9}, DstIP: net.IP{192, 0, 2, 1}}
		udp.SetNetworkLayerForChecksum(ip4)
		raw.ep.WriteFrame(buildFrame(t,
			&layers.Ethernet{SrcMAC: hw(raw.mac()), DstMAC: hw(a.ifc.MAC()), EthernetType: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{Priority: 6, VLANIdentifier: vid, Type: layers.EthernetTypeIPv4},
			ip4, udp, gopacket.Payload(msg)))
	}
	send(42, "vlan42")
	send(0, "prio")
	r, ok := runUntilRead(t, n, readAsync(srv), time.Second)
	if !ok || string(r.data) != "prio" {
		t.Fatalf("got %q ok=%v, want the VID 0 datagram only", r.data, ok)
	}
	if st := a.ifc.ctr.snapshot(); st.RxUnknownProtos != 1 {
		t.Fatalf("VID 42 frame: %d unknown-protocol frames, want 1", st.RxUnknownProtos)
	}
}

// SPEC: QOS-5 — under congestion the sequencer serves network control >
// guaranteed > controlled load > best effort; unclassified traffic is
// best effort. The link is paced to 1 Mbit/s in virtual time.
func TestQoSStrictPriority(t *testing.T) {
	n, seg, a, ifc, _ := qosPair(t, InterfaceQoS{PacketScheduler: true, LinkSpeed: 1_000_000})
	cap := startCapture(seg)
	be, _ := dialQoS(t, a, "192.0.2.2:5001", 255, 0)
	cl, _ := dialQoS(t, a, "192.0.2.2:5001", ServiceControlledLoad, 0)
	g, _ := dialQoS(t, a, "192.0.2.2:5001", ServiceGuaranteed, 0)
	nc, _ := dialQoS(t, a, "192.0.2.2:5001", ServiceNetworkControl, 0)
	pl := make([]byte, 500)
	for _, s := range []struct {
		c   *UDPConn
		tag byte
	}{{be, 'b'}, {cl, 'c'}, {g, 'g'}, {nc, 'n'}} {
		for range 3 {
			pl[0] = s.tag
			if _, err := s.c.Write(pl); err != nil {
				t.Fatal(err)
			}
		}
	}
	n.Run(time.Second)
	var order []byte
	for _, o := range capturedUDP(t, cap, 5001) {
		order = append(order, o.payload[0])
	}
	// The first best-effort datagram found the link idle.
	if string(order) != "bnnngggcccbb" {
		t.Fatalf("wire order %q, want %q", order, "bnnngggcccbb")
	}
	st := ifc.SchedulerStats()
	if st.Queued[classBestEffort] != 2 || st.Queued[classNetworkControl] != 3 || st.Dropped != [numClasses]uint64{} {
		t.Fatalf("scheduler stats %+v", st)
	}
}

// SPEC: QOS-5 — the shaper holds a flow to its agreed rate: 21 datagrams
// sent at once leave at TokenRate (the first one on the full bucket).
func TestQoSShaperRate(t *testing.T) {
	n, seg, a, _, _ := qosPair(t, InterfaceQoS{PacketScheduler: true})
	cap := startCapture(seg)
	const rate = 10_000 // bytes/s
	c, _ := dialQoS(t, a, "192.0.2.2:5001", 255, 0)
	// A bucket of one frame: every datagram after the first waits.
	fl, err := c.SetQoS(QoSSpec{Service: ServiceControlledLoad, TokenRate: rate, BucketSize: 1042})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	pl := make([]byte, 1000)
	for range 21 {
		if _, err := c.Write(pl); err != nil {
			t.Fatal(err)
		}
	}
	n.Run(10 * time.Second)
	outs := capturedUDP(t, cap, 5001)
	if len(outs) != 21 {
		t.Fatalf("%d datagrams on the wire", len(outs))
	}
	frame := float64(wire.EthernetHeaderLen + 20 + 8 + 1000)
	span := outs[20].at.Sub(outs[0].at).Seconds()
	got := 20 * frame / span
	if got < rate*0.98 || got > rate*1.02 {
		t.Fatalf("shaped rate %.0f B/s over %.3f s, want %d ±2%%", got, span, rate)
	}
	if st := fl.Stats(); st.Delayed != 20 || st.Dropped != 0 || st.Sent != 21 {
		t.Fatalf("flow stats %+v", st)
	}
	for _, o := range outs {
		if o.tos != 0x18<<2 {
			t.Fatalf("shaped datagram TOS %#x", o.tos)
		}
	}
}

// SPEC: QOS-5 — queues are bounded: a full shaping queue and a full class
// queue drop (and count) what does not fit.
func TestQoSQueueBounds(t *testing.T) {
	n, seg, a, ifc, _ := qosPair(t, InterfaceQoS{PacketScheduler: true, LinkSpeed: 100_000, QueueLen: 4})
	cap := startCapture(seg)
	c, _ := dialQoS(t, a, "192.0.2.2:5001", 255, 0)
	fl, err := c.SetQoS(QoSSpec{Service: ServiceGuaranteed, TokenRate: 1000, BucketSize: 242})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	be, _ := dialQoS(t, a, "192.0.2.2:5002", 255, 0)
	pl := make([]byte, 200)
	for range 10 {
		c.Write(pl)  // 1 conforms, 4 wait for tokens, 5 dropped
		be.Write(pl) // 1 finds the link idle or queued, at most 4 wait
	}
	n.Run(20 * time.Second)
	if st := fl.Stats(); st.Dropped != 5 || st.Delayed != 4 {
		t.Fatalf("shaped flow stats %+v", st)
	}
	if got := len(capturedUDP(t, cap, 5001)); got != 5 {
		t.Fatalf("%d shaped datagrams on the wire, want 5", got)
	}
	st := ifc.SchedulerStats()
	beOut := len(capturedUDP(t, cap, 5002))
	if st.Dropped[classBestEffort] == 0 || uint64(beOut)+st.Dropped[classBestEffort] != 10 {
		t.Fatalf("best effort: %d sent, stats %+v", beOut, st)
	}
	if ifc.ctr.snapshot().TxDiscards < 5+st.Dropped[classBestEffort] {
		t.Fatalf("discards %d", ifc.ctr.snapshot().TxDiscards)
	}
}

// A filter on TCP ports marks transport datagrams sent through WriteIP,
// which is how TCP connections are classified without a hook in tcp/.
func TestQoSClassifiesTCPByPorts(t *testing.T) {
	n, seg, a, _, _ := qosPair(t, InterfaceQoS{Tag8021p: true})
	fl, err := a.AddQoSFlow(FlowFilter{Proto: wire.ProtoTCP, Remote: addrPort("192.0.2.2:80")}, QoSSpec{Service: ServiceNetworkControl})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	cap := startCapture(seg)
	hdr := make([]byte, 20)
	for _, dport := range []byte{80, 81} {
		hdr[0], hdr[1], hdr[2], hdr[3], hdr[12] = 0x10, 0, 0, dport, 5<<4
		if err := a.WriteIP(OutboundPacket{Src: ip("192.0.2.1"), Dst: ip("192.0.2.2"), Proto: wire.ProtoTCP, Header: hdr, TOS: 1}); err != nil {
			t.Fatal(err)
		}
	}
	n.Run(time.Second)
	var seen int
	for _, p := range cap.packets(t) {
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if tcp == nil {
			continue
		}
		seen++
		q, tagged := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q)
		switch tcp.DstPort {
		case 80:
			if ip4.TOS != 0x30<<2|1 || !tagged || q.Priority != 7 {
				t.Errorf("port 80: TOS %#x tag %v (ECN bits must stay)", ip4.TOS, q)
			}
		case 81:
			if ip4.TOS != 1 || tagged {
				t.Errorf("port 81: TOS %#x tagged %v", ip4.TOS, tagged)
			}
		}
	}
	if seen != 2 {
		t.Fatalf("%d TCP segments", seen)
	}
	if _, err := a.AddQoSFlow(FlowFilter{}, QoSSpec{Service: 9}); err == nil {
		t.Fatal("bad service type accepted")
	}
}

// SPEC: QOS-4 — a datagram that waited for ARP resolution is tagged
// like the others when it is released.
func TestQoSTagAfterARP(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := New(Options{Clock: n.Clock(), Params: config.Default().Tcpip, Seed: 1})
	t.Cleanup(func() { a.Close() })
	macCounter++
	if _, err := a.AddInterface(InterfaceConfig{Name: "eth0", Addrs: []netip.Prefix{pfx("192.0.2.1/24")},
		QoS: InterfaceQoS{Tag8021p: true, PacketScheduler: true}}, seg.NewPort(sim.MAC(macCounter))); err != nil {
		t.Fatal(err)
	}
	newHost(t, n, seg, "192.0.2.2/24", "", nil)
	n.Run(5 * time.Second)
	cap := startCapture(seg)
	c, _ := dialQoS(t, a, "192.0.2.2:5001", ServiceGuaranteed, 0)
	c.Write([]byte("first"))
	n.Run(2 * time.Second)
	outs := capturedUDP(t, cap, 5001)
	if len(outs) != 1 || outs[0].tag == nil || outs[0].tag.Priority != 5 || outs[0].tos != 0x28<<2 {
		t.Fatalf("after ARP: %+v", outs)
	}
}

// recEP is a TSO-capable endpoint recording every IPv4 frame, tagged or
// not, and how it was written.
type recEP struct {
	tsoEP
	gsoWrites int
}

func (e *recEP) WriteFrame(f []byte) error {
	if len(f) >= 14 && f[12] == 0x08 && f[13] == 0x06 {
		return nil // ARP
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.frames = append(e.frames, append([]byte(nil), f...))
	return nil
}

func (e *recEP) WriteGSO(f []byte, g link.GSOInfo) error {
	e.mu.Lock()
	e.gsoWrites++
	e.mu.Unlock()
	return e.WriteFrame(f)
}

// SPEC: QOS-4 — a classified TCP super-segment over a TSO device is cut
// in software so that every wire segment carries the 802.1Q tag; an
// unclassified one still goes to the device whole.
func TestQoSTaggedGSOCutInSoftware(t *testing.T) {
	ep := &recEP{tsoEP: tsoEP{tso: true}}
	s := New(Options{Clock: clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), Seed: 1})
	t.Cleanup(func() { s.Close() })
	ic := InterfaceConfig{Name: "eth0", Addrs: []netip.Prefix{netip.PrefixFrom(offA, 24)},
		StaticARP: []StaticARP{{IP: offPeer, MAC: peerMAC}}, QoS: InterfaceQoS{Tag8021p: true}}
	if _, err := s.AddInterface(ic, ep); err != nil {
		t.Fatal(err)
	}
	fl, _ := s.AddQoSFlow(FlowFilter{Proto: wire.ProtoTCP, Remote: netip.AddrPortFrom(offPeer, 80)}, QoSSpec{Service: ServiceNetworkControl})
	defer fl.Close()
	const mss = 1456 // MTU 1496 with tagging
	seg := tcpSeg(offA, offPeer, 1000, 10*mss+5)
	buf := append(make([]byte, TxHeadroom), seg...)
	if err := s.WriteIPBuf(OutboundPacket{Dst: offPeer, Proto: wire.ProtoTCP, GSOSize: mss}, buf); err != nil {
		t.Fatal(err)
	}
	if ep.gsoWrites != 0 || len(ep.frames) != 11 {
		t.Fatalf("%d GSO writes, %d frames; want 0 and 11", ep.gsoWrites, len(ep.frames))
	}
	var got []byte
	for i, f := range ep.frames {
		pkt := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
		q, _ := pkt.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q)
		ip4, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tc, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if q == nil || q.Priority != 7 || ip4 == nil || ip4.TOS != 0x30<<2 || tc == nil || len(f) > 14+1500 {
			t.Fatalf("piece %d: tag %v ip %v len %d", i, q, ip4, len(f))
		}
		got = append(got, tc.Payload...)
	}
	if !bytes.Equal(got, seg[wire.TCPMinHeaderLen:]) {
		t.Fatal("payload differs after software segmentation")
	}
	// Unclassified: the device gets the super-segment.
	seg2 := tcpSeg(offA, offPeer, 1000, 10*mss+5)
	binary.BigEndian.PutUint16(seg2[2:], 81)
	if err := s.WriteIPBuf(OutboundPacket{Dst: offPeer, Proto: wire.ProtoTCP, GSOSize: mss}, append(make([]byte, TxHeadroom), seg2...)); err != nil {
		t.Fatal(err)
	}
	if ep.gsoWrites != 1 {
		t.Fatalf("unclassified super-segment: %d GSO writes", ep.gsoWrites)
	}
}

// A flow set on a UDP socket ends with the socket: the stack's flow list
// is empty again, so nothing is classified any more.
// SPEC: QOS-2
func TestQoSFlowEndsWithSocket(t *testing.T) {
	_, _, a, _, _ := qosPair(t, InterfaceQoS{})
	c, err := a.DialUDP(netip.AddrPort{}, addrPort("192.0.2.2:5001"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetQoS(QoSSpec{Service: ServiceGuaranteed}); err != nil {
		t.Fatal(err)
	}
	if p := a.qos.flows.Load(); p == nil || len(*p) != 1 {
		t.Fatalf("flows after SetQoS: %v", p)
	}
	c.Close()
	if p := a.qos.flows.Load(); p != nil {
		t.Fatalf("flows after Close: %d", len(*p))
	}
	if _, err := c.SetQoS(QoSSpec{Service: ServiceGuaranteed}); err == nil {
		t.Fatal("SetQoS on a closed socket succeeded")
	}
	if p := a.qos.flows.Load(); p != nil {
		t.Fatalf("flows after SetQoS on a closed socket: %d", len(*p))
	}
}
