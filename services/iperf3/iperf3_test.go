package iperf3

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
)

// memNet is an in-memory listener and dialer (net.Pipe pairs).
type memNet struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newMemNet() *memNet { return &memNet{conns: make(chan net.Conn), closed: make(chan struct{})} }

func (m *memNet) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case <-m.closed:
		return nil, net.ErrClosed
	}
}

func (m *memNet) Close() error   { m.once.Do(func() { close(m.closed) }); return nil }
func (m *memNet) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(198, 18, 0, 2), Port: DefaultPort} }

func (m *memNet) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	a, b := net.Pipe()
	select {
	case m.conns <- b:
		return a, nil
	case <-m.closed:
		return nil, errors.New("connection refused")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func serve(t *testing.T, srv *Server) (cancel func()) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	return func() {
		stop()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("server did not stop")
		}
	}
}

func TestByteBoundedBothDirections(t *testing.T) {
	for _, rev := range []bool{false, true} {
		mn := newMemNet()
		reports := make(chan Report, 1)
		stop := serve(t, &Server{Listener: mn, OnReport: func(r Report) { reports <- r },
			OnError: func(err error) { t.Errorf("server: %v", err) }})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cl := &Client{Dialer: mn, Addr: "198.18.0.2:5201", Bytes: 3<<20 + 5, Reverse: rev, Parallel: 3, Len: 64 << 10}
		r, err := cl.Run(ctx)
		cancel()
		if err != nil {
			t.Fatalf("reverse=%v: %v", rev, err)
		}
		sr := <-reports
		stop()
		// The sender sends exactly -n bytes; the receiver counts what
		// arrived before TEST_END (all of it on a synchronous pipe when
		// the receiver is the client, which ends the test on receipt).
		if r.SentBytes != 3<<20+5 || r.ReceivedBytes == 0 || r.ReceivedBytes > r.SentBytes || r.Parallel != 3 {
			t.Errorf("reverse=%v: client report %+v", rev, r)
		}
		if rev && r.ReceivedBytes != r.SentBytes {
			t.Errorf("reverse: client received %d of %d", r.ReceivedBytes, r.SentBytes)
		}
		if sr.SentBytes != r.SentBytes || sr.ReceivedBytes != r.ReceivedBytes || sr.Reverse != rev {
			t.Errorf("reverse=%v: server report %+v, client's %+v", rev, sr, r)
		}
	}
}

