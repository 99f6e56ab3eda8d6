package tcp

import (
	"sync"
	"time"

	"github.com/stapel-net/stapel/wire"
)

// outSeg is a segment built under the connection lock, sent after it.
type outSeg struct {
	b   *[]byte
	n   int
	gso int // > 0: a super-segment cut every gso payload bytes
}

// segList is a reusable list of pending segments.
type segList struct{ s []outSeg }

var listPool = sync.Pool{New: func() any { return &segList{s: make([]outSeg, 0, 8)} }}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func getBuf(n int) *[]byte {
	bp := bufPool.Get().(*[]byte)
	if cap(*bp) < n {
		*bp = make([]byte, n)
	}
	*bp = (*bp)[:n]
	return bp
}

func putBuf(bp *[]byte) {
	if cap(*bp) <= 1<<16+128 {
		bufPool.Put(bp)
	}
}

// emit builds one segment from the connection's state; mu is held.
// Segments carrying ACK clear the delayed-ACK state (TCP-ACK-1).
func (c *Conn) emit(flags uint8, seq uint32, payload []byte, opts *wire.TCPOptions) {
	c.emitV(flags, seq, payload, nil, opts)
}

// emitV is emit for a payload in two parts (the send ring may wrap). The
// segment is built after the network's headroom so it can add its headers
// in place (BufferNetwork).
func (c *Conn) emitV(flags uint8, seq uint32, p1, p2 []byte, opts *wire.TCPOptions) {
	h := segHeader{
		srcPort: c.id.local.Port(),
		dstPort: c.id.remote.Port(),
		seq:     seq,
		flags:   flags,
		urgent:  c.urgent,
	}
	var ob wire.TCPOptions
	if opts == nil && flags&flagSYN == 0 && flags&flagRST == 0 {
		opts = c.segOptions(&ob, flags&flagACK != 0)
	}
	if flags&flagACK != 0 {
		h.ack = c.rcvNxt
		c.lastAckSent = c.rcvNxt
		c.ackNow = false
		c.unackedSegs = 0
		c.delackAt = time.Time{}
	}
	if flags&flagRST == 0 {
		h.window = c.windowToAdvertise(flags&flagSYN != 0)
	}
	hl := headerLen + optionsLen(opts)
	room := c.p.headroom
	plen := len(p1) + len(p2)
	bp := getBuf(room + hl + plen)
	b := (*bp)[room:]
	k := copy(b[hl:], p1)
	copy(b[hl+k:], p2)
	gso := 0
	if c.gsoSeg > 0 && plen > c.gsoSeg {
		// The device computes each piece's checksum: skip the sum.
		gso = c.gsoSeg
		putHeader(b, &h, opts, c.id.local.Addr(), c.id.remote.Addr(), 0)
	} else {
		putHeader(b, &h, opts, c.id.local.Addr(), c.id.remote.Addr(), plen)
	}
	if c.pending == nil {
		c.pending = listPool.Get().(*segList)
	}
	c.pending.s = append(c.pending.s, outSeg{bp, room + hl + plen, gso})
	c.p.stats.outSegs.Add(1)
	if flags&flagRST != 0 {
		c.p.stats.outRsts.Add(1)
	}
}

// windowToAdvertise returns the window field and moves rcvAdv. The right
// edge never moves left and moves right only by at least one segment or
// half the buffer (TCP-SWS-2, receiver SWS avoidance).
func (c *Conn) windowToAdvertise(syn bool) uint16 {
	free := c.rcvCap - c.rcv.len()
	if free < 0 {
		free = 0
	}
	if syn {
		// Never scaled (TCP-WIN-3).
		free = min(free, 0xFFFF)
		c.rcvAdv = c.rcvNxt + uint32(free)
		return uint16(free)
	}
	cur := 0
	if seqGT(c.rcvAdv, c.rcvNxt) {
		cur = int(c.rcvAdv - c.rcvNxt)
	}
	free = min(free, 0xFFFF<<c.rcvScale) >> c.rcvScale << c.rcvScale
	if free-cur >= min(c.sndMSS, c.rcvCap/2) {
		c.rcvAdv = c.rcvNxt + uint32(free)
		cur = free
	}
	// Round up so the right edge the peer computes is never left of ours,
	// and accept up to that edge: a sender filling the window exactly
	// must not have its last bytes trimmed (they would arrive as a gap
	// and look like loss). At most 2^scale − 1 bytes over the buffer.
	w := min((cur+(1<<c.rcvScale)-1)>>c.rcvScale, 0xFFFF)
	if edge := c.rcvNxt + uint32(w<<c.rcvScale); seqGT(edge, c.rcvAdv) {
		c.rcvAdv = edge
	}
	return uint16(w)
}

