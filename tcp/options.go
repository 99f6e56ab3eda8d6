package tcp

import (
	"time"

	"github.com/stapel-net/stapel/wire"
)

// RFC 1323 window scaling and timestamps, RFC 2018 SACK: negotiation and
// per-segment handling (TCP-WIN-3, TCP-WIN-4, TCP-SACK-1).

const tsOptLen = 12 // NOP, NOP, kind 8, len 10

// initiateWS/TS: Tcp1323Opts absent (-1) initiates neither [AMB-7].
func (p *Protocol) initiateWS() bool { return p.params.Tcp1323Opts > 0 && p.params.Tcp1323Opts&1 != 0 }
func (p *Protocol) initiateTS() bool { return p.params.Tcp1323Opts > 0 && p.params.Tcp1323Opts&2 != 0 }

// acceptWS/TS: absent accepts both when the peer offers them.
func (p *Protocol) acceptWS() bool { return p.params.Tcp1323Opts == -1 || p.params.Tcp1323Opts&1 != 0 }
func (p *Protocol) acceptTS() bool { return p.params.Tcp1323Opts == -1 || p.params.Tcp1323Opts&2 != 0 }

// wantedScale is the shift that lets the configured window (TcpWindowSize
// or the socket's buffer) be advertised; 0 for windows up to 64 KiB.
func (c *Conn) wantedScale() uint8 {
	w := c.p.params.TcpWindowSize
	if c.rcvCapSet {
		w = c.rcvCap
	}
	if g := c.p.params.GlobalMaxTcpWindowSize; g > 0 && w > g {
		w = g
	}
	var s uint8
	for w>>s > 0xFFFF && s < 14 {
		s++
	}
	return s
}

// synOptions are the options of our SYN (active) or SYN-ACK (passive,
// echoing what the peer offered and we accept).
func (c *Conn) synOptions() wire.TCPOptions {
	o := wire.TCPOptions{MSS: uint16(mssFor(c.mtu)), HasMSS: true}
	if c.offerWS {
		o.HasWScale, o.WScale = true, c.rcvScale
	}
	if c.offerTS {
		o.HasTimestamp, o.TSVal, o.TSEcr = true, c.tsNow(), c.tsRecent
	}
	o.SACKPermitted = c.offerSACK
	return o
}

// offerActive decides what our SYN offers.
func (c *Conn) offerActive() {
	c.offerWS = c.p.initiateWS()
	c.offerTS = c.p.initiateTS()
	c.offerSACK = c.p.params.SackOpts
	if c.offerWS {
		c.rcvScale = c.wantedScale()
	}
}

// negotiate applies the peer's SYN options: each extension is on only if
// both SYNs carried it. For a passive open our SYN-ACK echoes what we
// accept. No scaling while under SYN attack (SEC-3).
func (c *Conn) negotiate(s *segment, passive bool) {
	o := &s.opts
	if passive {
		c.offerWS = o.HasWScale && c.p.acceptWS() && !c.p.underSynAttack()
		c.offerTS = o.HasTimestamp && c.p.acceptTS()
		c.offerSACK = o.SACKPermitted && c.p.params.SackOpts
		if c.offerWS {
			c.rcvScale = c.wantedScale()
		}
	}
	c.wsOK = c.offerWS && o.HasWScale
	c.tsOK = c.offerTS && o.HasTimestamp
	c.sackOK = c.offerSACK && o.SACKPermitted
	if c.wsOK {
		c.sndScale = min(o.WScale, 14)
	} else {
		c.sndScale, c.rcvScale = 0, 0
	}
	if c.tsOK {
		c.tsRecent = o.TSVal
	}
}

// tsNow is our timestamp clock: milliseconds, offset per connection.
func (c *Conn) tsNow() uint32 {
	return uint32(c.now().Sub(c.p.epoch)/time.Millisecond) + c.iss
}

// segOptions returns the options for a non-SYN segment, or nil.
func (c *Conn) segOptions(o *wire.TCPOptions, ack bool) *wire.TCPOptions {
	used := false
	if c.tsOK {
		o.HasTimestamp, o.TSVal, o.TSEcr = true, c.tsNow(), c.tsRecent
		used = true
	}
	if c.sackOK && ack && (len(c.ooo) > 0 || c.hasDSACK) {
		o.NumSACK = c.sackBlocks(&o.SACK)
		used = used || o.NumSACK > 0
	}
	if !used {
		return nil
	}
	return o
}

// sackBlocks reports the out-of-order data we hold (RFC 2018 §4): the
// block with the most recent arrival first, then the others.
func (c *Conn) sackBlocks(out *[4]wire.SACKBlock) int {
	var blocks [8]wire.SACKBlock
	n := 0
	for _, o := range c.ooo {
		start, end := o.seq, o.seq+uint32(len(o.data))
		if o.fin {
			end++
		}
		if n > 0 && seqLEQ(start, blocks[n-1].End) {
			if seqGT(end, blocks[n-1].End) {
				blocks[n-1].End = end
			}
			continue
		}
		if n == len(blocks) {
			break
		}
		blocks[n] = wire.SACKBlock{Start: start, End: end}
		n++
	}
	limit := c.sackLimit()
	k := 0
	if c.hasDSACK {
		// RFC 2883: the duplicate first, once.
		out[0] = wire.SACKBlock{Start: c.dsack.start, End: c.dsack.end}
		k = 1
		c.hasDSACK = false
	}
	for i := 0; i < n && k < limit; i++ {
		if seqLEQ(blocks[i].Start, c.lastOOO) && seqLT(c.lastOOO, blocks[i].End) {
			out[k] = blocks[i]
			k++
			blocks[i].End = blocks[i].Start // used
		}
	}
	for i := 0; i < n && k < limit; i++ {
		if blocks[i].End != blocks[i].Start {
			out[k] = blocks[i]
			k++
		}
	}
	return k
}

// noteTimestamp updates TS.Recent (RFC 7323 §4.3) and returns an RTT
// sample from TSecr when the segment acknowledges new data.
func (c *Conn) noteTimestamp(s *segment) {
	if !c.tsOK || !s.opts.HasTimestamp {
		return
	}
	if seqLEQ(s.h.seq, c.lastAckSent) {
		c.tsRecent = s.opts.TSVal
	}
}

// sackLimit is how many SACK blocks fit beside the other options.
func (c *Conn) sackLimit() int {
	if c.tsOK {
		return 3
	}
	return 4
}

// sackOptSpace bounds the option bytes SACK blocks will take in the next
// segment we send.
func (c *Conn) sackOptSpace() int {
	if !c.sackOK {
		return 0
	}
	k := len(c.ooo)
	if c.hasDSACK {
		k++
	}
	if k == 0 {
		return 0
	}
	return 4 + 8*min(k, c.sackLimit())
}

// noteDuplicate records data received twice for a D-SACK (RFC 2883).
func (c *Conn) noteDuplicate(start, end uint32) {
	if !seqLT(start, end) {
		return
	}
	c.p.stats.dupSegsIn.Add(1)
	if c.sackOK {
		c.dsack, c.hasDSACK = sackRange{start, end}, true
	}
}
