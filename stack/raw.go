package stack

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stapel-net/stapel/wire"
)

// Raw IP sockets (SOCK_RAW; SPEC MCAST-5 and the Winsock rules).
//
// A RawConn is bound to one IP protocol. It receives a copy of every
// datagram of that protocol delivered to this host (after reassembly),
// whole, IP header included, as Windows and BSD raw sockets do; the
// stack's own handling goes on as well, so an ICMP echo request is both
// answered by the stack and seen by raw ICMP sockets. A socket bound to
// an address sees only datagrams to that address. Datagrams arriving on
// an interface whose RawIpAllowedProtocols (IP-21) refuses the protocol
// reach no raw socket (counted once, secFilterRawDrops). Broadcasts and
// multicasts to groups the host has joined are delivered too (MCAST-5).
//
// Sending: by default the stack builds the header (protocol, source from
// the bound address or the route, TTL, ID, checksum) and b is the
// payload. With SetHeaderIncluded (IP_HDRINCL) b is a whole datagram:
// the stack keeps its source (unspecified = chosen by route), destination,
// protocol, TOS, TTL (0 = default), DF and options, and fills in the
// total length, ID and checksum itself and fragments as needed.
//
// TCP and UDP cannot be opened raw: their datagrams belong to the
// stack's sockets (Windows' later rule; it keeps raw sockets from
// spoofing or stealing transport traffic).
//
// WS-6 (administrators only unless AllowUserRawAccess=1) has nothing to
// decide here: Stapel has no user accounts, raw sockets exist only for
// the program that embeds the stack, and the daemon offers none to its
// tools. The TOS of an IP_HDRINCL header is sent as given
// (DisableUserTOSSetting, IP-19, is not applied to it yet).

// defaultRawQueue bounds a raw socket's receive queue (datagrams); past
// it, datagrams are dropped and counted (rawRecvQueueDrops, Drops).
const defaultRawQueue = 256

// RawConn is a raw IP socket. It implements net.PacketConn with
// *net.IPAddr addresses. Deadlines run on the stack's clock.
type RawConn struct {
	s     *Stack
	proto uint8
	laddr netip.Addr // unspecified = any of ours
	drops atomic.Uint64

	mu            sync.Mutex
	q             [][]byte
	maxQ          int
	closed        bool
	hdrIncl       bool
	broadcast     bool
	ttl           uint8
	sockDeadlines // sockdeadline.go
	waiters       int
	wake          chan struct{}
	joins         []rawJoin // rawmcast.go
}

// rawTable holds the open raw sockets by protocol: copy-on-write lists,
// so delivery reads them with one atomic load and no lock.
type rawTable struct {
	mu    sync.Mutex // serialises changes
	socks [256]atomic.Pointer[[]*RawConn]
}

// ListenRaw opens a raw socket for IP protocol proto (1..255, not TCP or
// UDP), bound to laddr (unspecified or invalid = all our addresses).
func (s *Stack) ListenRaw(proto uint8, laddr netip.Addr) (*RawConn, error) {
	if !laddr.IsValid() {
		laddr = netip.IPv4Unspecified()
	}
	laddr = laddr.Unmap()
	oe := func(err error) error {
		return &net.OpError{Op: "listen", Net: fmt.Sprintf("ip4:%d", proto), Addr: ipAddr(laddr), Err: err}
	}
	if proto == 0 || proto == wire.ProtoTCP || proto == wire.ProtoUDP || !laddr.Is4() {
		return nil, oe(ErrInvalid)
	}
	if !laddr.IsUnspecified() && !s.IsLocalAddr(laddr) && !isLoopback(laddr) {
		return nil, oe(ErrAddrNotAvailable)
	}
	c := &RawConn{s: s, proto: proto, laddr: laddr, maxQ: defaultRawQueue, wake: make(chan struct{}),
		hdrIncl: proto == 255} // IPPROTO_RAW sends whole datagrams
	t := &s.raw
	t.mu.Lock()
	var l []*RawConn
	if old := t.socks[proto].Load(); old != nil {
		l = append(l, *old...)
	}
	l = append(l, c)
	t.socks[proto].Store(&l)
	t.mu.Unlock()
	return c, nil
}

