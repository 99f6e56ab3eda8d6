package stack

import (
	"net/netip"
	"sync"

	"github.com/stapel-net/stapel/wire"
)

// udpTable binds UDP sockets to local addresses and ports (SPEC §10).
type udpTable struct {
	s     *Stack
	mu    sync.Mutex
	ports map[uint16][]*UDPConn
	next  uint16 // last ephemeral port handed out
}

// firstEphemeral is the bottom of the ephemeral range 1024..MaxUserPort
// (SPEC TCP-PORT-1 applies to UDP as well).
const firstEphemeral = 1024

func (t *udpTable) init(s *Stack) {
	t.s = s
	t.ports = make(map[uint16][]*UDPConn)
	t.next = firstEphemeral - 1
}

// bindLocked reserves laddr for c. Port 0 picks the next free ephemeral
// port in order, as Windows does (1025, 1026, ...). A port is in use when
// an existing socket has the same address or either is the wildcard.
func (t *udpTable) bind(c *UDPConn, laddr netip.AddrPort) (netip.AddrPort, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	addr := laddr.Addr()
	port := laddr.Port()
	if port == 0 {
		top := t.s.p.maxUserPort
		n := int(top) - firstEphemeral + 1
		for i := 0; i < n; i++ {
			t.next++
			if t.next > top || t.next < firstEphemeral {
				t.next = firstEphemeral
			}
			if !t.inUseLocked(addr, t.next) {
				port = t.next
				break
			}
		}
		if port == 0 {
			return netip.AddrPort{}, ErrNoPorts
		}
	} else if t.inUseLocked(addr, port) {
		return netip.AddrPort{}, ErrAddrInUse
	}
	ap := netip.AddrPortFrom(addr, port)
	c.laddr = ap // under t.mu: udpInput and UDPEndpoints read it there
	t.ports[port] = append(t.ports[port], c)
	return ap, nil
}

func (t *udpTable) inUseLocked(addr netip.Addr, port uint16) bool {
	for _, o := range t.ports[port] {
		oa := o.laddr.Addr()
		if oa == addr || oa.IsUnspecified() || addr.IsUnspecified() {
			return true
		}
	}
	return false
}

func (t *udpTable) unbind(c *UDPConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := c.laddr.Port()
	l := t.ports[p]
	for i, o := range l {
		if o == c {
			l = append(l[:i], l[i+1:]...)
			break
		}
	}
	if len(l) == 0 {
		delete(t.ports, p)
	} else {
		t.ports[p] = l
	}
}

func (t *udpTable) closeAll() {
	t.mu.Lock()
	var all []*UDPConn
	for _, l := range t.ports {
		all = append(all, l...)
	}
	t.mu.Unlock()
	for _, c := range all {
		c.Close()
	}
}

// udpInput demultiplexes a datagram: the best unicast match, or every
// match for broadcasts and multicasts. A socket bound to a specific
// address also receives broadcasts arriving on that address's interface
// (as Windows does; NetBT depends on it).
func (s *Stack) udpInput(d *delivery) {
	h, payload, err := wire.ParseUDP(d.payload, d.hdr.Src, d.hdr.Dst)
	if err != nil {
		inc(&s.st.UDPInErrors)
		return
	}
	if h.DstPort == DHCPClientPort && s.dhcpInput(d, h.SrcPort, payload) { // dhcpif.go
		return
	}
	from := netip.AddrPortFrom(d.hdr.Src, h.SrcPort)
	t := &s.udp
	t.mu.Lock()
	var best *UDPConn
	bestScore := -1
	matched, delivered := false, false
	for _, c := range t.ports[h.DstPort] {
		score := 0
		la := c.laddr.Addr()
		switch {
		case la.IsUnspecified():
		case la == d.hdr.Dst:
			score += 2
		case d.bcast && s.addrOnIfIndex(la, d.ifIndex):
			score++
		default:
			continue
		}
		if c.connected {
			if c.raddr != from {
				continue
			}
			score += 4
		}
		matched = true
		if d.bcast {
			delivered = c.enqueue(from, payload) || delivered
			continue
		}
		if score > bestScore {
			best, bestScore = c, score
		}
	}
	t.mu.Unlock()
	if best != nil {
		delivered = best.enqueue(from, payload)
	}
	if delivered {
		inc(&s.st.UDPInDatagrams)
		return
	}
	if matched {
		return // receive queue full: counted by enqueue as udpInErrors
	}
	inc(&s.st.UDPNoPorts)
	if !d.bcast {
		s.mu.Lock()
		s.icmpErrorLocked(d.raw, &d.hdr, icmpDestUnreachable, icmpPortUnreachable, [4]byte{}, false)
		s.mu.Unlock()
	}
}

// addrOnIfIndex reports whether a is an address of interface index.
func (s *Stack) addrOnIfIndex(a netip.Addr, index int) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ifc := s.local[a]
	return ifc != nil && ifc.index == index
}

// handleError passes ICMP errors to the connected socket they concern
// (unconnected sockets ignore them, as BSD sockets do).
func (t *udpTable) handleError(ce *ControlError) {
	if len(ce.Payload) < 4 || (ce.Type != icmpDestUnreachable && ce.Type != icmpTimeExceeded) {
		return
	}
	sport := uint16(ce.Payload[0])<<8 | uint16(ce.Payload[1])
	dport := uint16(ce.Payload[2])<<8 | uint16(ce.Payload[3])
	raddr := netip.AddrPortFrom(ce.Dst, dport)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.ports[sport] {
		if c.connected && c.raddr == raddr {
			c.setError(ce)
		}
	}
}

// sendUDP builds and sends one datagram from laddr to raddr.
func (s *Stack) sendUDP(laddr, raddr netip.AddrPort, ttl uint8, b []byte) error {
	if len(b) > maxDatagram-wire.IPv4MinHeaderLen-wire.UDPHeaderLen {
		return ErrMessageTooLong
	}
	src := laddr.Addr()
	if !src.IsValid() || src.IsUnspecified() {
		ri, err := s.routeNoted(raddr.Addr())
		if err != nil {
			inc(&s.st.IPOutRequests)
			inc(&s.st.IPOutNoRoutes)
			return err
		}
		src = ri.Src
	}
	n := wire.UDPHeaderLen + len(b)
	bp := txBufPool.Get().(*[]byte)
	defer txBufPool.Put(bp)
	buf := (*bp)[:txHeadroom+n]
	seg := buf[txHeadroom:]
	copy(seg[wire.UDPHeaderLen:], b)
	dst := raddr.Addr()
	wire.PutUDP(seg, src, dst, laddr.Port(), raddr.Port())
	if err := s.send(&txReq{buf: buf, src: src, dst: dst, proto: wire.ProtoUDP, ttl: ttl}, n); err != nil {
		return err
	}
	inc(&s.st.UDPOutDatagrams)
	return nil
}

// routeNoted is Route for a datagram about to be sent: under the read
// lock, unless dst goes by a default route, whose RCE dead gateway
// detection counts (noteRCELocked needs the write lock).
func (s *Stack) routeNoted(dst netip.Addr) (RouteInfo, error) {
	s.mu.RLock()
	if !s.needsRCELocked(dst) {
		defer s.mu.RUnlock()
		return s.routeInfoLocked(dst, netip.Addr{})
	}
	s.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.routeInfoLocked(dst, netip.Addr{})
}
