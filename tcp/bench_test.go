package tcp

import (
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// BenchmarkBulkTransfer moves 1 MiB per op one way over the fake network
// (virtual time, 100 µs one-way delay) and reports allocations per segment.
func BenchmarkBulkTransfer(b *testing.B) {
	pr := newPair(b, 100*time.Microsecond, DefaultParams(), DefaultParams(), 1)
	pr.n.record = false
	data := testData(1<<20, 1)
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(data)))
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	segs0 := pr.a.p.Stats().OutSegs + pr.b.p.Stats().OutSegs
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		off, got := 0, 0
		pr.n.runUntil(func() bool {
			if off < len(data) {
				pr.cli.mu.Lock()
				room := pr.cli.sndCap - pr.cli.snd.len()
				pr.cli.mu.Unlock()
				if room > 0 {
					n, _ := pr.cli.Write(data[off:min(off+room, len(data))])
					off += n
				}
			}
			for {
				pr.srv.mu.Lock()
				r := pr.srv.rcv.len()
				pr.srv.mu.Unlock()
				if r == 0 {
					break
				}
				n, _ := pr.srv.Read(buf)
				got += n
			}
			return got == len(data)
		}, time.Hour)
		if got != len(data) {
			b.Fatalf("transfer stalled at %d", got)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	segs := pr.a.p.Stats().OutSegs + pr.b.p.Stats().OutSegs - segs0
	if segs > 0 {
		b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(segs), "allocs/seg")
	}
	b.ReportMetric(float64(segs)/float64(b.N), "segs/op")
}

// BenchmarkBulkTransferSync is the same over a network that delivers
// inside Output without copying, so allocations are TCP's own.
func BenchmarkBulkTransferSync(b *testing.B) {
	clk := newFakeNet(0, 1).clk
	ha := &syncHost{clk: clk, addr: addrA}
	hb := &syncHost{clk: clk, addr: addrB}
	ha.peer, hb.peer = hb, ha
	ha.p = New(ha, Options{Seed: 1})
	hb.p = New(hb, Options{Seed: 2})
	ln, _ := hb.p.Listen(netip.AddrPortFrom(addrB, 80), 5)
	cli, _ := ha.p.startDial(netip.AddrPort{}, netip.AddrPortFrom(addrB, 80))
	srv := ln.tryAccept()
	data := testData(1<<20, 1)
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(data)))
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	segs0 := ha.p.Stats().OutSegs + hb.p.Stats().OutSegs
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		off, got := 0, 0
		for got < len(data) {
			if off < len(data) {
				cli.mu.Lock()
				room := cli.sndCap - cli.snd.len()
				cli.mu.Unlock()
				if room > 0 {
					n, _ := cli.Write(data[off:min(off+room, len(data))])
					off += n
				}
			}
			progressed := false
			for {
				srv.mu.Lock()
				r := srv.rcv.len()
				srv.mu.Unlock()
				if r == 0 {
					break
				}
				n, _ := srv.Read(buf)
				got += n
				progressed = true
			}
			if !progressed && !clk.Step() {
				b.Fatalf("stalled at %d", got)
			}
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	segs := ha.p.Stats().OutSegs + hb.p.Stats().OutSegs - segs0
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(segs), "allocs/seg")
}
