package sim

import (
	"testing"

	"github.com/stapel-net/stapel/link"
)

type nop struct{}

func (nop) DeliverFrame([]byte)   {}
func (nop) LinkStateChanged(bool) {}

// A learned unicast frame through a segment switch.
func BenchmarkSegmentUnicast(b *testing.B) {
	n := NewNetwork(1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a, c := seg.NewPort(MAC(1)), seg.NewPort(MAC(2))
	a.Attach(nop{})
	c.Attach(nop{})
	c.WriteFrame(eth(MAC(1), MAC(2), 60, 0))
	f := eth(MAC(2), MAC(1), 1514, 1)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		a.WriteFrame(f)
		n.Run(0)
	}
}
