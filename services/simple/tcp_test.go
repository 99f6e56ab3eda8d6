package simple

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// pipeListener hands out net.Pipe server ends.
type pipeListener struct {
	ch     chan net.Conn
	closed chan struct{}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}
func (l *pipeListener) Close() error   { close(l.closed); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{} }

type pipeNet struct{ ls map[uint16]*pipeListener }

func (p *pipeNet) Listen(port uint16) (net.Listener, error) {
	l := &pipeListener{ch: make(chan net.Conn), closed: make(chan struct{})}
	p.ls[port] = l
	return l, nil
}

func (p *pipeNet) dial(port uint16) net.Conn {
	a, b := net.Pipe()
	p.ls[port].ch <- b
	return a
}

// TCP chargen streams 74-byte lines until the client goes; Close ends
// open connections instead of waiting for them.
func TestTCPChargenAndClose(t *testing.T) {
	pn := &pipeNet{ls: map[uint16]*pipeListener{}}
	s, err := Start(nil, pn, Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := pn.dial(PortChargen)
	r := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		line, err := r.ReadString('\n')
		if err != nil || len(line) != 74 {
			t.Fatalf("line %d: %q %v", i, line, err)
		}
	}
	e := pn.dial(PortEcho)
	e.Write([]byte("x"))
	b := make([]byte, 1)
	if _, err := e.Read(b); err != nil || b[0] != 'x' {
		t.Fatalf("echo %q %v", b, err)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for connected clients")
	}
}