// The test lasts exactly -t in virtual time, reported per second.
func TestTimedTestVirtualClock(t *testing.T) {
	vc := clock.NewVirtual(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	mn := newMemNet()
	reports := make(chan Report, 1)
	stop := serve(t, &Server{Listener: mn, Clock: vc, OnReport: func(r Report) { reports <- r }})
	defer stop()
	var mu sync.Mutex
	var ivs []Interval
	cl := &Client{Dialer: mn, Clock: vc, Addr: "x:5201", Time: 2 * time.Second,
		OnInterval: func(iv Interval) { mu.Lock(); ivs = append(ivs, iv); mu.Unlock() }}
	type res struct {
		r   Report
		err error
	}
	done := make(chan res, 1)
	go func() { r, err := cl.Run(context.Background()); done <- res{r, err} }()
	vc.BlockUntil(3) // client: duration and ticker; server: ticker
	vc.Advance(time.Second)
	vc.Advance(time.Second)
	got := <-done
	if got.err != nil {
		t.Fatal(got.err)
	}
	sr := <-reports
	if got.r.SentSeconds != 2 || got.r.ReceivedSeconds != 2 || sr.SentSeconds != 2 {
		t.Errorf("durations: client %+v, server %+v; want exactly 2 s", got.r, sr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ivs) != 2 || ivs[0].Start != 0 || ivs[0].End != 1 || ivs[1].Start != 1 || ivs[1].End != 2 || !ivs[0].Sender {
		t.Errorf("intervals %+v, want 0-1 and 1-2 from the sender", ivs)
	}
}

// A second client while a test runs is told ACCESS_DENIED.
func TestBusyServerDeniesSecondClient(t *testing.T) {
	vc := clock.NewVirtual(time.Unix(0, 0))
	mn := newMemNet()
	stop := serve(t, &Server{Listener: mn, Clock: vc})
	defer stop()
	first := make(chan error, 1)
	go func() {
		_, err := (&Client{Dialer: mn, Clock: vc, Addr: "x:1", Time: time.Second}).Run(context.Background())
		first <- err
	}()
	vc.BlockUntil(3) // the first test is running
	_, err := (&Client{Dialer: mn, Addr: "x:1", Bytes: 1}).Run(context.Background())
	if !errors.Is(err, ErrAccessDenied) {
		t.Errorf("second client: %v, want ErrAccessDenied", err)
	}
	vc.Advance(time.Second)
	if err := <-first; err != nil {
		t.Errorf("first client: %v", err)
	}
}

// Parameters beyond the bounds get SERVER_ERROR with iperf3's code.
func TestServerRefusesOutOfBoundParams(t *testing.T) {
	for _, tc := range []struct {
		p    string
		code int32
	}{
		{`{"tcp":true,"parallel":17,"time":1}`, errNumStreams},
		{`{"udp":true,"parallel":1,"time":1}`, errUnimplemented},
		{`{"tcp":true,"parallel":1,"len":2000000,"time":1}`, errBlockSize},
		{`{"tcp":true,"parallel":1,"time":100000}`, errDuration},
	} {
		mn := newMemNet()
		errs := make(chan error, 1)
		stop := serve(t, &Server{Listener: mn, OnError: func(err error) { errs <- err }})
		c, _ := mn.DialContext(context.Background(), "tcp", "")
		ck := NewCookie()
		c.Write(ck[:])
		if st, err := readState(c); err != nil || st != ParamExchange {
			t.Fatalf("state %d %v", st, err)
		}
		var raw json.RawMessage = []byte(tc.p)
		writeJSON(c, raw)
		var b [9]byte
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(b[:1]); err != nil || int8(b[0]) != ServerError {
			t.Errorf("%s: got %d %v, want SERVER_ERROR", tc.p, int8(b[0]), err)
		}
		readFull(c, b[1:5])
		if code := int32(b[1])<<24 | int32(b[2])<<16 | int32(b[3])<<8 | int32(b[4]); code != tc.code {
			t.Errorf("%s: code %d, want %d", tc.p, code, tc.code)
		}
		c.Close()
		<-errs
		stop()
	}
}

func readFull(c net.Conn, b []byte) {
	for len(b) > 0 {
		n, err := c.Read(b)
		if err != nil {
			return
		}
		b = b[n:]
	}
}

// Malformed or oversized control input is refused, never a panic.
func TestMalformedControlInput(t *testing.T) {
	var v Params
	for _, in := range [][]byte{
		{0, 0, 0, 0},
		{0xff, 0xff, 0xff, 0xff},
		{0, 0, 0, 5, '{', '"', 'x'},
		append([]byte{0, 0, 0, 3}, "[1]"...),
	} {
		if err := readJSON(bytes.NewReader(in), &v); err == nil {
			t.Errorf("readJSON(%q) accepted", in)
		}
	}
	// A connection that never sends its cookie is dropped.
	mn := newMemNet()
	stop := serve(t, &Server{Listener: mn})
	defer stop()
	c, _ := mn.DialContext(context.Background(), "tcp", "")
	c.Write([]byte("short"))
	c.Close()
}

// cJSON writes -1 through unsigned types.
func TestIntAcceptsIperf3Forms(t *testing.T) {
	var r Results
	in := `{"cpu_util_total":1.5,"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":18446744073709551615,
		"streams":[{"id":1,"bytes":4.2e9,"retransmits":-1,"jitter":0,"errors":0,"packets":0}]}`
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if r.SenderHasRetransmits != -1 || r.Streams[0].Bytes != 4200000000 || r.Streams[0].Retransmits != -1 {
		t.Errorf("decoded %+v", r)
	}
}

func TestStreamIDs(t *testing.T) {
	if got := []int{streamID(0), streamID(1), streamID(2)}; got[0] != 1 || got[1] != 3 || got[2] != 4 {
		t.Errorf("stream ids %v, want 1 3 4 (iperf3's numbering)", got)
	}
}
