package hostroutes

import (
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/stapel-net/stapel/clock"
)

// Defaults (SPEC §19 KB-3, ICMP-3, RFC 1191 §6.3).
const (
	DefaultMaxIcmpHostRoutes = 10000
	DefaultRedirectLifetime  = 10 * time.Minute
	DefaultPMTUAgeInterval   = 10 * time.Minute
)

// Entry is one learned host route, as a snapshot.
type Entry struct {
	Dst netip.Addr
	// PMTU is the learned path MTU; 0 means none (use the interface MTU).
	PMTU int
	// PMTUExpires is when the estimate ages out (zero if PMTU is 0).
	PMTUExpires time.Time
	// Gateway is the first hop learned from a redirect; invalid = none.
	Gateway netip.Addr
	// RedirectExpires is when the redirect lapses (zero if none).
	RedirectExpires time.Time
	// Created is when the entry was made; LastUsed is the last Lookup or
	// ICMP update, the key of LRU eviction.
	Created, LastUsed time.Time
}

// Stats are event counters. Entries is len of the table at the time of
// the snapshot, so Creates == Entries + Evictions + Expiries + Deletes.
type Stats struct {
	Entries int // entries present now (derived from the table)
	Max     int // MaxIcmpHostRoutes in force

	Creates   uint64 // entries created by an ICMP update
	Modifies  uint64 // ICMP updates applied to an existing entry
	Evictions uint64 // LRU entries removed to make room for a new one
	Expiries  uint64 // entries removed because nothing was left in them
	Deletes   uint64 // entries removed by Delete, DeleteIf, Flush, SetMax

	PMTUAged         uint64 // PMTU estimates dropped after PMTUAgeInterval
	RedirectsExpired uint64 // redirects dropped after RedirectLifetime
	Lowered          uint64 // "fragmentation needed" that lowered the PMTU
	NotLowered       uint64 // reports at or above the PMTU in force (RFC 1191 §3: no increase)
	Estimated        uint64 // reports without a usable next-hop MTU (plateau table used)
	Clamped          uint64 // estimates raised to the 88-byte floor (AMB-2)
	Invalid          uint64 // updates for a non-IPv4 destination or gateway, dropped
}

// Table is the bounded table of ICMP-learned host routes.
type Table struct {
	// RedirectLifetime and PMTUAgeInterval are the lifetimes of a redirect
	// and of a PMTU estimate; ≤ 0 means the default. Set them before the
	// table is used.
	RedirectLifetime time.Duration
	PMTUAgeInterval  time.Duration

	clk   clock.Clock
	mu    sync.Mutex
	max   int
	m     map[netip.Addr]*node
	roots [numLists]node
	st    Stats
}

// New returns an empty table holding at most max entries
// (MaxIcmpHostRoutes); max < 1 means DefaultMaxIcmpHostRoutes. A nil clk
// means the real clock.
func New(clk clock.Clock, max int) *Table {
	if clk == nil {
		clk = clock.Real{}
	}
	if max < 1 {
		max = DefaultMaxIcmpHostRoutes
	}
	t := &Table{
		RedirectLifetime: DefaultRedirectLifetime,
		PMTUAgeInterval:  DefaultPMTUAgeInterval,
		clk:              clk,
		max:              max,
		m:                make(map[netip.Addr]*node, min(max, 1024)),
	}
	for i := range t.roots {
		initRoot(i, &t.roots[i])
	}
	return t
}

// Len is the number of entries: the size of the map itself.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// Max returns MaxIcmpHostRoutes in force.
func (t *Table) Max() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.max
}

// SetMax changes the bound (max < 1 means the default), evicting least
// recently used entries if the table holds more; those count as Deletes.
func (t *Table) SetMax(max int) {
	if max < 1 {
		max = DefaultMaxIcmpHostRoutes
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.max = max
	for len(t.m) > t.max {
		t.remove(t.roots[lruList].l[lruList].prev)
		t.st.Deletes++
	}
}

// Lookup returns dst's entry and marks it used. Expired parts are dropped
// first, so a caller never sees a stale PMTU or redirect.
func (t *Table) Lookup(dst netip.Addr) (Entry, bool) {
	dst = dst.Unmap()
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clk.Now()
	n := t.live(dst, now)
	if n == nil {
		return Entry{}, false
	}
	t.touch(n, now)
	return n.e, true
}

// PathMTU returns the MTU to use towards dst over a link of linkMTU: the
// learned PMTU if lower, else linkMTU. It marks the entry used.
func (t *Table) PathMTU(dst netip.Addr, linkMTU int) int {
	e, ok := t.Lookup(dst)
	if ok && e.PMTU != 0 && (linkMTU <= 0 || e.PMTU < linkMTU) {
		return e.PMTU
	}
	return linkMTU
}

// Delete removes dst's entry, reporting whether there was one.
func (t *Table) Delete(dst netip.Addr) bool {
	dst = dst.Unmap()
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.m[dst]
	if n == nil {
		return false
	}
	t.remove(n)
	t.st.Deletes++
	return true
}

// DeleteIf removes every entry for which drop returns true (e.g. all
// redirects through a gateway that went away) and returns how many.
// drop runs with the table locked and must not call back into it.
func (t *Table) DeleteIf(drop func(Entry) bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	var gone int
	r := &t.roots[lruList]
	for n := r.l[lruList].next; n != r; {
		next := n.l[lruList].next
		if drop(n.e) {
			t.remove(n)
			t.st.Deletes++
			gone++
		}
		n = next
	}
	return gone
}

// Flush removes all entries and returns how many there were.
func (t *Table) Flush() int {
	return t.DeleteIf(func(Entry) bool { return true })
}

// Entries returns the live entries sorted by destination (for route
// print), after dropping whatever has expired. It does not mark use.
func (t *Table) Entries() []Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(t.clk.Now())
	out := make([]Entry, 0, len(t.m))
	r := &t.roots[lruList]
	for n := r.l[lruList].next; n != r; n = n.l[lruList].next {
		out = append(out, n.e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return a.Dst.Compare(b.Dst) })
	return out
}

// Stats returns the counters.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.st
	s.Entries = len(t.m)
	s.Max = t.max
	return s
}

// lifetime is d, or def if d is not positive.
func lifetime(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// touch marks n used now.
func (t *Table) touch(n *node, now time.Time) {
	n.e.LastUsed = now
	t.moveToFront(n)
}

// create makes an entry for dst. In a full table it first drops what has
// expired, then evicts the least recently used entry and reuses its node.
func (t *Table) create(dst netip.Addr, now time.Time) *node {
	var n *node
	if len(t.m) >= t.max {
		t.sweep(now)
	}
	if len(t.m) >= t.max {
		n = t.roots[lruList].l[lruList].prev
		t.remove(n)
		t.st.Evictions++
		*n = node{}
	} else {
		n = new(node)
	}
	n.e = Entry{Dst: dst, Created: now, LastUsed: now}
	t.m[dst] = n
	insertAfter(lruList, n, &t.roots[lruList])
	t.st.Creates++
	return n
}

// remove takes n out of the map and off every list.
func (t *Table) remove(n *node) {
	for i := range numLists {
		unlink(i, n)
	}
	delete(t.m, n.e.Dst)
}
