package tcp

import (
	"time"

	"github.com/stapel-net/stapel/clock"
)

// deadline is a net.Conn deadline on the injected clock: ch is closed
// when it passes. ch stays nil until a deadline is first set — a nil
// channel never becomes ready, which is "no deadline", and an idle
// connection without deadlines carries no channels. The owner's mutex
// guards it.
type deadline struct {
	t     clock.Timer
	ch    chan struct{}
	fired bool
}

// set arms the deadline on clk; the zero time disarms it. (The clock is
// passed, not kept: two fewer words keep an idle Conn in a smaller
// allocation size class.)
func (d *deadline) set(clk clock.Clock, t time.Time) {
	if d.t != nil {
		d.t.Stop()
		d.t = nil
	}
	if d.fired {
		d.ch = make(chan struct{})
		d.fired = false
	}
	if t.IsZero() {
		return
	}
	if d.ch == nil {
		d.ch = make(chan struct{})
	}
	dur := t.Sub(clk.Now())
	if dur <= 0 {
		close(d.ch)
		d.fired = true
		return
	}
	ch := d.ch
	d.fired = true // the channel will be closed by the timer: replace on next set
	d.t = clk.AfterFunc(dur, func() { close(ch) })
}
