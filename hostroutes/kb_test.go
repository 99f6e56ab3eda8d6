package hostroutes

import (
	"math/rand/v2"
	"testing"
	"time"
)

const linkMTU = 1500

// routerMTUs are the next-hop MTUs flapping routes report: tunnels, WAN
// links, the KB-6 router (320), a pre-RFC 1191 router (0) and a bogus
// value under the floor (60).
var routerMTUs = []int{1400, 1300, 1492, 1006, 576, 320, 0, 60}

// refPMTU is the test's own statement of one "fragmentation needed"
// (RFC 1191 + AMB-2): the MTU in force after it, given the MTU in force
// before (cur) and what the message carries.
func refPMTU(cur, reported, quoted int) int {
	est := reported
	if est == 0 || est >= quoted {
		est = 68
		for _, p := range []int{65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296} {
			if p < quoted {
				est = p
				break
			}
		}
	}
	est = min(max(est, 88), linkMTU)
	return min(cur, est)
}

// flappingICMP makes the next "fragmentation needed" for a destination
// whose MTU in force is cur: the route has just moved to a router whose
// next hop takes hop bytes. If cur does not fit, the router reports hop
// (or 0, if it predates RFC 1191) quoting a cur-byte datagram; if it
// fits, the message is a stale one about an older, full-size datagram.
// One router in 50 reports a bogus MTU under the floor.
func flappingICMP(rng *rand.Rand, cur int) (reported, quoted int) {
	hop := routerMTUs[rng.IntN(len(routerMTUs)-2)] // neither 0 nor 60
	if rng.IntN(50) == 0 {
		hop = 60
	}
	reported, quoted = hop, cur
	if hop >= cur {
		quoted = linkMTU
	}
	if rng.IntN(4) == 0 {
		reported = 0
	}
	return reported, quoted
}

type refEntry struct {
	pmtu    int
	expires time.Time
}

// SPEC: KB-3, KB-4, ICMP-6 — KB 898060 regression, flapping routes:
// 100,000 "fragmentation needed" with changing MTUs for the same 500
// destinations, time passing so estimates age and are learned again
// (routes flapping between routers of different MTUs, as with load
// balancing and dynamic routing). After every message: the count equals
// the entries present (walked), equals what an independent model says,
// never exceeds the bound, and the message's destination carries the MTU
// the message implies.
func TestKB898060FlappingRoutes(t *testing.T) {
	const (
		messages = 100000
		dests    = 500
	)
	tb, clk := newTable(DefaultMaxIcmpHostRoutes)
	rng := rand.New(rand.NewPCG(898060, 1))
	model := map[int]*refEntry{}
	for i := range messages {
		// 0.6 s apart on average; half the messages go to 20 hot
		// destinations (refreshed long before they age), half to all 500
		// (about 10 minutes apart, so some age out and are learned again).
		clk.Advance(time.Duration(rng.IntN(1200)) * time.Millisecond)
		now := clk.Now()
		d := rng.IntN(dests)
		if rng.IntN(2) == 0 {
			d = rng.IntN(20)
		}
		dst := addr(d)
		// Lazy expiry, as the table does it for the destination it touches.
		if e := model[d]; e != nil && !now.Before(e.expires) {
			delete(model, d)
		}
		cur := linkMTU
		if e := model[d]; e != nil {
			cur = e.pmtu
		}
		reported, quoted := flappingICMP(rng, cur)
		want := refPMTU(cur, reported, quoted)
		if want < cur {
			model[d] = &refEntry{want, now.Add(DefaultPMTUAgeInterval)}
		} else if e := model[d]; e != nil {
			e.expires = now.Add(DefaultPMTUAgeInterval)
		}

		if got := tb.UpdatePMTU(dst, reported, quoted, linkMTU); got != want {
			t.Fatalf("message %d to %v (reported %d, quoted %d, in force %d): PMTU %d, want %d",
				i, dst, reported, quoted, cur, got, want)
		}
		e, ok := peek(tb, dst)
		if wantEntry := model[d] != nil; ok != wantEntry || (ok && e.PMTU != want) {
			t.Fatalf("message %d: entry %+v present %v, want PMTU %d present %v", i, e, ok, want, wantEntry)
		}
		if n := tb.Len(); n != len(model) || n != lruCount(tb) || n > DefaultMaxIcmpHostRoutes {
			t.Fatalf("message %d: Len %d, model %d, entries walked %d", i, n, len(model), lruCount(tb))
		}
		if i%100 == 99 {
			checkInvariants(t, tb)
		}
		if i%5000 == 4999 {
			tb.Sweep()
			for k, e := range model {
				if !now.Before(e.expires) {
					delete(model, k)
				}
			}
			if n := len(tb.Entries()); n != len(model) || n != tb.Len() {
				t.Fatalf("after Sweep: %d entries, Len %d, model %d", n, tb.Len(), len(model))
			}
		}
	}
	s := tb.Stats()
	t.Logf("flapping: %+v", s)
	if s.PMTUAged == 0 || s.Lowered == 0 || s.NotLowered == 0 || s.Estimated == 0 || s.Clamped == 0 {
		t.Fatalf("the run did not exercise every path: %+v", s)
	}
}

