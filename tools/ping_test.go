package tools

import (
	"context"
	"testing"
	"time"
)

// fakeProber answers from a script on a fake clock.
type fakeProber struct {
	now    time.Time
	starts []time.Duration
	t0     time.Time
	script []ProbeResult // RTT used as the time the probe takes; timeout when Kind==timeout
}

func (f *fakeProber) Now() time.Time { return f.now }
func (f *fakeProber) Sleep(ctx context.Context, d time.Duration) error {
	f.now = f.now.Add(d)
	return nil
}
func (f *fakeProber) Probe(ctx context.Context, seq int, timeout time.Duration) ProbeResult {
	f.starts = append(f.starts, f.now.Sub(f.t0))
	r := f.script[seq%len(f.script)]
	if r.Kind == ProbeTimeout {
		f.now = f.now.Add(timeout)
	} else {
		f.now = f.now.Add(r.RTT)
	}
	return r
}

// Probes start 1 s apart; after a timeout (4 s) the next starts at once.
func TestPingLoopSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	f := &fakeProber{now: t0, t0: t0, script: []ProbeResult{
		{Kind: ProbeReply, RTT: 5 * time.Millisecond},
		{Kind: ProbeTimeout},
		{Kind: ProbeReply, RTT: 5 * time.Millisecond},
		{Kind: ProbeReply, RTT: 5 * time.Millisecond},
	}}
	var seqs []int
	err := PingLoop(context.Background(), f, PingOptions{}, func(r ProbeResult) { seqs = append(seqs, r.Seq) })
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{0, time.Second, 5 * time.Second, 6 * time.Second}
	if len(f.starts) != 4 || len(seqs) != 4 {
		t.Fatalf("starts %v seqs %v", f.starts, seqs)
	}
	for i := range want {
		if f.starts[i] != want[i] || seqs[i] != i {
			t.Errorf("probe %d started at %v (seq %d), want %v", i, f.starts[i], seqs[i], want[i])
		}
	}
	// The loop does not sleep after the last probe.
	if got := f.now.Sub(t0); got != 6*time.Second+5*time.Millisecond {
		t.Errorf("ended at %v", got)
	}
}

func TestPingLoopContinuousStopsOnCancel(t *testing.T) {
	t0 := time.Unix(1000, 0)
	f := &fakeProber{now: t0, t0: t0, script: []ProbeResult{{Kind: ProbeReply}}}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	PingLoop(ctx, f, PingOptions{Continuous: true}, func(ProbeResult) {
		n++
		if n == 10 {
			cancel()
		}
	})
	if n != 10 {
		t.Fatalf("emitted %d", n)
	}
}

func TestPingOptionsValidate(t *testing.T) {
	if err := (PingOptions{Size: 65501}).Validate(); err == nil || err.Error() != "Bad value for option -l, valid range is from 0 to 65500." {
		t.Fatalf("got %v", err)
	}
}
