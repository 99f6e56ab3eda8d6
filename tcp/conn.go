package tcp

import (
	"net/netip"
	"sync"
	"time"

	"github.com/stapel-net/stapel/clock"
)

// Conn is one TCP connection (a TCB plus its socket). It implements
// net.Conn. All fields below mu are guarded by it.
type Conn struct {
	p  *Protocol
	id connID

	mu    sync.Mutex
	state State
	// nowT is the clock read once for the segment being processed
	// (nowSet, see now); time.Now is costly on some VMs.
	nowT   time.Time
	nowSet bool
	err    error // sticky error reported to the user once the connection died
	soft   error // last ICMP error, reported if the connection times out
	wake   chan struct{}
	woken  bool // wake was handed to a waiter and must be replaced on broadcast

	passive         bool      // created by a listener
	listener        *Listener // until accepted
	countedHalfOpen bool      // counted in Protocol.halfOpen
	countedRetried  bool      // counted in Protocol.retried
	synAttack       bool      // SEC-3 applied to this half-open child
	acceptState     uint8     // guarded by listener.mu
	local           bool      // loopback or same-host peer: no Nagle (TCP-NAGLE-1)
	mtu             int       // route MTU
	// gsoPayload > 0: the path segments TCP; new data may go out in
	// super-segments of up to this many payload bytes (GSONetwork).
	gsoPayload int
	// gsoSeg is set while emitting a super-segment: its piece size.
	gsoSeg int
	// tlpAt is when a tail loss probe is due (Params.TailLossProbe).
	tlpAt time.Time
	// rack is the SACK sender's reordering window (rack.go).
	rack rackState
	// sendMu orders segment batches on the wire (unlock); taken with mu
	// held, released after Output.
	sendMu sync.Mutex
	df     bool

	// Send sequence space (RFC 9293 §3.3.1).
	iss         uint32
	sndUna      uint32
	sndNxt      uint32
	sndMax      uint32 // highest sequence sent + 1
	sndWnd      uint32
	maxSndWnd   uint32
	sndWl1      uint32
	sndWl2      uint32
	sndBase     uint32    // sequence number of snd's first byte
	snd         byteQueue // unacknowledged and unsent data
	sndCap      int
	wrClosed    bool  // CloseWrite/Close: FIN queued after snd
	sndMSS      int   // largest segment we send
	sndScale    uint8 // shift for windows the peer sends (TCP-WIN-3)
	rcvScale    uint8 // shift for windows we send
	offerWS     bool  // our SYN carries each option
	offerTS     bool
	offerSACK   bool
	wsOK        bool // negotiated
	tsOK        bool
	sackOK      bool
	tsRecent    uint32
	lastAckSent uint32
	lastOOO     uint32      // sequence of the latest out-of-order arrival (SACK order)
	sacked      []sackRange // sender scoreboard (RFC 6675), ascending, capacity maxSackRanges
	// sackHigh is the highest sequence number ever SACKed (valid while
	// above SND.UNA): it outlives ranges a full scoreboard forgot.
	sackHigh uint32
	highRxt  uint32    // RFC 6675 HighRxt: end of the highest retransmission in this recovery
	rtxMark  uint32    // SND.MAX when the latest retransmission was sent (lost-retransmission check)
	dsack    sackRange // RFC 2883: duplicate we received, reported first in the next ACK
	hasDSACK bool
	peerMSS  int

	// Receive sequence space.
	irs       uint32
	rcvNxt    uint32
	rcvAdv    uint32 // right edge of the window we advertised
	rcv       byteQueue
	rcvCap    int
	rcvCapSet bool // SetReadBuffer or TcpWindowSize fixed it
	rdClosed  bool // Close/CloseRead: data arriving now gets RST
	finRcvd   bool
	ooo       []oooSeg
	rcvUp     uint32 // receive urgent pointer (sequence of the urgent mark)
	hasUrg    bool
	reset     bool // closed by RST: unread data is discarded
	reopen    bool // TIME-WAIT ended by a new SYN for the listener

	// ACK generation (TCP-ACK-1).
	ackNow      bool
	unackedSegs int // full segments received since our last ACK

	// Retransmission (TCP-RTX-*).
	rto        time.Duration
	srtt       time.Duration
	rttvar     time.Duration
	rttTiming  bool
	rttSeq     uint32
	rttStart   time.Time
	retries    int
	dupAcks    int
	inRecovery bool
	recover    uint32 // RFC 6582/6675 recovery point (SND.MAX when recovery began)
	rtoRecover bool   // a timeout happened below recover: no fast retransmit until it is acked
	inflate    int    // NewReno window inflation (peers without SACK)
	cc         congestionControl

	// Options.
	noDelay      bool
	reportDGD    bool  // tell the Network about a dead gateway after unlock
	evict        *Conn // TIME-WAIT entry to close after unlock
	bhProbing    bool  // TCP-PMTU-4: retransmitting without DF
	sndUp        uint32
	hasSndUp     bool
	urgent       uint16 // urgent field for the segment being built
	keepAlive    bool
	kaIdle       time.Duration
	kaProbes     int
	linger       int // -1 = default (graceful in background)
	lingerDone   bool
	closedByUser bool
	lastRecv     time.Time
	tos          uint8
	ttl          uint8

	// Timers: one clock timer armed for the earliest deadline (lazy).
	timer     clock.Timer
	timerAt   time.Time
	rtxAt     time.Time
	delackAt  time.Time
	persistAt time.Time
	persistN  int
	probeEnd  uint32 // end of the last zero-window probe
	probing   bool
	kaSent    time.Time
	kaAt      time.Time
	twAt      time.Time // TIME-WAIT or FIN-WAIT-2 expiry

	rdDeadline, wrDeadline deadline

	pending *segList // built under mu, sent after unlock
}

