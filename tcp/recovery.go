package tcp

// Loss recovery after duplicate ACKs (TCP-RTX-4): RFC 6675 SACK-based
// recovery when the peer sends SACK, RFC 6582 NewReno otherwise.

// onDupAck counts toward fast retransmit and clocks recovery.
func (c *Conn) onDupAck() {
	if c.inRecovery {
		if !c.sackOK {
			c.inflate += c.sndMSS // NewReno: a segment left the network
		} else {
			c.checkLostRetrans()
		}
		return // output sends what the window (or pipe) now allows
	}
	if c.sackOK && c.rack.reoWnd > 0 && len(c.sacked) > 0 {
		if !c.sndUnaLost() {
			return // the path reorders: wait out its window (rack.go)
		}
	} else if c.dupAcks < c.dupThresh() && !(c.sackOK && c.sndUnaLost()) {
		return
	}
	if c.rtoRecover {
		// RFC 6582 §3.2 step 2: these duplicates answer the go-back-N
		// retransmissions after a timeout, not a new loss.
		return
	}
	c.enterRecovery()
}

// enterRecovery is fast retransmit: halve the window (through the
// congestion control), resend the first unacknowledged segment, and
// remember SND.MAX as the recovery point.
func (c *Conn) enterRecovery() {
	c.inRecovery = true
	c.recover = c.sndMax
	c.p.stats.fastRetrans.Add(1)
	c.cc.onCongestion(int(c.sndMax-c.sndUna), c.sndMSS, c.now())
	c.inflate = 0
	if !c.sackOK {
		c.inflate = c.dupAcks * c.sndMSS
	}
	c.rack.rtxHigh = c.sndUna
	c.highRxt = c.sndUna + uint32(c.retransmitFirst())
	c.rtxMark = c.sndMax
	if c.sackOK {
		c.logRtx(c.sndUna, c.highRxt)
	}
}

// checkLostRetrans detects retransmissions lost again, which RFC 6675
// alone leaves to the retransmission timer: once the peer SACKs data we
// sent after our latest retransmission, a hole below HighRxt that is
// still deemed lost means its retransmission was dropped (the path does
// not reorder that much). Recovery then starts a new pass from SND.UNA,
// and the congestion control reacts once more, since a lost
// retransmission is a new congestion signal.
func (c *Conn) checkLostRetrans() { c.lostRetrans(false) }

// lostRetrans is checkLostRetrans; timed (the reordering timer, rack.go)
// also covers a sender with nothing sent after its retransmissions (a
// full send buffer): once everything above them was SACKed and a round
// trip plus the reordering window passed without their ACK, they are
// lost, where otherwise only the retransmission timer would tell.
func (c *Conn) lostRetrans(timed bool) {
	n := len(c.sacked)
	if n == 0 || !seqGT(c.highRxt, c.sndUna) {
		return
	}
	if !seqGT(c.sacked[n-1].end, c.rtxMark) && !(timed && c.sacked[n-1].end == c.sndMax) {
		return
	}
	if c.rack.reoWnd > 0 && c.now().Before(c.rack.lastRtx.Add(c.srtt+c.rack.reoWnd)) {
		return // the retransmission may just be held back (rack.go)
	}
	s, _, ok := c.nextRtxFrom(c.sndUna, true)
	if !ok || !seqLT(s, c.highRxt) {
		return
	}
	c.p.stats.lostRetrans.Add(1)
	c.highRxt = c.sndUna
	c.rtxMark = c.sndMax
	c.cc.onCongestion(c.pipe(), c.sndMSS, c.now())
}

// onPartialOrFullAck handles an ACK of new data during recovery.
func (c *Conn) onPartialOrFullAck(ack uint32, acked int) {
	if seqGEQ(ack, c.recover) {
		c.inRecovery, c.inflate = false, 0
		c.cc.onRecoveryExit()
		c.onRecoveryDone()
		return
	}
	if seqLT(c.highRxt, c.sndUna) {
		c.highRxt = c.sndUna
	}
	if c.sackOK {
		c.checkLostRetrans()
		return // the pipe loop in output repairs the next holes
	}
	// NewReno partial ACK (RFC 6582 §3.2 step 5): resend the next
	// unacknowledged segment, deflate by what was acked, add one back.
	c.inflate = max(c.inflate-acked+c.sndMSS, 0)
	c.highRxt = c.sndUna + uint32(c.retransmitFirst())
}

// sackRecoverySend is RFC 6675 §5 step (C): while cwnd − pipe allows a
// segment, send NextSeg: a lost hole, else new data, else another hole.
func (c *Conn) sackRecoverySend() {
	for i := 0; i < 4096; i++ { // bound: each pass sends one segment
		if c.cc.window()-c.pipe() < c.sndMSS {
			return
		}
		if s, e, ok := c.nextRtx(true); ok {
			c.retransmitRange(s, e)
			continue
		}
		if c.sendOne() {
			continue
		}
		// Rule 3 resends holes not deemed lost; on a path known to
		// reorder they are most likely still on their way (rack.go).
		if s, e, ok := c.nextRtx(false); ok && c.rack.reoWnd == 0 {
			c.retransmitRange(s, e)
			continue
		}
		return
	}
}

// retransmitRange resends the first segment of [start, end) and moves
// HighRxt past it.
func (c *Conn) retransmitRange(start, end uint32) {
	dataEnd := c.sndBase + uint32(c.snd.len())
	e := end
	if seqGT(e, dataEnd) {
		e = dataEnd
	}
	n := 0
	if seqLT(start, e) {
		n = min(int(e-start), c.segMSS())
	}
	if n <= 0 {
		c.highRxt = end // nothing resendable here; don't loop on it
		return
	}
	p1, p2 := c.snd.peek(int(start-c.sndBase), n)
	c.countRetrans(n)
	if c.rttTiming && seqGEQ(c.rttSeq, start) && seqLT(c.rttSeq, start+uint32(n)) {
		c.rttTiming = false // Karn
	}
	c.emitData(flagACK, start, p1, p2)
	c.logRtx(start, start+uint32(n))
	c.highRxt = start + uint32(n)
	c.rtxMark = c.sndMax
	if c.rtxAt.IsZero() {
		c.rtxAt = c.now().Add(c.rto)
	}
}

// countRetrans counts one retransmitted segment of n payload bytes.
func (c *Conn) countRetrans(n int) {
	c.p.stats.retransSegs.Add(1)
	c.p.stats.retransBytes.Add(uint64(n))
}
