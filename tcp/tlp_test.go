package tcp

import (
	"bytes"
	"testing"
	"time"
)

// tailLoss sends 30 segments' worth from A to B and loses the first
// transmission of the last two data segments; it returns the sender's
// counters and how long (virtual time) the data took to arrive.
func tailLoss(t *testing.T, params Params) (Stats, time.Duration) {
	t.Helper()
	pr := newPair(t, time.Millisecond, params, params, 11)
	mss := pr.cli.sndMSS
	data := testData(30*mss, 4)
	end := pr.cli.sndNxt + uint32(len(data))
	lost := map[uint32]bool{}
	pr.n.filter = func(w wireSeg) bool {
		tc := w.tcp()
		if w.src != addrA || tc == nil || len(tc.Payload) == 0 {
			return true
		}
		last := tc.Seq+uint32(len(tc.Payload)) == end || tc.Seq+uint32(len(tc.Payload)) == end-uint32(mss)
		if last && !lost[tc.Seq] {
			lost[tc.Seq] = true
			return false
		}
		return true
	}
	start := pr.n.now()
	p := &pump{w: pr.cli, r: pr.srv, src: data}
	if !pr.n.runUntil(func() bool { p.step(); return len(p.got) == len(data) }, time.Minute) {
		t.Fatalf("got %d of %d bytes", len(p.got), len(data))
	}
	if !bytes.Equal(p.got, data) {
		t.Fatal("data differs")
	}
	if len(lost) != 2 {
		t.Fatalf("lost %d segments, want 2", len(lost))
	}
	return pr.a.p.Stats(), pr.n.now() - start
}

// With TailLossProbe (the modern profile) a lost tail is repaired by a
// probe and SACK recovery within milliseconds; without it (the
// whitepaper's TCP) only the retransmission timer ends the stall.
func TestTailLossProbe(t *testing.T) {
	st, took := tailLoss(t, ModernParams())
	if st.LossProbes == 0 || st.Timeouts != 0 || took >= minRTO {
		t.Errorf("with TLP: %+v, took %v", st, took)
	}
	p := ModernParams()
	p.TailLossProbe = false
	st, took = tailLoss(t, p)
	if st.LossProbes != 0 || st.Timeouts == 0 || took < minRTO {
		t.Errorf("without TLP: %+v, took %v", st, took)
	}
}

// When the scoreboard is full, ranges above its last one were forgotten,
// not unsent: the pipe does not count bytes below the highest SACKed
// sequence number as in flight (RFC 6675 would deem them lost anyway).
func TestPipeFullScoreboard(t *testing.T) {
	pr := newPair(t, time.Millisecond, ModernParams(), ModernParams(), 3)
	c := pr.cli
	c.mu.Lock()
	defer c.mu.Unlock()
	mss := uint32(c.sndMSS)
	una := c.sndUna
	c.sndMax = una + 1000*mss
	c.sacked = c.sacked[:0]
	for i := uint32(0); i < maxSackRanges; i++ {
		c.addSacked(una+(2*i+1)*mss, una+(2*i+2)*mss) // every other segment
	}
	top := c.sacked[len(c.sacked)-1].end
	c.sackHigh = top
	before := c.pipe()
	if before < int(c.sndMax-top) {
		t.Fatalf("pipe %d, less than the %d bytes above the scoreboard", before, c.sndMax-top)
	}
	c.sackHigh = una + 900*mss // the peer SACKed far above what we keep
	if got, want := c.pipe(), before-int(c.sackHigh-top); got != want {
		t.Fatalf("pipe %d with forgotten ranges, want %d", got, want)
	}
}

// With window scaling the advertised field is rounded up; the receiver
// accepts data up to the edge the peer computes from it, so a sender
// filling the window exactly never has its last bytes trimmed.
func TestScaledWindowEdgeAccepted(t *testing.T) {
	pr := newPair(t, time.Millisecond, ModernParams(), ModernParams(), 4)
	c := pr.srv
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rcvScale == 0 {
		t.Fatal("no window scaling negotiated")
	}
	// The edge last advertised is not a multiple of 2^scale (RCV.NXT
	// moved by odd segment sizes) and reading has not opened the window.
	cur := 1000<<c.rcvScale + 5
	c.rcvAdv = c.rcvNxt + uint32(cur)
	c.rcv.append(make([]byte, c.rcvCap-cur))
	w := c.windowToAdvertise(false)
	if int(w) != 1001 {
		t.Fatalf("window field %d, want 1001", w)
	}
	if edge := c.rcvNxt + uint32(w)<<c.rcvScale; c.rcvAdv != edge {
		t.Fatalf("rcvAdv %d, peer's edge %d", c.rcvAdv-c.rcvNxt, edge-c.rcvNxt)
	}
}
