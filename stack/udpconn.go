package stack

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// UDPConn is a UDP socket. It implements net.PacketConn and, when made by
// DialUDP, net.Conn. Deadlines run on the stack's clock.
type UDPConn struct {
	s         *Stack
	laddr     netip.AddrPort
	raddr     netip.AddrPort
	connected bool

	mu            sync.Mutex
	q             []udpDatagram
	head          int
	qbytes        int
	maxBytes      int
	free          [][]byte
	closed        bool
	err           error // pending error for a connected socket (ICMP)
	broadcast     bool
	ttl           uint8
	sockDeadlines // sockdeadline.go
	waiters       int
	wake          chan struct{}
	mc            udpMcast   // multicast options (udpmcast.go)
	qosFlows      []*QoSFlow // installed by SetQoS, ended by Close (qos.go)
}

type udpDatagram struct {
	from netip.AddrPort
	data []byte
}

// ListenUDP opens a socket bound to laddr. The address must be
// unspecified or one of ours; port 0 picks an ephemeral port.
func (s *Stack) ListenUDP(laddr netip.AddrPort) (*UDPConn, error) {
	c, err := s.newUDP(laddr, netip.AddrPort{})
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: udpAddr(laddr), Err: err}
	}
	return c, nil
}

// DialUDP opens a connected socket: it sends to raddr only and receives
// only from it. An unspecified local address is replaced by the route's
// source address.
func (s *Stack) DialUDP(laddr, raddr netip.AddrPort) (*UDPConn, error) {
	if !raddr.Addr().Is4() || raddr.Port() == 0 {
		return nil, &net.OpError{Op: "dial", Net: "udp", Addr: udpAddr(raddr), Err: ErrInvalid}
	}
	c, err := s.newUDP(laddr, raddr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "udp", Source: udpAddr(laddr), Addr: udpAddr(raddr), Err: err}
	}
	return c, nil
}

func (s *Stack) newUDP(laddr, raddr netip.AddrPort) (*UDPConn, error) {
	a := laddr.Addr()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	if !a.Is4() {
		return nil, ErrInvalid
	}
	if raddr.IsValid() && a.IsUnspecified() {
		ri, err := s.Route(raddr.Addr())
		if err != nil {
			return nil, err
		}
		a = ri.Src
	}
	if !a.IsUnspecified() && !s.IsLocalAddr(a) && !isLoopback(a) {
		return nil, ErrAddrNotAvailable
	}
	c := &UDPConn{s: s, raddr: raddr, connected: raddr.IsValid(), maxBytes: s.p.udpRecvQueueBytes,
		wake: make(chan struct{})}
	// bind sets c.laddr under the table lock.
	if _, err := s.udp.bind(c, netip.AddrPortFrom(a, laddr.Port())); err != nil {
		return nil, err
	}
	return c, nil
}

func udpAddr(ap netip.AddrPort) *net.UDPAddr {
	if !ap.IsValid() {
		return nil
	}
	return net.UDPAddrFromAddrPort(ap)
}

// enqueue stores a received datagram; false (counted as udpInErrors) if
// the receive queue is full or the socket closed.
func (c *UDPConn) enqueue(from netip.AddrPort, p []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := &c.s.st
	if c.closed || c.qbytes+len(p) > c.maxBytes || len(c.q)-c.head >= c.s.p.udpRecvQueuePackets {
		inc(&st.UDPInErrors)
		inc(&st.UDPRecvQueueDrops)
		return false
	}
	var b []byte
	if n := len(c.free); n > 0 && cap(c.free[n-1]) >= len(p) {
		b = c.free[n-1][:len(p)]
		c.free = c.free[:n-1]
	} else {
		b = make([]byte, len(p), max(len(p), 2048))
	}
	copy(b, p)
	if c.head > 0 && len(c.q) == cap(c.q) { // compact instead of growing
		n := copy(c.q, c.q[c.head:])
		clear(c.q[n:])
		c.q, c.head = c.q[:n], 0
	}
	c.q = append(c.q, udpDatagram{from, b})
	c.qbytes += len(p)
	c.signalLocked()
	return true
}

// signalLocked wakes blocked readers (only allocates when someone waits).
func (c *UDPConn) signalLocked() {
	if c.waiters > 0 {
		close(c.wake)
		c.wake = make(chan struct{})
	}
}

func (c *UDPConn) setError(ce *ControlError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case ce.Type == icmpTimeExceeded: // SPEC ICMP-7: a soft error, as on BSD
		c.err = ErrHostUnreachable
	case ce.Code == icmpPortUnreachable || ce.Code == icmpProtoUnreachable:
		c.err = ErrConnRefused
	case ce.Code == icmpFragNeeded:
		c.err = ErrNeedsFragmentation
	default:
		c.err = ErrHostUnreachable
	}
	c.signalLocked()
}

