package sim

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// station records what one port receives, with virtual arrival times.
type station struct {
	n      *Network
	mu     sync.Mutex
	frames [][]byte
	at     []time.Duration
	states []bool
}

func (s *station) DeliverFrame(f []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, append([]byte(nil), f...))
	s.at = append(s.at, s.n.Elapsed())
}
func (s *station) LinkStateChanged(up bool) { s.states = append(s.states, up) }
func (s *station) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.frames)
}

func attach(n *Network, seg *Segment, k int) ([]*Port, []*station) {
	var ps []*Port
	var ss []*station
	for i := range k {
		p := seg.NewPort(MAC(i + 1))
		s := &station{n: n}
		p.Attach(s)
		ps, ss = append(ps, p), append(ss, s)
	}
	return ps, ss
}

func eth(dst, src wire.MAC, n int, tag byte) []byte {
	f := make([]byte, n)
	copy(f, dst[:])
	copy(f[6:], src[:])
	f[12], f[13] = 0x88, 0xb5
	for i := 14; i < n; i++ {
		f[i] = tag
	}
	return f
}

func counts(ss []*station) []int {
	var c []int
	for _, s := range ss {
		c = append(c, s.count())
	}
	return c
}

func expectCounts(t *testing.T, ss []*station, want ...int) {
	t.Helper()
	if got := counts(ss); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("frames per station %v, want %v", got, want)
	}
}

// Unknown unicast floods; once addresses are learned, frames go only to
// their port; a reply is never sent back out of the port it came from.
func TestSegmentLearning(t *testing.T) {
	n := ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	ps, ss := attach(n, seg, 3)
	ps[0].WriteFrame(eth(MAC(2), MAC(1), 60, 1)) // B unknown: flood
	n.Run(0)
	expectCounts(t, ss, 0, 1, 1)
	ps[1].WriteFrame(eth(MAC(1), MAC(2), 60, 2)) // A learned: only A
	n.Run(0)
	expectCounts(t, ss, 1, 1, 1)
	ps[0].WriteFrame(eth(MAC(2), MAC(1), 60, 3)) // B learned now
	n.Run(0)
	expectCounts(t, ss, 1, 2, 1)
	if !bytes.Equal(ss[1].frames[1], eth(MAC(2), MAC(1), 60, 3)) {
		t.Fatal("frame altered in transit")
	}
	if p, ok := seg.Lookup(MAC(2)); !ok || p != ps[1] {
		t.Fatal("MAC(2) not learned on port 1")
	}
	st := seg.Stats()
	if st.Frames != 3 || st.Flooded != 1 || st.Forwarded != 2 {
		t.Fatalf("stats %+v", st)
	}
	// Learned entries age out; then the switch floods again.
	n.Run(FDBAging)
	ps[0].WriteFrame(eth(MAC(2), MAC(1), 60, 4))
	n.Run(0)
	expectCounts(t, ss, 1, 3, 2)
}

func TestSegmentBroadcastMulticast(t *testing.T) {
	n := ForTest(t, 2)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	ps, ss := attach(n, seg, 4)
	ps[2].WriteFrame(eth(wire.BroadcastMAC, MAC(3), 60, 1))
	ps[2].WriteFrame(eth(wire.MAC{0x01, 0x00, 0x5e, 0, 0, 1}, MAC(3), 60, 2))
	ps[0].WriteFrame(eth(MAC(1), MAC(1), 60, 3)) // to itself: filtered
	n.Run(0)
	expectCounts(t, ss, 2, 2, 0, 2)
	if f := seg.Stats().Filtered; f != 1 {
		t.Fatalf("filtered %d", f)
	}
	if _, ok := seg.Lookup(wire.BroadcastMAC); ok {
		t.Fatal("learned a broadcast address")
	}
}

// Frames over the segment MTU vanish in the switch (a station configured
// with a bigger MTU than its LAN); a port refuses frames over its own MTU.
func TestSegmentMTU(t *testing.T) {
	n := ForTest(t, 3)
	seg := n.NewSegment("lan", 1000, link.FaultConfig{})
	big := seg.NewPortMTU(MAC(1), 1500)
	small := seg.NewPort(MAC(2))
	s := &station{n: n}
	small.Attach(s)
	big.WriteFrame(eth(MAC(2), MAC(1), 1014, 1))
	big.WriteFrame(eth(MAC(2), MAC(1), 1015, 2))
	n.Run(0)
	if s.count() != 1 || seg.Stats().MTUDrops != 1 {
		t.Fatalf("delivered %d, stats %+v", s.count(), seg.Stats())
	}
	if err := small.WriteFrame(eth(MAC(1), MAC(2), 1015, 3)); !errors.Is(err, link.ErrFrameTooLong) {
		t.Fatalf("oversized write: %v", err)
	}
	if small.MTU() != 1000 || big.MTU() != 1500 {
		t.Fatal("port MTUs")
	}
}

