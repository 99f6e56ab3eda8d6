package tcp

import (
	"net/netip"
	"testing"

	"github.com/stapel-net/stapel/clock"
)

// ringNet is an allocation-free network for the fast-path benchmarks:
// Output copies each segment into a preallocated slot; the benchmark
// loop delivers them (never nested inside Output). drop, if set, loses
// chosen segments.
type ringNet struct {
	clk   *clock.Virtual
	hosts [2]*ringHost
	slots [4096]ringSlot
	head  int
	n     int
	drop  func(from int, seg []byte) bool
}

type ringSlot struct {
	to       int
	src, dst netip.Addr
	b        []byte
	n        int
}

type ringHost struct {
	net  *ringNet
	idx  int
	addr netip.Addr
	p    *Protocol
}

func (h *ringHost) Clock() clock.Clock { return h.net.clk }
func (h *ringHost) Route(netip.Addr) (netip.Addr, int, error) {
	return h.addr, 1500, nil
}
func (h *ringHost) Output(src, dst netip.Addr, ttl, tos uint8, df bool, seg []byte) error {
	r := h.net
	if r.drop != nil && r.drop(h.idx, seg) {
		return nil
	}
	if r.n == len(r.slots) {
		return nil // full: lost
	}
	s := &r.slots[(r.head+r.n)%len(r.slots)]
	if cap(s.b) < len(seg) {
		s.b = make([]byte, 2048)
	}
	s.n = copy(s.b[:cap(s.b)], seg)
	s.to, s.src, s.dst = 1-h.idx, src, dst
	r.n++
	return nil
}

// deliver hands every queued segment to its host; it reports whether
// there was any.
func (r *ringNet) deliver() bool {
	any := r.n > 0
	for r.n > 0 {
		s := &r.slots[r.head]
		r.head = (r.head + 1) % len(r.slots)
		r.n--
		r.hosts[s.to].p.HandleSegment(s.src, s.dst, s.b[:s.n])
	}
	return any
}

func newRingPair(tb testing.TB, p Params) (*ringNet, *Conn, *Conn) {
	r := &ringNet{clk: clock.NewVirtual(epoch)}
	for i := range r.slots {
		r.slots[i].b = make([]byte, 2048)
	}
	r.hosts[0] = &ringHost{net: r, idx: 0, addr: addrA}
	r.hosts[1] = &ringHost{net: r, idx: 1, addr: addrB}
	r.hosts[0].p = New(r.hosts[0], Options{Params: p, Seed: 1})
	r.hosts[1].p = New(r.hosts[1], Options{Params: p, Seed: 2})
	ln, err := r.hosts[1].p.Listen(netip.AddrPortFrom(addrB, 80), 5)
	if err != nil {
		tb.Fatal(err)
	}
	cli, err := r.hosts[0].p.startDial(netip.AddrPort{}, netip.AddrPortFrom(addrB, 80))
	if err != nil {
		tb.Fatal(err)
	}
	for r.deliver() {
	}
	srv := ln.tryAccept()
	if srv == nil {
		tb.Fatal("no connection")
	}
	return r, cli, srv
}

// runBulk moves total bytes from cli to srv, delivering segments as they
// are queued and advancing virtual time only when nothing is in flight.
func runBulk(tb testing.TB, r *ringNet, cli, srv *Conn, data, buf []byte, total int) {
	sent, got := 0, 0
	for got < total {
		if sent < total {
			cli.mu.Lock()
			room := cli.sndCap - cli.snd.len()
			cli.mu.Unlock()
			if room > 0 {
				k := min(room, total-sent, len(data))
				n, _ := cli.Write(data[:k])
				sent += n
			}
		}
		moved := r.deliver()
		for {
			srv.mu.Lock()
			ready := srv.rcv.len()
			srv.mu.Unlock()
			if ready == 0 {
				break
			}
			n, _ := srv.Read(buf)
			got += n
			moved = true
		}
		if !moved && !r.clk.Step() {
			tb.Fatalf("stalled at %d/%d", got, total)
		}
	}
}

// BenchmarkFastPathInOrder is the steady-state in-order path: per op one
// full segment is written, sent, received, acknowledged (every second
// segment) and read. Issue 4 item 4: 0 allocs/op.
func BenchmarkFastPathInOrder(b *testing.B) {
	benchFastPath(b, DefaultParams(), nil)
}

// BenchmarkFastPathInOrderModern is the same with the modern profile
// (timestamps on every segment, scaled windows, CUBIC).
func BenchmarkFastPathInOrderModern(b *testing.B) {
	benchFastPath(b, ModernParams(), nil)
}

// BenchmarkFastPathSACKRecovery loses one data segment in 50, so the
// receiver keeps out-of-order data and SACK blocks and the sender runs
// RFC 6675 recovery continuously.
func BenchmarkFastPathSACKRecovery(b *testing.B) {
	k := 0
	benchFastPath(b, ModernParams(), func(from int, seg []byte) bool {
		if from != 0 || len(seg) < 200 {
			return false
		}
		k++
		return k%50 == 0
	})
}

func benchFastPath(b *testing.B, p Params, drop func(int, []byte) bool) {
	p.TcpMaxDataRetransmissions = 30
	r, cli, srv := newRingPair(b, p)
	r.drop = drop
	cli.SetNoDelay(true)
	mss := cli.MSS()
	data := testData(64<<10, 1)
	buf := make([]byte, 64<<10)
	runBulk(b, r, cli, srv, data, buf, 4<<20) // warm up: windows open, pools filled
	b.SetBytes(int64(mss))
	b.ReportAllocs()
	b.ResetTimer()
	runBulk(b, r, cli, srv, data, buf, b.N*mss)
	b.StopTimer()
	s := r.hosts[0].p.Stats()
	if drop != nil {
		b.ReportMetric(float64(s.FastRetrans), "recoveries")
	}
}

// TestFastPathNoAllocs pins the result of the benchmarks: no heap
// allocation per segment in steady state, in order and in SACK recovery.
func TestFastPathNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("-race: sync.Pool drops items on purpose, so allocations are not steady")
	}
	for _, tc := range []struct {
		name string
		p    Params
		drop bool
	}{{"in-order", DefaultParams(), false}, {"modern", ModernParams(), false}, {"sack-recovery", ModernParams(), true}} {
		k := 0
		var drop func(int, []byte) bool
		if tc.drop {
			drop = func(from int, seg []byte) bool {
				if from != 0 || len(seg) < 200 {
					return false
				}
				k++
				return k%50 == 0
			}
		}
		p := tc.p
		p.TcpMaxDataRetransmissions = 30
		r, cli, srv := newRingPair(t, p)
		r.drop = drop
		data := testData(64<<10, 1)
		buf := make([]byte, 64<<10)
		runBulk(t, r, cli, srv, data, buf, 4<<20)
		segs0 := r.hosts[0].p.Stats().OutSegs
		allocs := testing.AllocsPerRun(5, func() { runBulk(t, r, cli, srv, data, buf, 1<<20) })
		segs := float64(r.hosts[0].p.Stats().OutSegs-segs0) / 6
		t.Logf("%s: %.0f allocs per MiB (%.0f segments), %.4f per segment", tc.name, allocs, segs, allocs/segs)
		if allocs/segs > 0.01 {
			t.Errorf("%s: %.3f allocations per segment", tc.name, allocs/segs)
		}
	}
}
