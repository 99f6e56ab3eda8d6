package control

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stapel-net/stapel/tools"
)

// fakeHost is a scripted tools.Host.
type fakeHost struct {
	mu      sync.Mutex
	added   []string
	pingCtx chan context.Context
	udp     *pipeConn
}

func (f *fakeHost) Info(ctx context.Context) (tools.HostInfo, error) {
	return tools.HostInfo{HostName: "hosta", Adapters: []tools.Adapter{{Index: 2, Name: "lan",
		Addrs: []netip.Prefix{netip.MustParsePrefix("198.51.100.10/24")}}}}, nil
}
func (f *fakeHost) ARPTables(ctx context.Context) ([]tools.ARPTable, error) {
	return []tools.ARPTable{{IfAddr: netip.MustParseAddr("198.51.100.10"), IfIndex: 2,
		Entries: []tools.ARPEntry{{IP: netip.MustParseAddr("198.51.100.1"), MAC: "02:00:00:00:00:01"}}}}, nil
}
func (f *fakeHost) AddStaticARP(ctx context.Context, ip netip.Addr, mac string, ifAddr netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, ip.String()+" "+mac+" "+ifAddr.String())
	return nil
}
func (f *fakeHost) DeleteARP(ctx context.Context, ip netip.Addr) error {
	return errors.New("stack: not found")
}
func (f *fakeHost) Stats(ctx context.Context) (map[string]uint64, error) {
	return map[string]uint64{"ipInReceives": 7}, nil
}
func (f *fakeHost) Ping(ctx context.Context, dst netip.Addr, o tools.PingOptions, emit func(tools.ProbeResult)) error {
	if f.pingCtx != nil {
		f.pingCtx <- ctx
		<-ctx.Done()
		return ctx.Err()
	}
	for i := 0; i < o.Count; i++ {
		emit(tools.ProbeResult{Seq: i, Kind: tools.ProbeReply, From: dst, Bytes: o.Size, TTL: 64, RTT: time.Duration(i) * time.Millisecond})
	}
	return nil
}
func (f *fakeHost) OpenUDP(ctx context.Context, local, remote netip.AddrPort) (tools.DatagramConn, error) {
	f.udp = newPipeConn()
	return f.udp, nil
}

type dgram struct {
	b    []byte
	peer netip.AddrPort
}

// pipeConn is the stack side of a UDP socket: the test injects and reads.
type pipeConn struct {
	in, out chan dgram
	closed  chan struct{}
	once    sync.Once
}

func newPipeConn() *pipeConn {
	return &pipeConn{in: make(chan dgram, 8), out: make(chan dgram, 8), closed: make(chan struct{})}
}
func (p *pipeConn) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-p.in:
		return copy(b, d.b), d.peer, nil
	case <-p.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}
func (p *pipeConn) WriteTo(b []byte, to netip.AddrPort) (int, error) {
	p.out <- dgram{append([]byte(nil), b...), to}
	return len(b), nil
}
func (p *pipeConn) LocalAddr() netip.AddrPort {
	return netip.MustParseAddrPort("198.51.100.10:49152")
}
func (p *pipeConn) Close() error { p.once.Do(func() { close(p.closed) }); return nil }

func serve(t *testing.T, h tools.Host, max int) *Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stapel.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		(&Server{Host: h, MaxClients: max}).Serve(ctx, ln)
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &Client{Path: path}
}

