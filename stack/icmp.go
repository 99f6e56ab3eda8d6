package stack

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/stapel-net/stapel/wire"
)

const (
	icmpDestUnreachable  = wire.ICMPDestUnreachable
	icmpTimeExceeded     = wire.ICMPTimeExceeded
	icmpNetUnreachable   = wire.ICMPNetUnreachable
	icmpHostUnreachable  = wire.ICMPHostUnreachable
	icmpProtoUnreachable = wire.ICMPProtocolUnreachable
	icmpPortUnreachable  = wire.ICMPPortUnreachable
	icmpFragNeeded       = wire.ICMPFragmentationNeeded
	icmpTTLExceeded      = wire.ICMPTTLExceeded
	icmpReasmExceeded    = wire.ICMPReassemblyTimeExceeded
)

// tokenBucket limits ICMP errors: burst tokens, one more every interval.
// Refilled lazily from the clock, so it needs no timer.
type tokenBucket struct {
	tokens, burst int
	interval      time.Duration
	last          time.Time
}

func (b *tokenBucket) init(burst int, interval time.Duration, now time.Time) {
	b.tokens, b.burst, b.interval, b.last = burst, burst, interval, now
}

func (b *tokenBucket) take(now time.Time) bool {
	if b.interval > 0 && now.After(b.last) {
		n := int(now.Sub(b.last) / b.interval)
		if n > 0 {
			b.tokens = min(b.burst, b.tokens+n)
			b.last = b.last.Add(time.Duration(n) * b.interval)
		}
		if b.tokens == b.burst {
			b.last = now
		}
	}
	if b.tokens <= 0 {
		return false
	}
	b.tokens--
	return true
}

// icmpInput handles an ICMP message for us (called without s.mu).
func (s *Stack) icmpInput(d *delivery) {
	inc(&s.st.ICMPInMsgs)
	m, err := wire.ParseICMPv4(d.payload)
	if err != nil {
		inc(&s.st.ICMPInErrors)
		return
	}
	if c := s.st.icmpIn(m.Type); c != nil {
		inc(c)
	}
	switch m.Type {
	case wire.ICMPEcho: // SPEC ICMP-5
		if d.bcast {
			return // no answer to broadcast/multicast pings (smurf amplification)
		}
		s.mu.Lock()
		seg := s.txSegLocked(len(d.payload))
		rep := wire.ICMPv4{Type: wire.ICMPEchoReply, Rest: m.Rest, Body: m.Body}
		rep.Put(seg)
		s.sendICMPLocked(&txReq{src: d.hdr.Dst, dst: d.hdr.Src, proto: wire.ProtoICMP, tos: d.hdr.TOS}, wire.ICMPEchoReply, len(seg))
		s.mu.Unlock()
	case wire.ICMPEchoReply:
		s.echo.deliver(EchoEvent{From: d.hdr.Src, Seq: m.Seq(), Type: m.Type, Code: m.Code, TTL: d.hdr.TTL,
			Size: len(m.Body), At: s.clk.Now()}, m.ID())
	case wire.ICMPTimestamp:
		if d.bcast || len(m.Body) < wire.ICMPTimestampLen {
			return
		}
		now := s.clk.Now().UTC()
		ms := uint32(now.Sub(now.Truncate(24*time.Hour)) / time.Millisecond)
		ts, _ := m.Timestamps()
		ts.Receive, ts.Transmit = ms, ms
		s.mu.Lock()
		seg := s.txSegLocked(wire.ICMPv4HeaderLen + wire.ICMPTimestampLen)
		ts.Put(seg[wire.ICMPv4HeaderLen:])
		rep := wire.ICMPv4{Type: wire.ICMPTimestampReply, Rest: m.Rest, Body: seg[wire.ICMPv4HeaderLen:]}
		rep.Put(seg)
		s.sendICMPLocked(&txReq{src: d.hdr.Dst, dst: d.hdr.Src, proto: wire.ProtoICMP}, rep.Type, len(seg))
		s.mu.Unlock()
	case wire.ICMPAddressMaskRequest: // SPEC ICMP-4
		if !s.p.addrMaskReply {
			return
		}
		s.mu.Lock()
		ifc := s.ifaceByIndexLocked(d.ifIndex)
		var mask netip.Addr
		src := d.hdr.Dst
		if ifc != nil {
			for _, a := range ifc.addrs {
				if a.state == addrActive && (a.prefix.Addr() == d.hdr.Dst || !mask.IsValid()) {
					mask = prefixMask(a.prefix.Bits())
					if d.bcast {
						src = a.prefix.Addr()
					}
				}
			}
		}
		if mask.IsValid() {
			dst := d.hdr.Src
			if dst.IsUnspecified() {
				dst = limitedBroadcast
			}
			seg := s.txSegLocked(wire.ICMPv4HeaderLen + wire.ICMPAddressMaskLen)
			wire.PutAddressMask(seg[wire.ICMPv4HeaderLen:], mask)
			rep := wire.ICMPv4{Type: wire.ICMPAddressMaskReply, Rest: m.Rest, Body: seg[wire.ICMPv4HeaderLen:]}
			rep.Put(seg)
			s.sendICMPLocked(&txReq{src: src, dst: dst, proto: wire.ProtoICMP}, rep.Type, len(seg))
		}
		s.mu.Unlock()
	case wire.ICMPDestUnreachable, wire.ICMPTimeExceeded, wire.ICMPParameterProblem, wire.ICMPSourceQuench:
		s.icmpErrorInput(d, &m)
	case wire.ICMPRedirect:
		s.redirectInput(d, &m)
	case wire.ICMPRouterAdvertisement:
		s.routerAdvertInput(d, &m)
	}
}

