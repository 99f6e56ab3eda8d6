package tcp

import "time"

// The sender's SACK scoreboard (RFC 2018, RFC 6675 §3): the ranges above
// SND.UNA the peer reported holding, ascending and disjoint, kept in place
// in a slice of fixed capacity so updates do not allocate.

// sackRange is [start, end) in sequence space.
type sackRange struct{ start, end uint32 }

// maxSackRanges bounds the scoreboard; ranges beyond it (the highest) are
// forgotten, which only makes the sender more conservative.
const maxSackRanges = 128

// noteSACK merges the peer's SACK blocks into the scoreboard and reports
// whether they covered bytes not SACKed before. A first block below the
// cumulative ACK or inside the second block is a D-SACK (RFC 2883): the
// peer got a segment twice, so a retransmission was spurious; it is counted
// and not added.
func (c *Conn) noteSACK(s *segment) bool {
	if !c.sackOK || s.opts.NumSACK == 0 {
		return false
	}
	n := min(s.opts.NumSACK, len(s.opts.SACK))
	ack := s.h.ack
	first := s.opts.SACK[0]
	if seqLEQ(first.End, ack) || n > 1 && seqGEQ(first.Start, s.opts.SACK[1].Start) && seqLEQ(first.End, s.opts.SACK[1].End) {
		c.p.stats.dsacks.Add(1)
		c.onDSACK(first.Start, first.End)
	}
	before := c.sackedBytes()
	for pass := 0; pass < 2; pass++ {
		for i := 0; i < n; i++ {
			b := s.opts.SACK[i]
			if !seqLT(b.Start, b.End) || !seqGT(b.End, ack) || seqGT(b.End, c.sndMax) {
				continue // stale, empty, D-SACK or bogus
			}
			if seqLT(b.Start, ack) {
				b.Start = ack
			}
			if pass == 0 {
				// Against the holes known before this ACK (rack.go).
				c.noteFilled(b.Start, b.End)
				continue
			}
			if !seqGT(c.sackHigh, c.sndUna) || seqGT(b.End, c.sackHigh) {
				c.sackHigh = b.End
			}
			c.addSacked(b.Start, b.End)
		}
	}
	return c.sackedBytes() != before
}

// addSacked merges [start, end) into the scoreboard in place, keeping
// rack.holeAt (when the hole below each range was first seen) parallel.
func (c *Conn) addSacked(start, end uint32) {
	if c.sacked == nil {
		c.sacked = make([]sackRange, 0, maxSackRanges)
		c.rack.holeAt = make([]time.Time, 0, maxSackRanges)
	}
	s, at := c.sacked, c.rack.holeAt
	i := 0
	for i < len(s) && seqLT(s[i].end, start) {
		i++
	}
	j := i
	for j < len(s) && seqLEQ(s[j].start, end) { // overlaps or touches
		if seqLT(s[j].start, start) {
			start = s[j].start
		}
		if seqGT(s[j].end, end) {
			end = s[j].end
		}
		j++
	}
	// A new range below an older one splits that range's hole, which
	// was overtaken when the older range was first SACKed; a new range
	// above all others has just overtaken what lies below it.
	seen := c.now()
	if i < len(s) {
		seen = at[i]
	}
	switch {
	case j > i: // replace s[i:j] by the merged range (the hole below s[i] stays)
		s[i] = sackRange{start, end}
		s = append(s[:i+1], s[j:]...)
		at = append(at[:i+1], at[j:]...)
	case len(s) < cap(s):
		s = append(s, sackRange{})
		copy(s[i+1:], s[i:])
		s[i] = sackRange{start, end}
		at = append(at, time.Time{})
		copy(at[i+1:], at[i:])
		at[i] = seen
	case i < len(s): // full: forget the highest range to keep this lower one
		copy(s[i+1:], s[i:len(s)-1])
		s[i] = sackRange{start, end}
		copy(at[i+1:], at[i:len(at)-1])
		at[i] = seen
	}
	c.sacked, c.rack.holeAt = s, at
}

// clearSacked forgets the scoreboard (RFC 2018 §8 reneging).
func (c *Conn) clearSacked() {
	c.sacked = c.sacked[:0]
	c.rack.holeAt = c.rack.holeAt[:0]
	c.sackHigh = c.sndUna
}

