package iperf3

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/stapel-net/stapel/clock"
)

// Dialer opens TCP connections (net.Dialer, or a Stapel TCP wrapper).
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// DialFunc adapts a function to Dialer.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// DialContext calls f.
func (f DialFunc) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f(ctx, network, addr)
}

// Client runs one test against an iperf3 server.
type Client struct {
	Dialer Dialer
	Clock  clock.Clock // nil = clock.Real
	// Addr is the server's host:port.
	Addr string
	// Time is the test duration (default 10 s unless Bytes is set);
	// Bytes ends the test after that many bytes instead (iperf3 -n).
	Time  time.Duration
	Bytes int64
	// Reverse makes the server send (iperf3 -R).
	Reverse bool
	// Parallel is the number of streams (default 1), Len the write size
	// (default 128 KiB).
	Parallel int
	Len      int
	// OnInterval sees the rate once a second.
	OnInterval func(Interval)
	// Version is sent as client_version.
	Version string
}

// Run performs the test and returns its report.
func (cl *Client) Run(ctx context.Context) (Report, error) {
	rep := Report{Reverse: cl.Reverse, Retransmits: -1}
	if cl.Clock == nil {
		cl.Clock = clock.Real{}
	}
	if cl.Dialer == nil {
		cl.Dialer = &net.Dialer{}
	}
	p := Params{TCP: ptrTrue(), Parallel: cl.Parallel, Len: cl.Len, PacingTimer: 1000, ClientVersion: cl.Version}
	if p.Parallel == 0 {
		p.Parallel = 1
	}
	if p.Len == 0 {
		p.Len = DefaultBlock
	}
	if p.Parallel < 0 || p.Parallel > MaxStreams || p.Len < 0 || p.Len > MaxBlock || cl.Bytes < 0 {
		return rep, fmt.Errorf("iperf3: want 1..%d streams, blocks up to %d bytes, bytes >= 0", MaxStreams, MaxBlock)
	}
	if p.ClientVersion == "" {
		p.ClientVersion = "3.12"
	}
	switch {
	case cl.Bytes > 0:
		p.Num = cl.Bytes
	case cl.Time == 0:
		p.Time = 10
	default:
		p.Time = int((cl.Time + time.Second - 1) / time.Second)
	}
	if p.Time > MaxDuration {
		return rep, fmt.Errorf("iperf3: duration above %d s", MaxDuration)
	}
	if cl.Reverse {
		p.Reverse = ptrTrue()
	}
	rep.Parallel = p.Parallel

	c, err := cl.Dialer.DialContext(ctx, "tcp", cl.Addr)
	if err != nil {
		return rep, fmt.Errorf("iperf3: connecting to %s: %w", cl.Addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	rep.Local, rep.Remote = addrString(c.LocalAddr()), addrString(c.RemoteAddr())
	ck := NewCookie()
	if _, err := c.Write(ck[:]); err != nil {
		return rep, fmt.Errorf("iperf3: sending cookie: %w", err)
	}
	var (
		pm    *pump
		conns []net.Conn
		m     *meter
		secs  float64
	)
	defer func() {
		if pm != nil {
			pm.close()
		}
		for _, sc := range conns {
			sc.Close()
		}
	}()
	for {
		c.SetReadDeadline(time.Now().Add(handshakeTimeout))
		st, err := readState(c)
		if err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			return rep, fmt.Errorf("iperf3: control connection: %w", err)
		}
		switch st {
		case ParamExchange:
			if err := writeJSON(c, p); err != nil {
				return rep, err
			}
		case CreateStreams:
			for i := 0; i < p.Parallel; i++ {
				sc, err := cl.Dialer.DialContext(ctx, "tcp", cl.Addr)
				if err != nil {
					return rep, fmt.Errorf("iperf3: data stream %d: %w", i+1, err)
				}
				conns = append(conns, sc)
				if _, err := sc.Write(ck[:]); err != nil {
					return rep, fmt.Errorf("iperf3: data stream %d cookie: %w", i+1, err)
				}
			}
		case TestStart:
		case TestRunning:
			if len(conns) != p.Parallel {
				return rep, errors.New("iperf3: TEST_RUNNING before the streams were made")
			}
			now := cl.Clock.Now()
			m = &meter{start: now, last: now, sender: !cl.Reverse}
			pm = newPump(conns, !cl.Reverse, p.Len, p.Num, m)
			conns = nil
			pm.start()
			end, err := cl.runData(ctx, c, pm, m, p)
			if err != nil {
				return rep, err
			}
			secs = end
			if err := writeState(c, TestEnd); err != nil {
				return rep, err
			}
		case ExchangeResults:
			if pm == nil {
				return rep, errors.New("iperf3: results requested before the test ran")
			}
			mine := Results{Streams: pm.streamResults(secs), CongestionUsed: "reno"}
			if err := writeJSON(c, mine); err != nil {
				return rep, err
			}
			var peer Results
			if err := readJSON(c, &peer); err != nil {
				return rep, fmt.Errorf("iperf3: reading the server's results: %w", err)
			}
			peerBytes, peerSecs := sumStreams(peer.Streams)
			if cl.Reverse {
				rep.SentBytes, rep.SentSeconds = peerBytes, peerSecs
				rep.ReceivedBytes, rep.ReceivedSeconds = pm.total(), secs
				if peer.SenderHasRetransmits == 1 {
					rep.Retransmits = sumRetrans(peer.Streams)
				}
			} else {
				rep.SentBytes, rep.SentSeconds = pm.total(), secs
				rep.ReceivedBytes, rep.ReceivedSeconds = peerBytes, peerSecs
			}
		case DisplayResults:
			if err := writeState(c, IperfDone); err != nil {
				return rep, err
			}
			return rep, nil
		case AccessDenied:
			return rep, ErrAccessDenied
		case ServerError:
			var b [8]byte
			io.ReadFull(c, b[:])
			return rep, ServerErr{Code: int32(binary.BigEndian.Uint32(b[:4])), Errno: int32(binary.BigEndian.Uint32(b[4:]))}
		case ServerTerminate:
			return rep, errors.New("iperf3: the server terminated the test")
		default:
			return rep, fmt.Errorf("iperf3: unexpected state %d from the server", st)
		}
	}
}

// runData waits for the test's end (duration, byte count, or all
// streams closing), reporting intervals, and returns its length in
// seconds. A state from the server meanwhile is an error.
func (cl *Client) runData(ctx context.Context, c net.Conn, pm *pump, m *meter, p Params) (float64, error) {
	timeUp := make(chan struct{})
	var once sync.Once
	var t clock.Timer
	limit := time.Duration(MaxDuration) * time.Second // -n on a stalled path ends too
	if p.Time > 0 {
		limit = time.Duration(p.Time) * time.Second
	}
	t = cl.Clock.AfterFunc(limit, func() { once.Do(func() { close(timeUp) }) })
	defer t.Stop()
	var tickMu sync.Mutex
	ticking := true
	var ticker clock.Timer
	tick := func() {
		tickMu.Lock()
		defer tickMu.Unlock()
		if !ticking {
			return
		}
		m.tick(cl.Clock.Now(), cl.OnInterval)
		ticker.Reset(time.Second)
	}
	tickMu.Lock()
	ticker = cl.Clock.AfterFunc(time.Second, tick)
	tickMu.Unlock()
	defer func() {
		tickMu.Lock()
		ticking = false
		ticker.Stop()
		tickMu.Unlock()
	}()
	// The server says nothing while the test runs; anything it does say
	// (or its hanging up) ends the test.
	c.SetReadDeadline(time.Time{})
	ctrl := make(chan error, 1)
	var early [1]byte
	go func() {
		_, err := c.Read(early[:])
		if err == nil {
			err = fmt.Errorf("iperf3: server sent state %d during the test", int8(early[0]))
		}
		ctrl <- err
	}()
	select {
	case <-timeUp:
	case <-pm.done:
	case err := <-ctrl:
		return 0, err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	end := cl.Clock.Now()
	pm.stop()
	tickMu.Lock()
	ticking = false
	ticker.Stop()
	tickMu.Unlock()
	m.tick(end, cl.OnInterval)
	// Release the control reader: a read deadline in the past ends it.
	c.SetReadDeadline(time.Unix(1, 0))
	if err := <-ctrl; err != nil && !isTimeout(err) {
		return 0, err
	}
	return end.Sub(m.start).Seconds(), nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func ptrTrue() *bool { t := true; return &t }
