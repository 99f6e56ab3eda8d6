package link

import (
	"testing"

	"github.com/stapel-net/stapel/clock"
)

type nopDispatcher struct{ n int }

func (d *nopDispatcher) DeliverFrame(f []byte) { d.n++ }
func (d *nopDispatcher) LinkStateChanged(bool) {}

func BenchmarkPipeVirtual(b *testing.B) {
	clk := clock.NewVirtual(t0)
	a, p := NewPipe(clk, 1500, macA, macB)
	p.Attach(&nopDispatcher{})
	f := frame(macB, macA, 1514, 1)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		a.WriteFrame(f)
		clk.Advance(0)
	}
}

func BenchmarkPipeReal(b *testing.B) {
	a, p := NewPipe(clock.Real{}, 1500, macA, macB)
	defer a.Close()
	defer p.Close()
	d := &countDispatcher{done: make(chan struct{}, 1)}
	p.Attach(d)
	f := frame(macB, macA, 1514, 1)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		a.WriteFrame(f)
		<-d.done
	}
}

type countDispatcher struct{ done chan struct{} }

func (d *countDispatcher) DeliverFrame([]byte)   { d.done <- struct{}{} }
func (d *countDispatcher) LinkStateChanged(bool) {}

func BenchmarkFaultyPassThrough(b *testing.B) {
	clk := clock.NewVirtual(t0)
	a, p := NewPipe(clk, 1500, macA, macB)
	fa := NewFaulty(a, clk, FaultConfig{Loss: 0.01, Jitter: 1000}, 1)
	p.Attach(&nopDispatcher{})
	f := frame(macB, macA, 1514, 1)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		fa.WriteFrame(f)
		clk.Advance(1000)
	}
}
