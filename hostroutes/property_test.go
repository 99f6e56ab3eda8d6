package hostroutes

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// model is a deliberately naive table: a map, a use sequence number for
// LRU, linear scans. The property test runs both side by side.
type model struct {
	max int
	m   map[netip.Addr]*mEntry
	seq uint64
}

type mEntry struct {
	e   Entry
	use uint64
}

func (md *model) expire(dst netip.Addr, now time.Time) {
	x := md.m[dst]
	if x == nil {
		return
	}
	if x.e.PMTU != 0 && !now.Before(x.e.PMTUExpires) {
		x.e.PMTU, x.e.PMTUExpires = 0, time.Time{}
	}
	if x.e.Gateway.IsValid() && !now.Before(x.e.RedirectExpires) {
		x.e.Gateway, x.e.RedirectExpires = netip.Addr{}, time.Time{}
	}
	if x.e.PMTU == 0 && !x.e.Gateway.IsValid() {
		delete(md.m, dst)
	}
}

func (md *model) sweep(now time.Time) {
	for dst := range md.m {
		md.expire(dst, now)
	}
}

func (md *model) touch(x *mEntry, now time.Time) {
	md.seq++
	x.use, x.e.LastUsed = md.seq, now
}

func (md *model) lru() netip.Addr {
	var victim netip.Addr
	best := uint64(math.MaxUint64)
	for dst, x := range md.m {
		if x.use < best {
			victim, best = dst, x.use
		}
	}
	return victim
}

func (md *model) create(dst netip.Addr, now time.Time) *mEntry {
	if len(md.m) >= md.max {
		md.sweep(now)
	}
	if len(md.m) >= md.max {
		delete(md.m, md.lru())
	}
	x := &mEntry{e: Entry{Dst: dst, Created: now}}
	md.touch(x, now)
	md.m[dst] = x
	return x
}

func (md *model) updatePMTU(dst netip.Addr, reported, quoted, link int, now time.Time) int {
	md.expire(dst, now)
	x := md.m[dst]
	cur := math.MaxInt
	if link > 0 {
		cur = link
	}
	if x != nil && x.e.PMTU != 0 {
		cur = min(cur, x.e.PMTU)
	}
	est := reported
	if est <= 0 || (quoted > 0 && est >= quoted) {
		if quoted <= 0 {
			quoted = cur
		}
		est = PlateauBelow(quoted)
	}
	est = max(est, 88)
	if link > 0 {
		est = min(est, link)
	}
	if est >= cur {
		if x != nil {
			if x.e.PMTU != 0 {
				x.e.PMTUExpires = now.Add(DefaultPMTUAgeInterval)
			}
			md.touch(x, now)
		}
		return cur
	}
	if x == nil {
		x = md.create(dst, now)
	} else {
		md.touch(x, now)
	}
	x.e.PMTU, x.e.PMTUExpires = est, now.Add(DefaultPMTUAgeInterval)
	return est
}

func (md *model) setRedirect(dst, gw netip.Addr, now time.Time) {
	md.expire(dst, now)
	x := md.m[dst]
	if x == nil {
		x = md.create(dst, now)
	} else {
		md.touch(x, now)
	}
	x.e.Gateway, x.e.RedirectExpires = gw, now.Add(DefaultRedirectLifetime)
}