// trimSacked drops scoreboard ranges below SND.UNA.
func (c *Conn) trimSacked() {
	if !seqGT(c.sackHigh, c.sndUna) {
		c.sackHigh = c.sndUna // pinned, so it never wraps into the future
	}
	s := c.sacked
	i := 0
	for i < len(s) && seqLEQ(s[i].end, c.sndUna) {
		i++
	}
	if i > 0 {
		s = s[:copy(s, s[i:])]
		c.rack.holeAt = c.rack.holeAt[:copy(c.rack.holeAt, c.rack.holeAt[i:])]
	}
	if len(s) > 0 && seqLT(s[0].start, c.sndUna) {
		s[0].start = c.sndUna
	}
	c.sacked = s
}

// sackedBytes is the total SACKed above SND.UNA.
func (c *Conn) sackedBytes() int {
	n := 0
	for _, r := range c.sacked {
		n += int(r.end - r.start)
	}
	return n
}

// dupThresh is RFC 6675's DupThresh: TcpMaxDupAcks (TCP-RTX-4, AMB-11).
func (c *Conn) dupThresh() int { return c.p.params.TcpMaxDupAcks }

// lostAbove is RFC 6675 IsLost for a byte below which blocks ranges
// holding bytes octets were SACKed.
func (c *Conn) lostAbove(blocks, bytes int) bool {
	th := c.dupThresh()
	return blocks >= th || bytes > (th-1)*c.sndMSS
}

// rtxIn is how many bytes of [lo, hi) lie below HighRxt (retransmitted
// in this recovery).
func (c *Conn) rtxIn(lo, hi uint32) int {
	if seqLEQ(c.highRxt, lo) {
		return 0
	}
	if seqLT(c.highRxt, hi) {
		hi = c.highRxt
	}
	return int(hi - lo)
}

// pipe is RFC 6675 §4 SetPipe: the bytes presumed in the network — every
// unSACKed byte not deemed lost, plus every byte retransmitted.
func (c *Conn) pipe() int {
	n := len(c.sacked)
	top := c.sndUna
	if n > 0 {
		top = c.sacked[n-1].end
	}
	p := 0
	if n == maxSackRanges && seqGT(c.sackHigh, top) && seqGT(c.sackHigh, c.sndUna) {
		// Ranges the full scoreboard forgot: everything sent below the
		// highest SACKed byte has arrived or is lost (IsLost: more than
		// DupThresh segments were SACKed above it), so none of it is in
		// the network except what was retransmitted.
		p += c.rtxIn(top, c.sackHigh)
		top = c.sackHigh
	}
	if seqGT(c.sndMax, top) {
		p += int(c.sndMax-top) + c.rtxIn(top, c.sndMax)
	}
	above, blocks := 0, 0
	for k := n - 1; k >= 0; k-- {
		r := c.sacked[k]
		above += int(r.end - r.start)
		blocks++
		lo := c.sndUna
		if k > 0 {
			lo = c.sacked[k-1].end
		}
		if !seqLT(lo, r.start) {
			continue
		}
		if !c.holeLost(k, blocks, above) {
			p += int(r.start - lo)
		}
		p += c.rtxIn(lo, r.start)
	}
	return p
}

// nextRtx is RFC 6675 NextSeg rule 1 (lostOnly: the first byte above
// HighRxt in a hole deemed lost) or rule 3 (any hole above HighRxt below
// the highest SACKed byte). It returns the rest of that hole.
func (c *Conn) nextRtx(lostOnly bool) (start, end uint32, ok bool) {
	return c.nextRtxFrom(c.highRxt, lostOnly)
}

// nextRtxFrom is nextRtx with from in place of HighRxt.
func (c *Conn) nextRtxFrom(from uint32, lostOnly bool) (start, end uint32, ok bool) {
	above, blocks := c.sackedBytes(), len(c.sacked)
	lo := c.sndUna
	for k, r := range c.sacked {
		if seqLT(lo, r.start) && (!lostOnly || c.holeLost(k, blocks, above)) {
			s := lo
			if seqLT(s, from) {
				s = from
			}
			if seqLT(s, r.start) {
				return s, r.start, true
			}
		}
		above -= int(r.end - r.start)
		blocks--
		lo = r.end
	}
	return 0, 0, false
}

// sndUnaLost reports IsLost(SND.UNA): enough SACKed above it to start
// recovery before DupThresh duplicate ACKs (RFC 6675 §5 step 4).
func (c *Conn) sndUnaLost() bool {
	return len(c.sacked) > 0 && c.holeLost(0, len(c.sacked), c.sackedBytes())
}
