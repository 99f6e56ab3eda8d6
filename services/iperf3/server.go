package iperf3

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/stapel-net/stapel/clock"
)

// Server answers iperf3 clients on a listener, one test at a time (as
// iperf3 does: a second client is told ACCESS_DENIED).
type Server struct {
	Listener net.Listener
	Clock    clock.Clock // nil = clock.Real
	Logger   *slog.Logger
	// OnInterval sees the running test's rate once a second.
	OnInterval func(Interval)
	// OnReport sees each finished test; OnError each failed one.
	OnReport func(Report)
	OnError  func(error)
	// OneOff stops serving after one test (iperf3 -1).
	OneOff bool
	// Grace is how long past the client's announced duration the server
	// waits for TEST_END before giving up (0 = 30 s).
	Grace time.Duration

	mu  sync.Mutex
	cur *serverTest
}

type serverTest struct {
	cookie  Cookie
	streams chan net.Conn // data connections, once CREATE_STREAMS is sent
	want    bool
}

const handshakeTimeout = 10 * time.Second

// Serve accepts until ctx ends or the listener fails (or, with OneOff,
// until a test finishes). It closes the listener.
func (s *Server) Serve(ctx context.Context) error {
	if s.Clock == nil {
		s.Clock = clock.Real{}
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { s.Listener.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := s.Listener.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.handle(ctx, c) && s.OneOff {
				cancel()
			}
		}()
	}
}

// handle sorts a new connection by its cookie: a data stream of the
// running test, or a new test's control connection. It reports whether
// it ran a test.
func (s *Server) handle(ctx context.Context, c net.Conn) bool {
	var ck Cookie
	c.SetReadDeadline(time.Now().Add(handshakeTimeout))
	if _, err := io.ReadFull(c, ck[:]); err != nil {
		s.Logger.Debug("iperf3: connection without a cookie", "remote", addrString(c.RemoteAddr()), "err", err)
		c.Close()
		return false
	}
	c.SetReadDeadline(time.Time{})
	s.mu.Lock()
	cur := s.cur
	switch {
	case cur != nil && cur.cookie == ck && cur.want:
		select {
		case cur.streams <- c:
		default: // more streams than announced
			c.Close()
		}
		s.mu.Unlock()
		return false
	case cur != nil:
		s.mu.Unlock()
		writeState(c, AccessDenied)
		c.Close()
		return false
	}
	t := &serverTest{cookie: ck, streams: make(chan net.Conn, MaxStreams)}
	s.cur = t
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.cur = nil
		s.mu.Unlock()
		for { // streams that came late
			select {
			case sc := <-t.streams:
				sc.Close()
			default:
				return
			}
		}
	}()
	r, err := s.run(ctx, c, t)
	c.Close()
	if err != nil {
		s.Logger.Info("iperf3: test failed", "remote", addrString(c.RemoteAddr()), "err", err)
		if s.OnError != nil {
			s.OnError(err)
		}
		return true
	}
	s.Logger.Info("iperf3: test done", "remote", r.Remote, "sent", r.SentBytes, "received", r.ReceivedBytes)
	if s.OnReport != nil {
		s.OnReport(r)
	}
	return true
}

func serverError(c net.Conn, code int32) {
	var b [9]byte
	st := ServerError
	b[0] = byte(st)
	binary.BigEndian.PutUint32(b[1:], uint32(code))
	c.Write(b[:])
}