// sendSYN sends (or resends) our SYN or SYN-ACK with the MSS option.
func (c *Conn) sendSYN() {
	opts := c.synOptions()
	flags := uint8(flagSYN)
	if c.state == StateSynReceived {
		flags |= flagACK
	}
	c.emit(flags, c.iss, nil, &opts)
	c.sndNxt = c.iss + 1
	if seqGT(c.sndNxt, c.sndMax) {
		c.sndMax = c.sndNxt
	}
	if c.rtxAt.IsZero() {
		c.rtxAt = c.now().Add(c.rto)
	}
}

// sendRST resets the connection's peer.
func (c *Conn) sendRST() {
	c.emit(flagRST|flagACK, c.sndMax, nil, nil)
}

// output sends whatever data, FIN and ACK the windows allow; mu is held.
func (c *Conn) output() {
	switch c.state {
	case StateEstablished, StateCloseWait, StateFinWait1, StateClosing, StateLastAck:
		if c.inRecovery && c.sackOK {
			c.sackRecoverySend()
		} else {
			for c.sendOne() {
			}
		}
	}
	if c.ackNow && c.state != StateClosed && c.state != StateSynSent {
		// A pure ACK carries SND.MAX, not a rewound SND.NXT, so the peer,
		// which may have received up to SND.MAX, finds it acceptable.
		c.emit(flagACK, c.sndMax, nil, nil)
	}
	c.armTimer()
}

// sendOne sends one segment if sender-side rules allow; mu is held.
func (c *Conn) sendOne() bool {
	end := c.sndBase + uint32(c.snd.len()) // FIN, if queued, is at end
	limit := c.skipSacked()
	avail := 0
	if seqLT(c.sndNxt, end) {
		avail = int(end - c.sndNxt)
	}
	fin := c.wrClosed && seqLEQ(c.sndNxt, end)
	// The peer's window bounds sequence space; the congestion window
	// bounds what is in the network: SACKed bytes are not, and in SACK
	// recovery RFC 6675's pipe is the measure.
	inflight := int(c.sndNxt - c.sndUna)
	var inNet int
	if c.inRecovery && c.sackOK {
		inNet = c.pipe()
	} else {
		inNet = inflight - c.sackedBelow(c.sndNxt)
	}
	usable := max(min(int(c.sndWnd)-inflight, c.cc.window()+c.inflate-inNet), 0)
	mss := c.segMSS()
	n := min(avail, mss, usable, limit)
	if c.gsoPayload > 0 && !c.inRecovery && n == mss {
		// TSO: whole pieces, except a tail that ends the queued data.
		if n = min(avail, c.gsoPayload, usable, limit); n < avail {
			n -= n % mss
		}
	}
	if n < avail {
		fin = false
	}
	if n == 0 && !(fin && avail == 0) {
		if avail > 0 && c.sndWnd < uint32(min(avail, mss)) && inflight == 0 && c.persistAt.IsZero() {
			c.persistN = 0
			c.persistAt = c.now().Add(c.rto) // zero-window probing
		}
		return false
	}
	if n < mss && n < avail {
		// TCP-SWS-1: window-limited runt; wait unless it is half the
		// largest window the peer offered.
		if n < int(c.maxSndWnd/2) || c.maxSndWnd == 0 {
			if inflight == 0 && c.persistAt.IsZero() {
				c.persistN = 0
				c.persistAt = c.now().Add(c.rto)
			}
			return false
		}
	}
	if n > 0 && n < mss && n == avail && !fin && !c.noDelay && !c.local && inflight > 0 {
		return false // TCP-NAGLE-1: one small segment outstanding at most
	}
	flags := uint8(flagACK)
	if n > 0 && n == avail {
		flags |= flagPSH
	}
	if fin {
		flags |= flagFIN
	}
	seq := c.sndNxt
	p1, p2 := c.snd.peek(int(seq-c.sndBase), n)
	c.noteSend(seq, n+int(flags&flagFIN))
	if n > mss {
		c.gsoSeg = mss
	}
	c.emitData(flags, seq, p1, p2)
	c.gsoSeg = 0
	return true
}

