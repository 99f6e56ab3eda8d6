package hostroutes

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newTable(max int) (*Table, *clock.Virtual) {
	clk := clock.NewVirtual(epoch)
	return New(clk, max), clk
}

// addr returns the i-th address of the 198.18.0.0/15 test range.
func addr(i int) netip.Addr {
	if i < 0 || i >= 1<<17 {
		panic("addr out of 198.18.0.0/15")
	}
	return netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)})
}

// peek reads dst's stored entry without touching or expiring it.
func peek(tb *Table, dst netip.Addr) (Entry, bool) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	n := tb.m[dst]
	if n == nil {
		return Entry{}, false
	}
	return n.e, true
}

// lruCount counts the entries reachable by walking the table.
func lruCount(tb *Table) int {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	k := 0
	r := &tb.roots[lruList]
	for n := r.l[lruList].next; n != r && k <= len(tb.m); n = n.l[lruList].next {
		k++
	}
	return k
}

// checkInvariants walks every structure: the map, the LRU list and both
// expiry lists must agree entry for entry, the bound must hold, and the
// event counters must account for exactly the entries present.
func checkInvariants(t testing.TB, tb *Table) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.m) > tb.max {
		t.Fatalf("len %d > max %d", len(tb.m), tb.max)
	}
	// LRU: every map entry exactly once, recency non-increasing.
	r := &tb.roots[lruList]
	count := 0
	var prevUse time.Time
	for n := r.l[lruList].next; n != r; n = n.l[lruList].next {
		count++
		if count > len(tb.m) {
			t.Fatalf("LRU list longer than map (%d)", len(tb.m))
		}
		if tb.m[n.e.Dst] != n {
			t.Fatalf("LRU node %v not the map's", n.e.Dst)
		}
		if n.l[lruList].next.l[lruList].prev != n {
			t.Fatalf("LRU links broken at %v", n.e.Dst)
		}
		if count > 1 && n.e.LastUsed.After(prevUse) {
			t.Fatalf("LRU order broken at %v", n.e.Dst)
		}
		prevUse = n.e.LastUsed
		if n.linked(pmtuList) != (n.e.PMTU != 0) {
			t.Fatalf("%v: PMTU %d but on PMTU list %v", n.e.Dst, n.e.PMTU, n.linked(pmtuList))
		}
		if n.linked(redirList) != n.e.Gateway.IsValid() {
			t.Fatalf("%v: gateway %v but on redirect list %v", n.e.Dst, n.e.Gateway, n.linked(redirList))
		}
		if n.e.PMTU == 0 && !n.e.Gateway.IsValid() {
			t.Fatalf("%v: empty entry kept", n.e.Dst)
		}
		if n.e.PMTU != 0 && n.e.PMTU < MinPMTU {
			t.Fatalf("%v: PMTU %d below floor", n.e.Dst, n.e.PMTU)
		}
	}
	if count != len(tb.m) {
		t.Fatalf("LRU list has %d entries, map %d", count, len(tb.m))
	}
	for _, i := range [...]int{pmtuList, redirList} {
		r := &tb.roots[i]
		var prev time.Time
		k := 0
		for n := r.l[i].next; n != r; n = n.l[i].next {
			k++
			if k > len(tb.m) || tb.m[n.e.Dst] != n {
				t.Fatalf("expiry list %d holds a node not in the map", i)
			}
			if k > 1 && n.deadline(i).Before(prev) {
				t.Fatalf("expiry list %d out of order at %v", i, n.e.Dst)
			}
			prev = n.deadline(i)
		}
	}
	s := tb.st
	if s.Creates != uint64(len(tb.m))+s.Evictions+s.Expiries+s.Deletes {
		t.Fatalf("counters do not account for entries: creates %d != len %d + evictions %d + expiries %d + deletes %d",
			s.Creates, len(tb.m), s.Evictions, s.Expiries, s.Deletes)
	}
}
