package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/stapel-net/stapel/tools"
)

// Server answers control requests against a Host.
type Server struct {
	Host   tools.Host
	Logger *slog.Logger
	// MaxClients bounds concurrent connections (0 = MaxClients).
	MaxClients int
	// RequestTimeout bounds how long a client may take to send its
	// request line (0 = 10 s).
	RequestTimeout time.Duration

	wg sync.WaitGroup
}

// Listen creates the unix socket at path: it makes the directory, refuses
// if another daemon answers there, and replaces a stale socket file.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	if _, err := os.Stat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("control: %s: another daemon is listening there", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	os.Chmod(path, 0o660)
	return ln, nil
}

// Serve accepts connections until ctx ends or ln fails, then waits for
// the open connections to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	max := s.MaxClients
	if max <= 0 {
		max = MaxClients
	}
	sem := make(chan struct{}, max)
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	defer s.wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		select {
		case sem <- struct{}{}:
		default:
			s.Logger.Warn("control: too many clients, refusing one", "max", max)
			c.SetWriteDeadline(time.Now().Add(time.Second))
			writeResp(c, Response{Error: "daemon busy: too many control clients"})
			c.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-sem }()
			s.handle(ctx, c)
		}()
	}
}

func writeResp(w io.Writer, r Response) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func okData(v any) Response {
	if v == nil {
		return Response{OK: true}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return Response{Error: err.Error()}
	}
	return Response{OK: true, Data: b}
}

func errResp(err error) Response { return Response{Error: err.Error()} }

// readRequest reads one bounded JSON line.
func readRequest(r *bufio.Reader) (Request, error) {
	var req Request
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return req, fmt.Errorf("request exceeds %d bytes", MaxRequestBytes)
	}
	if err != nil && len(line) == 0 {
		return req, err
	}
	if err := json.Unmarshal(line, &req); err != nil {
		return req, fmt.Errorf("bad request: %v", err)
	}
	return req, nil
}

func (s *Server) handle(ctx context.Context, c net.Conn) {
	defer c.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	to := s.RequestTimeout
	if to <= 0 {
		to = 10 * time.Second
	}
	c.SetReadDeadline(time.Now().Add(to))
	br := bufio.NewReaderSize(c, MaxRequestBytes)
	req, err := readRequest(br)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			writeResp(c, errResp(err))
		}
		return
	}
	c.SetReadDeadline(time.Time{})
	s.Logger.Debug("control request", "op", req.Op)
	h := s.Host
	switch req.Op {
	case OpInfo:
		v, err := h.Info(ctx)
		writeResp(c, result(v, err))
	case OpARPList:
		v, err := h.ARPTables(ctx)
		writeResp(c, result(v, err))
	case OpARPAdd:
		writeResp(c, result(nil, h.AddStaticARP(ctx, req.IP, req.MAC, req.IfAddr)))
	case OpARPDelete:
		writeResp(c, result(nil, h.DeleteARP(ctx, req.IP)))
	case OpStats:
		v, err := h.Stats(ctx)
		writeResp(c, result(v, err))
	case OpPing:
		s.ping(ctx, cancel, c, br, req)
	case OpUDP:
		s.udp(ctx, c, br, req)
	case OpTCP:
		s.tcp(ctx, c, br, req)
	default:
		if s.extraOp(ctx, c, br, req) { // tcpops.go
			return
		}
		if s.routeOp(ctx, c, req) { // routeops.go
			return
		}
		if s.iperfOp(ctx, c, br, req) { // iperfops.go
			return
		}
		if s.dnsOp(ctx, c, req) { // dnsops.go
			return
		}
		if s.nbtstatOp(ctx, c, req) { // netbtops.go
			return
		}
		if s.dhcpOp(ctx, c, req) { // dhcpops.go
			return
		}
		if s.qosOp(ctx, c, req) { // qosops.go
			return
		}
		writeResp(c, Response{Error: fmt.Sprintf("unknown op %q", req.Op)})
	}
}

func result(v any, err error) Response {
	if err != nil {
		return errResp(err)
	}
	return okData(v)
}