// compare checks the table against the model entry for entry, including
// the LRU order, without touching or expiring anything.
func compare(t *testing.T, step int, op string, tb *Table, md *model) {
	t.Helper()
	checkInvariants(t, tb)
	tb.mu.Lock()
	var order []netip.Addr
	r := &tb.roots[lruList]
	for n := r.l[lruList].next; n != r; n = n.l[lruList].next {
		order = append(order, n.e.Dst)
		x := md.m[n.e.Dst]
		if x == nil || x.e != n.e {
			tb.mu.Unlock()
			t.Fatalf("step %d (%s): table %+v, model %+v", step, op, n.e, x)
		}
	}
	tb.mu.Unlock()
	want := make([]netip.Addr, 0, len(md.m))
	for dst := range md.m {
		want = append(want, dst)
	}
	slices.SortFunc(want, func(a, b netip.Addr) int { return -cmpUint(md.m[a].use, md.m[b].use) })
	if !slices.Equal(order, want) {
		t.Fatalf("step %d (%s): LRU order %v, model %v", step, op, order, want)
	}
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SPEC: KB-4, ICMP-3, ICMP-6, AMB-2 — random operation sequences (seeded)
// against a naive model: after every operation the table equals the model
// (entries, expiry times, LRU order) and every invariant holds.
func TestPropertyRandomOperations(t *testing.T) {
	gws := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")}
	links := []int{1500, 1500, 1006, 9000, 0}
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 1191))
		max := 1 + rng.IntN(20)
		tb, clk := newTable(max)
		md := &model{max: max, m: map[netip.Addr]*mEntry{}}
		for step := range 3000 {
			dst := addr(rng.IntN(3 * max))
			var op string
			switch k := rng.IntN(100); {
			case k < 40:
				op = "update"
				rep := []int{0, 60, 296, 576, 1006, 1300, 1400, 1492, 1500, 4352, 9000}[rng.IntN(11)]
				quoted := []int{0, 576, 1500, 9000}[rng.IntN(4)]
				link := links[rng.IntN(len(links))]
				want := md.updatePMTU(dst, rep, quoted, link, clk.Now())
				if got := tb.UpdatePMTU(dst, rep, quoted, link); got != want {
					t.Fatalf("seed %d step %d: UpdatePMTU(%v, %d, %d, %d) = %d, model %d",
						seed, step, dst, rep, quoted, link, got, want)
				}
			case k < 55:
				op = "redirect"
				g := gws[rng.IntN(2)]
				md.setRedirect(dst, g, clk.Now())
				tb.SetRedirect(dst, g)
			case k < 75:
				op = "lookup"
				md.expire(dst, clk.Now())
				x, wok := md.m[dst]
				if wok {
					md.touch(x, clk.Now())
				}
				e, ok := tb.Lookup(dst)
				if ok != wok || (ok && e != x.e) {
					t.Fatalf("seed %d step %d: Lookup(%v) = %+v %v, model %+v", seed, step, dst, e, ok, x)
				}
			case k < 90:
				op = "advance"
				clk.Advance(time.Duration(rng.IntN(240)) * time.Second)
			case k < 94:
				op = "sweep"
				md.sweep(clk.Now())
				tb.Sweep()
			case k < 97:
				op = "delete"
				_, had := md.m[dst]
				delete(md.m, dst)
				if tb.Delete(dst) != had {
					t.Fatalf("seed %d step %d: Delete(%v) disagrees", seed, step, dst)
				}
			case k < 98:
				op = "deleteIf"
				g := gws[rng.IntN(2)]
				for d, x := range md.m {
					if x.e.Gateway == g {
						delete(md.m, d)
					}
				}
				tb.DeleteIf(func(e Entry) bool { return e.Gateway == g })
			case k < 99:
				op = "entries"
				md.sweep(clk.Now())
				if n := len(tb.Entries()); n != len(md.m) {
					t.Fatalf("seed %d step %d: Entries %d, model %d", seed, step, n, len(md.m))
				}
			default:
				op = "setmax"
				md.max = 1 + rng.IntN(20)
				for len(md.m) > md.max {
					delete(md.m, md.lru())
				}
				tb.SetMax(md.max)
			}
			compare(t, step, op, tb, md)
			if next, ok := tb.NextExpiry(); ok && next.Before(clk.Now()) && op == "sweep" {
				t.Fatalf("seed %d step %d: NextExpiry %v in the past after Sweep", seed, step, next)
			}
		}
	}
}

// Concurrent use from the stack's receive path, senders and a sweeper
// (run with -race).
func TestConcurrentUse(t *testing.T) {
	tb, clk := newTable(64)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 3000 {
				dst := addr(rng.IntN(200))
				switch rng.IntN(4) {
				case 0:
					tb.UpdatePMTU(dst, 576+rng.IntN(900), 1500, 1500)
				case 1:
					tb.SetRedirect(dst, gw)
				case 2:
					tb.PathMTU(dst, 1500)
				default:
					tb.Sweep()
					tb.NextExpiry()
					tb.Stats()
				}
			}
		}()
	}
	for range 50 {
		clk.Advance(30 * time.Second)
		tb.Entries()
	}
	wg.Wait()
	checkInvariants(t, tb)
}