// Loss with a fixed seed gives a fixed outcome; the same seed replays it.
func TestSegmentLossSeeded(t *testing.T) {
	run := func(seed int64) (int, []byte) {
		n := NewNetwork(seed)
		seg := n.NewSegment("lossy", 1500, link.FaultConfig{Loss: 0.5})
		ps, ss := attach(n, seg, 2)
		for i := range 200 {
			ps[0].WriteFrame(eth(MAC(2), MAC(1), 60, byte(i)))
			n.Run(time.Millisecond)
		}
		var seq []byte
		for _, f := range ss[1].frames {
			seq = append(seq, f[14])
		}
		return ss[1].count(), seq
	}
	c1, s1 := run(7)
	c2, s2 := run(7)
	_, s3 := run(8)
	if c1 != c2 || !bytes.Equal(s1, s2) {
		t.Fatalf("seed 7 not reproducible: %d vs %d", c1, c2)
	}
	if bytes.Equal(s1, s3) {
		t.Fatal("seeds 7 and 8 lost the same frames")
	}
	if c1 < 70 || c1 > 130 {
		t.Fatalf("delivered %d of 200 at 50%% loss", c1)
	}
}

func TestSegmentDelayAndRunUntil(t *testing.T) {
	n := ForTest(t, 4)
	seg := n.NewSegment("wan", 1500, link.FaultConfig{Delay: 25 * time.Millisecond})
	ps, ss := attach(n, seg, 2)
	n.Run(5 * time.Millisecond)
	ps[0].WriteFrame(eth(MAC(2), MAC(1), 60, 1))
	if !n.RunUntil(func() bool { return ss[1].count() == 1 }, time.Second) {
		t.Fatal("frame never arrived")
	}
	if n.Elapsed() != 30*time.Millisecond || ss[1].at[0] != 30*time.Millisecond {
		t.Fatalf("arrived at %v, now %v", ss[1].at, n.Elapsed())
	}
	if n.RunUntil(func() bool { return ss[0].count() == 1 }, 2*time.Second) {
		t.Fatal("condition that cannot hold reported true")
	}
	if n.Elapsed() != 2030*time.Millisecond {
		t.Fatalf("RunUntil stopped at %v", n.Elapsed())
	}
	// Faults can change at run time.
	seg.SetFaults(link.FaultConfig{})
	ps[0].WriteFrame(eth(MAC(2), MAC(1), 60, 2))
	n.Run(0)
	if ss[1].count() != 2 {
		t.Fatal("SetFaults did not remove the delay")
	}
}

