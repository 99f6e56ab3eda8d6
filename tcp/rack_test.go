package tcp

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

// The reordering window of the SACK sender (rack.go): a path that holds
// frames back for 5 ms — link.Faulty's reordering, many round trips on
// a LAN — costs a SACK sender with the whitepaper's DupThresh of 2 a
// spurious retransmission per held frame unless it learns the reordering.

// reorderOnce sends size bytes from A to B over a path with the given
// loss and a link.Faulty-style reordering (a segment held back 5 ms, far
// longer than the round trip), both ways, with SACK on or off. It checks
// that every byte arrives and returns the sender's counters, the virtual
// time taken and how many data segments were held back.
func reorderOnce(t *testing.T, seed uint64, sack bool, loss, reorder float64, size int) (Stats, time.Duration, int) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	p := DefaultParams()
	p.TcpMaxDataRetransmissions = 12
	p.Tcp1323Opts = 3
	p.TcpWindowSize = 1 << 20
	p.SackOpts = sack
	delay := time.Duration(100+r.IntN(900)) * time.Microsecond // RTT 0.2–2 ms
	pr := newPair(t, delay, p, p, seed)
	pr.n.record = false
	pr.n.mu.Lock()
	pr.n.f = faults{loss: loss, reorder: reorder, reorderDelay: 5 * time.Millisecond}
	pr.n.mu.Unlock()
	data := testData(size, seed)
	start := pr.n.now()
	ok, p1, p2 := transfer(t, pr, data, nil, 30*time.Minute)
	if !ok || !bytes.Equal(p1.got, data) || len(p2.got) != 0 {
		t.Fatalf("seed %d sack=%v: ok=%v got %d/%d (%v %v)", seed, sack, ok, len(p1.got), len(data), p1.err, p2.err)
	}
	pr.n.mu.Lock()
	held := pr.n.reorderedData
	pr.n.mu.Unlock()
	return pr.a.p.Stats(), pr.n.now() - start, held
}

func runOf(s Stats, el time.Duration) sackRun {
	return sackRun{bytes: s.RetransBytes, segs: s.RetransSegs, fast: s.FastRetrans, rtos: s.Timeouts, dsacks: s.DSACKsIn, elapsed: el}
}

// Reordering only: the SACK sender resends hardly any of the held-back
// segments (it learns the reordering from the first D-SACKs), where the
// DupThresh rule alone resent nearly every one.
// SPEC: TCP-SACK-1
func TestReorderingOnlyFewSpuriousRetransmissions(t *testing.T) {
	n := 20
	if testing.Short() {
		n = 5
	}
	var sum sackRun
	held := 0
	for seed := uint64(1); seed <= uint64(n); seed++ {
		s, el, h := reorderOnce(t, seed, true, 0, 0.02, 1_000_000)
		sum.add(runOf(s, el))
		held += h
	}
	t.Logf("%d data segments held back 5 ms in %d transfers: %d retransmitted (%d D-SACKed), %d recoveries, %d timeouts",
		held, n, sum.segs, sum.dsacks, sum.fast, sum.rtos)
	if sum.segs*4 > uint64(held) || sum.rtos != 0 {
		t.Errorf("%d of %d held-back segments retransmitted, %d timeouts: want under a quarter and none", sum.segs, held, sum.rtos)
	}
}

// Loss and reordering (issue 4's interop path, simulated): over many
// seeds the SACK sender retransmits fewer bytes than NewReno over the
// same impairment, and every byte arrives intact.
// SPEC: TCP-SACK-1
func TestSACKvsNewRenoLossAndReordering(t *testing.T) {
	n := 60
	if testing.Short() {
		n = 15
	}
	var with, without sackRun
	for seed := uint64(1); seed <= uint64(n); seed++ {
		for _, sack := range []bool{true, false} {
			s, el, _ := reorderOnce(t, seed, sack, 0.02, 0.02, 1_000_000)
			if sack {
				with.add(runOf(s, el))
			} else {
				without.add(runOf(s, el))
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

// A directed run: the first segment held back costs one spurious
// retransmission, whose D-SACK teaches the sender the reordering; a
// later held-back segment is not resent; a segment really lost is still
// resent once its window passes, without a timeout.
func TestReorderingWindowLearnedFromDSACK(t *testing.T) {
	p := DefaultParams()
	p.Tcp1323Opts = 3
	p.TcpWindowSize = 1 << 20
	pr := newPair(t, 200*time.Microsecond, p, p, 5)
	mss := uint32(pr.cli.sndMSS)
	base := pr.cli.sndNxt
	data := testData(900_000, 6)
	// First transmissions by segment index; copies counts every send.
	const heldA, heldB, lost = 60, 400, 550
	copies := map[int]int{}
	var held []func()
	pr.n.filter = func(w wireSeg) bool {
		tc := w.tcp()
		if w.src != addrA || tc == nil || len(tc.Payload) == 0 {
			return true
		}
		i := int((tc.Seq - base) / mss)
		copies[i]++
		if copies[i] > 1 {
			return true
		}
		switch i {
		case heldA, heldB: // deliver 5 ms late
			b := w.b
			held = append(held, func() {
				pr.n.clk.AfterFunc(5*time.Millisecond, func() { pr.b.p.HandleSegment(w.src, w.dst, b) })
			})
			return false
		case lost:
			return false
		}
		return true
	}
	pm := &pump{w: pr.cli, r: pr.srv, src: data}
	if !pr.n.runUntil(func() bool {
		for _, f := range held {
			f()
		}
		held = held[:0]
		pm.step()
		return len(pm.got) == len(data)
	}, time.Minute) {
		t.Fatalf("got %d of %d bytes", len(pm.got), len(data))
	}
	if !bytes.Equal(pm.got, data) {
		t.Fatal("data differs")
	}
	s := pr.a.p.Stats()
	pr.cli.mu.Lock()
	reo := pr.cli.rack.reoWnd
	pr.cli.mu.Unlock()
	t.Logf("copies sent: held %d, held later %d, lost %d; reordering window %v; %+v", copies[heldA], copies[heldB], copies[lost], reo, s)
	if copies[heldA] != 2 || copies[heldB] != 1 || copies[lost] != 2 {
		t.Errorf("copies: first held-back segment %d (want 2), second %d (want 1), lost %d (want 2)", copies[heldA], copies[heldB], copies[lost])
	}
	if s.Timeouts != 0 || s.DSACKsIn != 1 {
		t.Errorf("%d timeouts, %d D-SACKs; want 0 and 1", s.Timeouts, s.DSACKsIn)
	}
	if reo < 4*time.Millisecond || reo > 20*time.Millisecond {
		t.Errorf("reordering window %v, want about the 5 ms hold", reo)
	}
}
