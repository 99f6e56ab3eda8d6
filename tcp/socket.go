package tcp

import (
	"context"
	"io"
	"net"
	"net/netip"
	"time"
)

var _ net.Conn = (*Conn)(nil)

// Dial opens a connection from laddr (zero address and/or port: chosen
// from the route and 1024..MaxUserPort) to raddr.
func (p *Protocol) Dial(laddr, raddr netip.AddrPort) (*Conn, error) {
	return p.DialContext(context.Background(), laddr, raddr)
}

// startDial creates the connection and sends the SYN without waiting.
func (p *Protocol) startDial(laddr, raddr netip.AddrPort) (*Conn, error) {
	if p.isClosed() {
		return nil, ErrProtocolClosed
	}
	ra := raddr.Addr().Unmap()
	if !ra.Is4() || ra.IsUnspecified() || ra.IsMulticast() || raddr.Port() == 0 {
		return nil, ErrInvalid
	}
	src, mtu, err := p.net.Route(ra)
	if err != nil {
		return nil, wrapRouteErr(err)
	}
	la := laddr.Addr()
	if la.IsValid() && !la.IsUnspecified() {
		if lc, ok := p.net.(LocalAddresser); ok && !lc.IsLocal(la) {
			return nil, ErrAddrNotAvail
		}
		src = la
	}
	p.mu.Lock()
	port := laddr.Port()
	if port == 0 {
		var ok bool
		if port, ok = p.allocPortLocked(); !ok {
			p.mu.Unlock()
			return nil, ErrAddrNotAvail
		}
	} else {
		for l := range p.listeners {
			if l.Port() == port && (l.Addr() == src || l.Addr().IsUnspecified()) {
				p.mu.Unlock()
				return nil, ErrAddrInUse
			}
		}
	}
	id := connID{local: netip.AddrPortFrom(src, port), remote: netip.AddrPortFrom(ra, raddr.Port())}
	c := newConn(p, id)
	c.mtu = mtu
	c.local = isLocalPeer(src, ra)
	c.mu.Lock()
	if err := p.addConnLocked(c); err != nil {
		p.mu.Unlock()
		c.mu.Unlock()
		return nil, err
	}
	p.mu.Unlock()
	p.stats.activeOpens.Add(1)
	c.iss = p.isn(id)
	c.sndUna, c.sndNxt, c.sndMax, c.sackHigh = c.iss, c.iss, c.iss, c.iss
	c.sndBase = c.iss + 1
	c.sndMSS = min(536, mssFor(mtu))
	c.rcvCap = 16384 // TCP-WIN-1: the first SYN offers 16 KB
	if w := p.params.TcpWindowSize; w > 0 {
		c.rcvCap = min(w, 0xFFFF)
	}
	c.state = StateSynSent
	c.offerActive()
	c.rttTiming, c.rttSeq, c.rttStart = true, c.iss, p.clk.Now()
	c.sendSYN()
	c.armTimer()
	c.unlock()
	return c, nil
}

