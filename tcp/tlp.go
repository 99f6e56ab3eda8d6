package tcp

import "time"

// Tail loss probe (RFC 8985 §7, Params.TailLossProbe). When the last
// segments of a flight, or the ACKs for them, are lost, no duplicate ACKs
// come and SACK recovery cannot make progress; without a probe only the
// retransmission timer (minRTO 500 ms) ends the stall. The probe resends
// the last segments after about two round trips of silence, so the peer's
// ACK, with its SACK blocks, drives ordinary recovery. RFC 8985 probes
// with one segment because RACK then marks the gap lost by time; RFC
// 6675's IsLost, which Stapel uses, needs DupThresh segments SACKed above
// a gap, so the probe resends the last DupThresh segments.

// minPTO bounds the probe timeout from below (timestamps measure RTT in
// milliseconds, so a LAN's SRTT may read 0).
const minPTO = 10 * time.Millisecond

// armTLP schedules the probe while data is outstanding; each ACK moves it.
func (c *Conn) armTLP(now time.Time) {
	if !c.p.params.TailLossProbe || c.sndUna == c.sndMax || c.state != StateEstablished && c.state != StateCloseWait &&
		c.state != StateFinWait1 && c.state != StateClosing && c.state != StateLastAck {
		c.tlpAt = time.Time{}
		return
	}
	if n := len(c.sacked); c.rack.reoWnd > 0 && n > 0 && c.sacked[n-1].end == c.sndMax {
		// The tail arrived; the holes below it wait out the reordering
		// window, and its timer, not a probe resending the tail the
		// peer holds, repairs them (rack.go).
		c.tlpAt = time.Time{}
		return
	}
	pto := max(2*c.srtt, minPTO)
	if c.sndMax-c.sndUna <= uint32(c.sndMSS) {
		// One segment out: the peer may be delaying its ACK.
		pto += time.Duration(c.p.params.TcpDelAckTicks) * 100 * time.Millisecond
	}
	if pto >= c.rto {
		c.tlpAt = time.Time{} // the retransmission timer comes first anyway
		return
	}
	c.tlpAt = now.Add(pto)
}

// tailLossProbe resends the last DupThresh segments sent (as
// retransmissions); the next probe waits for an ACK.
func (c *Conn) tailLossProbe() {
	if c.sndUna == c.sndMax || c.probing {
		return
	}
	end := c.sndMax
	if dataEnd := c.sndBase + uint32(c.snd.len()); seqGT(end, dataEnd) {
		end = dataEnd // a FIN beyond the data is resent by the timer
	}
	if !seqGT(end, c.sndUna) {
		return
	}
	mss := c.segMSS()
	n := min(int(end-c.sndUna), c.dupThresh()*mss)
	start := end - uint32(n)
	c.p.stats.tlps.Add(1)
	if c.rttTiming && seqGEQ(c.rttSeq, start) {
		c.rttTiming = false // Karn
	}
	for n > 0 {
		k := min(n, mss)
		p1, p2 := c.snd.peek(int(start-c.sndBase), k)
		c.countRetrans(k)
		c.emitData(flagACK, start, p1, p2)
		start += uint32(k)
		n -= k
	}
}
