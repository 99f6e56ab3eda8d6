package clock

import (
	"testing"
	"time"
)

// One timer scheduled and fired per iteration.
func BenchmarkVirtualAfterFunc(b *testing.B) {
	v := NewVirtual(t0)
	f := func() {}
	b.ReportAllocs()
	for b.Loop() {
		v.AfterFunc(time.Millisecond, f)
		v.Advance(time.Millisecond)
	}
}

// Reset of a pending timer, as a TCP retransmission timer is re-armed per ACK.
func BenchmarkVirtualReset(b *testing.B) {
	v := NewVirtual(t0)
	for range 1000 {
		v.AfterFunc(time.Hour, func() {})
	}
	tm := v.AfterFunc(time.Second, func() {})
	b.ReportAllocs()
	for b.Loop() {
		tm.Reset(time.Second)
	}
}
