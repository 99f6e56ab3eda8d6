package clock

import "time"

// Real is the system clock. Its timers are the runtime's: callbacks run
// in their own goroutine.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc; *time.Timer already has the Timer methods.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

var _ Clock = Real{}
