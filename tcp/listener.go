package tcp

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Listener is a passive socket. It implements net.Listener.
type Listener struct {
	p    *Protocol
	addr netip.AddrPort

	mu       sync.Mutex
	backlog  int
	halfOpen int
	queue    []*Conn // established, not yet accepted (WS-2)
	closed   bool
	wake     chan struct{}
	woken    bool
	dl       deadline
}

var _ net.Listener = (*Listener)(nil)

// Listen opens a passive socket on laddr (address may be unspecified;
// port 0 picks an ephemeral port). backlog is capped at ListenBacklogMax
// (WS-2); ≤ 0 means the cap.
func (p *Protocol) Listen(laddr netip.AddrPort, backlog int) (*Listener, error) {
	if backlog <= 0 || backlog > p.params.ListenBacklogMax {
		backlog = p.params.ListenBacklogMax
	}
	a := laddr.Addr()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	if !a.Is4() {
		return nil, ErrAddrNotAvail
	}
	if !a.IsUnspecified() {
		if la, ok := p.net.(LocalAddresser); ok && !la.IsLocal(a) {
			return nil, ErrAddrNotAvail
		}
	}
	l := &Listener{p: p, backlog: backlog, wake: make(chan struct{})}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrProtocolClosed
	}
	port := laddr.Port()
	if port == 0 {
		var ok bool
		if port, ok = p.allocPortLocked(); !ok {
			return nil, ErrAddrNotAvail
		}
	}
	for la := range p.listeners {
		if la.Port() == port && (la.Addr() == a || la.Addr().IsUnspecified() || a.IsUnspecified()) {
			return nil, ErrAddrInUse
		}
	}
	l.addr = netip.AddrPortFrom(a, port)
	p.listeners[l.addr] = l
	p.ports[port]++
	return l, nil
}

// handleSYN creates a SYN-RECEIVED child for a new connection request.
func (l *Listener) handleSYN(s *segment, id connID) {
	p := l.p
	l.mu.Lock()
	if l.closed || len(l.queue)+l.halfOpen >= l.backlog {
		l.mu.Unlock()
		p.stats.backlogDrops.Add(1)
		p.mu.Lock()
		p.exhausted++
		p.mu.Unlock()
		p.sendReset(id, s) // full backlog refuses, as Windows does
		return
	}
	l.halfOpen++
	l.mu.Unlock()

	c := newConn(p, id)
	c.passive = true
	c.listener = l
	_, mtu, err := p.net.Route(id.remote.Addr())
	if err != nil || mtu <= 0 {
		mtu = 576
	}
	c.mtu = mtu
	c.local = isLocalPeer(id.local.Addr(), id.remote.Addr())
	c.mu.Lock()
	c.irs = s.h.seq
	c.rcvNxt = s.h.seq + 1
	c.iss = p.isn(id)
	c.sndUna, c.sndNxt, c.sndMax, c.sackHigh = c.iss, c.iss, c.iss, c.iss
	c.sndBase = c.iss + 1
	c.negotiate(s, true)
	c.applySynOptions(s)
	c.establishedWindow()
	c.sndWnd = uint32(s.h.window)
	c.lastRecv = p.clk.Now()
	p.mu.Lock()
	err = p.addConnLocked(c)
	if err == nil {
		p.halfOpen++
		c.countedHalfOpen = true
	}
	p.mu.Unlock()
	if err != nil {
		c.listener = nil
		l.mu.Lock()
		l.halfOpen--
		l.mu.Unlock()
		c.mu.Unlock()
		return
	}
	c.state = StateSynReceived
	c.rttTiming, c.rttSeq, c.rttStart = true, c.iss, c.lastRecv
	c.sendSYN()
	c.armTimer()
	c.unlock()
}

// underSynAttack reports whether SYN-attack protection is triggered
// (SEC-2): SynAttackProtect ≥ 1, TcpMaxConnectResponseRetransmissions ≥ 2,
// and one of the half-open, retried or refused counts at its limit.
// While triggered, SYN-ACKs are retransmitted once (SEC-3, AMB-17).
// Level 2's "tell AFD only after the handshake" is how Listen always
// works here: only established connections reach the accept queue.
func (p *Protocol) underSynAttack() bool {
	pp := &p.params
	if pp.SynAttackProtect == 0 || pp.TcpMaxConnectResponseRetransmissions < 2 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.halfOpen >= pp.TcpMaxHalfOpen || p.retried >= pp.TcpMaxHalfOpenRetried ||
		p.exhausted >= pp.TcpMaxPortsExhausted
}

// established moves a child to the accept queue; c.mu is held. It
// reports false if the listener closed meanwhile.
func (l *Listener) established(c *Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.halfOpen--
	if l.closed {
		c.acceptState = acceptDropped
		return false
	}
	c.acceptState = acceptQueued
	l.queue = append(l.queue, c)
	l.broadcast()
	return true
}

// forget drops a child that closed before Accept; c.mu is held.
func (l *Listener) forget(c *Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch c.acceptState {
	case acceptHalfOpen:
		l.halfOpen--
		c.acceptState = acceptDropped
	case acceptQueued:
		// Keep it queued: Accept hands it out and its Read reports why
		// it died (Windows behaves the same way).
	}
}

func (l *Listener) broadcast() {
	if l.woken {
		close(l.wake)
		l.wake = make(chan struct{})
		l.woken = false
	}
}

// Accept waits for the next established connection.
func (l *Listener) Accept() (net.Conn, error) { return l.AcceptTCP() }

// AcceptTCP is Accept returning the concrete type.
func (l *Listener) AcceptTCP() (*Conn, error) {
	for {
		l.mu.Lock()
		if len(l.queue) > 0 {
			c := l.queue[0]
			l.queue[0] = nil
			l.queue = l.queue[1:]
			c.acceptState = acceptAccepted
			l.mu.Unlock()
			c.mu.Lock()
			c.listener = nil
			c.mu.Unlock()
			return c, nil
		}
		if l.closed {
			l.mu.Unlock()
			return nil, net.ErrClosed
		}
		ch := l.wake
		l.woken = true
		dch := l.dl.ch
		l.mu.Unlock()
		select {
		case <-ch:
		case <-dch:
			return nil, ErrDeadline
		}
	}
}

// Close stops listening and resets connections not yet accepted.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return net.ErrClosed
	}
	l.closed = true
	q := l.queue
	l.queue = nil
	l.broadcast()
	l.mu.Unlock()
	p := l.p
	p.mu.Lock()
	if p.listeners[l.addr] == l {
		delete(p.listeners, l.addr)
		if p.ports[l.addr.Port()]--; p.ports[l.addr.Port()] <= 0 {
			delete(p.ports, l.addr.Port())
		}
	}
	p.mu.Unlock()
	for _, c := range q {
		c.mu.Lock()
		if c.state != StateClosed {
			c.sendRST()
			c.closeLocked(ErrConnAborted)
		}
		c.unlock()
	}
	return nil
}

// Addr returns the listening address as a *net.TCPAddr.
func (l *Listener) Addr() net.Addr { return tcpAddr(l.addr) }

// SetDeadline sets the Accept deadline on the protocol's clock.
func (l *Listener) SetDeadline(t time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dl.set(l.p.clk, t)
	return nil
}

func tcpAddr(a netip.AddrPort) *net.TCPAddr {
	return net.TCPAddrFromAddrPort(a)
}
