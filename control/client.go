package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/stapel-net/stapel/tools"
)

// Client talks to a daemon; it implements tools.Host.
type Client struct {
	Path string
}

var _ tools.Host = (*Client)(nil)

// ErrNoDaemon wraps connection failures so the tools can say what to do.
var ErrNoDaemon = errors.New("cannot reach the stapel daemon")

type session struct {
	c  net.Conn
	br *bufio.Reader
}

// open connects, sends req and arranges for ctx to close the connection.
func (cl *Client) open(ctx context.Context, req Request) (*session, func(), error) {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	c, err := d.DialContext(dctx, "unix", cl.Path)
	cancel()
	if err != nil {
		return nil, nil, fmt.Errorf("%w at %s (is `stapel run` running? set --control or $%s): %v",
			ErrNoDaemon, cl.Path, EnvSocket, err)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	b, _ := json.Marshal(req)
	s := &session{c: c, br: newReader(c)}
	if _, err := c.Write(append(b, '\n')); err != nil {
		// A busy daemon answers and hangs up before reading: prefer
		// its message to our broken pipe.
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, rerr := s.next(); rerr != nil && !strings.HasPrefix(rerr.Error(), "control:") {
			err = rerr
		}
		stop()
		c.Close()
		return nil, nil, err
	}
	return s, func() { stop(); c.Close() }, nil
}

func (s *session) next() (Response, error) {
	var r Response
	line, err := s.br.ReadBytes('\n')
	if err != nil {
		return r, fmt.Errorf("control: daemon closed the connection: %w", err)
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return r, fmt.Errorf("control: bad response: %v", err)
	}
	if !r.OK {
		return r, errors.New(r.Error)
	}
	return r, nil
}

// call does a single request/response and decodes the data into out.
func (cl *Client) call(ctx context.Context, req Request, out any) error {
	s, closeFn, err := cl.open(ctx, req)
	if err != nil {
		return err
	}
	defer closeFn()
	r, err := s.next()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if out != nil && len(r.Data) > 0 {
		return json.Unmarshal(r.Data, out)
	}
	return nil
}

// Check reports whether a daemon listens at Path (it connects and hangs
// up without a request).
func (cl *Client) Check(ctx context.Context) error {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := d.DialContext(dctx, "unix", cl.Path)
	if err != nil {
		return fmt.Errorf("%w at %s (is `stapel run` running? set --control or $%s): %v",
			ErrNoDaemon, cl.Path, EnvSocket, err)
	}
	return c.Close()
}

// Info implements tools.Host.
func (cl *Client) Info(ctx context.Context) (tools.HostInfo, error) {
	var v tools.HostInfo
	err := cl.call(ctx, Request{Op: OpInfo}, &v)
	return v, err
}

// ARPTables implements tools.Host.
func (cl *Client) ARPTables(ctx context.Context) ([]tools.ARPTable, error) {
	var v []tools.ARPTable
	err := cl.call(ctx, Request{Op: OpARPList}, &v)
	return v, err
}

// AddStaticARP implements tools.Host.
func (cl *Client) AddStaticARP(ctx context.Context, ip netip.Addr, mac string, ifAddr netip.Addr) error {
	return cl.call(ctx, Request{Op: OpARPAdd, IP: ip, MAC: mac, IfAddr: ifAddr}, nil)
}

// DeleteARP implements tools.Host.
func (cl *Client) DeleteARP(ctx context.Context, ip netip.Addr) error {
	return cl.call(ctx, Request{Op: OpARPDelete, IP: ip}, nil)
}

// Stats implements tools.Host.
func (cl *Client) Stats(ctx context.Context) (map[string]uint64, error) {
	var v map[string]uint64
	err := cl.call(ctx, Request{Op: OpStats}, &v)
	return v, err
}

// Ping implements tools.Host: the daemon runs the loop and streams probes.
func (cl *Client) Ping(ctx context.Context, dst netip.Addr, o tools.PingOptions, emit func(tools.ProbeResult)) error {
	s, closeFn, err := cl.open(ctx, Request{Op: OpPing, Dst: dst, Ping: &o})
	if err != nil {
		return err
	}
	defer closeFn()
	for {
		r, err := s.next()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return err
		}
		if !r.More {
			return nil
		}
		var p tools.ProbeResult
		if err := json.Unmarshal(r.Data, &p); err != nil {
			return fmt.Errorf("control: bad probe: %v", err)
		}
		emit(p)
	}
}

// OpenUDP implements tools.Host: the connection then carries frames.
func (cl *Client) OpenUDP(ctx context.Context, local, remote netip.AddrPort) (tools.DatagramConn, error) {
	s, closeFn, err := cl.open(ctx, Request{Op: OpUDP, Local: local, Remote: remote})
	if err != nil {
		return nil, err
	}
	r, err := s.next()
	if err != nil {
		closeFn()
		return nil, err
	}
	var o UDPOpened
	json.Unmarshal(r.Data, &o)
	return &udpStream{s: s, closeFn: closeFn, local: o.Local, buf: make([]byte, maxFrame)}, nil
}

type udpStream struct {
	s       *session
	closeFn func()
	local   netip.AddrPort
	wmu     sync.Mutex
	buf     []byte
}

func (u *udpStream) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	n, peer, err := ReadFrame(u.s.br, u.buf)
	if err != nil {
		return 0, peer, err
	}
	return copy(b, u.buf[:n]), peer, nil
}

func (u *udpStream) WriteTo(b []byte, to netip.AddrPort) (int, error) {
	u.wmu.Lock()
	defer u.wmu.Unlock()
	if err := WriteFrame(u.s.c, to, b); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (u *udpStream) LocalAddr() netip.AddrPort { return u.local }

func (u *udpStream) Close() error { u.closeFn(); return nil }

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, 1<<16) }

var _ tools.StreamHost = (*Client)(nil)

// DialTCP implements tools.StreamHost through the daemon.
func (cl *Client) DialTCP(ctx context.Context, local, remote netip.AddrPort) (tools.StreamConn, error) {
	return cl.openTCP(ctx, Request{Op: OpTCP, Local: local, Remote: remote})
}

// AcceptTCP implements tools.StreamHost through the daemon.
func (cl *Client) AcceptTCP(ctx context.Context, local netip.AddrPort) (tools.StreamConn, error) {
	return cl.openTCP(ctx, Request{Op: OpTCP, Local: local})
}

func (cl *Client) openTCP(ctx context.Context, req Request) (tools.StreamConn, error) {
	s, closeFn, err := cl.open(ctx, req)
	if err != nil {
		return nil, err
	}
	if _, err := s.next(); err != nil {
		closeFn()
		return nil, err
	}
	return &tcpStream{s: s, closeFn: closeFn}, nil
}

// tcpStream reads through the session's buffer (it may already hold
// stream bytes that followed the ok line).
type tcpStream struct {
	s       *session
	closeFn func()
}

func (t *tcpStream) Read(b []byte) (int, error)  { return t.s.br.Read(b) }
func (t *tcpStream) Write(b []byte) (int, error) { return t.s.c.Write(b) }
func (t *tcpStream) Close() error                { t.closeFn(); return nil }

func (t *tcpStream) CloseWrite() error {
	if uc, ok := t.s.c.(*net.UnixConn); ok {
		return uc.CloseWrite()
	}
	return nil
}
