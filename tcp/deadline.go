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
	clk   clock.Clock
	t     clock.Timer
	ch    chan struct{}
	fired bool
}

func (d *deadline) init(clk clock.Clock) {
	d.clk = clk
}

// set arms the deadline; the zero time disarms it.
func (d *deadline) set(t time.Time) {
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
	dur := t.Sub(d.clk.Now())
	if dur <= 0 {
		close(d.ch)
		d.fired = true
		return
	}
	ch := d.ch
	d.fired = true // the channel will be closed by the timer: replace on next set
	d.t = d.clk.AfterFunc(dur, func() { close(ch) })
}
