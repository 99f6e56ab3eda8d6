package tcp

import (
	"time"

	"github.com/stapel-net/stapel/wire"
)

// segment is an inbound segment during processing.
type segment struct {
	h    segHeader
	data []byte
	opts wire.TCPOptions
	// segs is how many wire segments this one stands for (>1 for an
	// offloaded super-segment, see HandleSegmentOffload; 0 counts as 1).
	segs int
}

func (s *segment) has(f uint8) bool { return s.h.flags&f != 0 }

// seglen is SEG.LEN: payload plus SYN and FIN.
func (s *segment) seglen() uint32 {
	n := uint32(len(s.data))
	if s.has(flagSYN) {
		n++
	}
	if s.has(flagFIN) {
		n++
	}
	return n
}

// input processes one segment for this connection (RFC 9293 §3.10.7);
// mu is held.
func (c *Conn) input(s *segment) {
	now := c.now()
	switch c.state {
	case StateClosed:
		return
	case StateSynSent:
		c.inputSynSent(s, now)
		return
	}
	c.lastRecv = now

	// A new SYN beyond the old sequence space reopens a TIME-WAIT tuple
	// (RFC 1122 §4.2.2.13, RFC 6191): the demultiplexer hands it to the
	// listener.
	if c.state == StateTimeWait && s.has(flagSYN) && !s.has(flagACK|flagRST) && seqGT(s.h.seq, c.rcvNxt) {
		c.closeLocked(nil)
		c.reopen = true
		return
	}
	// PAWS (RFC 7323 §5.3): a timestamp older than TS.Recent marks an old
	// duplicate from a previous wrap of the sequence space.
	if c.tsOK && s.opts.HasTimestamp && !s.has(flagRST) && seqLT(s.opts.TSVal, c.tsRecent) {
		c.ackNow = true
		if n := uint32(len(s.data)); n > 0 && seqLEQ(s.h.seq+n, c.rcvNxt) {
			c.noteDuplicate(s.h.seq, s.h.seq+n) // D-SACK it, as Linux does
		}
		return
	}
	// 1. Acceptability (and trimming to the window).
	if !c.acceptable(s) {
		if c.state == StateSynReceived && s.has(flagSYN) && !s.has(flagACK) && s.h.seq == c.irs {
			c.sendSYN() // the peer did not get our SYN-ACK
			return
		}
		if !s.has(flagRST) {
			c.ackNow = true
			if n := uint32(len(s.data)); n > 0 && seqLEQ(s.h.seq+n, c.rcvNxt) {
				c.noteDuplicate(s.h.seq, s.h.seq+n)
			}
		}
		if c.state == StateTimeWait && s.has(flagFIN) && !s.has(flagRST) {
			c.twAt = now.Add(c.p.params.TcpTimedWaitDelay) // retransmitted FIN restarts 2MSL
		}
		return
	}
	c.noteTimestamp(s)
	// 2. RST (RFC 5961 §3: exact match resets, in-window gets a challenge ACK).
	if s.has(flagRST) {
		if c.state == StateTimeWait {
			// RFC 1337: a RST must not cut TIME-WAIT short. A peer that
			// already closed answers our ACK of its retransmitted FIN
			// with a RST; TIME-WAIT has to outlive exactly that.
			return
		}
		if s.h.seq != c.rcvNxt {
			c.ackNow = true
			return
		}
		c.inputRST()
		return
	}
	// 4. SYN in a synchronized state: challenge ACK (RFC 5961 §4).
	if s.has(flagSYN) {
		c.ackNow = true
		return
	}
	// 5. ACK.
	if !s.has(flagACK) {
		return
	}
	if c.state == StateSynReceived {
		if seqLEQ(s.h.ack, c.sndUna) || seqGT(s.h.ack, c.sndMax) {
			c.emitRSTFor(s)
			return
		}
		c.establish(s)
		if c.state == StateClosed {
			return
		}
	}
	if !c.processAck(s, now) {
		return
	}
	if c.state == StateClosed {
		return
	}
	// 6. URG (TCP-URG-1).
	if s.has(flagURG) && c.state.synchronized() {
		c.noteUrgent(s)
	}
	// 7. Text.
	if len(s.data) > 0 {
		c.inputData(s, now)
		if c.state == StateClosed {
			return
		}
	}
	// 8. FIN (only once everything before it arrived).
	if s.has(flagFIN) && s.h.seq+uint32(len(s.data)) == c.rcvNxt && !c.finRcvd {
		c.inputFIN(now)
	}
}