func TestPortCarrierAndClose(t *testing.T) {
	n := ForTest(t, 5)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	ps, ss := attach(n, seg, 3)
	ps[1].SetCarrier(false)
	ps[0].WriteFrame(eth(wire.BroadcastMAC, MAC(1), 60, 1))
	ps[1].WriteFrame(eth(wire.BroadcastMAC, MAC(2), 60, 2))
	n.Run(0)
	expectCounts(t, ss, 0, 0, 1)
	if fmt.Sprint(ss[1].states) != "[false]" {
		t.Fatalf("states %v", ss[1].states)
	}
	ps[1].SetCarrier(true)
	ps[2].WriteFrame(eth(MAC(1), MAC(3), 60, 3)) // learns MAC(3) on port 2
	n.Run(0)
	if fmt.Sprint(ss[1].states) != "[false true]" {
		t.Fatalf("states %v", ss[1].states)
	}
	ps[2].Close()
	if _, ok := seg.Lookup(MAC(3)); ok || len(seg.Ports()) != 2 {
		t.Fatal("closed port still known to the switch")
	}
	ps[0].WriteFrame(eth(MAC(3), MAC(1), 60, 4)) // floods to port 1 only
	n.Run(0)
	expectCounts(t, ss, 1, 1, 1)
	if err := ps[2].WriteFrame(eth(MAC(1), MAC(3), 60, 5)); !errors.Is(err, link.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

// A capture of the segment is a valid pcap with virtual timestamps.
func TestSegmentCapture(t *testing.T) {
	n := ForTest(t, 6)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	var buf bytes.Buffer
	seg.Capture(&buf)
	ps, _ := attach(n, seg, 2)
	n.Run(time.Second)
	f := eth(MAC(2), MAC(1), 100, 9)
	ps[0].WriteFrame(f)
	n.Run(0)
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	data, ci, err := r.ReadPacketData()
	if err != nil || !bytes.Equal(data, f) || !ci.Timestamp.Equal(Epoch.Add(time.Second)) {
		t.Fatalf("capture: %v %v", err, ci.Timestamp)
	}
}

// Every queue is bounded: a burst larger than a port's queue is cut and counted.
func TestPortQueueBound(t *testing.T) {
	n := ForTest(t, 7)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	ps, ss := attach(n, seg, 2)
	for i := range link.DefaultQueueLen + 3 {
		ps[0].WriteFrame(eth(MAC(2), MAC(1), 60, byte(i)))
	}
	n.Run(0)
	if ss[1].count() != link.DefaultQueueLen || seg.Stats().QueueDrops != 3 || ps[1].Stats().QueueDrops != 3 {
		t.Fatalf("delivered %d, stats %+v", ss[1].count(), seg.Stats())
	}
}

func TestMAC(t *testing.T) {
	if MAC(1).String() != "02:00:00:00:00:01" || MAC(0x01020304).String() != "02:00:01:02:03:04" {
		t.Fatal(MAC(1), MAC(0x01020304))
	}
	if MAC(5).IsMulticast() || MAC(5)[0]&2 == 0 {
		t.Fatal("not unicast locally administered")
	}
}

type fakeTB struct {
	failed bool
	logs   []string
	clean  []func()
}

func (f *fakeTB) Helper()                 {}
func (f *fakeTB) Logf(s string, a ...any) { f.logs = append(f.logs, fmt.Sprintf(s, a...)) }
func (f *fakeTB) Failed() bool            { return f.failed }
func (f *fakeTB) Cleanup(fn func())       { f.clean = append(f.clean, fn) }

func TestForTestPrintsSeedOnFailure(t *testing.T) {
	t.Setenv(SeedEnv, "")
	ft := &fakeTB{failed: true}
	n := ForTest(ft, 1234)
	ft.clean[0]()
	if n.Seed() != 1234 || len(ft.logs) != 1 || !strings.Contains(ft.logs[0], "STAPEL_SIM_SEED=1234") {
		t.Fatalf("logs %q", ft.logs)
	}
	t.Setenv(SeedEnv, "99")
	if ForTest(&fakeTB{}, 1).Seed() != 99 {
		t.Fatal("seed override ignored")
	}
}

// A whole impaired run replays bit for bit from its seed: the capture of
// the segment (frames and virtual timestamps) is identical.
func TestSimReplay(t *testing.T) {
	run := func(seed int64) []byte {
		n := NewNetwork(seed)
		seg := n.NewSegment("wan", 1500, link.FaultConfig{Delay: time.Millisecond, Jitter: 3 * time.Millisecond,
			Loss: 0.1, Duplicate: 0.1, Reorder: 0.1, Corrupt: 0.1})
		var buf bytes.Buffer
		seg.Capture(&buf)
		ps, ss := attach(n, seg, 3)
		for i := range 300 {
			from := i % 3
			ps[from].WriteFrame(eth(MAC((from+1)%3+1), MAC(from+1), 60+i, byte(i)))
			n.Run(time.Duration(i%4) * time.Millisecond)
		}
		n.Run(time.Second)
		for _, s := range ss {
			fmt.Fprintln(&buf, s.at)
		}
		return buf.Bytes()
	}
	a, b, c := run(11), run(11), run(12)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different runs")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same run")
	}
}

// Per-port impairments can target one direction: here frames arriving at
// port 1 are delayed, frames it sends are not.
func TestPortFaultsInbound(t *testing.T) {
	n := ForTest(t, 12)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	ps, ss := attach(n, seg, 2)
	ps[1].SetFaults(link.FaultConfig{Delay: 40 * time.Millisecond, Direction: link.Inbound})
	ps[0].WriteFrame(eth(MAC(2), MAC(1), 60, 1))
	ps[1].WriteFrame(eth(MAC(1), MAC(2), 60, 2))
	n.Run(time.Second)
	if ss[0].at[0] != 0 || ss[1].at[0] != 40*time.Millisecond {
		t.Fatalf("arrivals: port0 %v, port1 %v", ss[0].at, ss[1].at)
	}
}
