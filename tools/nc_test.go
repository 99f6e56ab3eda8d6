package tools

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// loopConn echoes every datagram back, upper-cased, from a fixed peer.
type loopConn struct {
	mu     sync.Mutex
	sent   [][]byte
	to     []netip.AddrPort
	in     chan []byte
	closed chan struct{}
	once   sync.Once
}

func newLoopConn() *loopConn {
	return &loopConn{in: make(chan []byte, 16), closed: make(chan struct{})}
}

var peer = netip.MustParseAddrPort("192.0.2.7:4000")

func (c *loopConn) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-c.in:
		return copy(b, d), peer, nil
	case <-c.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}
func (c *loopConn) WriteTo(b []byte, to netip.AddrPort) (int, error) {
	c.mu.Lock()
	c.sent = append(c.sent, append([]byte(nil), b...))
	c.to = append(c.to, to)
	c.mu.Unlock()
	c.in <- bytes.ToUpper(b)
	return len(b), nil
}
func (c *loopConn) LocalAddr() netip.AddrPort { return netip.AddrPort{} }
func (c *loopConn) Close() error              { c.once.Do(func() { close(c.closed) }); return nil }

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestNetcatDialLinesAreDatagrams(t *testing.T) {
	c := newLoopConn()
	var out syncBuf
	in := strings.NewReader("hello\nworld\npartial")
	err := NetcatUDP(context.Background(), c, in, &out, NetcatOptions{Linger: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.sent) != 3 || string(c.sent[0]) != "hello\n" || string(c.sent[2]) != "partial" {
		t.Fatalf("sent %q", c.sent)
	}
	if c.to[0].IsValid() {
		t.Fatalf("dial mode must send to the connected peer, got %v", c.to[0])
	}
	if got := out.String(); got != "HELLO\nWORLD\nPARTIAL" {
		t.Fatalf("out %q", got)
	}
}

func TestNetcatListenRepliesToLastPeer(t *testing.T) {
	c := newLoopConn()
	var out syncBuf
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- NetcatUDP(context.Background(), c, pr, &out, NetcatOptions{Listen: true, Linger: 0}) }()
	c.in <- []byte("ping\n") // a first datagram names the peer
	// Only once it is printed is the peer known; input before that has
	// nowhere to go.
	for deadline := time.Now().Add(10 * time.Second); !strings.HasPrefix(out.String(), "ping\n"); {
		if time.Now().After(deadline) {
			t.Fatalf("first datagram not printed: %q", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	pw.Write([]byte("pong\n"))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(c.to) != 1 || c.to[0] != peer || string(c.sent[0]) != "pong\n" {
		t.Fatalf("sent %q to %v", c.sent, c.to)
	}
	if !strings.HasPrefix(out.String(), "ping\n") {
		t.Fatalf("out %q", out.String())
	}
}