// acceptable implements the RFC 9293 four-case test and trims s to the
// receive window. A zero window still admits ACKs, URGs and RSTs.
func (c *Conn) acceptable(s *segment) bool {
	wnd := uint32(0)
	if seqGT(c.rcvAdv, c.rcvNxt) {
		wnd = c.rcvAdv - c.rcvNxt
	}
	l := s.seglen()
	seq := s.h.seq
	ok := false
	switch {
	case l == 0 && wnd == 0:
		ok = seq == c.rcvNxt
	case l == 0:
		ok = seqInWindow(seq, c.rcvNxt, wnd)
	case wnd == 0:
		if seq == c.rcvNxt {
			// Keep the control information, drop the text.
			s.data = nil
			s.h.flags &^= flagFIN | flagSYN
			c.ackNow = true
			return true
		}
	default:
		ok = seqInWindow(seq, c.rcvNxt, wnd) || seqInWindow(seq+l-1, c.rcvNxt, wnd)
	}
	if !ok {
		return false
	}
	// Trim what precedes RCV.NXT.
	if seqLT(seq, c.rcvNxt) {
		d := c.rcvNxt - seq
		if s.has(flagSYN) {
			s.h.flags &^= flagSYN
			d--
			s.h.seq++
		}
		if int(d) > len(s.data) {
			d = uint32(len(s.data))
		}
		c.noteDuplicate(s.h.seq, s.h.seq+d)
		s.data = s.data[d:]
		s.h.seq += d
		c.ackNow = true // a duplicate: tell the sender where we are
	}
	// Trim what exceeds the window.
	if end := s.h.seq + uint32(len(s.data)); seqGT(end, c.rcvNxt+wnd) {
		keep := int(c.rcvNxt + wnd - s.h.seq)
		if keep < 0 {
			keep = 0
		}
		s.data = s.data[:keep]
		s.h.flags &^= flagFIN
	}
	return true
}

func (c *Conn) inputRST() {
	switch c.state {
	case StateSynReceived:
		if c.passive {
			c.closeLocked(nil) // back to LISTEN: the listener forgets it
			return
		}
		c.closeLocked(ErrConnRefused)
	case StateEstablished, StateFinWait1, StateFinWait2, StateCloseWait:
		c.p.stats.estabResets.Add(1)
		c.reset = true
		c.closeLocked(ErrConnReset)
	default: // CLOSING, LAST-ACK, TIME-WAIT
		c.closeLocked(nil)
	}
}

// emitRSTFor answers an unacceptable ACK with <SEQ=SEG.ACK><CTL=RST>.
func (c *Conn) emitRSTFor(s *segment) {
	c.emit(flagRST, s.h.ack, nil, nil)
}

// establish completes a handshake; mu is held.
func (c *Conn) establish(s *segment) {
	c.setState(StateEstablished)
	c.sndWnd = uint32(s.h.window)
	if !s.has(flagSYN) {
		c.sndWnd <<= c.sndScale
	}
	c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
	c.sndWl1, c.sndWl2 = s.h.seq, s.h.ack
	c.cc.init(c.sndMSS, c.p.params.InitialWindow)
	if c.passive {
		c.p.stats.passiveOpens.Add(1)
		c.p.mu.Lock()
		c.p.leaveHalfOpenLocked(c)
		c.p.exhausted = 0
		c.p.mu.Unlock()
		if l := c.listener; l != nil && !l.established(c) {
			c.sendRST() // the listener closed during the handshake
			c.closeLocked(ErrConnAborted)
			return
		}
	}
	c.startKeepalive()
	c.broadcast()
}

