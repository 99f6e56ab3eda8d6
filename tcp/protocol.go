// Package tcp is Stapel's TCP (SPEC §9): the RFC 9293 state machine with
// the Windows 2000 defaults, and net.Conn / net.Listener sockets.
//
// TCP talks to the IP layer only through the Network interface, so it can
// be tested alone in virtual time; the stack adapts itself to it.
//
// What follows the whitepaper, by SPEC ID: TCP-2 ISNs (RFC 6528 keyed hash
// plus a 4 µs clock), TCP-3 limits (TcpNumConnections, MaxFreeTWTcbs,
// NumTcbTablePartitions), TCP-WIN-1/2 receive window, TCP-ACK-1/2 delayed
// and duplicate ACKs, TCP-PMTU-1..4 MSS, DF, ICMP and black holes,
// TCP-DGD-2 dead-gateway reports, TCP-RTX-1..4 retransmission, TCP-CC-1/2
// Reno, TCP-SWS-1/2, TCP-NAGLE-1, TCP-KA-1, TCP-TW-1, TCP-PORT-1,
// TCP-URG-1, WS-2 backlog, SEC-2/3 SYN-attack protection, TCP-WIN-3/4
// window scaling and timestamps (Tcp1323Opts; accepted, not initiated, by
// default), TCP-SACK-1 SACK (SackOpts, on) and PAWS.
//
// Issue 4 (high performance): RFC 7323 window scaling (SYN/SYN-ACK only,
// when the window exceeds 64 KiB), timestamps with RTT measurement and
// PAWS; SACK recovery per RFC 6675 (sack.go, recovery.go) with NewReno
// (RFC 6582) for peers without SACK and D-SACK (RFC 2883); Reno or CUBIC
// (cc.go) with an initial window of 2 or 10 segments; ModernParams, the
// named "modern defaults" profile. Steady-state segments, in order or in
// SACK recovery, allocate nothing (fastpath_test.go).
//
// Locking: each Conn has its own mutex; the Protocol's mutex guards only
// the listener table, port allocation and counts, and the connection table
// is partitioned with a lock per partition. Lock order is
// Conn.mu → Listener.mu → Protocol.mu → partition lock. Segments are built
// under the Conn lock into a pending list and handed to Network.Output
// after the lock is released, so Output may deliver synchronously (even
// back into this Protocol) without deadlock, though nested flushes can
// then reorder segments: asynchronous delivery is preferred. Timers: one
// clock timer per connection, re-armed only when its earliest deadline
// moves earlier.
package tcp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	mrand "math/rand/v2"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/stapel-net/stapel/clock"
)

// Network is what TCP needs from the IP layer.
type Network interface {
	Clock() clock.Clock
	// Route gives the source address and path MTU for dst.
	Route(dst netip.Addr) (src netip.Addr, mtu int, err error)
	// Output sends one TCP segment (header+payload, checksum filled) in an
	// IP datagram. It must not keep segment after returning.
	Output(src, dst netip.Addr, ttl, tos uint8, df bool, segment []byte) error
}

// BufferNetwork is optionally implemented by a Network that can add its
// headers in front of a segment in place, saving a copy per segment: TCP
// then builds each segment Headroom() bytes into its buffer.
type BufferNetwork interface {
	// Headroom is the space OutputBuf needs in front of the segment
	// (constant for the Network's life).
	Headroom() int
	// OutputBuf is Output for the segment buf[Headroom():]; the network
	// may overwrite buf[:Headroom()]. It must not keep buf, and must not
	// call back into the Protocol synchronously: a per-connection lock
	// keeps segments in order across it.
	OutputBuf(src, dst netip.Addr, ttl, tos uint8, df bool, buf []byte) error
}

// GSONetwork is optionally implemented by a BufferNetwork whose device
// can segment TCP (TSO, the whitepaper's large-send offload): TCP then
// sends new data in super-segments of whole MSS-sized pieces, which the
// device cuts on the way out. Only paths that offer it get them.
type GSONetwork interface {
	BufferNetwork
	// GSOMax is the largest IP datagram the path to dst takes as one
	// super-segment; 0 if the path's device has no TSO.
	GSOMax(dst netip.Addr) int
	// OutputGSO is OutputBuf for a super-segment to be cut every mss
	// payload bytes. Its TCP checksum field is not filled in.
	OutputGSO(src, dst netip.Addr, ttl, tos uint8, df bool, buf []byte, mss int) error
}

