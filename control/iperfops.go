package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/stapel-net/stapel/services/iperf3"
	"github.com/stapel-net/stapel/tools"
)

// OpIperf3 runs an iperf3-compatible server or client inside the daemon
// over Stapel TCP. Args: Iperf3Args. The daemon streams Iperf3Event
// lines (More=true): "listening" (server), "interval", "report" and
// "error" (a failed test; the server goes on). A client run ends with a
// final line (More=false) carrying its report; a server runs until the
// control client hangs up (or, with OneOff, after one test).
const OpIperf3 = "iperf3"

// Iperf3Args are the args of OpIperf3.
type Iperf3Args struct {
	Server bool `json:"server,omitempty"`
	// Host is the server to test against (client mode).
	Host     netip.Addr `json:"host,omitzero"`
	Port     uint16     `json:"port,omitempty"`     // 0 = 5201
	Seconds  int        `json:"seconds,omitempty"`  // -t; 0 = 10 unless Bytes
	Bytes    int64      `json:"bytes,omitempty"`    // -n
	Reverse  bool       `json:"reverse,omitempty"`  // -R
	Parallel int        `json:"parallel,omitempty"` // -P
	Len      int        `json:"len,omitempty"`      // -l
	OneOff   bool       `json:"oneOff,omitempty"`   // -1
}

// Iperf3Event is one line of an OpIperf3 stream.
type Iperf3Event struct {
	Kind     string           `json:"kind"` // listening, interval, report, error
	Local    netip.AddrPort   `json:"local,omitzero"`
	Interval *iperf3.Interval `json:"interval,omitempty"`
	Report   *iperf3.Report   `json:"report,omitempty"`
	Error    string           `json:"error,omitempty"`
}

// iperfListener is what the server mode needs of the host.
type iperfListener interface {
	ListenTCP(port uint16) (net.Listener, error)
}

// iperfOp handles OpIperf3; false = another op.
func (s *Server) iperfOp(ctx context.Context, c net.Conn, br *bufio.Reader, req Request) bool {
	if req.Op != OpIperf3 {
		return false
	}
	var a Iperf3Args
	if len(req.Args) > 0 {
		if err := json.Unmarshal(req.Args, &a); err != nil {
			writeResp(c, Response{Error: "iperf3: bad args: " + err.Error()})
			return true
		}
	}
	if a.Port == 0 {
		a.Port = iperf3.DefaultPort
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // the client hanging up stops the run
		io.Copy(io.Discard, br)
		cancel()
	}()
	var mu sync.Mutex
	emit := func(ev Iperf3Event, more bool) {
		b, _ := json.Marshal(ev)
		mu.Lock()
		defer mu.Unlock()
		if writeResp(c, Response{OK: true, More: more, Data: b}) != nil {
			cancel()
		}
	}
	onInterval := func(iv iperf3.Interval) { emit(Iperf3Event{Kind: "interval", Interval: &iv}, true) }
	if a.Server {
		lh, ok := s.Host.(iperfListener)
		if !ok {
			writeResp(c, Response{Error: "iperf3: TCP listening is not available in this daemon"})
			return true
		}
		ln, err := lh.ListenTCP(a.Port)
		if err != nil {
			writeResp(c, errResp(fmt.Errorf("iperf3: listening on port %d: %w", a.Port, err)))
			return true
		}
		srv := &iperf3.Server{Listener: ln, Logger: s.Logger, OneOff: a.OneOff, OnInterval: onInterval,
			OnReport: func(r iperf3.Report) { emit(Iperf3Event{Kind: "report", Report: &r}, true) },
			OnError:  func(err error) { emit(Iperf3Event{Kind: "error", Error: err.Error()}, true) }}
		emit(Iperf3Event{Kind: "listening", Local: addrPortOf(ln.Addr())}, true)
		s.Logger.Info("control: iperf3 server listening", "port", a.Port)
		err = srv.Serve(ctx)
		if ctx.Err() == nil { // one-off done, or the listener failed
			mu.Lock()
			writeResp(c, result(nil, err))
			mu.Unlock()
		}
		s.Logger.Info("control: iperf3 server stopped", "port", a.Port, "err", err)
		return true
	}
	sh, ok := s.Host.(tools.StreamHost)
	if !ok {
		writeResp(c, Response{Error: "iperf3: TCP is not available in this daemon"})
		return true
	}
	if !a.Host.Is4() {
		writeResp(c, Response{Error: "iperf3: client mode needs an IPv4 server address"})
		return true
	}
	cl := &iperf3.Client{
		Dialer:     iperf3.DialFunc(func(ctx context.Context, _, addr string) (net.Conn, error) { return dialStream(ctx, sh, addr) }),
		Addr:       net.JoinHostPort(a.Host.String(), strconv.Itoa(int(a.Port))),
		Time:       time.Duration(a.Seconds) * time.Second,
		Bytes:      a.Bytes,
		Reverse:    a.Reverse,
		Parallel:   a.Parallel,
		Len:        a.Len,
		OnInterval: onInterval,
	}
	r, err := cl.Run(ctx)
	s.Logger.Info("control: iperf3 client done", "server", cl.Addr, "sent", r.SentBytes, "received", r.ReceivedBytes, "err", err)
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		writeResp(c, errResp(err))
		return true
	}
	b, _ := json.Marshal(Iperf3Event{Kind: "report", Report: &r})
	writeResp(c, Response{OK: true, Data: b})
	return true
}

func dialStream(ctx context.Context, sh tools.StreamHost, addr string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	sc, err := sh.DialTCP(ctx, netip.AddrPort{}, ap)
	if err != nil {
		return nil, err
	}
	nc, ok := sc.(net.Conn)
	if !ok {
		sc.Close()
		return nil, errors.New("iperf3: this daemon's TCP connections are not net.Conns")
	}
	return nc, nil
}

// Iperf3 runs OpIperf3 and calls fn for each event until the run ends
// (client: its final report; server: ctx ending, or one test with
// OneOff). The client's report is returned.
func (cl *Client) Iperf3(ctx context.Context, a Iperf3Args, fn func(Iperf3Event)) (*iperf3.Report, error) {
	args, _ := json.Marshal(a)
	s, closeFn, err := cl.open(ctx, Request{Op: OpIperf3, Args: args})
	if err != nil {
		return nil, err
	}
	defer closeFn()
	for {
		r, err := s.next()
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil // interrupted: hanging up stops the daemon's side
			}
			return nil, err
		}
		var ev Iperf3Event
		if len(r.Data) > 0 {
			if err := json.Unmarshal(r.Data, &ev); err != nil {
				return nil, fmt.Errorf("control: bad iperf3 event: %v", err)
			}
			if fn != nil {
				fn(ev)
			}
		}
		if !r.More {
			return ev.Report, nil
		}
	}
}