// processAck handles SEG.ACK in synchronized states; it reports whether
// processing continues.
func (c *Conn) processAck(s *segment, now time.Time) bool {
	ack := s.h.ack
	hi := c.sndMax
	if c.probing && seqGT(c.probeEnd, hi) {
		hi = c.probeEnd
	}
	if seqGT(ack, hi) {
		c.ackNow = true // ACK for data we never sent
		return false
	}
	if seqLT(ack, c.sndUna) {
		return true // old duplicate; text may still be useful
	}
	if c.sackOK && seqGT(ack, c.sndUna) {
		c.noteFilled(c.sndUna, ack) // a hole acked without a resend was reordered
	}
	newSacked := c.noteSACK(s)
	// Window update (RFC 9293 SND.WL1/WL2 rule).
	wnd := uint32(s.h.window) << c.sndScale
	windowChanged := false
	if seqLT(c.sndWl1, s.h.seq) || c.sndWl1 == s.h.seq && seqLEQ(c.sndWl2, ack) {
		windowChanged = wnd != c.sndWnd
		c.sndWnd = wnd
		c.sndWl1, c.sndWl2 = s.h.seq, ack
		c.maxSndWnd = max(c.maxSndWnd, wnd)
		if wnd > 0 {
			c.persistAt = time.Time{}
		}
	}
	if ack == c.sndUna {
		// Duplicate ACK (RFC 5681 §2): counts only if it carries nothing
		// else and data is outstanding (TCP-RTX-4).
		if len(s.data) == 0 && !s.has(flagFIN|flagSYN) && !windowChanged && c.sndMax != c.sndUna {
			c.dupAcks++
			c.onDupAck()
			c.armTLP(now)
		} else if newSacked && c.sndMax != c.sndUna {
			c.armTLP(now)
			// RFC 6675 §2: an ACK that SACKs new data is a duplicate
			// even if it carries data or a window update.
			c.dupAcks++
			c.onDupAck()
		}
		return true
	}
	// New data acknowledged.
	acked := int(ack - c.sndUna)
	if seqGT(ack, c.sndNxt) {
		c.sndNxt = ack
	}
	if seqGT(ack, c.sndMax) {
		c.sndMax = ack
	}
	c.sndUna = ack
	c.trimSacked()
	dataAcked := 0
	if n := int(ack - c.sndBase); n > 0 {
		dataAcked = min(n, c.snd.len())
		c.snd.drop(dataAcked)
		c.sndBase += uint32(dataAcked)
	}
	if c.tsOK && s.opts.HasTimestamp && s.opts.TSEcr != 0 {
		// RFC 7323 RTTM: the echoed timestamp dates the acked segment,
		// even a retransmitted one.
		c.rttTiming = false
		if d := c.tsNow() - s.opts.TSEcr; d < 1<<30 {
			c.updateRTT(time.Duration(d) * time.Millisecond)
		}
	} else if c.rttTiming && seqGT(ack, c.rttSeq) {
		c.rttTiming = false
		c.updateRTT(now.Sub(c.rttStart))
	} else if c.retries > 0 && c.srtt != 0 {
		c.rto = min(max(c.srtt+4*c.rttvar, minRTO), maxRTO)
	}
	c.retries = 0
	c.persistN = 0
	if c.bhProbing {
		// The segment got through without DF: a black hole ate the big
		// ones. Continue with 536-byte segments and DF again (AMB-8).
		c.bhProbing, c.df = false, true
		c.sndMSS = min(c.sndMSS, 536)
	}
	if c.probing && seqGEQ(ack, c.probeEnd) {
		c.probing = false
	}
	if c.rtoRecover && seqGEQ(ack, c.recover) {
		c.rtoRecover = false
	}
	if c.inRecovery {
		c.onPartialOrFullAck(ack, acked)
	} else if acked > 0 {
		c.cc.onAck(acked, c.sndMSS, now, c.srtt)
	}
	c.dupAcks = 0
	if c.sndUna == c.sndMax {
		c.rtxAt = time.Time{}
	} else {
		c.rtxAt = now.Add(c.rto)
	}
	c.armTLP(now)
	if dataAcked > 0 {
		c.broadcast() // writers may have room
	}
	// Our FIN acknowledged?
	finAcked := c.wrClosed && c.sndBase+uint32(c.snd.len())+1 == c.sndUna
	switch c.state {
	case StateFinWait1:
		if finAcked {
			c.setState(StateFinWait2)
			if c.rdClosed {
				// Orphaned: don't wait forever for the peer's FIN.
				c.twAt = now.Add(c.p.params.TcpTimedWaitDelay)
			}
		}
	case StateClosing:
		if finAcked {
			c.enterTimeWait(now)
		}
	case StateLastAck:
		if finAcked {
			c.closeLocked(nil)
			return false
		}
	}
	return true
}

// inputData queues in-order text and keeps out-of-order text (bounded).
func (c *Conn) inputData(s *segment, now time.Time) {
	switch c.state {
	case StateEstablished, StateFinWait1, StateFinWait2:
	default:
		return // the peer already sent FIN
	}
	if c.rdClosed {
		// Data for a socket nobody will read: RFC 1122 §4.2.2.13 reset.
		c.sendRST()
		c.p.stats.estabResets.Add(1)
		c.closeLocked(ErrConnReset)
		return
	}
	if s.h.seq != c.rcvNxt {
		c.lastOOO = s.h.seq
		c.queueOOO(s)
		c.ackNow = true // TCP-ACK-2: immediate duplicate ACK
		return
	}
	c.rcv.append(s.data)
	c.rcvNxt += uint32(len(s.data))
	filled := len(c.ooo) > 0
	c.pullOOO(now)
	if filled {
		c.ackNow = true
	}
	c.scheduleAck(now, s.segs)
	c.broadcast()
}

