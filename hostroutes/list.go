package hostroutes

import "time"

// Every node sits on up to three intrusive doubly linked lists: the LRU
// list (all entries, most recently used first) and two expiry lists kept
// in deadline order. Intrusive links make every move O(1) and allocation
// free; a sentinel root per list removes the nil cases.
const (
	lruList   = iota // all entries; front = most recently used
	pmtuList         // entries with a PMTU estimate, by PMTUExpires
	redirList        // entries with a redirect, by RedirectExpires
	numLists
)

type link struct{ prev, next *node }

type node struct {
	e Entry
	l [numLists]link
}

// linked reports whether n is on list i.
func (n *node) linked(i int) bool { return n.l[i].next != nil }

// deadline is the key list i is ordered by.
func (n *node) deadline(i int) time.Time {
	if i == pmtuList {
		return n.e.PMTUExpires
	}
	return n.e.RedirectExpires
}

func initRoot(i int, r *node) { r.l[i] = link{r, r} }

// insertAfter puts n on list i right after at.
func insertAfter(i int, n, at *node) {
	nx := at.l[i].next
	n.l[i] = link{prev: at, next: nx}
	at.l[i].next = n
	nx.l[i].prev = n
}

// unlink takes n off list i if it is on it.
func unlink(i int, n *node) {
	if !n.linked(i) {
		return
	}
	n.l[i].prev.l[i].next = n.l[i].next
	n.l[i].next.l[i].prev = n.l[i].prev
	n.l[i] = link{}
}

// moveToFront makes n the most recently used entry.
func (t *Table) moveToFront(n *node) {
	r := &t.roots[lruList]
	if r.l[lruList].next == n {
		return
	}
	unlink(lruList, n)
	insertAfter(lruList, n, r)
}

// schedule (re)places n on expiry list i by its deadline. Lifetimes are
// constant, so the new deadline is nearly always the latest and the walk
// from the tail stops at once; it stays correct if a lifetime is changed.
func (t *Table) schedule(i int, n *node) {
	unlink(i, n)
	r := &t.roots[i]
	d := n.deadline(i)
	at := r.l[i].prev
	for at != r && at.deadline(i).After(d) {
		at = at.l[i].prev
	}
	insertAfter(i, n, at)
}