// ping streams one response per probe; the client hanging up stops it.
func (s *Server) ping(ctx context.Context, cancel context.CancelFunc, c net.Conn, br *bufio.Reader, req Request) {
	if !req.Dst.Is4() {
		writeResp(c, Response{Error: "ping: destination must be an IPv4 address"})
		return
	}
	var o tools.PingOptions
	if req.Ping != nil {
		o = *req.Ping
	}
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		writeResp(c, errResp(err))
		return
	}
	go func() { // any read (EOF) means the client is gone
		io.Copy(io.Discard, br)
		cancel()
	}()
	var werr error
	err := s.Host.Ping(ctx, req.Dst, o, func(r tools.ProbeResult) {
		if werr == nil {
			b, _ := json.Marshal(r)
			werr = writeResp(c, Response{OK: true, More: true, Data: b})
			if werr != nil {
				cancel()
			}
		}
	})
	if werr != nil || ctx.Err() != nil {
		return
	}
	writeResp(c, result(nil, err))
}

// udp bridges a stack UDP socket and the connection's frames.
func (s *Server) udp(ctx context.Context, c net.Conn, br *bufio.Reader, req Request) {
	local := req.Local
	if !local.IsValid() {
		local = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	}
	uc, err := s.Host.OpenUDP(ctx, local, req.Remote)
	if err != nil {
		writeResp(c, errResp(err))
		return
	}
	defer uc.Close()
	if err := applyMulticast(uc, req.Args); err != nil { // mcastops.go
		writeResp(c, errResp(err))
		return
	}
	if err := writeResp(c, okData(UDPOpened{Local: uc.LocalAddr()})); err != nil {
		return
	}
	s.Logger.Info("control: udp socket opened", "local", uc.LocalAddr().String(), "remote", req.Remote.String())
	done := make(chan struct{})
	go func() { // stack -> client
		defer close(done)
		buf := make([]byte, tools.MaxDatagram)
		for {
			n, from, err := uc.ReadFrom(buf)
			if err != nil {
				s.Logger.Debug("control: udp read ended", "err", err)
				c.Close()
				return
			}
			if WriteFrame(c, from, buf[:n]) != nil {
				return
			}
		}
	}()
	buf := make([]byte, maxFrame)
	for { // client -> stack
		n, to, err := ReadFrame(br, buf)
		if err != nil {
			break
		}
		if _, err := uc.WriteTo(buf[:n], to); err != nil {
			s.Logger.Debug("control: udp send failed", "err", err)
		}
	}
	uc.Close()
	<-done
}

// tcp bridges a TCP connection and the control connection's raw bytes.
func (s *Server) tcp(ctx context.Context, c net.Conn, br *bufio.Reader, req Request) {
	sh, ok := s.Host.(tools.StreamHost)
	if !ok {
		writeResp(c, Response{Error: "TCP is not available in this daemon"})
		return
	}
	var (
		tc  tools.StreamConn
		err error
	)
	if req.Remote.IsValid() {
		tc, err = sh.DialTCP(ctx, req.Local, req.Remote)
	} else {
		tc, err = sh.AcceptTCP(ctx, req.Local)
	}
	if err != nil {
		writeResp(c, errResp(err))
		return
	}
	defer tc.Close()
	stop := context.AfterFunc(ctx, func() { tc.Close() }) // daemon shutdown
	defer stop()
	info := TCPOpened{}
	if a, ok := tc.(interface{ LocalAddr() net.Addr }); ok {
		info.Local = addrPortOf(a.LocalAddr())
	}
	if a, ok := tc.(interface{ RemoteAddr() net.Addr }); ok {
		info.Remote = addrPortOf(a.RemoteAddr())
	}
	if err := writeResp(c, okData(info)); err != nil {
		return
	}
	s.Logger.Info("control: tcp connection", "local", info.Local.String(), "remote", info.Remote.String())
	done := make(chan struct{})
	go func() { // peer -> client
		defer close(done)
		io.Copy(c, tc)
		if uc, ok := c.(*net.UnixConn); ok {
			uc.CloseWrite()
		}
	}()
	io.Copy(tc, br) // client -> peer
	tc.CloseWrite()
	<-done
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok && t != nil {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}