// ReadFrom implements net.PacketConn.
func (c *UDPConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// ReadFromAddrPort is ReadFrom without the net.Addr allocation.
func (c *UDPConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	c.mu.Lock()
	for {
		if c.head < len(c.q) {
			d := c.q[c.head]
			c.q[c.head] = udpDatagram{}
			c.head++
			if c.head == len(c.q) {
				c.q, c.head = c.q[:0], 0
			}
			c.qbytes -= len(d.data)
			n := copy(b, d.data)
			if len(c.free) < 8 && cap(d.data) <= 4096 {
				c.free = append(c.free, d.data)
			}
			c.mu.Unlock()
			return n, d.from, nil
		}
		if c.closed {
			c.mu.Unlock()
			return 0, netip.AddrPort{}, c.opErr("read", net.ErrClosed)
		}
		if err := c.err; err != nil {
			c.err = nil
			c.mu.Unlock()
			return 0, netip.AddrPort{}, c.opErr("read", err)
		}
		if !c.rdeadline.IsZero() && !c.s.clk.Now().Before(c.rdeadline) {
			c.mu.Unlock()
			return 0, netip.AddrPort{}, c.opErr("read", os.ErrDeadlineExceeded)
		}
		ch := c.wake
		c.waiters++
		c.mu.Unlock()
		<-ch
		c.mu.Lock()
		c.waiters--
	}
}

func (c *UDPConn) opErr(op string, err error) error {
	oe := &net.OpError{Op: op, Net: "udp", Source: udpAddr(c.laddr), Err: err}
	if c.connected {
		oe.Addr = udpAddr(c.raddr)
	}
	return oe
}

// WriteTo implements net.PacketConn. addr may be a *net.UDPAddr or any
// net.Addr whose String parses as addr:port.
func (c *UDPConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	var ap netip.AddrPort
	switch a := addr.(type) {
	case *net.UDPAddr:
		ap = a.AddrPort()
	case nil:
		return 0, c.opErr("write", ErrInvalid)
	default:
		var err error
		if ap, err = netip.ParseAddrPort(addr.String()); err != nil {
			return 0, c.opErr("write", fmt.Errorf("%w: %v", ErrInvalid, err))
		}
	}
	return c.WriteToAddrPort(b, ap)
}

// WriteToAddrPort sends b to ap.
func (c *UDPConn) WriteToAddrPort(b []byte, ap netip.AddrPort) (int, error) {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if !ap.Addr().Is4() {
		return 0, c.opErr("write", ErrInvalid)
	}
	if c.connected && ap != c.raddr {
		return 0, c.opErr("write", ErrIsConnected)
	}
	c.mu.Lock()
	closed, bcastOK, ttl, wd := c.closed, c.broadcast, c.ttl, c.wdeadline
	c.mu.Unlock()
	if closed {
		return 0, c.opErr("write", net.ErrClosed)
	}
	if !wd.IsZero() && !c.s.clk.Now().Before(wd) {
		return 0, c.opErr("write", os.ErrDeadlineExceeded)
	}
	if !bcastOK && c.s.isBroadcastDst(ap.Addr()) {
		return 0, c.opErr("write", ErrBroadcastNotEnabled)
	}
	if ap.Addr().IsMulticast() {
		return c.writeMulticast(b, ap) // udpmcast.go: TTL 1 unless set (SPEC IP-17, MCAST-4)
	}
	if err := c.s.sendUDP(c.laddr, ap, ttl, b); err != nil {
		return 0, c.opErr("write", err)
	}
	return len(b), nil
}

func (s *Stack) isBroadcastDst(a netip.Addr) bool {
	if a.IsMulticast() {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.isBroadcastLocked(a)
}

// Read implements net.Conn (connected sockets).
func (c *UDPConn) Read(b []byte) (int, error) {
	n, _, err := c.ReadFromAddrPort(b)
	return n, err
}

// Write implements net.Conn; the socket must be connected (DialUDP).
func (c *UDPConn) Write(b []byte) (int, error) {
	if !c.connected {
		return 0, c.opErr("write", ErrInvalid)
	}
	return c.WriteToAddrPort(b, c.raddr)
}

// Close implements net.Conn and net.PacketConn.
func (c *UDPConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opErr("close", net.ErrClosed)
	}
	c.closed = true
	c.stopLocked()
	c.signalLocked()
	c.mu.Unlock()
	c.s.udp.unbind(c)
	c.leaveAllGroups() // udpmcast.go
	c.closeQoSFlows()  // qos.go
	return nil
}

// LocalAddr returns the bound address (*net.UDPAddr).
func (c *UDPConn) LocalAddr() net.Addr { return udpAddr(c.laddr) }

// RemoteAddr returns the connected peer, or nil.
func (c *UDPConn) RemoteAddr() net.Addr {
	if !c.connected {
		return nil
	}
	return udpAddr(c.raddr)
}

// LocalAddrPort is LocalAddr as a netip.AddrPort.
func (c *UDPConn) LocalAddrPort() netip.AddrPort { return c.laddr }

// SetDeadline sets both deadlines.
func (c *UDPConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline on the stack clock.
func (c *UDPConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setReadLocked(c.s.clk, t, func() {
		c.mu.Lock()
		c.signalLocked()
		c.mu.Unlock()
	})
	c.signalLocked()
	return nil
}

// SetWriteDeadline sets the write deadline (sends never block; a passed
// deadline fails them).
func (c *UDPConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wdeadline = t
	c.mu.Unlock()
	return nil
}

// SetBroadcast allows sending to broadcast addresses (SO_BROADCAST).
func (c *UDPConn) SetBroadcast(on bool) {
	c.mu.Lock()
	c.broadcast = on
	c.mu.Unlock()
}

// SetTTL sets the TTL of outgoing datagrams (0 = DefaultTTL); datagrams to
// groups use SetMulticastTTL (default 1) instead.
func (c *UDPConn) SetTTL(ttl uint8) {
	c.mu.Lock()
	c.ttl = ttl
	c.mu.Unlock()
}

// SetReadBuffer bounds the receive queue in bytes (SO_RCVBUF).
func (c *UDPConn) SetReadBuffer(n int) error {
	if n <= 0 {
		return ErrInvalid
	}
	c.mu.Lock()
	c.maxBytes = n
	c.mu.Unlock()
	return nil
}

var (
	_ net.PacketConn = (*UDPConn)(nil)
	_ net.Conn       = (*UDPConn)(nil)
)
