package link

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/wire"
)

// arrival is one frame as the far end saw it.
type arrival struct {
	at    time.Duration
	frame []byte
}

type timedRecorder struct {
	clk *clock.Virtual
	mu  sync.Mutex
	got []arrival
}

func (r *timedRecorder) DeliverFrame(f []byte) {
	r.mu.Lock()
	r.got = append(r.got, arrival{r.clk.Now().Sub(t0), append([]byte(nil), f...)})
	r.mu.Unlock()
}
func (r *timedRecorder) LinkStateChanged(bool) {}

// faultyPair returns a Faulty around end a of a pipe, and a recorder on b.
func faultyPair(cfg FaultConfig, seed int64) (*clock.Virtual, *Faulty, *Pipe, *timedRecorder) {
	clk := clock.NewVirtual(t0)
	a, b := NewPipe(clk, 1500, macA, macB)
	f := NewFaulty(a, clk, cfg, seed)
	rb := &timedRecorder{clk: clk}
	b.Attach(rb)
	return clk, f, b, rb
}

// udpFrame builds a checksummed IPv4/UDP frame whose IP datagram is ipLen bytes.
func udpFrame(t testing.TB, ipLen int, seq byte) []byte {
	eth := &layers.Ethernet{SrcMAC: macA[:], DstMAC: macB[:], EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: net.IP{198, 18, 0, 1}, DstIP: net.IP{198, 18, 0, 2}}
	udp := &layers.UDP{SrcPort: 1024, DstPort: 9}
	udp.SetNetworkLayerForChecksum(ip)
	payload := bytes.Repeat([]byte{seq}, ipLen-28)
	return serialize(t, eth, ip, udp, gopacket.Payload(payload))
}

