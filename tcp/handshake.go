package tcp

import "time"

// inputSynSent is RFC 9293 §3.10.7.3; mu is held.
func (c *Conn) inputSynSent(s *segment, now time.Time) {
	if s.has(flagACK) && (seqLEQ(s.h.ack, c.iss) || seqGT(s.h.ack, c.sndMax)) {
		if !s.has(flagRST) {
			c.emitRSTFor(s)
		}
		return
	}
	if s.has(flagRST) {
		if s.has(flagACK) {
			c.closeLocked(ErrConnRefused)
		}
		return
	}
	if !s.has(flagSYN) {
		return
	}
	c.lastRecv = now
	c.irs = s.h.seq
	c.rcvNxt = s.h.seq + 1
	c.rcvAdv = c.rcvNxt // our SYN's window was relative to nothing yet
	c.negotiate(s, false)
	c.applySynOptions(s)
	if s.has(flagACK) {
		c.sndUna = s.h.ack
		c.sndBase = c.sndUna
		if c.rttTiming && c.retries == 0 {
			c.updateRTT(now.Sub(c.rttStart))
		} else if c.retries > 0 {
			c.rto = c.p.params.TcpInitialRtt
		}
		c.rttTiming = false
		c.retries = 0
		c.rtxAt = time.Time{}
		c.establishedWindow()
		c.establish(s)
		c.ackNow = true
		c.output()
		return
	}
	// Simultaneous open: SYN-RECEIVED, answer with SYN-ACK.
	c.establishedWindow()
	c.setState(StateSynReceived)
	c.rtxAt = time.Time{}
	c.sendSYN()
}

// applySynOptions takes the peer's MSS (536 if absent, TCP-PMTU-1).
func (c *Conn) applySynOptions(s *segment) {
	peer := 536
	if s.opts.HasMSS && s.opts.MSS > 0 {
		peer = int(s.opts.MSS)
	}
	c.peerMSS = peer
	c.sndMSS = max(min(peer, mssFor(c.mtu))-c.optOverhead(), 48) // 88-byte MTU floor minus 40
	c.sndMSS = min(c.sndMSS, maxSegmentPayload-c.optOverhead())
	c.gsoPayload = 0
	if g := c.p.gsoNet; g != nil {
		// Room for the IP header and the largest TCP header.
		if m := g.GSOMax(c.id.remote.Addr()) - 20 - 60; m >= 2*c.sndMSS {
			c.gsoPayload = m
		}
	}
}

// maxSegmentPayload caps the payload of a segment so that, with the
// 20-byte TCP header and its options, the datagram fits in 65,535 bytes
// even with the largest (60-byte) IP header: MSS = MTU − 40 alone gives
// 65,495 at MTU 65,535, one options block too many.
const maxSegmentPayload = 0xFFFF - 60 - headerLen

// optOverhead is the option space every data segment carries
// (timestamps), which the MSS must leave room for (TCP-WIN-1).
func (c *Conn) optOverhead() int {
	if c.tsOK {
		return tsOptLen
	}
	return 0
}

// setState changes state and keeps tcpCurrEstab; mu is held.
func (c *Conn) setState(s State) {
	was := c.state == StateEstablished || c.state == StateCloseWait
	is := s == StateEstablished || s == StateCloseWait
	if was && !is {
		c.p.stats.currEstab.Add(-1)
	} else if is && !was {
		c.p.stats.currEstab.Add(1)
	}
	c.state = s
}

// closeLocked moves to CLOSED and frees the tuple; err, if not nil, is
// what blocked and later calls report. mu is held.
func (c *Conn) closeLocked(err error) {
	if c.state == StateClosed {
		return
	}
	switch c.state {
	case StateSynSent, StateSynReceived:
		c.p.stats.attemptFails.Add(1)
	}
	if c.state == StateTimeWait {
		c.p.leaveTimeWait(c)
	}
	c.setState(StateClosed)
	if err != nil && c.err == nil {
		c.err = err
	}
	c.stopTimers()
	c.ooo = nil
	if c.reset {
		c.rcv.release()
	}
	c.snd.release()
	c.p.removeConn(c)
	if l := c.listener; l != nil {
		c.listener = nil
		l.forget(c)
	}
	c.broadcast()
}
