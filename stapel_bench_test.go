package stapel

import (
	"io"
	"runtime"
	"testing"
)

// BenchmarkStackTCPBulk measures Stapel end to end in memory: two full
// hosts (Ethernet, ARP, IPv4, TCP) joined by a link.Pipe on real time,
// one connection, 1 MiB per op one way through net.Conn. It reports
// throughput and heap allocations per TCP segment (both hosts' segments,
// data and ACKs, counted together).
func BenchmarkStackTCPBulk(b *testing.B) {
	a, h := pair(b)
	ln, err := h.Listen("tcp", ":5001")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- -1
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		done <- n
	}()
	c, err := a.Dial("tcp", ipB+":5001")
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	const perOp = 1 << 20
	b.SetBytes(perOp)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	segs0 := a.TCP().Stats().OutSegs + h.TCP().Stats().OutSegs
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for sent := 0; sent < perOp; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
	}
	c.Close()
	if n := <-done; n != int64(b.N)*perOp {
		b.Fatalf("received %d bytes, sent %d", n, int64(b.N)*perOp)
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	segs := a.TCP().Stats().OutSegs + h.TCP().Stats().OutSegs - segs0
	if segs > 0 {
		b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(segs), "allocs/seg")
		b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(segs), "B/seg")
	}
}
