package tcp

import "time"

const (
	minRTO     = 500 * time.Millisecond // TCP-RTX-2 LAN example: first retransmission at 0.521 s
	maxRTO     = 240 * time.Second
	maxPersist = 60 * time.Second
)

// armTimer makes sure the connection's single clock timer fires no later
// than its earliest deadline. It only re-arms when that deadline moved
// earlier, so per-ACK deadline updates cost nothing; a timer that fires
// early just re-arms itself. mu is held.
func (c *Conn) armTimer() {
	var next time.Time
	for _, t := range [...]time.Time{c.rtxAt, c.delackAt, c.persistAt, c.kaAt, c.twAt, c.tlpAt, c.rackDeadline()} {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if next.IsZero() || (!c.timerAt.IsZero() && !next.Before(c.timerAt)) {
		return
	}
	d := next.Sub(c.now())
	if c.timer == nil {
		c.timer = c.p.clk.AfterFunc(d, c.onTimer)
	} else {
		c.timer.Reset(d)
	}
	c.timerAt = next
}

func (c *Conn) stopTimers() {
	c.rtxAt, c.delackAt, c.persistAt, c.kaAt, c.twAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	c.tlpAt, c.rack.at = time.Time{}, time.Time{}
	if c.timer != nil {
		c.timer.Stop()
	}
	c.timerAt = time.Time{}
}

func due(t, now time.Time) bool { return !t.IsZero() && !t.After(now) }

func (c *Conn) onTimer() {
	c.mu.Lock()
	c.timerAt = time.Time{}
	if c.state == StateClosed {
		c.unlock()
		return
	}
	now := c.p.clk.Now()
	if due(c.delackAt, now) {
		c.delackAt = time.Time{}
		c.ackNow = true
	}
	if due(c.rtxAt, now) {
		c.rtxAt, c.tlpAt = time.Time{}, time.Time{}
		c.retransmitTimeout(now)
	}
	if due(c.tlpAt, now) {
		c.tlpAt = time.Time{}
		c.tailLossProbe()
	}
	if due(c.rack.at, now) {
		c.rack.at = time.Time{}
		c.rackTimeout()
	}
	if due(c.persistAt, now) {
		c.persistAt = time.Time{}
		c.persistTimeout(now)
	}
	if due(c.kaAt, now) {
		c.kaAt = time.Time{}
		c.keepaliveTimeout(now)
	}
	if due(c.twAt, now) {
		c.twAt = time.Time{}
		c.closeLocked(nil) // TIME-WAIT (TCP-TW-1) or orphaned FIN-WAIT-2 over
	}
	if c.state != StateClosed {
		c.output()
	}
	c.unlock()
}

// retransmitTimeout is TCP-RTX-1/2/3: resend with a doubled RTO, give up
// after the configured number of retransmissions plus one last timeout.
func (c *Conn) retransmitTimeout(now time.Time) {
	limit := c.p.params.TcpMaxDataRetransmissions
	switch c.state {
	case StateSynSent:
		limit = c.p.params.TcpMaxConnectRetransmissions
	case StateSynReceived:
		limit = c.p.params.TcpMaxConnectResponseRetransmissions
		if c.passive && (c.synAttack || c.p.underSynAttack()) {
			c.synAttack = true    // sticky: this child was caught in the attack
			limit = min(limit, 1) // AMB-17
		}
	default:
		if c.sndUna == c.sndMax {
			return
		}
	}
	if c.retries >= limit {
		switch {
		case c.state == StateSynReceived && c.passive:
			c.closeLocked(nil) // half-open entry silently dropped
		case c.state == StateSynSent:
			err := ErrTimedOut
			if c.soft != nil {
				err = c.soft
			}
			c.closeLocked(err)
		default:
			c.sendRST()
			c.closeLocked(ErrTimedOut)
		}
		return
	}
	c.retries++
	c.p.stats.timeouts.Add(1)
	if c.passive && c.state == StateSynReceived && c.retries == 1 {
		c.p.mu.Lock()
		c.p.retried++
		c.countedRetried = true
		c.p.mu.Unlock()
	}
	c.rto = min(c.rto*2, maxRTO)
	c.rttTiming = false
	if c.state == StateSynSent || c.state == StateSynReceived {
		c.p.stats.retransSegs.Add(1)
		c.sendSYN()
		c.rtxAt = now.Add(c.rto)
		return
	}
	if c.p.params.EnableDeadGWDetect && c.retries == (c.p.params.TcpMaxDataRetransmissions+1)/2 {
		c.reportDGD = true // TCP-DGD-2, AMB-9: after the ⌈N/2⌉th retransmission
	}
	if c.p.params.EnablePMTUBHDetect && c.retries == 2 && c.df {
		c.df, c.bhProbing = false, true // AMB-8: try without DF
	}
	flight := int(c.sndMax - c.sndUna)
	c.cc.onTimeout(flight, c.sndMSS, now)
	c.inRecovery, c.inflate, c.dupAcks = false, 0, 0
	c.recover, c.rtoRecover = c.sndMax, true // RFC 6582 §3.2 step 2
	c.rackOnTimeout()
	if c.retries > 1 {
		// RFC 2018 §8: the receiver may have reneged; the first timeout
		// keeps the scoreboard so go-back-N skips what the peer holds.
		c.clearSacked()
	}
	c.highRxt = c.sndUna
	c.sndNxt = c.sndUna // go back N from the hole
	c.rtxAt = time.Time{}
	c.output()
	if c.rtxAt.IsZero() && c.sndUna != c.sndMax {
		c.rtxAt = now.Add(c.rto)
	}
}

// persistTimeout sends a zero-window probe: one byte beyond the window,
// which the peer answers with an ACK carrying its current window.
func (c *Conn) persistTimeout(now time.Time) {
	end := c.sndBase + uint32(c.snd.len())
	if c.sndWnd > 0 && c.sndNxt != c.sndUna || !seqLT(c.sndNxt, end) {
		return
	}
	if c.sndWnd >= uint32(min(int(end-c.sndNxt), c.sndMSS)) {
		return // window opened; output sends
	}
	payload, _ := c.snd.peek(int(c.sndNxt-c.sndBase), 1)
	c.emit(flagACK, c.sndNxt, payload, nil)
	c.probeEnd, c.probing = c.sndNxt+1, true
	c.persistN++
	d := min(c.rto<<min(c.persistN, 16), maxPersist)
	c.persistAt = now.Add(d)
}

// keepaliveTimeout is TCP-KA-1: after KeepAliveTime without hearing from
// the peer, send ACKs with seq = SND.NXT−1 every KeepAliveInterval; abort
// after TcpMaxDataRetransmissions unanswered probes.
func (c *Conn) keepaliveTimeout(now time.Time) {
	if !c.keepAlive || !c.state.synchronized() || c.state == StateTimeWait {
		return
	}
	if idle := now.Sub(c.lastRecv); idle < c.kaIdle && c.kaProbes == 0 || c.lastRecv.After(c.kaSent) && c.kaProbes > 0 {
		c.kaProbes = 0
		c.kaAt = c.lastRecv.Add(c.kaIdle)
		if !c.kaAt.After(now) {
			c.kaAt = now.Add(c.kaIdle)
		}
		return
	}
	if c.kaProbes >= c.p.params.TcpMaxDataRetransmissions {
		c.closeLocked(ErrTimedOut)
		return
	}
	c.kaProbes++
	c.kaSent = now
	c.emit(flagACK, c.sndUna-1, nil, nil)
	c.kaAt = now.Add(c.p.params.KeepAliveInterval)
}

// startKeepalive schedules the first probe; mu is held.
func (c *Conn) startKeepalive() {
	if !c.keepAlive || !c.state.synchronized() {
		c.kaAt = time.Time{}
		return
	}
	c.kaProbes = 0
	c.kaAt = c.lastRecv.Add(c.kaIdle)
	if now := c.p.clk.Now(); c.kaAt.Before(now) {
		c.kaAt = now.Add(c.kaIdle)
	}
	c.armTimer()
}

// updateRTT is RFC 6298 (TCP-RTX-2): SRTT/RTTVAR from one sample.
func (c *Conn) updateRTT(r time.Duration) {
	if c.srtt == 0 {
		c.srtt, c.rttvar = r, r/2
	} else {
		d := c.srtt - r
		if d < 0 {
			d = -d
		}
		c.rttvar = (3*c.rttvar + d) / 4
		c.srtt = (7*c.srtt + r) / 8
	}
	c.rto = min(max(c.srtt+4*c.rttvar, minRTO), maxRTO)
}