// LocalAddresser is optionally implemented by a Network to let TCP refuse
// binding to addresses the host does not own (EADDRNOTAVAIL).
type LocalAddresser interface {
	IsLocal(a netip.Addr) bool
}

// DeadGatewayReporter is optionally implemented by a Network: TCP calls
// it when a connection to dst has retransmitted ⌈TcpMaxDataRetransmissions/2⌉
// times without an answer (TCP-DGD-2, AMB-9), so IP can move dst's route
// cache entry to the next default gateway. Called without TCP locks held.
type DeadGatewayReporter interface {
	DeadGateway(dst netip.Addr)
}

// Options configure a Protocol.
type Options struct {
	Params Params
	// Seed makes ISNs and port choice reproducible; 0 means random.
	Seed uint64
}

// Protocol is one host's TCP.
type Protocol struct {
	net    Network
	bufNet BufferNetwork // net, when it takes segments with headroom
	gsoNet GSONetwork    // net, when it can segment TCP
	// headroom is what bufNet needs in front of each data segment.
	headroom int
	clk      clock.Clock
	params   Params
	isnKey   [32]byte
	epoch    time.Time

	mu        sync.Mutex
	conns     connTable
	listeners map[netip.AddrPort]*Listener
	ports     map[uint16]int // references per local port (conns and listeners)
	nextPort  int
	nconns    int
	halfOpen  int     // SYN-RCVD children (SEC-2)
	retried   int     // ... of which retransmitted their SYN-ACK
	exhausted int     // SYNs refused for a full backlog since the last accept
	timeWait  []*Conn // FIFO for MaxFreeTWTcbs eviction
	closed    bool

	stats counters
}

type connID struct {
	local, remote netip.AddrPort
}