func icmpFrame(t testing.TB, code uint8) []byte {
	eth := &layers.Ethernet{SrcMAC: macA[:], DstMAC: macB[:], EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4,
		SrcIP: net.IP{198, 18, 0, 1}, DstIP: net.IP{198, 18, 0, 2}}
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, code), Seq: 1400}
	return serialize(t, eth, ip, icmp, gopacket.Payload(make([]byte, 28)))
}

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFaultyDelay(t *testing.T) {
	clk, f, _, rb := faultyPair(FaultConfig{Delay: 30 * time.Millisecond}, 1)
	f.WriteFrame(frame(macB, macA, 60, 1))
	clk.Advance(10 * time.Millisecond)
	f.WriteFrame(frame(macB, macA, 60, 2))
	clk.Advance(29 * time.Millisecond)
	if len(rb.got) != 1 || rb.got[0].at != 30*time.Millisecond {
		t.Fatalf("arrivals %v", rb.got)
	}
	clk.Advance(time.Second)
	if len(rb.got) != 2 || rb.got[1].at != 40*time.Millisecond {
		t.Fatalf("second arrival %v", rb.got)
	}
	if s := f.Stats().Out; s.Delayed != 2 || s.Passed != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFaultyJitter(t *testing.T) {
	clk, f, _, rb := faultyPair(FaultConfig{Delay: 10 * time.Millisecond, Jitter: 20 * time.Millisecond}, 2)
	for i := range 200 {
		f.WriteFrame(frame(macB, macA, 60, byte(i)))
	}
	clk.Advance(time.Second)
	seen := map[time.Duration]bool{}
	for _, a := range rb.got {
		if a.at < 10*time.Millisecond || a.at >= 30*time.Millisecond {
			t.Fatalf("arrival at %v outside [10ms, 30ms)", a.at)
		}
		seen[a.at] = true
	}
	if len(rb.got) != 200 || len(seen) < 50 {
		t.Fatalf("%d arrivals, %d distinct times", len(rb.got), len(seen))
	}
}

func TestFaultyLoss(t *testing.T) {
	clk, f, _, rb := faultyPair(FaultConfig{Loss: 0.3}, 3)
	for i := range 1000 {
		f.WriteFrame(frame(macB, macA, 60, byte(i)))
		clk.Advance(0) // keep the pipe's queue short
	}
	s := f.Stats().Out
	if s.Lost < 240 || s.Lost > 360 || uint64(len(rb.got)) != 1000-s.Lost || s.Passed != 1000-s.Lost {
		t.Fatalf("lost %d, delivered %d", s.Lost, len(rb.got))
	}
}

func TestFaultyDuplicate(t *testing.T) {
	clk, f, _, rb := faultyPair(FaultConfig{Duplicate: 1}, 4)
	for i := range 5 {
		f.WriteFrame(frame(macB, macA, 60, byte(i)))
	}
	clk.Advance(0)
	if len(rb.got) != 10 || f.Stats().Out.Duplicated != 5 {
		t.Fatalf("%d arrivals", len(rb.got))
	}
	for i, a := range rb.got {
		if a.frame[14] != byte(i/2) {
			t.Fatalf("arrival %d is frame %d", i, a.frame[14])
		}
	}
}

func TestFaultyReorder(t *testing.T) {
	clk, f, _, rb := faultyPair(FaultConfig{Reorder: 0.25}, 5)
	for i := range 100 {
		f.WriteFrame(frame(macB, macA, 60, byte(i)))
		clk.Advance(time.Millisecond)
	}
	clk.Advance(time.Second)
	var order []int
	for _, a := range rb.got {
		order = append(order, int(a.frame[14]))
	}
	if len(order) != 100 || slices.IsSorted(order) {
		t.Fatalf("order %v", order)
	}
	sorted := slices.Clone(order)
	slices.Sort(sorted)
	for i, v := range sorted {
		if v != i {
			t.Fatalf("frame %d missing or duplicated", i)
		}
	}
	if r := f.Stats().Out.Reordered; r < 10 || r > 45 {
		t.Fatalf("reordered %d of 100 at p=0.25", r)
	}
}

// Corruption flips exactly one byte inside the IP datagram, and the
// checksums catch every corrupted frame.
func TestFaultyCorrupt(t *testing.T) {
	clk, f, _, rb := faultyPair(FaultConfig{Corrupt: 1}, 6)
	var sent [][]byte
	for i := range 200 {
		fr := udpFrame(t, 100, byte(i))
		sent = append(sent, fr)
		f.WriteFrame(fr)
	}
	clk.Advance(0)
	if len(rb.got) != 200 {
		t.Fatalf("%d arrivals", len(rb.got))
	}
	for i, a := range rb.got {
		diff := 0
		for j := range a.frame {
			if a.frame[j] != sent[i][j] {
				diff++
				if j < wire.EthernetHeaderLen {
					t.Fatalf("frame %d: Ethernet header byte %d changed", i, j)
				}
			}
		}
		if diff != 1 {
			t.Fatalf("frame %d: %d bytes differ", i, diff)
		}
		if accepted(a.frame) {
			t.Fatalf("frame %d: corruption not caught by any check: %x", i, a.frame)
		}
	}
	if !accepted(sent[0]) {
		t.Fatal("pristine frame rejected: test helper broken")
	}
}

// accepted runs a frame through wire's IPv4 and UDP checks.
func accepted(frame []byte) bool {
	_, p, err := wire.ParseEthernet(frame)
	if err != nil {
		return false
	}
	h, p, err := wire.ParseIPv4(p)
	if err != nil || h.Protocol != wire.ProtoUDP {
		return false
	}
	_, _, err = wire.ParseUDP(p, h.Src, h.Dst)
	return err == nil
}

// SPEC: PMTU black hole — datagrams over the MTU vanish, other traffic passes.
func TestFaultyMTUBlackHole(t *testing.T) {
	clk, f, _, rb := faultyPair(FaultConfig{MTU: 1200}, 7)
	f.WriteFrame(udpFrame(t, 1200, 1))
	f.WriteFrame(udpFrame(t, 1201, 2))
	f.WriteFrame(frame(macB, macA, 1514, 3)) // not IPv4: passes
	clk.Advance(0)
	if len(rb.got) != 2 || rb.got[0].frame[50] != 1 || rb.got[1].frame[20] != 3 {
		t.Fatalf("%d arrivals", len(rb.got))
	}
	if f.Stats().Out.MTUDrops != 1 {
		t.Fatalf("stats %+v", f.Stats().Out)
	}
}

func TestFaultyDropICMPFragNeeded(t *testing.T) {
	clk, f, _, rb := faultyPair(FaultConfig{DropICMPFragNeeded: true}, 8)
	f.WriteFrame(icmpFrame(t, 4)) // fragmentation needed: dropped
	f.WriteFrame(icmpFrame(t, 3)) // port unreachable: passes
	clk.Advance(0)
	if len(rb.got) != 1 || f.Stats().Out.ICMPDrops != 1 {
		t.Fatalf("%d arrivals, stats %+v", len(rb.got), f.Stats().Out)
	}
}

// Impairments apply only in the configured direction.
func TestFaultyDirection(t *testing.T) {
	clk := clock.NewVirtual(t0)
	a, b := NewPipe(clk, 1500, macA, macB)
	f := NewFaulty(a, clk, FaultConfig{Loss: 1, Direction: Inbound}, 9)
	ra, rb := &timedRecorder{clk: clk}, &timedRecorder{clk: clk}
	f.Attach(ra)
	b.Attach(rb)
	f.WriteFrame(frame(macB, macA, 60, 1))
	b.WriteFrame(frame(macA, macB, 60, 2))
	clk.Advance(0)
	if len(rb.got) != 1 || len(ra.got) != 0 {
		t.Fatalf("out %d, in %d", len(rb.got), len(ra.got))
	}
	// Per-direction configs: delay out, lose nothing in.
	f.SetConfigs(FaultConfig{Delay: time.Second}, FaultConfig{})
	f.WriteFrame(frame(macB, macA, 60, 3))
	b.WriteFrame(frame(macA, macB, 60, 4))
	clk.Advance(0)
	if len(ra.got) != 1 || len(rb.got) != 1 {
		t.Fatalf("after SetConfigs: in %d out %d", len(ra.got), len(rb.got))
	}
	clk.Advance(time.Second)
	if len(rb.got) != 2 {
		t.Fatal("delayed outbound frame missing")
	}
	st := f.Stats()
	if st.In.Lost != 1 || st.Out.Lost != 0 || st.Out.Delayed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFaultyQueueBound(t *testing.T) {
	clk, f, _, rb := faultyPair(FaultConfig{Delay: time.Second, QueueLen: 10}, 10)
	for i := range 15 {
		f.WriteFrame(frame(macB, macA, 60, byte(i)))
	}
	clk.Advance(time.Second)
	if len(rb.got) != 10 || f.Stats().Out.QueueDrops != 5 {
		t.Fatalf("%d arrivals, stats %+v", len(rb.got), f.Stats().Out)
	}
}

// The same seed replays the same impairments; another seed does not.
func TestFaultyReproducible(t *testing.T) {
	cfg := FaultConfig{Delay: 5 * time.Millisecond, Jitter: 10 * time.Millisecond, Loss: 0.1,
		Duplicate: 0.1, Reorder: 0.1, Corrupt: 0.1}
	run := func(seed int64) string {
		clk, f, _, rb := faultyPair(cfg, seed)
		for i := range 300 {
			f.WriteFrame(udpFrame(t, 60+i, byte(i)))
			clk.Advance(time.Millisecond)
		}
		clk.Advance(time.Second)
		var b bytes.Buffer
		for _, a := range rb.got {
			fmt.Fprintf(&b, "%v %x\n", a.at, a.frame)
		}
		return b.String()
	}
	r1, r2, r3 := run(42), run(42), run(43)
	if r1 != r2 {
		t.Fatal("seed 42 gave two different runs")
	}
	if r1 == r3 {
		t.Fatal("seeds 42 and 43 gave the same run")
	}
}

func TestFaultyRealClock(t *testing.T) {
	a, b := NewPipe(clock.Real{}, 1500, macA, macB)
	f := NewFaulty(a, clock.Real{}, FaultConfig{Delay: time.Millisecond, Duplicate: 1}, 11)
	defer f.Close()
	defer b.Close()
	rb := newRecorder()
	b.Attach(rb)
	f.WriteFrame(frame(macB, macA, 60, 1))
	for range 2 {
		select {
		case <-rb.got:
		case <-time.After(5 * time.Second):
			t.Fatal("delayed frame not delivered on the real clock")
		}
	}
}

// Garbage in (random bytes claiming to be IPv4, any length) is impaired
// or passed, never a panic.
func TestFaultyGarbage(t *testing.T) {
	clk, f, _, rb := faultyPair(FaultConfig{MTU: 576, DropICMPFragNeeded: true, Corrupt: 0.5,
		Jitter: time.Millisecond, Delay: -time.Second}, 12)
	rng := rand.New(rand.NewPCG(1, 2))
	sent := 0
	for range 2000 {
		b := make([]byte, 14+rng.IntN(1501))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if rng.IntN(2) == 0 {
			b[12], b[13] = 0x08, 0x00
			if len(b) > 14 {
				b[14] = 0x40 | b[14]&0x0f
			}
		}
		if f.WriteFrame(b) == nil {
			sent++
		}
		clk.Advance(time.Millisecond)
	}
	clk.Advance(time.Second)
	s := f.Stats().Out
	if uint64(sent) != s.Frames || s.Frames != s.Passed+s.MTUDrops+s.ICMPDrops || uint64(len(rb.got)) != s.Passed {
		t.Fatalf("sent %d, delivered %d, stats %+v", sent, len(rb.got), s)
	}
}