// oooSeg is an out-of-order segment waiting for the gap before it.
type oooSeg struct {
	seq  uint32
	data []byte
	buf  *[]byte // pooled storage of data
	fin  bool
}

func newConn(p *Protocol, id connID) *Conn {
	c := &Conn{
		p:      p,
		id:     id,
		wake:   make(chan struct{}),
		cc:     newCC(p.params.CongestionControl),
		rto:    p.params.TcpInitialRtt,
		sndCap: p.params.DefaultSendBuffer,
		linger: -1,
		kaIdle: p.params.KeepAliveTime,
		ttl:    p.params.DefaultTTL,
		df:     p.params.EnablePMTUDiscovery,
	}
	return c
}

// broadcast wakes every goroutine blocked on the connection; mu is held.
func (c *Conn) broadcast() {
	if c.woken {
		close(c.wake)
		c.wake = make(chan struct{})
		c.woken = false
	}
}

// waitChan returns the channel a waiter blocks on; mu is held.
func (c *Conn) waitChan() <-chan struct{} {
	c.woken = true
	return c.wake
}

// now is the current time: read once per incoming segment (HandleSegment
// sets nowT for its input and output), otherwise from the clock.
func (c *Conn) now() time.Time {
	if c.nowSet {
		return c.nowT
	}
	return c.p.clk.Now()
}

// unlock releases mu and sends the segments built while it was held, in
// the caller's goroutine, so with a virtual clock everything happens at
// the virtual instant it was built. With a BufferNetwork (the stack, which
// never re-enters TCP synchronously) batches leave in the order they were
// built: sendMu is taken before mu is released, so the application
// writing, the receive path and a timer cannot race each other's
// segments onto the wire (reordering causes spurious fast
// retransmissions). Other networks may re-enter TCP from Output, so there
// each caller just sends its own batch.
func (c *Conn) unlock() {
	if old := c.evict; old != nil {
		c.evict = nil
		c.mu.Unlock()
		old.mu.Lock()
		if old.state == StateTimeWait {
			old.closeLocked(nil) // MaxFreeTWTcbs eviction (TCP-TW-1)
		}
		old.unlock()
		c.mu.Lock()
	}
	l := c.pending
	if l == nil && !c.reportDGD {
		c.mu.Unlock()
		return
	}
	c.pending = nil
	src, dst := c.id.local.Addr(), c.id.remote.Addr()
	ttl, tos, df := c.ttl, c.tos, c.df
	dgd := c.reportDGD
	c.reportDGD = false
	ordered := l != nil && c.p.bufNet != nil
	if ordered {
		c.sendMu.Lock()
	}
	c.mu.Unlock()
	if dgd {
		// Before the batch: its retransmission takes the new gateway.
		if r, ok := c.p.net.(DeadGatewayReporter); ok {
			r.DeadGateway(dst)
		}
	}
	if l != nil {
		c.send(l, src, dst, ttl, tos, df)
	}
	if ordered {
		c.sendMu.Unlock()
	}
}

// send outputs one batch of segments and recycles it; mu is not held.
func (c *Conn) send(l *segList, src, dst netip.Addr, ttl, tos uint8, df bool) {
	for i := range l.s {
		if l.s[i].gso > 0 {
			c.p.gsoNet.OutputGSO(src, dst, ttl, tos, df, (*l.s[i].b)[:l.s[i].n], l.s[i].gso)
		} else if c.p.bufNet != nil {
			c.p.bufNet.OutputBuf(src, dst, ttl, tos, df, (*l.s[i].b)[:l.s[i].n])
		} else {
			c.p.net.Output(src, dst, ttl, tos, df, (*l.s[i].b)[:l.s[i].n])
		}
		putBuf(l.s[i].b)
		l.s[i].b = nil
	}
	l.s = l.s[:0]
	listPool.Put(l)
}

// establishedWindow computes the receive buffer once the MSS is known
// (TCP-WIN-1, TCP-WIN-2, AMB-6): 16384 rounded up to an MSS multiple, at
// least 4 MSS, at most 64 KiB without window scaling.
func (c *Conn) establishedWindow() {
	mss := c.sndMSS
	if mss <= 0 {
		mss = 536
	}
	want := 16384
	if c.rcvCapSet {
		want = c.rcvCap
	} else if w := c.p.params.TcpWindowSize; w > 0 {
		want = w
	}
	w := roundUp(want, mss)
	if !c.rcvCapSet && c.p.params.TcpWindowSize == 0 {
		w = max(w, 4*mss)
	}
	limit := min(0xFFFF<<c.rcvScale, 1<<30) // 64 KiB unless scaling (TCP-WIN-1)
	if g := c.p.params.GlobalMaxTcpWindowSize; g > 0 && g < limit {
		limit = g
	}
	if w > limit {
		w = limit / mss * mss
		if w == 0 {
			w = limit
		}
	}
	c.rcvCap = w
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// mssFor returns the MSS we advertise for a route MTU (TCP-PMTU-1).
func mssFor(mtu int) int {
	if mtu < 88 {
		mtu = 88 // AMB-2: TCP PMTU floor
	}
	return min(mtu-40, 0xFFFF)
}

// isLocalPeer reports whether Nagle should be off (TCP-NAGLE-1).
func isLocalPeer(src, dst netip.Addr) bool {
	return dst.IsLoopback() || src == dst
}

// Passive connection life with respect to its listener.
const (
	acceptHalfOpen = iota
	acceptQueued
	acceptAccepted
	acceptDropped
)
