package link

import (
	"sync"
	"sync/atomic"

	"github.com/stapel-net/stapel/clock"
)

// DefaultQueueLen bounds the frames waiting for delivery at one endpoint.
const DefaultQueueLen = 512

// inbox hands frames and link-state changes to one Dispatcher,
// asynchronously and one at a time.
//
// With a *clock.Virtual each frame becomes a zero-delay timer, so delivery
// happens inside the simulation's Advance/Step, in order, deterministically.
// With any other clock a goroutine drains a bounded channel. Either way at
// most qlen frames wait; the rest are counted as QueueDrops.
type inbox struct {
	clk   clock.Clock
	virt  bool
	qlen  int64
	stats *Counters

	mu     sync.Mutex // guards d; held during callbacks
	d      Dispatcher
	closed atomic.Bool // read without mu: WriteFrame may run inside a callback

	inflight atomic.Int64 // virtual mode: scheduled, not yet delivered
	q        chan *[]byte // real mode
	done     chan struct{}
	once     sync.Once
}

func newInbox(clk clock.Clock, qlen int, st *Counters) *inbox {
	if qlen <= 0 {
		qlen = DefaultQueueLen
	}
	in := &inbox{clk: clk, qlen: int64(qlen), stats: st, done: make(chan struct{})}
	if _, ok := clk.(*clock.Virtual); ok {
		in.virt = true
	} else {
		in.q = make(chan *[]byte, qlen)
		go in.loop()
	}
	return in
}

func (in *inbox) attach(d Dispatcher) {
	in.mu.Lock()
	in.d = d
	in.mu.Unlock()
}

// push queues a copy of frame for delivery; it never blocks or calls the
// dispatcher itself.
func (in *inbox) push(frame []byte) {
	if in.closed.Load() {
		in.stats.Undelivered.Add(1)
		return
	}
	if in.virt {
		if in.inflight.Add(1) > in.qlen {
			in.inflight.Add(-1)
			in.stats.QueueDrops.Add(1)
			return
		}
		buf := getBuf(frame)
		in.clk.AfterFunc(0, func() {
			in.inflight.Add(-1)
			in.deliver(buf)
		})
		return
	}
	buf := getBuf(frame)
	select {
	case in.q <- buf:
	default:
		putBuf(buf)
		in.stats.QueueDrops.Add(1)
	}
}

func (in *inbox) loop() {
	for {
		select {
		case buf := <-in.q:
			in.deliver(buf)
		case <-in.done:
			return
		}
	}
}

func (in *inbox) deliver(buf *[]byte) {
	in.mu.Lock()
	if in.d == nil || in.closed.Load() {
		in.stats.Undelivered.Add(1)
	} else {
		in.stats.Rx(len(*buf))
		in.d.DeliverFrame(*buf)
	}
	in.mu.Unlock()
	putBuf(buf)
}

// state reports a carrier change asynchronously.
func (in *inbox) state(up bool) {
	in.clk.AfterFunc(0, func() {
		in.mu.Lock()
		if in.d != nil && !in.closed.Load() {
			in.d.LinkStateChanged(up)
		}
		in.mu.Unlock()
	})
}

func (in *inbox) closedFlag() bool { return in.closed.Load() }

// close stops delivery; once it returns no callback is running or will
// run. It must not be called from inside a Dispatcher callback.
func (in *inbox) close() {
	in.closed.Store(true)
	in.once.Do(func() { close(in.done) })
	in.mu.Lock() // wait out a callback in progress
	in.d = nil
	in.mu.Unlock()
}
