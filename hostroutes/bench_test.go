package hostroutes

import (
	"testing"
)

// fullTable is a table at its default bound, every entry with a PMTU.
func fullTable(b *testing.B) *Table {
	tb, _ := newTable(DefaultMaxIcmpHostRoutes)
	for i := range DefaultMaxIcmpHostRoutes {
		tb.UpdatePMTU(addr(i), 1400, linkMTU, linkMTU)
	}
	b.ResetTimer()
	return tb
}

// An MTU change to an existing host route (the KB 898060 path): a modify.
func BenchmarkUpdatePMTUExisting(b *testing.B) {
	tb := fullTable(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tb.UpdatePMTU(addr(i%DefaultMaxIcmpHostRoutes), 1300-i%2, linkMTU, linkMTU)
		i++
	}
}

// A new destination in a full table: create plus LRU eviction.
func BenchmarkUpdatePMTUNewAtCapacity(b *testing.B) {
	tb := fullTable(b)
	b.ReportAllocs()
	i := DefaultMaxIcmpHostRoutes
	for b.Loop() {
		tb.UpdatePMTU(addr(i%(1<<17)), 1300, linkMTU, linkMTU)
		i++
	}
}

// A new destination in a table with room: create with a fresh node.
func BenchmarkUpdatePMTUNewWithRoom(b *testing.B) {
	tb, _ := newTable(1 << 17)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%(1<<17) == 0 {
			tb.Flush()
		}
		tb.UpdatePMTU(addr(i%(1<<17)), 1300, linkMTU, linkMTU)
		i++
	}
}

func BenchmarkLookupHit(b *testing.B) {
	tb := fullTable(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tb.Lookup(addr(i % DefaultMaxIcmpHostRoutes))
		i++
	}
}

func BenchmarkLookupMiss(b *testing.B) {
	tb := fullTable(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tb.Lookup(addr(DefaultMaxIcmpHostRoutes + i%1000))
		i++
	}
}

// Zero allocations on the hot paths are part of the contract.
func TestNoAllocsOnLookupAndModify(t *testing.T) {
	tb, _ := newTable(100)
	for i := range 100 {
		tb.UpdatePMTU(addr(i), 1400, linkMTU, linkMTU)
	}
	i := 0
	if a := testing.AllocsPerRun(1000, func() { tb.Lookup(addr(i % 100)); i++ }); a != 0 {
		t.Errorf("Lookup allocates %.1f", a)
	}
	if a := testing.AllocsPerRun(1000, func() { tb.UpdatePMTU(addr(i%100), 1300-i%2, linkMTU, linkMTU); i++ }); a != 0 {
		t.Errorf("modify allocates %.1f", a)
	}
	if a := testing.AllocsPerRun(1000, func() { tb.UpdatePMTU(addr(100+i), 1300, linkMTU, linkMTU); i++ }); a != 0 {
		t.Errorf("create at capacity (evicting) allocates %.1f", a)
	}
}