// run is one test on control connection c.
func (s *Server) run(ctx context.Context, c net.Conn, t *serverTest) (Report, error) {
	rep := Report{Local: addrString(c.LocalAddr()), Remote: addrString(c.RemoteAddr()), Retransmits: -1}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := writeState(c, ParamExchange); err != nil {
		return rep, err
	}
	var p Params
	if err := readJSON(c, &p); err != nil {
		return rep, fmt.Errorf("reading parameters: %w", err)
	}
	var code int32
	switch {
	case p.UDP != nil || p.SCTP != nil || p.Bidirectional != nil:
		code = errUnimplemented
	case p.Parallel < 0 || p.Parallel > MaxStreams:
		code = errNumStreams
	case p.Len < 0 || p.Len > MaxBlock:
		code = errBlockSize
	case p.Time < 0 || p.Time > MaxDuration || p.Omit < 0 || p.Omit > MaxDuration:
		code = errDuration
	}
	if code != 0 {
		serverError(c, code)
		return rep, fmt.Errorf("refused parameters %+v (iperf3 error %d): only TCP, -P <= %d, -l <= %d, -t <= %d", p, code, MaxStreams, MaxBlock, MaxDuration)
	}
	if p.Parallel == 0 {
		p.Parallel = 1
	}
	if p.Len == 0 {
		p.Len = DefaultBlock
	}
	rep.Parallel, rep.Reverse = p.Parallel, p.Reverse != nil

	s.mu.Lock()
	t.want = true
	s.mu.Unlock()
	if err := writeState(c, CreateStreams); err != nil {
		return rep, err
	}
	conns := make([]net.Conn, 0, p.Parallel)
	closeAll := func() {
		for _, sc := range conns {
			sc.Close()
		}
	}
	timeout := time.NewTimer(handshakeTimeout)
	defer timeout.Stop()
	for len(conns) < p.Parallel {
		select {
		case sc := <-t.streams:
			conns = append(conns, sc)
		case <-timeout.C:
			closeAll()
			return rep, fmt.Errorf("only %d of %d data streams connected", len(conns), p.Parallel)
		case <-ctx.Done():
			closeAll()
			return rep, ctx.Err()
		}
	}
	s.mu.Lock()
	t.want = false
	s.mu.Unlock()

	if err := writeState(c, TestStart); err != nil {
		closeAll()
		return rep, err
	}
	if err := writeState(c, TestRunning); err != nil {
		closeAll()
		return rep, err
	}
	c.SetDeadline(time.Time{})
	send := p.Reverse != nil
	now := s.Clock.Now()
	m := &meter{start: now, last: now, sender: send}
	var limit int64
	if send {
		limit = p.Num
	}
	pm := newPump(conns, send, p.Len, limit, m)
	defer pm.close()
	pm.start()

	// The client ends the test; bound the wait by its duration.
	bound := time.Duration(MaxDuration) * time.Second
	if p.Time > 0 && p.Num == 0 && p.BlockCount == 0 {
		g := s.Grace
		if g == 0 {
			g = 30 * time.Second
		}
		bound = time.Duration(p.Time+p.Omit)*time.Second + g
	}
	c.SetReadDeadline(time.Now().Add(bound))
	var ticker clock.Timer
	var tickMu sync.Mutex
	ticking := true
	var tick func()
	tick = func() {
		tickMu.Lock()
		defer tickMu.Unlock()
		if !ticking {
			return
		}
		m.tick(s.Clock.Now(), s.OnInterval)
		ticker.Reset(time.Second)
	}
	tickMu.Lock()
	ticker = s.Clock.AfterFunc(time.Second, tick)
	tickMu.Unlock()
	st, err := readState(c)
	tickMu.Lock()
	ticking = false
	ticker.Stop()
	tickMu.Unlock()
	end := s.Clock.Now()
	// iperf3 closes the streams at TEST_END: a client blocked reading
	// one (-R) sees EOF, and moves on to the results.
	pm.close()
	secs := end.Sub(m.start).Seconds()
	m.tick(end, s.OnInterval)
	if err != nil {
		return rep, fmt.Errorf("waiting for TEST_END: %w", err)
	}
	switch st {
	case TestEnd:
	case ClientTerminate:
		return rep, errors.New("the client terminated the test")
	default:
		return rep, fmt.Errorf("unexpected state %d while running", st)
	}

	c.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := writeState(c, ExchangeResults); err != nil {
		return rep, err
	}
	var peer Results
	if err := readJSON(c, &peer); err != nil {
		return rep, fmt.Errorf("reading the client's results: %w", err)
	}
	mine := Results{Streams: pm.streamResults(secs), CongestionUsed: "reno"}
	if send {
		mine.SenderHasRetransmits = 0
	}
	if err := writeJSON(c, mine); err != nil {
		return rep, err
	}
	if err := writeState(c, DisplayResults); err != nil {
		return rep, err
	}
	if st, err := readState(c); err != nil || st != IperfDone {
		s.Logger.Debug("iperf3: no IPERF_DONE", "state", st, "err", err)
	}
	peerBytes, peerSecs := sumStreams(peer.Streams)
	if send {
		rep.SentBytes, rep.SentSeconds = pm.total(), secs
		rep.ReceivedBytes, rep.ReceivedSeconds = peerBytes, peerSecs
	} else {
		rep.SentBytes, rep.SentSeconds = peerBytes, peerSecs
		rep.ReceivedBytes, rep.ReceivedSeconds = pm.total(), secs
		if peer.SenderHasRetransmits == 1 {
			rep.Retransmits = sumRetrans(peer.Streams)
		}
	}
	return rep, nil
}

func sumStreams(ss []StreamResult) (int64, float64) {
	var n int64
	var secs float64
	for _, s := range ss {
		n += int64(s.Bytes)
		if d := s.EndTime - s.StartTime; d > secs {
			secs = d
		}
	}
	return n, secs
}

func sumRetrans(ss []StreamResult) int64 {
	var n int64
	for _, s := range ss {
		n += int64(s.Retransmits)
	}
	return n
}
