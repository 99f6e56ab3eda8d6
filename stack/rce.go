package stack

import (
	"net/netip"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/hostroutes"
)

// Route cache entries (the whitepaper's RCEs). The path MTU and redirect
// gateway learned from ICMP live in one bounded hostroutes.Table (KB
// 898060 designed out there: the count is the table's size, a full table
// evicts its least recently used entry). Dead gateway detection needs one
// more thing per destination: which default gateway it uses. That is
// rceTable, bounded too; an RCE exists only for destinations routed
// through a default gateway that a transport asked about (Route) or that
// dead gateway detection moved.

// Bounds and lifetimes of the dead-gateway RCEs (Stapel's choice: SPEC
// does not give them).
const (
	maxRCEs        = 4096
	rceEvictSample = 8
)

type rce struct {
	// gw is the default gateway this destination was moved to by dead
	// gateway detection; invalid = it follows the host's active gateway.
	gw   netip.Addr
	used time.Time
}

type rceTable struct {
	m map[netip.Addr]*rce
	// active is the host's active default gateway after dead gateway
	// detection moved it (TCP-DGD-3); invalid = the lowest metric one.
	active netip.Addr
	// sweep is the pending hostroutes expiry timer (nil = none).
	sweep   clock.Timer
	sweepAt time.Time
}

func (t *rceTable) init() { t.m = make(map[netip.Addr]*rce) }

// getLocked returns dst's RCE, creating it; a full table first drops idle
// entries, then the least recently used one.
func (t *rceTable) getLocked(dst netip.Addr, now time.Time) *rce {
	if e := t.m[dst]; e != nil {
		e.used = now
		return e
	}
	if len(t.m) >= maxRCEs {
		// Evict the oldest of a few entries (map order is random), so a
		// full table costs O(1) per new destination.
		var victim netip.Addr
		var at time.Time
		n := 0
		for a, e := range t.m {
			if !victim.IsValid() || e.used.Before(at) {
				victim, at = a, e.used
			}
			if n++; n == rceEvictSample {
				break
			}
		}
		delete(t.m, victim)
	}
	e := &rce{used: now}
	t.m[dst] = e
	return e
}

// hostRoutes is the stack's table of ICMP-learned host routes.
func (s *Stack) hostRoutesInit() {
	s.learned = hostroutes.New(s.clk, s.p.maxIcmpHostRoute)
	s.rces.init()
}

// LearnedRoutes returns the ICMP-learned host routes (redirects and path
// MTUs) as the bounded table holds them (for route print and tests).
func (s *Stack) LearnedRoutes() []hostroutes.Entry { return s.learned.Entries() }

// LearnedRouteStats returns the learned-route table's counters; Entries
// is the table's own size, so it cannot drift (KB-3, KB-4).
func (s *Stack) LearnedRouteStats() hostroutes.Stats { return s.learned.Stats() }

// FlushLearnedRoutes forgets every learned redirect and path MTU.
func (s *Stack) FlushLearnedRoutes() int { return s.learned.Flush() }

// armSweepLocked schedules hostroutes.Sweep at the next expiry, so
// expired entries leave the table (and its count) even if never looked
// up again.
func (s *Stack) armSweepLocked() {
	s.learnedAny.Store(true) // every addition to s.learned arms the sweep
	next, ok := s.learned.NextExpiry()
	if !ok {
		return
	}
	if s.rces.sweep != nil && !next.Before(s.rces.sweepAt) {
		return
	}
	if s.rces.sweep != nil {
		s.rces.sweep.Stop()
	}
	s.rces.sweepAt = next
	s.rces.sweep = s.clk.AfterFunc(max(next.Sub(s.clk.Now()), 0), s.sweepLearned)
}

func (s *Stack) sweepLearned() {
	s.learned.Sweep()
	s.mu.Lock()
	s.rces.sweep = nil
	s.learnedAny.Store(s.learned.Len() > 0) // additions happen under s.mu
	if !s.closed {
		s.armSweepLocked()
	}
	s.mu.Unlock()
}
