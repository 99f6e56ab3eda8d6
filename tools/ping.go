package tools

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Ping defaults as in Windows: 4 echoes of 32 bytes, 1 s apart, 4 s wait.
const (
	DefaultPingCount    = 4
	DefaultPingSize     = 32
	DefaultPingTimeout  = 4000 * time.Millisecond
	DefaultPingInterval = time.Second
	MaxPingSize         = 65500
)

// PingOptions are ping's switches.
type PingOptions struct {
	Count      int           `json:"count"`      // -n
	Size       int           `json:"size"`       // -l, payload bytes
	DF         bool          `json:"df"`         // -f
	TTL        int           `json:"ttl"`        // -i, 0 = stack default
	TOS        int           `json:"tos"`        // -v
	Timeout    time.Duration `json:"timeout"`    // -w
	Continuous bool          `json:"continuous"` // -t
	Interval   time.Duration `json:"interval"`   // between probe starts
	// Name is the host name the user gave, if not an address: the header
	// then reads "Pinging NAME [ADDR]" as on Windows.
	Name string `json:"name,omitempty"`
}

// WithDefaults fills zero fields with the Windows defaults.
func (o PingOptions) WithDefaults() PingOptions {
	if o.Count <= 0 {
		o.Count = DefaultPingCount
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultPingTimeout
	}
	if o.Interval <= 0 {
		o.Interval = DefaultPingInterval
	}
	return o
}

// Validate checks ranges with the messages Windows ping prints.
func (o PingOptions) Validate() error {
	if o.Size < 0 || o.Size > MaxPingSize {
		return fmt.Errorf("Bad value for option -l, valid range is from 0 to %d.", MaxPingSize)
	}
	if o.TTL < 0 || o.TTL > 255 {
		return errors.New("Bad value for option -i, valid range is from 1 to 255.")
	}
	if o.TOS < 0 || o.TOS > 255 {
		return errors.New("Bad value for option -v, valid range is from 0 to 255.")
	}
	return nil
}

// Probe kinds.
const (
	ProbeReply       = "reply"
	ProbeTimeout     = "timeout"
	ProbeTTLExpired  = "ttl-expired"
	ProbeReasmExpire = "reassembly-expired"
	ProbeUnreachable = "unreachable"
	ProbeNeedsFrag   = "needs-frag"
	ProbeError       = "error"
)

// ProbeResult is the outcome of one echo request.
type ProbeResult struct {
	Seq   int           `json:"seq"`
	Kind  string        `json:"kind"`
	From  netip.Addr    `json:"from,omitzero"`
	Bytes int           `json:"bytes,omitempty"`
	RTT   time.Duration `json:"rtt,omitempty"`
	TTL   int           `json:"ttl,omitempty"`
	Code  int           `json:"code,omitempty"`
	Err   string        `json:"err,omitempty"`
}

// Prober sends one echo at a time; the stack adapter and the simulator
// implement it.
type Prober interface {
	// Probe sends echo seq and waits up to timeout for its outcome.
	Probe(ctx context.Context, seq int, timeout time.Duration) ProbeResult
	// Sleep waits d on the prober's clock.
	Sleep(ctx context.Context, d time.Duration) error
	// Now is the prober's clock.
	Now() time.Time
}

// PingLoop runs the ping schedule: Count probes (or until ctx ends with
// Continuous), each started Interval after the previous one, or at once
// when the previous one took longer (a timeout).
func PingLoop(ctx context.Context, p Prober, o PingOptions, emit func(ProbeResult)) error {
	o = o.WithDefaults()
	for i := 0; o.Continuous || i < o.Count; i++ {
		start := p.Now()
		r := p.Probe(ctx, i, o.Timeout)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.Seq = i
		emit(r)
		if !o.Continuous && i == o.Count-1 {
			break
		}
		if wait := o.Interval - p.Now().Sub(start); wait > 0 {
			if err := p.Sleep(ctx, wait); err != nil {
				return err
			}
		}
	}
	return nil
}

// PingStats accumulates probe outcomes for the statistics block.
type PingStats struct {
	Sent, Received   int
	Min, Max, SumRTT time.Duration
	replies          int
}

// Add counts one probe. Only echo replies count as received (Windows also
// counts error replies; we do not, so Lost and the exit code agree).
func (s *PingStats) Add(r ProbeResult) {
	s.Sent++
	if r.Kind != ProbeReply {
		return
	}
	s.Received++
	ms := r.RTT.Truncate(time.Millisecond)
	if s.replies == 0 || ms < s.Min {
		s.Min = ms
	}
	if ms > s.Max {
		s.Max = ms
	}
	s.SumRTT += ms
	s.replies++
}

// Lost is Sent - Received.
func (s *PingStats) Lost() int { return s.Sent - s.Received }

// LossPercent is the integer loss percentage Windows prints.
func (s *PingStats) LossPercent() int {
	if s.Sent == 0 {
		return 0
	}
	return s.Lost() * 100 / s.Sent
}

// Average is the mean round trip in whole milliseconds.
func (s *PingStats) Average() time.Duration {
	if s.replies == 0 {
		return 0
	}
	return (s.SumRTT / time.Duration(s.replies)).Truncate(time.Millisecond)
}