// SPEC: KB-4, ICMP-6 — KB 898060 regression, many destinations: 100,000
// messages, the first 50,000 each to a new one of 50,000 distinct
// destinations, the rest flapping MTUs over all of them, with
// MaxIcmpHostRoutes 10,000. The count never exceeds the bound and is
// exactly what creations imply; a full table evicts the least recently
// used entry; no update is ever ignored.
func TestKB898060ManyDestinations(t *testing.T) {
	const (
		max      = DefaultMaxIcmpHostRoutes
		distinct = 50000
		messages = 100000
	)
	tb, clk := newTable(max)
	rng := rand.New(rand.NewPCG(898060, 2))
	for i := range messages {
		clk.Advance(time.Millisecond) // 100 s in all: nothing ages
		d := i
		if i >= distinct {
			d = rng.IntN(distinct)
		}
		dst := addr(d)
		before, had := peek(tb, dst)
		cur := linkMTU
		if had {
			cur = before.PMTU
		}
		reported := routerMTUs[rng.IntN(len(routerMTUs))]
		want := refPMTU(cur, reported, linkMTU)

		if got := tb.UpdatePMTU(dst, reported, linkMTU, linkMTU); got != want {
			t.Fatalf("message %d to %v: PMTU %d, want %d", i, dst, got, want)
		}
		if e, ok := peek(tb, dst); !ok || e.PMTU != want {
			t.Fatalf("message %d to %v: entry %+v %v, want PMTU %d", i, dst, e, ok, want)
		}
		// Every message lowers below the link MTU, so each new destination
		// creates an entry: the count is min(destinations seen, max).
		n := tb.Len()
		if wantLen := min(i+1, max); n != wantLen {
			t.Fatalf("message %d: Len %d, want %d", i, n, wantLen)
		}
		if s := tb.Stats(); s.Creates != uint64(n)+s.Evictions || s.Entries != n {
			t.Fatalf("message %d: counters %+v do not account for Len %d", i, s, n)
		}
		if i < distinct && i >= max {
			if _, ok := peek(tb, addr(i-max)); ok {
				t.Fatalf("message %d: least recently used %v not evicted", i, addr(i-max))
			}
			if _, ok := peek(tb, addr(i-max+1)); !ok {
				t.Fatalf("message %d: %v evicted out of LRU order", i, addr(i-max+1))
			}
		}
		if i%1000 == 999 {
			checkInvariants(t, tb)
			if len(tb.Entries()) != n {
				t.Fatalf("message %d: Entries() has %d, Len %d", i, len(tb.Entries()), n)
			}
		}
	}
	s := tb.Stats()
	t.Logf("many destinations: %+v", s)
	if s.Evictions < distinct-max || s.Modifies == 0 {
		t.Fatalf("stats %+v", s)
	}
}