// DialContext is Dial with cancellation. Without a deadline in ctx the
// handshake gives up per TCP-RTX-1 (21 s with the defaults).
func (p *Protocol) DialContext(ctx context.Context, laddr, raddr netip.AddrPort) (*Conn, error) {
	c, err := p.startDial(laddr, raddr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	for c.state == StateSynSent || c.state == StateSynReceived {
		ch := c.waitChan()
		c.unlock()
		select {
		case <-ch:
			c.mu.Lock()
		case <-ctx.Done():
			c.mu.Lock()
			if c.state == StateSynSent || c.state == StateSynReceived {
				c.closeLocked(ctx.Err())
				c.unlock()
				return nil, ctx.Err()
			}
		}
	}
	if c.state == StateClosed && c.rcv.len() == 0 && !c.finRcvd {
		err := c.err
		c.unlock()
		if err == nil {
			err = ErrConnAborted
		}
		return nil, err
	}
	c.unlock()
	return c, nil
}

func wrapRouteErr(err error) error {
	return &wrapped{ErrNetUnreachable, err}
}

// wrapped keeps the route error's text but matches the errno.
type wrapped struct{ kind, cause error }

func (w *wrapped) Error() string   { return w.kind.Error() + ": " + w.cause.Error() }
func (w *wrapped) Unwrap() []error { return []error{w.kind, w.cause} }

// Read reads received data; io.EOF after the peer's FIN.
func (c *Conn) Read(b []byte) (int, error) {
	c.mu.Lock()
	if c.closedByUser {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	for {
		if c.closedByUser {
			c.unlock()
			return 0, net.ErrClosed
		}
		if c.rcv.len() > 0 {
			if len(b) == 0 {
				c.unlock()
				return 0, nil
			}
			n := c.rcv.read(b)
			c.windowUpdate()
			c.unlock()
			return n, nil
		}
		if c.finRcvd {
			c.unlock()
			return 0, io.EOF
		}
		if c.err != nil {
			err := c.err
			c.unlock()
			return 0, err
		}
		if c.rdClosed {
			c.unlock()
			return 0, net.ErrClosed
		}
		if c.state == StateClosed {
			c.unlock()
			return 0, io.EOF
		}
		ch := c.waitChan()
		dch := c.rdDeadline.ch
		c.unlock()
		select {
		case <-ch:
		case <-dch:
			return 0, ErrDeadline
		}
		c.mu.Lock()
	}
}

// windowUpdate sends a window update once reading has opened the window
// by two segments or half the buffer (RFC 1122 §4.2.3.3), and only while
// the window the peer still has is at most half of what we could offer:
// with more left, the peer is not held back, and the ACKs its data draws
// carry the new edge anyway. A bulk receiver that keeps up thus sends no
// pure window updates, only ACKs; mu is held.
func (c *Conn) windowUpdate() {
	if !c.state.synchronized() || c.finRcvd {
		return
	}
	free := c.rcvCap - c.rcv.len()
	cur := 0
	if seqGT(c.rcvAdv, c.rcvNxt) {
		cur = int(c.rcvAdv - c.rcvNxt)
	}
	if (free-cur >= 2*c.sndMSS || free-cur >= c.rcvCap/2) && cur <= free/2 {
		c.ackNow = true
		c.output()
	}
}

// Write queues b for sending, blocking while the send buffer is full.
func (c *Conn) Write(b []byte) (int, error) {
	return c.write(b, false)
}

// WriteUrgent sends b as urgent data (TCP-URG-1): the urgent pointer marks
// its last byte, with BSD or RFC 1122 semantics per
// TcpUseRFC1122UrgentPointer.
func (c *Conn) WriteUrgent(b []byte) (int, error) {
	return c.write(b, true)
}

func (c *Conn) write(b []byte, urgent bool) (int, error) {
	c.mu.Lock()
	if c.closedByUser {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	n := 0
	for {
		if c.closedByUser {
			c.unlock()
			return n, net.ErrClosed
		}
		if c.err != nil {
			err := c.err
			c.unlock()
			return n, err
		}
		if c.wrClosed || c.state == StateClosed {
			c.unlock()
			return n, ErrBrokenPipe
		}
		if len(b) == 0 {
			c.unlock()
			return n, nil
		}
		room := c.sndCap - c.snd.len()
		if room > 0 {
			k := min(room, len(b))
			c.snd.append(b[:k])
			b = b[k:]
			n += k
			if urgent && len(b) == 0 {
				c.sndUp, c.hasSndUp = c.sndBase+uint32(c.snd.len()), true
			}
			c.output()
			continue
		}
		ch := c.waitChan()
		dch := c.wrDeadline.ch
		c.unlock()
		select {
		case <-ch:
		case <-dch:
			return n, ErrDeadline
		}
		c.mu.Lock()
	}
}

// CloseWrite sends FIN after the queued data (half-close).
func (c *Conn) CloseWrite() error {
	c.mu.Lock()
	defer c.unlock()
	return c.shutdownWrite()
}

func (c *Conn) shutdownWrite() error {
	if c.wrClosed {
		return nil
	}
	switch c.state {
	case StateEstablished:
		c.setState(StateFinWait1)
	case StateCloseWait:
		c.setState(StateLastAck)
	case StateSynReceived:
		c.setState(StateFinWait1) // RFC 9293: FIN once established; simplified
	default:
		return ErrNotConnected
	}
	c.wrClosed = true
	c.output()
	return nil
}

// CloseRead stops reading: unread and later data make TCP reset the
// connection, as Windows does for a socket closed with data pending.
func (c *Conn) CloseRead() error {
	c.mu.Lock()
	defer c.unlock()
	c.rdClosed = true
	c.broadcast()
	return nil
}

// Close closes both directions. With unread data, or SetLinger(0), it
// resets; otherwise FIN follows the queued data in the background (or,
// with SetLinger(n>0), Close waits up to n seconds for it to be ACKed).
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closedByUser {
		c.unlock()
		return net.ErrClosed
	}
	c.closedByUser = true
	c.rdClosed = true
	c.rdDeadline.set(c.p.clk, time.Time{})
	c.wrDeadline.set(c.p.clk, time.Time{})
	if c.state == StateClosed {
		c.unlock()
		return nil
	}
	if c.state == StateSynSent {
		c.closeLocked(net.ErrClosed)
		c.unlock()
		return nil
	}
	if c.rcv.len() > 0 || c.linger == 0 {
		if c.state.synchronized() || c.state == StateSynReceived {
			c.sendRST()
		}
		if c.state == StateEstablished || c.state == StateCloseWait {
			c.p.stats.estabResets.Add(1)
		}
		c.closeLocked(net.ErrClosed)
		c.unlock()
		return nil
	}
	if c.state == StateFinWait2 {
		c.twAt = c.p.clk.Now().Add(c.p.params.TcpTimedWaitDelay)
		c.armTimer()
	}
	c.shutdownWrite()
	if c.linger > 0 {
		t := c.p.clk.AfterFunc(time.Duration(c.linger)*time.Second, func() {
			c.mu.Lock()
			c.lingerDone = true
			c.broadcast()
			c.unlock()
		})
		for !c.lingerDone && c.state != StateClosed && c.sndUna != c.sndMax {
			ch := c.waitChan()
			c.unlock()
			<-ch
			c.mu.Lock()
		}
		t.Stop()
	}
	c.broadcast()
	c.unlock()
	return nil
}

// LocalAddr returns the local address as a *net.TCPAddr.
func (c *Conn) LocalAddr() net.Addr { return tcpAddr(c.id.local) }

// RemoteAddr returns the peer's address as a *net.TCPAddr.
func (c *Conn) RemoteAddr() net.Addr { return tcpAddr(c.id.remote) }

// SetDeadline sets both deadlines (on the protocol's clock).
func (c *Conn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rdDeadline.set(c.p.clk, t)
	c.wrDeadline.set(c.p.clk, t)
	c.broadcast()
	return nil
}

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rdDeadline.set(c.p.clk, t)
	c.broadcast()
	return nil
}

// SetWriteDeadline sets the write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wrDeadline.set(c.p.clk, t)
	c.broadcast()
	return nil
}

