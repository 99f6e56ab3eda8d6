package sim

import (
	"sync"
	"sync/atomic"

	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// Port is a station's connection to a segment; it is a link.Endpoint.
// Frames it writes pass the segment's impairments, then the switch.
type Port struct {
	raw *rawPort
	f   *link.Faulty
}

var _ link.Endpoint = (*Port)(nil)

func (p *Port) Name() string                   { return p.raw.name }
func (p *Port) MTU() int                       { return p.raw.mtu }
func (p *Port) MAC() wire.MAC                  { return p.raw.mac }
func (p *Port) WriteFrame(frame []byte) error  { return p.f.WriteFrame(frame) }
func (p *Port) Attach(d link.Dispatcher)       { p.f.Attach(d) }
func (p *Port) Segment() *Segment              { return p.raw.seg }
func (p *Port) Stats() link.Stats              { return p.raw.stats.Snapshot() }
func (p *Port) FaultStats() link.FaultStats    { return p.f.Stats() }
func (p *Port) SetFaults(cfg link.FaultConfig) { p.f.SetConfig(cfg) }

// Close unplugs the station: the switch forgets it and no callbacks
// follow. Not to be called from inside this port's callbacks.
func (p *Port) Close() error {
	p.raw.seg.detach(p)
	return p.f.Close()
}

// SetCarrier unplugs (false) or replugs (true) the station's cable: its
// Dispatcher hears LinkStateChanged, and frames to or from it are lost
// while unplugged.
func (p *Port) SetCarrier(up bool) {
	if p.raw.carrier.Swap(up) == up {
		return
	}
	r := p.raw
	r.seg.net.clk.AfterFunc(0, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.d != nil && !r.closed.Load() {
			r.d.LinkStateChanged(up)
		}
	})
}

// framePool recycles frame copies in flight (DeliverFrame may not keep them).
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// rawPort is the unimpaired port the Faulty wrapper sits on.
type rawPort struct {
	seg  *Segment
	port *Port
	name string
	mac  wire.MAC
	mtu  int

	carrier  atomic.Bool
	closed   atomic.Bool
	inflight atomic.Int64
	stats    link.Counters

	mu sync.Mutex // guards d; held during callbacks
	d  link.Dispatcher
}

func (r *rawPort) Name() string  { return r.name }
func (r *rawPort) MTU() int      { return r.mtu }
func (r *rawPort) MAC() wire.MAC { return r.mac }

func (r *rawPort) WriteFrame(frame []byte) error {
	switch {
	case r.closed.Load():
		r.stats.TxErrors.Add(1)
		return link.ErrClosed
	case len(frame) < link.EthernetHeaderLen:
		r.stats.TxErrors.Add(1)
		return link.ErrFrameTooShort
	case len(frame) > r.mtu+link.EthernetHeaderLen:
		r.stats.TxErrors.Add(1)
		return link.ErrFrameTooLong
	case !r.carrier.Load():
		r.stats.CarrierDrops.Add(1)
		return nil
	}
	r.stats.Tx(len(frame))
	r.seg.forward(r.port, frame)
	return nil
}

func (r *rawPort) Attach(d link.Dispatcher) {
	r.mu.Lock()
	r.d = d
	r.mu.Unlock()
}

func (r *rawPort) Close() error {
	r.closed.Store(true)
	r.mu.Lock()
	r.d = nil
	r.mu.Unlock()
	return nil
}

// enqueue schedules delivery of a copy of frame in virtual time.
func (r *rawPort) enqueue(frame []byte) {
	if r.closed.Load() {
		return
	}
	if !r.carrier.Load() {
		r.stats.CarrierDrops.Add(1)
		return
	}
	if r.inflight.Add(1) > link.DefaultQueueLen {
		r.inflight.Add(-1)
		r.stats.QueueDrops.Add(1)
		r.seg.stats.queueDrops.Add(1)
		return
	}
	bp := framePool.Get().(*[]byte)
	*bp = append((*bp)[:0], frame...)
	r.seg.net.clk.AfterFunc(0, func() {
		r.inflight.Add(-1)
		r.mu.Lock()
		defer r.mu.Unlock()
		defer framePool.Put(bp)
		if r.d == nil || r.closed.Load() {
			r.stats.Undelivered.Add(1)
			return
		}
		r.stats.Rx(len(*bp))
		r.d.DeliverFrame(*bp)
	})
}