// SPEC: KB-3, KB-4 — N ≫ 10,000 alternating MTU updates for one existing
// destination in a full table: each is a modify, the count does not move,
// nothing is evicted, and the last update is honoured.
func TestKB4AlternatingUpdatesFullTable(t *testing.T) {
	const n = 100000
	tb, clk := newTable(DefaultMaxIcmpHostRoutes)
	for i := range DefaultMaxIcmpHostRoutes {
		tb.UpdatePMTU(addr(i), 0, linkMTU, linkMTU) // 1492 each
	}
	dst := addr(1234)
	for i := range n {
		clk.Advance(time.Second)
		mtu := 1400 - 100*(i%2) // routers A and B flapping
		// 1492 → 1400 → 1300, then 1300 stays: no ICMP raises a PMTU.
		want := 1300
		if i == 0 {
			want = 1400
		}
		if got := tb.UpdatePMTU(dst, mtu, linkMTU, linkMTU); got != want {
			t.Fatalf("update %d: PMTU %d, want %d", i, got, want)
		}
		if tb.Len() != DefaultMaxIcmpHostRoutes {
			t.Fatalf("update %d: Len %d", i, tb.Len())
		}
	}
	if got := tb.UpdatePMTU(dst, 1200, 1300, linkMTU); got != 1200 {
		t.Fatalf("last update: PMTU %d, want 1200", got)
	}
	if e, _ := tb.Lookup(dst); e.PMTU != 1200 {
		t.Fatalf("last update not honoured: %+v", e)
	}
	s := tb.Stats()
	if s.Creates != DefaultMaxIcmpHostRoutes || s.Modifies != n+1 || s.Evictions != 0 {
		t.Fatalf("stats %+v", s)
	}
	checkInvariants(t, tb)
}

// SPEC: KB-4 — alternating updates for one destination, each after the
// previous estimate aged out, so every one of them is what is in force:
// the count is 1 after every update and the last update is honoured.
func TestKB4AlternatingUpdatesOneDestination(t *testing.T) {
	const n = 100000
	tb, clk := newTable(DefaultMaxIcmpHostRoutes)
	dst := addr(42)
	for i := range n {
		clk.Advance(DefaultPMTUAgeInterval)
		mtu := 1400 - 100*(i%2)
		if got := tb.UpdatePMTU(dst, mtu, linkMTU, linkMTU); got != mtu {
			t.Fatalf("update %d: PMTU %d, want %d", i, got, mtu)
		}
		if tb.Len() != 1 {
			t.Fatalf("update %d: Len %d, want 1", i, tb.Len())
		}
	}
	if e, ok := tb.Lookup(dst); !ok || e.PMTU != 1300 {
		t.Fatalf("last update (1300) not in force: %+v", e)
	}
	checkInvariants(t, tb)
}

// SPEC: KB-4 — in a full table a new destination's update is applied and
// the least recently used entry (not the oldest) makes room.
func TestKB4FullTableNewDestinationApplied(t *testing.T) {
	tb, clk := newTable(DefaultMaxIcmpHostRoutes)
	for i := range DefaultMaxIcmpHostRoutes {
		tb.UpdatePMTU(addr(i), 1400, linkMTU, linkMTU)
		clk.Advance(time.Millisecond)
	}
	tb.Lookup(addr(0)) // the oldest is in use
	fresh := addr(DefaultMaxIcmpHostRoutes)
	if got := tb.UpdatePMTU(fresh, 576, linkMTU, linkMTU); got != 576 {
		t.Fatalf("new destination at capacity: PMTU %d, want 576", got)
	}
	if e, ok := tb.Lookup(fresh); !ok || e.PMTU != 576 {
		t.Fatal("new destination's update ignored at capacity")
	}
	if _, ok := peek(tb, addr(0)); !ok {
		t.Fatal("recently used entry evicted")
	}
	if _, ok := peek(tb, addr(1)); ok {
		t.Fatal("least recently used entry kept")
	}
	if s := tb.Stats(); s.Evictions != 1 || tb.Len() != DefaultMaxIcmpHostRoutes {
		t.Fatalf("stats %+v len %d", s, tb.Len())
	}
	checkInvariants(t, tb)
}

// SPEC: KB-4 — the ICMP handler stays live once the table has been full
// and its routes age out: aged entries make room without evictions.
func TestKB4LiveAfterAgeOut(t *testing.T) {
	const max = DefaultMaxIcmpHostRoutes
	tb, clk := newTable(max)
	for i := range max {
		tb.UpdatePMTU(addr(i), 1400, linkMTU, linkMTU)
	}
	clk.Advance(DefaultPMTUAgeInterval)
	for i := max; i < 2*max; i++ {
		if got := tb.UpdatePMTU(addr(i), 1300, linkMTU, linkMTU); got != 1300 {
			t.Fatalf("update for %v after age-out: %d", addr(i), got)
		}
	}
	s := tb.Stats()
	if tb.Len() != max || s.Evictions != 0 || s.Expiries != max || s.PMTUAged != max {
		t.Fatalf("len %d stats %+v", tb.Len(), s)
	}
	if got := tb.PathMTU(addr(0), linkMTU); got != linkMTU {
		t.Fatalf("aged destination: %d, want the link MTU", got)
	}
	checkInvariants(t, tb)
}