// SetNoDelay disables Nagle (TCP_NODELAY, TCP-NAGLE-1).
func (c *Conn) SetNoDelay(on bool) error {
	c.mu.Lock()
	defer c.unlock()
	c.noDelay = on
	c.output()
	return nil
}

// SetKeepAlive enables keepalive probes (SO_KEEPALIVE, TCP-KA-1).
func (c *Conn) SetKeepAlive(on bool) error {
	c.mu.Lock()
	defer c.unlock()
	c.keepAlive = on
	c.startKeepalive()
	return nil
}

// SetKeepAlivePeriod sets the idle time before the first probe.
func (c *Conn) SetKeepAlivePeriod(d time.Duration) error {
	if d <= 0 {
		return ErrInvalid
	}
	c.mu.Lock()
	defer c.unlock()
	c.kaIdle = d
	c.startKeepalive()
	return nil
}

// SetLinger: < 0 closes gracefully in the background (default); 0 resets
// on Close; n > 0 makes Close wait up to n seconds for the data's ACK.
func (c *Conn) SetLinger(sec int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.linger = sec
	return nil
}

// SetReadBuffer sets the receive buffer, hence the window (SO_RCVBUF,
// TCP-WIN-2); it is rounded up to a multiple of the MSS and capped at
// 64 KiB until window scaling exists.
func (c *Conn) SetReadBuffer(n int) error {
	if n <= 0 {
		return ErrInvalid
	}
	c.mu.Lock()
	defer c.unlock()
	c.rcvCap, c.rcvCapSet = n, true
	if c.sndMSS > 0 {
		c.establishedWindow()
	}
	c.windowUpdate()
	return nil
}

// SetWriteBuffer sets the send buffer size (SO_SNDBUF).
func (c *Conn) SetWriteBuffer(n int) error {
	if n <= 0 {
		return ErrInvalid
	}
	c.mu.Lock()
	defer c.unlock()
	c.sndCap = n
	c.broadcast()
	return nil
}

// State returns the connection state.
func (c *Conn) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// MSS returns the current send MSS.
func (c *Conn) MSS() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sndMSS
}

// UrgentMark reports how many bytes remain to be read before the end of
// the latest urgent data the peer sent (TCP-URG-1; urgent bytes are
// delivered inline). ok is false when no urgent data is pending.
func (c *Conn) UrgentMark() (n int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.hasUrg {
		return 0, false
	}
	head := c.rcvNxt - uint32(c.rcv.len())
	if c.finRcvd {
		head--
	}
	if !seqGT(c.rcvUp, head) {
		return 0, false
	}
	return int(c.rcvUp - head), true
}
