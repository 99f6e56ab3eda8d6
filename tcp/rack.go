package tcp

import "time"

// Reordering-aware loss detection for the SACK sender, after RFC 8985
// (RACK) §6.2's reordering window. RFC 6675's IsLost deems a hole lost as
// soon as DupThresh segments are SACKed above it (2 with the whitepaper's
// TcpMaxDupAcks), so a segment the path merely holds back is resent, and
// the peer reports the copy back as a D-SACK. Once the sender has seen
// the path reorder — a hole it never retransmitted was filled, or a
// D-SACK came for one of its fast retransmissions well after it was sent
// — it measures by how much, and from then on deems a hole lost only when
// that long (reoWnd) has passed since the hole was overtaken, i.e. since
// a segment sent after it was SACKed (RACK's "sent later, delivered
// earlier", timed from the SACK's arrival, which includes the round trip
// RACK adds). A timer fires when the oldest waiting hole's window ends,
// and also when retransmissions with nothing sent after them (a full
// send buffer) are overdue. Until reordering is seen, reoWnd is 0 and the
// DupThresh rule applies unchanged; after 16 recoveries without a sign of
// reordering the window is dropped again (RFC 8985's reo_wnd_persist).
// Without SACK nothing changes (NewReno cannot tell reordering from loss).
//
// RFC 8985 bounds the window by SRTT. On a LAN or a TAP the round trip is
// well under a millisecond (and timestamps read it as 0 ms) while a link
// that holds frames back delays them by milliseconds: a window of at
// most one SRTT cannot cover that, and every reordering costs a spurious
// retransmission and a window reduction. Stapel instead takes the
// reordering it measured (the largest, easing down toward smaller later
// samples), plus a quarter, bounded by minRTO/4
// (125 ms) so loss detection still ends well before the retransmission
// timer. The price: a real loss is repaired only after that window, and
// a sender whose send buffer is full of unacknowledged data stalls for
// it, so on such a path fewer bytes are resent at a lower rate.

const (
	reoPersist = 16               // RFC 8985 §6.2: recoveries a reordering window outlives
	minReoWnd  = time.Millisecond // floor of a measured window
	rtxLogLen  = 16               // fast retransmissions remembered for D-SACK matching
	maxReoWnd  = minRTO / 4       // well before the retransmission timer
)

// rtxRec is one fast retransmission: its range and when its hole was
// first overtaken.
type rtxRec struct {
	start, end uint32
	holeAt, at time.Time // hole overtaken; retransmission sent
}

// rackState is the connection's reordering window and its inputs.
type rackState struct {
	// holeAt[i] is when the hole below sacked[i] was first overtaken
	// (parallel to Conn.sacked; ascending).
	holeAt  []time.Time
	reoWnd  time.Duration // 0: reordering not seen, RFC 6675 DupThresh rule
	persist int           // recoveries left before reoWnd is dropped
	seen    bool          // reordering seen since the last recovery ended
	at      time.Time     // timer: when the oldest waiting hole is lost
	lastRtx time.Time     // latest fast retransmission (lost-retransmission check)
	rtxHigh uint32        // end of the highest fast retransmission (HighRxt never rewound)
	// log is allocated at the first fast retransmission: an idle or
	// loss-free connection does not carry its 768 bytes.
	log     *[rtxLogLen]rtxRec
	logNext int
}

// holeLost is IsLost for the hole below sacked[k], above which blocks
// ranges hold bytes octets: the DupThresh rule until reordering was
// seen, then the reordering window.
func (c *Conn) holeLost(k, blocks, bytes int) bool {
	if c.rack.reoWnd == 0 || k >= len(c.rack.holeAt) {
		return c.lostAbove(blocks, bytes)
	}
	return !c.now().Before(c.rack.holeAt[k].Add(c.rack.reoWnd))
}

// noteReordering adapts the window to a measured reordering extent: the
// time from a hole being overtaken to its late segment (or its D-SACK)
// arriving. A longer one widens the window at once; shorter ones narrow
// it by an eighth of the difference, so one outlier does not keep every
// later loss waiting longer than the path needs.
func (c *Conn) noteReordering(extent time.Duration) {
	w := min(max(extent+extent/4, minReoWnd), maxReoWnd)
	if w >= c.rack.reoWnd {
		c.rack.reoWnd = w
	} else {
		c.rack.reoWnd -= (c.rack.reoWnd - w) / 8
	}
	c.rack.persist = reoPersist
	c.rack.seen = true
}

// onRecoveryDone ages the window: it lasts reoPersist recoveries without
// a new sign of reordering.
func (c *Conn) onRecoveryDone() {
	if !c.rack.seen && c.rack.reoWnd > 0 {
		if c.rack.persist--; c.rack.persist <= 0 {
			c.rack.reoWnd = 0
		}
	}
	c.rack.seen = false
}

// holeOf returns the index of the SACKed range just above seq, or -1.
func (c *Conn) holeOf(seq uint32) int {
	for k, r := range c.sacked {
		if seqLT(seq, r.start) {
			return k
		}
	}
	return -1
}

