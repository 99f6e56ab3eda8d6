package clock

import (
	"container/heap"
	"sync"
	"time"
)

// Virtual is a manually advanced clock for tests and the simulator.
//
// Timers live in a heap ordered by deadline, then by scheduling order, so
// a run is deterministic: callbacks with equal deadlines run FIFO. Time
// moves only in Advance, AdvanceTo and Step, which run due callbacks
// synchronously in the calling goroutine, one at a time, without holding
// the clock's lock (callbacks may schedule, stop and reset timers and call
// Now). A callback must not itself call Advance, AdvanceTo or Step.
//
// All methods are safe for concurrent use.
type Virtual struct {
	adv sync.Mutex // serialises Advance/Step so callbacks never overlap

	mu      sync.Mutex
	changed *sync.Cond // signalled when the set of pending timers grows
	now     time.Time
	seq     uint64
	timers  timerHeap
}

// NewVirtual returns a virtual clock reading start.
func NewVirtual(start time.Time) *Virtual {
	v := &Virtual{now: start}
	v.changed = sync.NewCond(&v.mu)
	return v
}

var _ Clock = (*Virtual)(nil)

// Now returns the virtual time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

// AfterFunc schedules f to run when virtual time reaches Now()+d. A
// negative d counts as zero; a zero d runs f at the next Advance or Step.
func (v *Virtual) AfterFunc(d time.Duration, f func()) Timer {
	t := &vtimer{v: v, f: f, index: -1}
	v.mu.Lock()
	v.schedule(t, d)
	v.mu.Unlock()
	return t
}

// schedule puts t in the heap at now+d; v.mu is held.
func (v *Virtual) schedule(t *vtimer, d time.Duration) {
	if d < 0 {
		d = 0
	}
	t.when = v.now.Add(d)
	v.seq++
	t.seq = v.seq
	heap.Push(&v.timers, t)
	v.changed.Broadcast()
}

// Advance moves time forward by d, running every callback that falls due
// on the way (including ones scheduled by those callbacks), each with
// Now() reading its own deadline. Afterwards Now() reads start+d.
func (v *Virtual) Advance(d time.Duration) {
	if d < 0 {
		d = 0
	}
	v.mu.Lock()
	target := v.now.Add(d)
	v.mu.Unlock()
	v.AdvanceTo(target)
}

// AdvanceTo moves time forward to t (never backwards), running due callbacks.
func (v *Virtual) AdvanceTo(t time.Time) {
	v.adv.Lock()
	defer v.adv.Unlock()
	for v.runOne(t, true) {
	}
	v.mu.Lock()
	if t.After(v.now) {
		v.now = t
	}
	v.mu.Unlock()
}

// Step runs the earliest pending callback, moving time to its deadline.
// It reports false if no timer is pending.
func (v *Virtual) Step() bool {
	v.adv.Lock()
	defer v.adv.Unlock()
	return v.runOne(time.Time{}, false)
}

// runOne pops the earliest timer (if limited, only one due by limit), sets
// the time to its deadline and runs it with the lock released.
func (v *Virtual) runOne(limit time.Time, limited bool) bool {
	v.mu.Lock()
	if len(v.timers) == 0 || (limited && v.timers[0].when.After(limit)) {
		v.mu.Unlock()
		return false
	}
	t := heap.Pop(&v.timers).(*vtimer)
	if t.when.After(v.now) {
		v.now = t.when
	}
	f := t.f
	v.mu.Unlock()
	f()
	return true
}

// Next returns the deadline of the earliest pending timer.
func (v *Virtual) Next() (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.timers) == 0 {
		return time.Time{}, false
	}
	return v.timers[0].when, true
}

// Pending returns the number of scheduled timers.
func (v *Virtual) Pending() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.timers)
}

// BlockUntil waits until at least n timers are pending. Tests use it to
// know that goroutines have reached Sleep/After before advancing time.
func (v *Virtual) BlockUntil(n int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for len(v.timers) < n {
		v.changed.Wait()
	}
}

// After returns a channel that receives the virtual time once d has
// elapsed in virtual time.
func (v *Virtual) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	v.AfterFunc(d, func() { ch <- v.Now() })
	return ch
}

// Sleep blocks the calling goroutine until d of virtual time has elapsed.
// Someone else must advance the clock.
func (v *Virtual) Sleep(d time.Duration) { <-v.After(d) }

// vtimer is one scheduled callback; index is its heap position, -1 when
// not pending.
type vtimer struct {
	v     *Virtual
	f     func()
	when  time.Time
	seq   uint64
	index int
}

func (t *vtimer) Stop() bool {
	t.v.mu.Lock()
	defer t.v.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.v.timers, t.index)
	return true
}

func (t *vtimer) Reset(d time.Duration) bool {
	t.v.mu.Lock()
	defer t.v.mu.Unlock()
	active := t.index >= 0
	if active {
		heap.Remove(&t.v.timers, t.index)
	}
	t.v.schedule(t, d)
	return active
}

// timerHeap orders by deadline, then by scheduling sequence (FIFO).
type timerHeap []*vtimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*vtimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}