// noteSend updates send state for a segment covering [seq, seq+length).
func (c *Conn) noteSend(seq uint32, length int) {
	now := c.now()
	if seqLT(seq, c.sndMax) {
		c.countRetrans(length)
		if c.rttTiming && seqGEQ(c.rttSeq, seq) {
			c.rttTiming = false // Karn: no samples from retransmissions
		}
	} else if !c.rttTiming && length > 0 {
		c.rttTiming, c.rttSeq, c.rttStart = true, seq, now
	}
	c.sndNxt = seq + uint32(length)
	if seqGT(c.sndNxt, c.sndMax) {
		c.sndMax = c.sndNxt
	}
	if c.rtxAt.IsZero() && length > 0 {
		c.rtxAt = now.Add(c.rto)
	}
	if c.tlpAt.IsZero() && length > 0 {
		c.armTLP(now)
	}
	c.persistAt = time.Time{}
}

// retransmitFirst resends the segment at sndUna (fast retransmit) and
// returns its payload length.
func (c *Conn) retransmitFirst() int {
	end := c.sndBase + uint32(c.snd.len())
	avail := int(end - c.sndUna)
	n := min(avail, c.segMSS())
	flags := uint8(flagACK)
	if c.wrClosed && n == avail && seqGT(c.sndMax, end) {
		flags |= flagFIN
	}
	if n == 0 && flags&flagFIN == 0 {
		return 0
	}
	p1, p2 := c.snd.peek(int(c.sndUna-c.sndBase), n)
	c.countRetrans(n)
	if c.rttTiming && seqGEQ(c.rttSeq, c.sndUna) {
		c.rttTiming = false
	}
	c.emitData(flags, c.sndUna, p1, p2)
	return n
}

// segMSS is the payload that fits a data segment now: the send MSS less
// the SACK blocks that the segment will carry (RFC 2018 §3), so no segment
// outgrows the path MTU.
func (c *Conn) segMSS() int {
	return max(c.sndMSS-c.sackOptSpace(), 1)
}

// emitData sends a data segment, adding the urgent pointer while urgent
// data is pending (TCP-URG-1: BSD points after the last urgent byte,
// RFC 1122 at it).
func (c *Conn) emitData(flags uint8, seq uint32, p1, p2 []byte) {
	if c.hasSndUp && seqLEQ(c.sndUp, c.sndUna) {
		c.hasSndUp = false
	}
	if !c.hasSndUp || !seqGT(c.sndUp, seq) {
		c.emitV(flags, seq, p1, p2, nil)
		return
	}
	up := c.sndUp - seq
	if c.p.params.TcpUseRFC1122UrgentPointer {
		up--
	}
	c.urgent = uint16(min(up, 0xFFFF))
	c.emitV(flags|flagURG, seq, p1, p2, nil)
	c.urgent = 0
}

// skipSacked moves SND.NXT, while it resends below SND.MAX after a
// timeout, past ranges the peer SACKed, and returns how far it may send
// before the next SACKed range (RFC 6675 §5.1: use the scoreboard after
// an RTO too).
func (c *Conn) skipSacked() int {
	if len(c.sacked) == 0 || !seqLT(c.sndNxt, c.sndMax) {
		return 1 << 30
	}
	for _, r := range c.sacked {
		if seqLEQ(r.start, c.sndNxt) && seqLT(c.sndNxt, r.end) {
			c.sndNxt = r.end
		}
		if seqLT(c.sndNxt, r.start) {
			return int(r.start - c.sndNxt)
		}
	}
	return 1 << 30
}

// sackedBelow is how many SACKed bytes lie below x: they are not in flight.
func (c *Conn) sackedBelow(x uint32) int {
	n := 0
	for _, r := range c.sacked {
		if !seqLT(r.start, x) {
			break
		}
		e := r.end
		if seqGT(e, x) {
			e = x
		}
		n += int(e - r.start)
	}
	return n
}
