package tcp

import (
	"net/netip"

	"github.com/stapel-net/stapel/wire"
)

// HandleSegment processes one inbound segment (header+payload) carried in
// an IP datagram from src to dst. segment is only read during the call.
func (p *Protocol) HandleSegment(src, dst netip.Addr, b []byte) {
	p.handleSegment(src, dst, b, false, 0)
}

// HandleSegmentOffload is HandleSegment for a segment whose checksum the
// device verified or that never crossed a wire (link.GSOInfo NeedsCsum
// or CsumValid): the checksum is not checked. gsoSize > 0 marks a
// super-segment the device received or was handed as gsoSize-byte
// segments (link.GSOTCPv4); it counts as that many segments for
// acknowledgment (TCP-ACK-1: every second segment).
func (p *Protocol) HandleSegmentOffload(src, dst netip.Addr, b []byte, gsoSize int) {
	p.handleSegment(src, dst, b, true, gsoSize)
}

func (p *Protocol) handleSegment(src, dst netip.Addr, b []byte, trusted bool, gsoSize int) {
	var h segHeader
	var data []byte
	var err error
	if trusted {
		h, data, err = parseSegmentNoChecksum(b)
	} else {
		h, data, err = parseSegment(b, src, dst)
	}
	p.stats.inSegs.Add(1) // MIB-II: including those received in error
	if err != nil {
		p.stats.inErrs.Add(1)
		return
	}
	if !src.Is4() || !dst.Is4() || src.IsMulticast() || dst.IsMulticast() || src.IsUnspecified() ||
		dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || h.srcPort == 0 || h.dstPort == 0 {
		p.stats.inErrs.Add(1) // RFC 1122 §4.2.3.10: not for a connection
		return
	}
	s := segment{h: h, data: data, segs: 1}
	if gsoSize > 0 && len(data) > gsoSize {
		s.segs = (len(data) + gsoSize - 1) / gsoSize
	}
	if len(h.options) > 0 {
		o, err := wire.ParseTCPOptions(h.options)
		if err != nil {
			p.stats.badOptions.Add(1)
		}
		s.opts = o
	}
	local := netip.AddrPortFrom(dst, h.dstPort)
	id := connID{local: local, remote: netip.AddrPortFrom(src, h.srcPort)}
	c := p.conns.get(id)
	var l *Listener
	if c == nil {
		p.mu.Lock()
		l = p.listeners[local]
		if l == nil {
			l = p.listeners[netip.AddrPortFrom(netip.IPv4Unspecified(), h.dstPort)]
		}
		p.mu.Unlock()
	}
	if c != nil {
		c.mu.Lock()
		if c.state != StateClosed {
			c.nowT, c.nowSet = p.clk.Now(), true
			c.input(&s)
			if c.state != StateClosed {
				c.output()
			}
			c.nowSet = false
			reopen := c.reopen
			c.reopen = false
			c.unlock()
			if !reopen {
				return
			}
		} else {
			c.unlock()
		}
		p.mu.Lock()
		if l = p.listeners[local]; l == nil {
			l = p.listeners[netip.AddrPortFrom(netip.IPv4Unspecified(), h.dstPort)]
		}
		p.mu.Unlock()
	}
	switch {
	case h.flags&flagRST != 0:
		return
	case l != nil && h.flags&(flagSYN|flagACK) == flagSYN:
		l.handleSYN(&s, id)
	default:
		p.sendReset(id, &s) // closed port (RFC 9293 §3.10.7.1)
	}
}

// sendReset answers a segment that has no connection.
func (p *Protocol) sendReset(id connID, s *segment) {
	h := segHeader{srcPort: id.local.Port(), dstPort: id.remote.Port()}
	if s.has(flagACK) {
		h.seq = s.h.ack
		h.flags = flagRST
	} else {
		h.ack = s.h.seq + s.seglen()
		h.flags = flagRST | flagACK
	}
	bp := getBuf(headerLen)
	putHeader(*bp, &h, nil, id.local.Addr(), id.remote.Addr(), 0)
	p.stats.outSegs.Add(1)
	p.stats.outRsts.Add(1)
	p.net.Output(id.local.Addr(), id.remote.Addr(), p.params.DefaultTTL, 0, false, (*bp)[:headerLen])
	putBuf(bp)
}

// ICMP types and codes TCP reacts to.
const (
	icmpDestUnreachable = 3
	icmpFragNeeded      = 4
	icmpTimeExceeded    = 11
)

// HandleICMP processes an ICMP error about a segment we sent: src and dst
// are the original datagram's, quoted its first bytes of TCP header.
// Fragmentation Needed lowers the MSS (TCP-PMTU-3); unreachables are soft
// errors reported if the connection then times out (RFC 1122 §4.2.3.9),
// and so is Time Exceeded (a routing loop or too small a TTL), reported as
// EHOSTUNREACH as other stacks do.
func (p *Protocol) HandleICMP(typ, code uint8, mtu int, src, dst netip.Addr, quoted []byte) {
	if len(quoted) < 8 || (typ != icmpDestUnreachable && typ != icmpTimeExceeded) {
		return
	}
	sport := uint16(quoted[0])<<8 | uint16(quoted[1])
	dport := uint16(quoted[2])<<8 | uint16(quoted[3])
	seq := uint32(quoted[4])<<24 | uint32(quoted[5])<<16 | uint32(quoted[6])<<8 | uint32(quoted[7])
	id := connID{local: netip.AddrPortFrom(src, sport), remote: netip.AddrPortFrom(dst, dport)}
	c := p.conns.get(id)
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.unlock()
	if c.state == StateClosed || seqLT(seq, c.sndUna) || seqGT(seq, c.sndMax) {
		return // RFC 5927: must quote a sequence number in flight
	}
	if typ == icmpTimeExceeded {
		c.soft = ErrHostUnreachable
		return
	}
	switch code {
	case icmpFragNeeded:
		if mtu <= 0 {
			return
		}
		mss := max(mssFor(max(mtu, 88))-c.optOverhead(), 48)
		if mss < c.sndMSS {
			c.sndMSS = mss
			c.mtu = max(mtu, 88)
			if c.state.synchronized() {
				c.sndNxt = c.sndUna // resend at the new size now
				c.output()
			}
		}
	case 0:
		c.soft = ErrNetUnreachable
	case 1:
		c.soft = ErrHostUnreachable
	case 2, 3:
		c.soft = ErrConnRefused
	}
}
