package control

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stapel-net/stapel/tools"
)

// iperfHost is fakeHost with an in-memory TCP: ListenTCP and DialTCP
// meet through net.Pipe pairs.
type iperfHost struct {
	*fakeHost
	conns chan net.Conn
}

type memListener struct {
	h    *iperfHost
	done chan struct{}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.h.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}
func (l *memListener) Close() error {
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	return nil
}
func (l *memListener) Addr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(198, 51, 100, 10), Port: 5201}
}

func (h *iperfHost) ListenTCP(port uint16) (net.Listener, error) {
	return &memListener{h: h, done: make(chan struct{})}, nil
}

func (h *iperfHost) DialTCP(ctx context.Context, local, remote netip.AddrPort) (tools.StreamConn, error) {
	a, b := net.Pipe()
	select {
	case h.conns <- b:
		return pipeStream{a}, nil
	case <-time.After(5 * time.Second):
		return nil, errors.New("connection refused")
	}
}

// pipeStream gives a pipe end the CloseWrite of a TCP stream.
type pipeStream struct{ net.Conn }

func (pipeStream) CloseWrite() error { return nil }

func (h *iperfHost) AcceptTCP(ctx context.Context, local netip.AddrPort) (tools.StreamConn, error) {
	return nil, errors.New("not used")
}

func TestIperf3OpServerAndClient(t *testing.T) {
	h := &iperfHost{fakeHost: &fakeHost{}, conns: make(chan net.Conn)}
	cl := serve(t, h, 0)
	sctx, stopServer := context.WithCancel(context.Background())
	listening := make(chan netip.AddrPort, 1)
	reports := make(chan Iperf3Event, 1)
	served := make(chan error, 1)
	go func() {
		_, err := cl.Iperf3(sctx, Iperf3Args{Server: true}, func(ev Iperf3Event) {
			switch ev.Kind {
			case "listening":
				listening <- ev.Local
			case "report":
				reports <- ev
			}
		})
		served <- err
	}()
	select {
	case a := <-listening:
		if a.Port() != 5201 {
			t.Errorf("listening on %v", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no listening event")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := cl.Iperf3(ctx, Iperf3Args{Host: netip.MustParseAddr("198.51.100.10"), Bytes: 1 << 20, Reverse: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep == nil || rep.SentBytes != 1<<20 || rep.ReceivedBytes != 1<<20 || !rep.Reverse {
		t.Errorf("client report %+v", rep)
	}
	select {
	case ev := <-reports:
		if ev.Report.SentBytes != 1<<20 {
			t.Errorf("server report %+v", ev.Report)
		}
	case <-time.After(10 * time.Second):
		t.Error("no server report")
	}
	stopServer()
	if err := <-served; err != nil {
		t.Errorf("server run: %v", err)
	}
	// Client mode needs an IPv4 server.
	if _, err := cl.Iperf3(ctx, Iperf3Args{}, nil); err == nil {
		t.Error("client without a host accepted")
	}
}

func TestIperf3OpWithoutTCP(t *testing.T) {
	cl := serve(t, &fakeHost{}, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cl.Iperf3(ctx, Iperf3Args{Server: true}, nil); err == nil {
		t.Error("server mode on a host without TCP accepted")
	}
	if _, err := cl.Iperf3(ctx, Iperf3Args{Host: netip.MustParseAddr("198.51.100.1")}, nil); err == nil {
		t.Error("client mode on a host without TCP accepted")
	}
}