func ipAddr(a netip.Addr) *net.IPAddr {
	if !a.IsValid() {
		return nil
	}
	return &net.IPAddr{IP: a.AsSlice()}
}

// rawInput copies d to the raw sockets of its protocol (deliver, no stack
// lock held). It reports whether any raw socket was open for it, so an
// otherwise unknown protocol draws no protocol unreachable.
func (s *Stack) rawInput(d *delivery) bool {
	lp := s.raw.socks[d.hdr.Protocol].Load()
	if lp == nil || len(*lp) == 0 {
		return false
	}
	if !d.filt.allowsRaw(d.hdr.Protocol) { // SPEC IP-21
		inc(&s.st.SecFilterRawDrops)
		return true
	}
	for _, c := range *lp {
		if c.laddr.IsUnspecified() || c.laddr == d.hdr.Dst {
			c.enqueue(d.raw)
		}
	}
	return true
}

func (c *RawConn) enqueue(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if len(c.q) >= c.maxQ {
		c.drops.Add(1)
		inc(&c.s.st.RawRecvQueueDrops)
		return
	}
	c.q = append(c.q, append([]byte(nil), p...))
	inc(&c.s.st.RawInDelivers)
	c.signalLocked()
}

func (c *RawConn) signalLocked() {
	if c.waiters > 0 {
		close(c.wake)
		c.wake = make(chan struct{})
	}
}

// ReadFrom implements net.PacketConn: b receives the whole datagram, IP
// header first (truncated to len(b)); the address is its source.
func (c *RawConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, src, err := c.ReadFromAddr(b)
	if err != nil {
		return n, nil, err
	}
	return n, ipAddr(src), nil
}

// ReadFromAddr is ReadFrom with a netip.Addr.
func (c *RawConn) ReadFromAddr(b []byte) (int, netip.Addr, error) {
	c.mu.Lock()
	for {
		if len(c.q) > 0 {
			p := c.q[0]
			c.q[0] = nil
			c.q = c.q[1:]
			if len(c.q) == 0 {
				c.q = nil
			}
			c.mu.Unlock()
			var src netip.Addr
			if len(p) >= wire.IPv4MinHeaderLen {
				src = netip.AddrFrom4([4]byte(p[12:16]))
			}
			return copy(b, p), src, nil
		}
		if c.closed {
			c.mu.Unlock()
			return 0, netip.Addr{}, c.opErr("read", net.ErrClosed)
		}
		if !c.rdeadline.IsZero() && !c.s.clk.Now().Before(c.rdeadline) {
			c.mu.Unlock()
			return 0, netip.Addr{}, c.opErr("read", os.ErrDeadlineExceeded)
		}
		ch := c.wake
		c.waiters++
		c.mu.Unlock()
		<-ch
		c.mu.Lock()
		c.waiters--
	}
}

func (c *RawConn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: fmt.Sprintf("ip4:%d", c.proto), Source: ipAddr(c.laddr), Err: err}
}

// WriteTo implements net.PacketConn; addr is a *net.IPAddr (or anything
// whose String is an IPv4 address). With the header included, the
// datagram's own destination is used and addr may be nil.
func (c *RawConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	var dst netip.Addr
	switch a := addr.(type) {
	case *net.IPAddr:
		dst, _ = netip.AddrFromSlice(a.IP)
	case nil:
	default:
		var err error
		if dst, err = netip.ParseAddr(addr.String()); err != nil {
			return 0, c.opErr("write", fmt.Errorf("%w: %v", ErrInvalid, err))
		}
	}
	return c.WriteToAddr(b, dst.Unmap())
}

