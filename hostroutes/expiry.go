package hostroutes

import (
	"net/netip"
	"time"
)

// Sweep drops every expired PMTU estimate and redirect, removes entries
// left empty, and returns how many entries it removed. The stack calls
// it from a timer; NextExpiry says when the next one is due.
func (t *Table) Sweep() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sweep(t.clk.Now())
}

// NextExpiry returns the earliest deadline of any PMTU estimate or
// redirect, and false if there is none.
func (t *Table) NextExpiry() (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var next time.Time
	found := false
	for _, i := range [...]int{pmtuList, redirList} {
		r := &t.roots[i]
		if h := r.l[i].next; h != r {
			if d := h.deadline(i); !found || d.Before(next) {
				next, found = d, true
			}
		}
	}
	return next, found
}

// sweep expires from the heads of the deadline-ordered lists.
func (t *Table) sweep(now time.Time) int {
	var gone int
	for _, i := range [...]int{pmtuList, redirList} {
		r := &t.roots[i]
		for h := r.l[i].next; h != r && !now.Before(h.deadline(i)); h = r.l[i].next {
			if t.expire(h, now) {
				gone++
			}
		}
	}
	return gone
}

// live returns dst's entry after lazily expiring it, or nil.
func (t *Table) live(dst netip.Addr, now time.Time) *node {
	n := t.m[dst]
	if n == nil || t.expire(n, now) {
		return nil
	}
	return n
}

// expire drops n's expired parts and removes n if nothing is left; it
// reports whether n was removed. A deadline is exclusive: a redirect set
// at T is gone at exactly T+RedirectLifetime.
func (t *Table) expire(n *node, now time.Time) bool {
	if n.e.PMTU != 0 && !now.Before(n.e.PMTUExpires) {
		n.e.PMTU, n.e.PMTUExpires = 0, time.Time{}
		unlink(pmtuList, n)
		t.st.PMTUAged++
	}
	if n.e.Gateway.IsValid() && !now.Before(n.e.RedirectExpires) {
		n.e.Gateway, n.e.RedirectExpires = netip.Addr{}, time.Time{}
		unlink(redirList, n)
		t.st.RedirectsExpired++
	}
	if n.e.PMTU == 0 && !n.e.Gateway.IsValid() {
		t.remove(n)
		t.st.Expiries++
		return true
	}
	return false
}
