// Package clock is the only source of time for Stapel's protocol code.
// Production uses Real; tests and the simulator use Virtual, so every
// protocol timing (200 ms delayed ACK, 3 s SYN timeout, 2 min ARP aging)
// can be asserted exactly without waiting for it.
package clock

import "time"

// Clock gives the current time and schedules callbacks.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine (Real) or in the goroutine
	// that advances time (Virtual) once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a scheduled callback.
type Timer interface {
	// Stop cancels the timer; it reports whether the call stopped it
	// before it fired.
	Stop() bool
	// Reset reschedules the timer to fire d from now; it reports whether
	// the timer had been active.
	Reset(d time.Duration) bool
}
