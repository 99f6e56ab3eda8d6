package dns

import (
	"context"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
)

// fakeNet is an in-memory Transport on a virtual clock. Servers answer
// synchronously inside WriteToAddrPort, so an answer is always queued
// before the read deadline's timer exists: tests stay deterministic.
type fakeNet struct {
	clk *clock.Virtual
	mu  sync.Mutex
	// serve answers a query sent to server; nil = silence.
	serve func(server netip.Addr, q *Message) []fakeReply
	sent  []fakeSent
	ports []uint16
	tcp   func(server netip.AddrPort) (net.Conn, error)
}

type fakeReply struct {
	from netip.AddrPort
	msg  *Message
}

type fakeSent struct {
	at     time.Duration // since the test started
	server netip.Addr
	q      *Message
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (f *fakeNet) ListenUDP(laddr netip.AddrPort) (PacketConn, error) {
	f.mu.Lock()
	f.ports = append(f.ports, laddr.Port())
	f.mu.Unlock()
	return &fakeConn{f: f, wake: make(chan struct{}, 1)}, nil
}

func (f *fakeNet) DialTCP(ctx context.Context, raddr netip.AddrPort) (net.Conn, error) {
	if f.tcp == nil {
		return nil, os.ErrNotExist
	}
	return f.tcp(raddr)
}

func (f *fakeNet) sends() []fakeSent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeSent(nil), f.sent...)
}

type fakeConn struct {
	f        *fakeNet
	mu       sync.Mutex
	q        []fakeReply
	deadline time.Time
	closed   bool
	wake     chan struct{}
	timers   []clock.Timer
}

func (c *fakeConn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *fakeConn) WriteToAddrPort(b []byte, to netip.AddrPort) (int, error) {
	q, err := Parse(b)
	if err != nil {
		panic(err)
	}
	f := c.f
	f.mu.Lock()
	f.sent = append(f.sent, fakeSent{at: f.clk.Now().Sub(t0), server: to.Addr(), q: q})
	serve := f.serve
	f.mu.Unlock()
	if serve != nil {
		rs := serve(to.Addr(), q)
		c.mu.Lock()
		c.q = append(c.q, rs...)
		c.mu.Unlock()
		c.signal()
	}
	return len(b), nil
}

func (c *fakeConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		c.mu.Lock()
		if len(c.q) > 0 {
			r := c.q[0]
			c.q = c.q[1:]
			c.mu.Unlock()
			p, err := r.msg.Pack()
			if err != nil {
				panic(err)
			}
			return copy(b, p), r.from, nil
		}
		if c.closed {
			c.mu.Unlock()
			return 0, netip.AddrPort{}, net.ErrClosed
		}
		if !c.deadline.IsZero() && !c.f.clk.Now().Before(c.deadline) {
			c.mu.Unlock()
			return 0, netip.AddrPort{}, os.ErrDeadlineExceeded
		}
		c.mu.Unlock()
		<-c.wake
	}
}

func (c *fakeConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	if d := t.Sub(c.f.clk.Now()); d > 0 {
		tm := c.f.clk.AfterFunc(d, c.signal)
		c.mu.Lock()
		c.timers = append(c.timers, tm)
		c.mu.Unlock()
	}
	c.signal()
	return nil
}

func (c *fakeConn) Close() error {
	c.mu.Lock()
	for _, tm := range c.timers {
		tm.Stop() // keep the clock's heap to live timers
	}
	c.closed = true
	c.mu.Unlock()
	c.signal()
	return nil
}

// run calls fn in a goroutine and steps the virtual clock until it
// returns: each pending timer is a read deadline the resolver waits on.
func run[T any](t *testing.T, clk *clock.Virtual, fn func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- fn() }()
	for i := 0; ; i++ {
		select {
		case v := <-done:
			return v
		case <-time.After(time.Millisecond):
			if i > 100000 {
				t.Fatal("resolver did not finish")
			}
			if clk.Pending() > 0 {
				clk.Step()
			}
		}
	}
}

// answer builds the response to q.
func answer(q *Message, rcode uint8, rrs ...RR) *Message {
	return &Message{Header: Header{ID: q.ID, Response: true, RecursionDesired: true, RecursionAvailable: true, RCode: rcode},
		Questions: q.Questions, Answers: rrs}
}

func aRR(name string, ttl uint32, addr string) RR {
	return RR{Name: name, Type: TypeA, Class: ClassIN, TTL: ttl, Addr: netip.MustParseAddr(addr)}
}

var (
	srv1 = netip.MustParseAddr("198.18.0.1")
	srv2 = netip.MustParseAddr("198.18.0.3")
)

func newFake() (*fakeNet, *Client) {
	f := &fakeNet{clk: clock.NewVirtual(t0)}
	c := &Client{Net: f, Clock: f.clk}
	c.SetSeed(1)
	return f, c
}