// logRtx remembers a fast retransmission of [start, end).
func (c *Conn) logRtx(start, end uint32) {
	var at time.Time
	if k := c.holeOf(start); k >= 0 && k < len(c.rack.holeAt) {
		at = c.rack.holeAt[k]
	}
	if c.rack.log == nil {
		c.rack.log = new([rtxLogLen]rtxRec)
	}
	c.rack.log[c.rack.logNext] = rtxRec{start, end, at, c.now()}
	c.rack.logNext = (c.rack.logNext + 1) % rtxLogLen
	c.rack.lastRtx = c.now()
	if !seqGT(c.rack.rtxHigh, c.sndUna) || seqGT(end, c.rack.rtxHigh) {
		c.rack.rtxHigh = end
	}
}

// onDSACK matches a D-SACK to a fast retransmission. If it came within
// about a round trip of the retransmission, the peer already held the
// data (the ACK saying so was lost): no news about reordering. If later,
// the original arrived after the retransmission, about now: the path
// held it back that long.
func (c *Conn) onDSACK(start, end uint32) {
	if c.rack.log == nil {
		return
	}
	now := c.now()
	for i := range c.rack.log {
		r := &c.rack.log[i]
		if r.holeAt.IsZero() || !seqLT(start, r.end) || !seqLT(r.start, end) {
			continue
		}
		if now.Sub(r.at) > max(2*c.srtt, minReoWnd) {
			c.noteReordering(now.Sub(r.holeAt))
		}
		r.holeAt = time.Time{}
		return
	}
}

// noteFilled checks newly delivered [start, end) (SACKed, or below a
// cumulative ACK) against the scoreboard's holes: bytes of a hole that
// was never retransmitted arriving means the path reordered them.
func (c *Conn) noteFilled(start, end uint32) {
	if c.rtoRecover || !seqLT(start, end) {
		return // go-back-N resends: a filled hole proves nothing
	}
	lo := c.sndUna
	for k, r := range c.sacked {
		if !seqLT(lo, end) || k >= len(c.rack.holeAt) {
			return
		}
		// The hole [lo, r.start); in recovery its part below HighRxt
		// (before checkLostRetrans rewound it) was resent.
		hs := lo
		if c.inRecovery {
			hs = max32(hs, max32(c.highRxt, c.rack.rtxHigh))
		}
		if seqLT(max32(hs, start), min32(r.start, end)) {
			c.noteReordering(c.now().Sub(c.rack.holeAt[k]))
			return
		}
		lo = r.end
	}
}

func max32(a, b uint32) uint32 {
	if seqGT(a, b) {
		return a
	}
	return b
}

func min32(a, b uint32) uint32 {
	if seqLT(a, b) {
		return a
	}
	return b
}

// rackDeadline sets and returns when the reordering window of the oldest
// hole not yet resent ends (zero if none is waiting): then it is lost.
// Called by armTimer.
func (c *Conn) rackDeadline() time.Time {
	c.rack.at = time.Time{}
	if c.rack.reoWnd == 0 || !c.sackOK || c.state == StateClosed || c.sndUna == c.sndMax || c.rtoRecover ||
		len(c.sacked) == 0 || len(c.rack.holeAt) != len(c.sacked) {
		return c.rack.at
	}
	now := c.now()
	if !c.inRecovery {
		// Only the hole at SND.UNA starts recovery (rackTimeout).
		if seqLT(c.sndUna, c.sacked[0].start) {
			c.rack.at = c.rack.holeAt[0].Add(c.rack.reoWnd)
			if c.rack.at.Before(now) {
				c.rack.at = now
			}
		}
		return c.rack.at
	}
	// In recovery: the first hole above HighRxt whose window has not
	// ended yet (the holes' times ascend; those already lost go out as
	// the pipe allows, clocked by ACKs).
	lo := c.sndUna
	for k, r := range c.sacked {
		if seqLT(lo, r.start) && seqLT(c.highRxt, r.start) {
			if t := c.rack.holeAt[k].Add(c.rack.reoWnd); t.After(now) {
				c.rack.at = t
				break
			}
		}
		lo = r.end
	}
	if seqGT(c.highRxt, c.sndUna) && !c.rack.lastRtx.IsZero() {
		// When a retransmission may count as lost again (checkLostRetrans).
		if t := c.rack.lastRtx.Add(c.srtt + c.rack.reoWnd); t.After(now) && (c.rack.at.IsZero() || t.Before(c.rack.at)) {
			c.rack.at = t
		}
	}
	return c.rack.at
}

// rackOnTimeout forgets the fast retransmissions when the retransmission
// timer fires: a D-SACK for the go-back-N copies says nothing about how
// long the path holds segments back.
func (c *Conn) rackOnTimeout() {
	if c.rack.log != nil {
		*c.rack.log = [rtxLogLen]rtxRec{}
	}
}

// rackTimeout runs when a waiting hole's window ended: start recovery,
// or look for lost retransmissions; output then resends what is lost.
func (c *Conn) rackTimeout() {
	if !c.sackOK || c.rack.reoWnd == 0 || c.sndUna == c.sndMax || c.rtoRecover {
		return
	}
	switch {
	case c.inRecovery:
		c.lostRetrans(true)
	case c.sndUnaLost():
		c.enterRecovery()
	}
}