// icmpErrorInput passes an ICMP error to whoever sent the quoted datagram:
// an echo socket (by echo ID) or the transport named in the quote.
func (s *Stack) icmpErrorInput(d *delivery, m *wire.ICMPv4) {
	qh, qp, err := wire.ParseIPv4Quote(m.Body)
	if err != nil || len(qp) < 8 {
		inc(&s.st.ICMPInErrors)
		return
	}
	mtu := 0
	if m.Type == wire.ICMPDestUnreachable && m.Code == wire.ICMPFragmentationNeeded {
		mtu = int(m.NextHopMTU())
		s.mu.Lock()
		if now := s.fragNeededLocked(&qh, mtu); now > 0 {
			mtu = now // the MTU in force (plateau estimate, 88 floor)
		}
		s.mu.Unlock()
	}
	if qh.Protocol == wire.ProtoICMP {
		if qp[0] == wire.ICMPEcho {
			s.echo.deliver(EchoEvent{From: d.hdr.Src, Seq: binary.BigEndian.Uint16(qp[6:8]), Type: m.Type, Code: m.Code,
				TTL: d.hdr.TTL, At: s.clk.Now(), MTU: mtu}, binary.BigEndian.Uint16(qp[4:6]))
		}
		return
	}
	ce := ControlError{Type: m.Type, Code: m.Code, MTU: mtu, Src: qh.Src, Dst: qh.Dst, Proto: qh.Protocol, Payload: qp, From: d.hdr.Src}
	s.deliverControlError(&ce)
}

// sendICMPLocked sends the ICMP message in the transmit buffer and counts it.
func (s *Stack) sendICMPLocked(r *txReq, typ uint8, n int) error {
	err := s.sendLocked(r, n)
	if err != nil {
		inc(&s.st.ICMPOutErrors)
		return err
	}
	inc(&s.st.ICMPOutMsgs)
	if c := s.st.icmpOut(typ); c != nil {
		inc(c)
	}
	return nil
}

// icmpErrorLocked sends an ICMP error about datagram orig (header oh),
// unless RFC 1122 3.2.2 forbids it: never about an ICMP error, a datagram
// to a broadcast or multicast address (or in a link-layer broadcast), a
// non-first fragment, or a source that is not a unicast host. Errors are
// rate limited by a token bucket (burst 50, then 100/s).
func (s *Stack) icmpErrorLocked(orig []byte, oh *wire.IPv4Header, typ, code uint8, rest [4]byte, linkBcast bool) {
	if !s.icmpErrorAllowedLocked(orig, oh, linkBcast) {
		inc(&s.st.ICMPErrorSuppressed)
		return
	}
	if !s.icmpRate.take(s.clk.Now()) {
		inc(&s.st.ICMPRateLimited)
		return
	}
	// Quote the IP header and the first 8 data bytes (RFC 792).
	q := min(len(orig), oh.IHL+8)
	seg := s.txSegLocked(wire.ICMPv4HeaderLen + q)
	copy(seg[wire.ICMPv4HeaderLen:], orig[:q])
	m := wire.ICMPv4{Type: typ, Code: code, Rest: rest, Body: seg[wire.ICMPv4HeaderLen:]}
	m.Put(seg)
	var src netip.Addr
	if _, ok := s.local[oh.Dst]; ok {
		src = oh.Dst
	}
	s.sendICMPLocked(&txReq{src: src, dst: oh.Src, proto: wire.ProtoICMP}, typ, len(seg))
}

func (s *Stack) icmpErrorAllowedLocked(orig []byte, oh *wire.IPv4Header, linkBcast bool) bool {
	if linkBcast || oh.FragOff != 0 {
		return false
	}
	if oh.Protocol == wire.ProtoICMP {
		if len(orig) <= oh.IHL {
			return false
		}
		switch orig[oh.IHL] {
		case wire.ICMPEcho, wire.ICMPEchoReply, wire.ICMPTimestamp, wire.ICMPTimestampReply,
			wire.ICMPAddressMaskRequest, wire.ICMPAddressMaskReply, 15, 16:
		default:
			return false // an error (or unknown type): never answer it
		}
	}
	if s.isBroadcastLocked(oh.Dst) {
		return false
	}
	src := oh.Src
	if !src.Is4() || src.IsUnspecified() || src.IsMulticast() || src.As4()[0] >= 240 || s.isBroadcastLocked(src) {
		return false
	}
	if isLoopback(src) && !isLoopback(oh.Dst) {
		return false
	}
	return true
}

// prefixMask returns the netmask for bits as an address.
func prefixMask(bits int) netip.Addr {
	var m [4]byte
	for i := 0; i < bits; i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(m)
}
