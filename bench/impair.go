package main

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// impairQueueLen bounds frames in flight per direction of an impaired
// path, as link.Faulty does (link.DefaultQueueLen).
const impairQueueLen = 512

// The impaired path is the harness's own, shared by every contender so
// they all see the same model: each frame is lost with probability Loss
// (a seeded PCG per direction), else delivered Delay later in FIFO order.
// (link.Faulty on clock.Real runs each delayed frame in its own timer
// goroutine, which reorders frames sent close together; that would hand
// Stapel and Linux a reordering path and gVisor a clean one.)

// lossGen draws loss decisions for one direction.
type lossGen struct {
	mu   sync.Mutex
	rng  *rand.Rand
	loss float64
}

func newLossGen(p Path, stream uint64) *lossGen {
	return &lossGen{rng: rand.New(rand.NewPCG(uint64(p.Seed), stream)), loss: p.Loss}
}

func (g *lossGen) lost() bool {
	if g.loss <= 0 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rng.Float64() < g.loss
}

// delayLine delivers items a fixed delay after they were pushed, in push
// order, from one goroutine. When full it drops (push returns false).
type delayLine[T any] struct {
	delay time.Duration
	ch    chan delayedItem[T]
	once  sync.Once
	done  chan struct{}
}

type delayedItem[T any] struct {
	at time.Time
	v  T
}

func newDelayLine[T any](delay time.Duration, deliver, drop func(T)) *delayLine[T] {
	l := &delayLine[T]{delay: delay, ch: make(chan delayedItem[T], impairQueueLen), done: make(chan struct{})}
	go func() {
		for {
			select {
			case it := <-l.ch:
				if w := time.Until(it.at); w > 0 {
					select {
					case <-time.After(w):
					case <-l.done:
						drop(it.v)
						continue
					}
				}
				deliver(it.v)
			case <-l.done:
				for {
					select {
					case it := <-l.ch:
						drop(it.v)
					default:
						return
					}
				}
			}
		}
	}()
	return l
}

func (l *delayLine[T]) push(v T) bool {
	select {
	case <-l.done:
		return false
	default:
	}
	select {
	case l.ch <- delayedItem[T]{time.Now().Add(l.delay), v}:
		return true
	default:
		return false
	}
}

func (l *delayLine[T]) close() { l.once.Do(func() { close(l.done) }) }

// impaired wraps a Stapel link.Endpoint with the path's loss and delay in
// both directions.
type impaired struct {
	inner   link.Endpoint
	outLoss *lossGen
	inLoss  *lossGen
	out     *delayLine[[]byte]
	in      *delayLine[[]byte]
	d       link.Dispatcher
}

var _ link.Endpoint = (*impaired)(nil)

func newImpaired(inner link.Endpoint, p Path) *impaired {
	e := &impaired{inner: inner, outLoss: newLossGen(p, 1), inLoss: newLossGen(p, 2)}
	nop := func([]byte) {}
	e.out = newDelayLine(p.Delay, func(f []byte) { _ = inner.WriteFrame(f) }, nop)
	e.in = newDelayLine(p.Delay, func(f []byte) { e.d.DeliverFrame(f) }, nop)
	return e
}

func (e *impaired) Name() string  { return e.inner.Name() }
func (e *impaired) MTU() int      { return e.inner.MTU() }
func (e *impaired) MAC() wire.MAC { return e.inner.MAC() }

func (e *impaired) WriteFrame(f []byte) error {
	if len(f) > e.inner.MTU()+wire.EthernetHeaderLen {
		return link.ErrFrameTooLong
	}
	if e.outLoss.lost() {
		return nil
	}
	e.out.push(append([]byte(nil), f...))
	return nil
}

func (e *impaired) Attach(d link.Dispatcher) {
	e.d = d
	e.inner.Attach(impairedRx{e})
}

func (e *impaired) Close() error {
	e.out.close()
	e.in.close()
	return e.inner.Close()
}

type impairedRx struct{ e *impaired }

func (r impairedRx) DeliverFrame(f []byte) {
	if r.e.inLoss.lost() {
		return
	}
	r.e.in.push(append([]byte(nil), f...))
}

func (r impairedRx) LinkStateChanged(up bool) { r.e.d.LinkStateChanged(up) }