// WriteToAddr sends b to dst (see the header comment for b's contents).
func (c *RawConn) WriteToAddr(b []byte, dst netip.Addr) (int, error) {
	c.mu.Lock()
	closed, hdrIncl, bcastOK, ttl, wd := c.closed, c.hdrIncl, c.broadcast, c.ttl, c.wdeadline
	c.mu.Unlock()
	if closed {
		return 0, c.opErr("write", net.ErrClosed)
	}
	if !wd.IsZero() && !c.s.clk.Now().Before(wd) {
		return 0, c.opErr("write", os.ErrDeadlineExceeded)
	}
	r := txReq{proto: c.proto, ttl: ttl, dst: dst}
	if !c.laddr.IsUnspecified() {
		r.src = c.laddr
	}
	payload := b
	if hdrIncl {
		h, _, err := wire.ParseIPv4Quote(b) // checksum and length: ours to fill
		if err != nil {
			return 0, c.opErr("write", fmt.Errorf("%w: %v", ErrInvalid, err))
		}
		r = txReq{src: h.Src, dst: h.Dst, proto: h.Protocol, ttl: h.TTL, tos: h.TOS, df: h.DF, opts: h.Options}
		if r.src.IsUnspecified() {
			r.src = netip.Addr{}
		}
		payload = b[h.IHL:]
	} else if ttl == 0 && dst.IsMulticast() {
		r.ttl = 1 // SPEC IP-17, MCAST-4
	}
	if !r.dst.Is4() {
		return 0, c.opErr("write", ErrInvalid)
	}
	if !bcastOK && c.s.isBroadcastDst(r.dst) {
		return 0, c.opErr("write", ErrBroadcastNotEnabled)
	}
	n := len(payload)
	if n > maxDatagram-maxIPHeader {
		return 0, c.opErr("write", ErrMessageTooLong)
	}
	bp := txBufPool.Get().(*[]byte)
	defer txBufPool.Put(bp)
	r.buf = (*bp)[:txHeadroom+n]
	copy(r.buf[txHeadroom:], payload)
	if err := c.s.send(&r, n); err != nil {
		return 0, c.opErr("write", err)
	}
	return len(b), nil
}

// SetHeaderIncluded turns IP_HDRINCL on or off.
func (c *RawConn) SetHeaderIncluded(on bool) {
	c.mu.Lock()
	c.hdrIncl = on
	c.mu.Unlock()
}

// SetBroadcast allows sending to broadcast addresses (SO_BROADCAST).
func (c *RawConn) SetBroadcast(on bool) {
	c.mu.Lock()
	c.broadcast = on
	c.mu.Unlock()
}

// SetTTL sets the TTL of datagrams the stack builds (0 = DefaultTTL; 1
// for multicast).
func (c *RawConn) SetTTL(ttl uint8) {
	c.mu.Lock()
	c.ttl = ttl
	c.mu.Unlock()
}

// SetReadBuffer bounds the receive queue, in datagrams.
func (c *RawConn) SetReadBuffer(n int) error {
	if n <= 0 {
		return ErrInvalid
	}
	c.mu.Lock()
	c.maxQ = n
	c.mu.Unlock()
	return nil
}

// Drops is how many datagrams this socket lost to a full receive queue.
func (c *RawConn) Drops() uint64 { return c.drops.Load() }

// Protocol is the socket's IP protocol number.
func (c *RawConn) Protocol() uint8 { return c.proto }

// Close implements net.PacketConn.
func (c *RawConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opErr("close", net.ErrClosed)
	}
	c.closed = true
	c.q = nil
	c.stopLocked()
	c.signalLocked()
	c.mu.Unlock()
	c.leaveAllGroups()
	t := &c.s.raw
	t.mu.Lock()
	if old := t.socks[c.proto].Load(); old != nil {
		var l []*RawConn
		for _, o := range *old {
			if o != c {
				l = append(l, o)
			}
		}
		if len(l) == 0 {
			t.socks[c.proto].Store(nil)
		} else {
			t.socks[c.proto].Store(&l)
		}
	}
	t.mu.Unlock()
	return nil
}

// LocalAddr returns the bound address (*net.IPAddr).
func (c *RawConn) LocalAddr() net.Addr { return ipAddr(c.laddr) }

// SetDeadline sets both deadlines.
func (c *RawConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline on the stack clock.
func (c *RawConn) SetReadDeadline(t time.Time) error {
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
func (c *RawConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wdeadline = t
	c.mu.Unlock()
	return nil
}

var _ net.PacketConn = (*RawConn)(nil)