// scheduleAck is TCP-ACK-1: ACK every second segment, otherwise within
// TcpDelAckTicks × 100 ms.
func (c *Conn) scheduleAck(now time.Time, segs int) {
	c.unackedSegs += max(segs, 1)
	ticks := c.p.params.TcpDelAckTicks
	if ticks == 0 || c.unackedSegs >= 2 {
		c.ackNow = true
		return
	}
	if c.delackAt.IsZero() {
		c.delackAt = now.Add(time.Duration(ticks) * 100 * time.Millisecond)
	}
}

// queueOOO stores a segment beyond a gap; the queue is bounded. Most
// arrivals extend the queue's tail, so the search starts there; the copy
// goes into a pooled buffer, so repair does not allocate per segment.
func (c *Conn) queueOOO(s *segment) {
	seq, end := s.h.seq, s.h.seq+uint32(len(s.data))
	fin := s.has(flagFIN)
	i := len(c.ooo)
	for i > 0 && seqGT(c.ooo[i-1].seq, seq) {
		i--
	}
	if i > 0 {
		if o := &c.ooo[i-1]; seqGEQ(o.seq+uint32(len(o.data)), end) && (!fin || o.fin) {
			c.noteDuplicate(seq, end) // already have it
			return
		}
	}
	// Bounded by MaxOutOfOrder, or by the segments the window holds if
	// that is more: out-of-order data lies inside the window we offered.
	if len(c.ooo) >= max(c.p.params.MaxOutOfOrder, c.rcvCap/max(c.sndMSS, 1)) {
		c.p.stats.oooDrops.Add(1)
		return
	}
	bp := getBuf(len(s.data))
	copy(*bp, s.data)
	c.ooo = append(c.ooo, oooSeg{})
	copy(c.ooo[i+1:], c.ooo[i:])
	c.ooo[i] = oooSeg{seq: seq, data: *bp, buf: bp, fin: fin}
}

// pullOOO moves queued segments that are now in order.
func (c *Conn) pullOOO(now time.Time) {
	k := 0
	for ; k < len(c.ooo); k++ {
		o := &c.ooo[k]
		if seqGT(o.seq, c.rcvNxt) {
			break
		}
		end := o.seq + uint32(len(o.data))
		if seqGT(end, c.rcvNxt) {
			c.rcv.append(o.data[c.rcvNxt-o.seq:])
			c.rcvNxt = end
		}
		if o.fin && end == c.rcvNxt && !c.finRcvd {
			c.inputFIN(now)
		}
		putBuf(o.buf)
		*o = oooSeg{}
	}
	if k > 0 {
		// Keep the array: shift the rest down instead of reslicing.
		n := copy(c.ooo, c.ooo[k:])
		clear(c.ooo[n:])
		c.ooo = c.ooo[:n]
	}
}

// inputFIN processes the peer's FIN.
func (c *Conn) inputFIN(now time.Time) {
	c.finRcvd = true
	c.rcvNxt++
	c.ackNow = true
	c.broadcast()
	switch c.state {
	case StateSynReceived, StateEstablished:
		c.setState(StateCloseWait)
	case StateFinWait1:
		if c.wrClosed && c.sndBase+uint32(c.snd.len())+1 == c.sndUna {
			c.enterTimeWait(now)
		} else {
			c.setState(StateClosing)
		}
	case StateFinWait2:
		c.enterTimeWait(now)
	}
}

// noteUrgent records the urgent mark (TCP-URG-1). BSD semantics point
// after the last urgent byte, RFC 1122 at it.
func (c *Conn) noteUrgent(s *segment) {
	up := s.h.seq + uint32(s.h.urgent)
	if c.p.params.TcpUseRFC1122UrgentPointer {
		up++
	}
	if !c.hasUrg || seqGT(up, c.rcvUp) {
		c.rcvUp, c.hasUrg = up, true
	}
}

// enterTimeWait starts the 2MSL wait (TCP-TW-1).
func (c *Conn) enterTimeWait(now time.Time) {
	c.setState(StateTimeWait)
	c.rtxAt, c.persistAt, c.kaAt = time.Time{}, time.Time{}, time.Time{}
	c.twAt = now.Add(c.p.params.TcpTimedWaitDelay)
	if old := c.p.enterTimeWait(c); old != nil && old != c {
		c.evict = old // closed after our lock is released (lock order)
	}
}
