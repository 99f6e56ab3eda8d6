package stack

import (
	"time"

	"github.com/stapel-net/stapel/clock"
)

// sockDeadlines are a datagram socket's read and write deadlines on the
// stack clock (UDPConn and RawConn embed them). The owning socket's mutex
// guards them; wake must take that mutex itself and wake blocked readers,
// as the timer runs without it.
type sockDeadlines struct {
	rdeadline time.Time
	wdeadline time.Time
	rtimer    clock.Timer
}

// setReadLocked arms the read deadline (the zero time disarms it); the
// caller holds the socket's mutex and wakes its readers afterwards.
func (d *sockDeadlines) setReadLocked(clk clock.Clock, t time.Time, wake func()) {
	d.rdeadline = t
	d.stopLocked()
	if !t.IsZero() {
		if dur := t.Sub(clk.Now()); dur > 0 {
			d.rtimer = clk.AfterFunc(dur, wake)
		}
	}
}

// stopLocked cancels a pending read-deadline timer (on Close, or re-arm).
func (d *sockDeadlines) stopLocked() {
	if d.rtimer != nil {
		d.rtimer.Stop()
		d.rtimer = nil
	}
}
