package link

import (
	"sync"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/wire"
)

// Pipe is one end of an in-memory Ethernet cable (NewPipe), or a loopback
// device whose writes come back to itself (NewLoopback).
type Pipe struct {
	name  string
	mtu   int
	mac   wire.MAC
	peer  *Pipe
	cable *cable
	in    *inbox
	stats Counters
}

// cable is the state both ends share.
type cable struct {
	mu      sync.Mutex
	carrier bool
}

var _ Endpoint = (*Pipe)(nil)

// NewPipe returns the two ends of an in-memory cable. A frame written to
// one end is delivered to the other's Dispatcher asynchronously: with a
// *clock.Virtual as a zero-delay timer (so it arrives during the next
// Advance/Step), with any other clock by a goroutine. At most
// DefaultQueueLen frames wait per end; more are dropped and counted.
func NewPipe(clk clock.Clock, mtu int, macA, macB wire.MAC) (a, b *Pipe) {
	c := &cable{carrier: true}
	a = &Pipe{name: "pipe-a", mtu: mtu, mac: macA, cable: c}
	b = &Pipe{name: "pipe-b", mtu: mtu, mac: macB, cable: c}
	a.in = newInbox(clk, 0, &a.stats)
	b.in = newInbox(clk, 0, &b.stats)
	a.peer, b.peer = b, a
	return a, b
}

// NewLoopback returns an endpoint whose written frames are delivered back
// to its own Dispatcher. Its MAC is all zeros.
func NewLoopback(clk clock.Clock, mtu int) *Pipe {
	p := &Pipe{name: "loopback", mtu: mtu, cable: &cable{carrier: true}}
	p.in = newInbox(clk, 0, &p.stats)
	p.peer = p
	return p
}

// SetName changes the name Name reports (before use).
func (p *Pipe) SetName(name string) { p.name = name }

func (p *Pipe) Name() string  { return p.name }
func (p *Pipe) MTU() int      { return p.mtu }
func (p *Pipe) MAC() wire.MAC { return p.mac }

// Stats returns this end's counters. Rx counts frames delivered here.
func (p *Pipe) Stats() Stats { return p.stats.Snapshot() }

// WriteFrame copies frame and queues it for the other end.
func (p *Pipe) WriteFrame(frame []byte) error {
	if err := checkFrame(frame, p.mtu); err != nil {
		p.stats.TxErrors.Add(1)
		return err
	}
	p.cable.mu.Lock()
	carrier := p.cable.carrier
	p.cable.mu.Unlock()
	if p.in.closedFlag() {
		p.stats.TxErrors.Add(1)
		return ErrClosed
	}
	if !carrier {
		p.stats.CarrierDrops.Add(1)
		return nil // lost on the wire, as on an unplugged cable
	}
	p.stats.Tx(len(frame))
	p.peer.in.push(frame)
	return nil
}

// Attach starts delivery to d.
func (p *Pipe) Attach(d Dispatcher) { p.in.attach(d) }

// SetCarrier plugs (true) or unplugs (false) the cable. Both ends'
// Dispatchers get LinkStateChanged; while unplugged, writes are counted as
// CarrierDrops and lost.
func (p *Pipe) SetCarrier(up bool) {
	p.cable.mu.Lock()
	changed := p.cable.carrier != up
	p.cable.carrier = up
	p.cable.mu.Unlock()
	if !changed {
		return
	}
	p.in.state(up)
	if p.peer != p {
		p.peer.in.state(up)
	}
}

// Close stops this end; the other end sees its carrier go down. Close must
// not be called from inside this end's Dispatcher callbacks.
func (p *Pipe) Close() error {
	if p.in.closedFlag() {
		return nil
	}
	p.in.close()
	if p.peer != p {
		p.peer.in.state(false)
	}
	return nil
}
