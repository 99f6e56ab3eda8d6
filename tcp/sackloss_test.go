package tcp

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

// Issue 4 simulation: 1,000 seeded lossy transfers run twice, with SACK
// (RFC 2018/6675 recovery) and without (NewReno, RFC 6582), over the same
// seeded impairment. Every byte arrives intact in both, and SACK
// retransmits fewer bytes in total (tcpRetransBytes).
// SPEC: TCP-SACK-1 (the sender retransmits only the holes).
func TestSACKvsNewRenoLossy(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	var with, without sackRun
	for seed := uint64(1); seed <= uint64(n); seed++ {
		for _, sack := range []bool{true, false} {
			r, ok := sackLossyOnce(t, seed, sack)
			if !ok {
				t.Fatalf("seed %d sack=%v failed", seed, sack)
			}
			if sack {
				with.add(r)
			} else {
				without.add(r)
			}
		}
	}
	for _, x := range []struct {
		name string
		r    sackRun
	}{{"with SACK", with}, {"without SACK", without}} {
		t.Logf("%-12s: %d retransmitted bytes in %d segments, %d recoveries, %d timeouts, %d D-SACKs, %v virtual time",
			x.name, x.r.bytes, x.r.segs, x.r.fast, x.r.rtos, x.r.dsacks, x.r.elapsed)
	}
	if with.bytes >= without.bytes {
		t.Errorf("SACK retransmitted %d bytes, NewReno %d: SACK should resend less", with.bytes, without.bytes)
	}
}

type sackRun struct {
	bytes, segs, fast, rtos, dsacks uint64
	elapsed                         time.Duration
}

func (s *sackRun) add(o sackRun) {
	s.bytes += o.bytes
	s.segs += o.segs
	s.fast += o.fast
	s.rtos += o.rtos
	s.dsacks += o.dsacks
	s.elapsed += o.elapsed
}

func sackLossyOnce(t *testing.T, seed uint64, sack bool) (sackRun, bool) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	delay := time.Duration(5+r.IntN(30)) * time.Millisecond
	p := DefaultParams()
	p.TcpMaxDataRetransmissions = 12
	p.Tcp1323Opts = 3
	p.TcpWindowSize = 64 << 10
	p.SackOpts = sack
	if seed%2 == 0 {
		p.CongestionControl = CCCubic
		p.InitialWindow = 10
	}
	pr := newPair(t, delay, p, p, seed)
	pr.n.record = false
	pr.n.mu.Lock()
	pr.n.f = faults{loss: 0.03, reorder: 0.01, dup: 0.01}
	pr.n.mu.Unlock()
	ab := testData(150_000+r.IntN(100_000), seed)
	start := pr.n.now()
	ok, p1, p2 := transfer(t, pr, ab, nil, 30*time.Minute)
	if !ok || !bytes.Equal(p1.got, ab) || len(p2.got) != 0 {
		t.Errorf("seed %d sack=%v: ok=%v got %d/%d (%v %v)", seed, sack, ok, len(p1.got), len(ab), p1.err, p2.err)
		return sackRun{}, false
	}
	s := pr.a.p.Stats()
	return sackRun{bytes: s.RetransBytes, segs: s.RetransSegs, fast: s.FastRetrans, rtos: s.Timeouts,
		dsacks: s.DSACKsIn, elapsed: pr.n.now() - start}, true
}