func TestRoundTripsFake(t *testing.T) {
	f := &fakeHost{}
	c := serve(t, f, 0)
	ctx := context.Background()
	info, err := c.Info(ctx)
	if err != nil || info.HostName != "hosta" || info.Adapters[0].Addrs[0].String() != "198.51.100.10/24" {
		t.Fatalf("info %+v %v", info, err)
	}
	tabs, err := c.ARPTables(ctx)
	if err != nil || tabs[0].Entries[0].MAC != "02:00:00:00:00:01" {
		t.Fatalf("arp %+v %v", tabs, err)
	}
	if err := c.AddStaticARP(ctx, netip.MustParseAddr("198.51.100.7"), "02-00-00-00-00-07", netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if f.added[0] != "198.51.100.7 02-00-00-00-00-07 invalid IP" {
		t.Fatalf("added %q", f.added)
	}
	if err := c.DeleteARP(ctx, netip.MustParseAddr("198.51.100.9")); err == nil || err.Error() != "stack: not found" {
		t.Fatalf("delete err %v", err)
	}
	st, err := c.Stats(ctx)
	if err != nil || st["ipInReceives"] != 7 {
		t.Fatalf("stats %v %v", st, err)
	}
	var got []tools.ProbeResult
	err = c.Ping(ctx, netip.MustParseAddr("203.0.113.20"), tools.PingOptions{Count: 3, Size: 100}, func(r tools.ProbeResult) { got = append(got, r) })
	if err != nil || len(got) != 3 || got[2].RTT != 2*time.Millisecond || got[1].Bytes != 100 {
		t.Fatalf("ping %+v %v", got, err)
	}
}

// Hanging up a ping stops the daemon's loop.
func TestPingCancelPropagates(t *testing.T) {
	f := &fakeHost{pingCtx: make(chan context.Context, 1)}
	c := serve(t, f, 0)
	ctx, cancel := context.WithCancel(context.Background())
	go c.Ping(ctx, netip.MustParseAddr("203.0.113.20"), tools.PingOptions{Continuous: true}, func(tools.ProbeResult) {})
	srvCtx := <-f.pingCtx
	cancel()
	select {
	case <-srvCtx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("daemon-side ping not cancelled")
	}
}

func TestUDPFrames(t *testing.T) {
	f := &fakeHost{}
	c := serve(t, f, 0)
	uc, err := c.OpenUDP(context.Background(), netip.AddrPort{}, netip.MustParseAddrPort("203.0.113.20:7"))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	if uc.LocalAddr().Port() != 49152 {
		t.Fatalf("local %v", uc.LocalAddr())
	}
	uc.WriteTo([]byte("hello"), netip.AddrPort{})
	d := <-f.udp.out
	if string(d.b) != "hello" || d.peer.IsValid() {
		t.Fatalf("stack got %q to %v", d.b, d.peer)
	}
	from := netip.MustParseAddrPort("203.0.113.20:7")
	f.udp.in <- dgram{[]byte("HELLO"), from}
	buf := make([]byte, 100)
	n, p, err := uc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "HELLO" || p != from {
		t.Fatalf("read %q %v %v", buf[:n], p, err)
	}
	uc.Close()
	select {
	case <-f.udp.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("stack socket not closed after client hung up")
	}
}

func TestBounds(t *testing.T) {
	f := &fakeHost{pingCtx: make(chan context.Context, 2)}
	c := serve(t, f, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Ping(ctx, netip.MustParseAddr("203.0.113.20"), tools.PingOptions{}, func(tools.ProbeResult) {})
	<-f.pingCtx
	if _, err := c.Info(context.Background()); err == nil || err.Error() != "daemon busy: too many control clients" {
		t.Fatalf("second client: %v", err)
	}
	// An oversized request line is refused.
	conn, err := net.Dial("unix", c.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cancel()
	time.Sleep(100 * time.Millisecond) // let the slot free up (real socket)
	conn2, _ := net.Dial("unix", c.Path)
	defer conn2.Close()
	big := make([]byte, MaxRequestBytes+10)
	for i := range big {
		big[i] = 'x'
	}
	go conn2.Write(big)
	s := &session{c: conn2, br: newReader(conn2)}
	if _, err := s.next(); err == nil {
		t.Fatal("oversized request accepted")
	}
}

func TestNoDaemon(t *testing.T) {
	c := &Client{Path: filepath.Join(t.TempDir(), "none.sock")}
	if _, err := c.Info(context.Background()); !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("err %v", err)
	}
}

func TestSocketPath(t *testing.T) {
	t.Setenv(EnvSocket, "")
	if SocketPath("") != DefaultSocket || SocketPath("/x") != "/x" {
		t.Fatal("defaults")
	}
	t.Setenv(EnvSocket, "/y")
	if SocketPath("") != "/y" {
		t.Fatal("env")
	}
}