// New creates a TCP instance on top of n.
func New(n Network, o Options) *Protocol {
	p := &Protocol{
		net:       n,
		clk:       n.Clock(),
		params:    o.Params,
		listeners: make(map[netip.AddrPort]*Listener),
		ports:     make(map[uint16]int),
	}
	if p.params == (Params{}) {
		p.params = DefaultParams()
	}
	p.params.normalize()
	if bn, ok := n.(BufferNetwork); ok {
		p.bufNet, p.headroom = bn, bn.Headroom()
	}
	if gn, ok := n.(GSONetwork); ok {
		p.gsoNet = gn
	}
	p.conns = newConnTable(p.params.NumTcbTablePartitions)
	p.epoch = p.clk.Now()
	var r *mrand.Rand
	if o.Seed != 0 {
		r = mrand.New(mrand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
		for i := range p.isnKey {
			p.isnKey[i] = byte(r.Uint32())
		}
	} else {
		rand.Read(p.isnKey[:])
		r = mrand.New(mrand.NewPCG(binary.LittleEndian.Uint64(p.isnKey[:]), 1))
	}
	span := p.params.MaxUserPort - 1024 + 1
	p.nextPort = 1024 + r.IntN(span)
	return p
}

// Params returns the parameters in effect.
func (p *Protocol) Params() Params { return p.params }

// isn is RFC 6528: a keyed hash of the 4-tuple plus a 4 µs clock, so ISNs
// are unpredictable off-path yet increase for a reused tuple (TCP-2).
func (p *Protocol) isn(id connID) uint32 {
	var b [32 + 36]byte
	copy(b[:], p.isnKey[:])
	l, r := id.local.Addr().As16(), id.remote.Addr().As16()
	copy(b[32:], l[:])
	copy(b[48:], r[:])
	binary.BigEndian.PutUint16(b[64:], id.local.Port())
	binary.BigEndian.PutUint16(b[66:], id.remote.Port())
	h := sha256.Sum256(b[:])
	ticks := uint32(p.clk.Now().Sub(p.epoch) / (4 * time.Microsecond))
	return binary.BigEndian.Uint32(h[:]) + ticks
}

// ConnInfo describes one connection or listener for netstat.
type ConnInfo struct {
	Local, Remote netip.AddrPort
	State         State
}

// Connections lists listeners and connections, including TIME-WAIT.
func (p *Protocol) Connections() []ConnInfo {
	p.mu.Lock()
	var out []ConnInfo
	for a := range p.listeners {
		out = append(out, ConnInfo{Local: a, Remote: netip.AddrPortFrom(netip.IPv4Unspecified(), 0), State: StateListen})
	}
	p.mu.Unlock()
	cs := p.conns.all()
	for _, c := range cs {
		c.mu.Lock()
		out = append(out, ConnInfo{Local: c.id.local, Remote: c.id.remote, State: c.state})
		c.mu.Unlock()
	}
	return out
}

// allocPort picks an ephemeral port in 1024..MaxUserPort (TCP-PORT-1)
// that no socket uses; p.mu is held.
func (p *Protocol) allocPortLocked() (uint16, bool) {
	lo, hi := 1024, p.params.MaxUserPort
	span := hi - lo + 1
	for i := 0; i < span; i++ {
		port := p.nextPort
		p.nextPort++
		if p.nextPort > hi {
			p.nextPort = lo
		}
		if p.ports[uint16(port)] == 0 {
			return uint16(port), true
		}
	}
	return 0, false
}

// addConnLocked inserts c into the demux table; p.mu is held.
func (p *Protocol) addConnLocked(c *Conn) error {
	if p.nconns >= p.params.TcpNumConnections {
		return ErrTooManyConns
	}
	if !p.conns.put(c) {
		return ErrAddrInUse
	}
	p.ports[c.id.local.Port()]++
	p.nconns++
	return nil
}

// removeConn drops c from the tables (called with c.mu held).
func (p *Protocol) removeConn(c *Conn) {
	p.mu.Lock()
	if p.conns.remove(c) {
		p.nconns--
		if p.ports[c.id.local.Port()]--; p.ports[c.id.local.Port()] <= 0 {
			delete(p.ports, c.id.local.Port())
		}
	}
	p.leaveHalfOpenLocked(c)
	p.mu.Unlock()
}

// enterTimeWait records c on the TIME-WAIT list and returns the oldest
// entry to evict beyond MaxFreeTWTcbs (TCP-TW-1), if any.
func (p *Protocol) enterTimeWait(c *Conn) *Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Drop entries that already left TIME-WAIT (lazily).
	p.timeWait = append(p.timeWait, c)
	if len(p.timeWait) > p.params.MaxFreeTWTcbs {
		old := p.timeWait[0]
		p.timeWait[0] = nil
		p.timeWait = p.timeWait[1:]
		return old
	}
	return nil
}

// leaveTimeWait removes c from the TIME-WAIT list.
func (p *Protocol) leaveTimeWait(c *Conn) {
	p.mu.Lock()
	for i, x := range p.timeWait {
		if x == c {
			p.timeWait = append(p.timeWait[:i], p.timeWait[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
}

// leaveHalfOpenLocked uncounts a SYN-RCVD child; p.mu is held.
func (p *Protocol) leaveHalfOpenLocked(c *Conn) {
	if c.countedHalfOpen {
		c.countedHalfOpen = false
		p.halfOpen--
	}
	if c.countedRetried {
		c.countedRetried = false
		p.retried--
	}
}

// ErrProtocolClosed is returned by Dial and Listen after Close.
var ErrProtocolClosed error = &opError{"TCP instance closed", syscall.ECONNABORTED}

// Close shuts the TCP instance down: listeners close and every connection
// is reset (its users see ECONNABORTED). Later Dial and Listen fail.
func (p *Protocol) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	ls := make([]*Listener, 0, len(p.listeners))
	for _, l := range p.listeners {
		ls = append(ls, l)
	}
	p.mu.Unlock()
	for _, l := range ls {
		l.Close()
	}
	for _, c := range p.conns.all() {
		c.mu.Lock()
		if c.state != StateClosed {
			if c.state.synchronized() && c.state != StateTimeWait || c.state == StateSynReceived {
				c.sendRST()
			}
			c.closeLocked(ErrConnAborted)
		}
		c.unlock()
	}
	return nil
}

func (p *Protocol) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}
