package simple

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// PacketListener opens a UDP socket on a port of every local address.
type PacketListener interface {
	ListenPacket(port uint16) (net.PacketConn, error)
}

// StreamListener opens a TCP listener; the tcp package will provide one.
type StreamListener interface {
	Listen(port uint16) (net.Listener, error)
}

// Config tunes the services.
type Config struct {
	// Now is the clock for daytime/qotd (nil = time.Now).
	Now    func() time.Time
	Quotes []string
	Seed   uint64
	Logger *slog.Logger
	// MaxConns bounds concurrent TCP connections per service (0 = 16).
	MaxConns int
	// TCPIdle closes idle TCP connections (0 = 5 min).
	TCPIdle time.Duration
}

// Server runs the services until Close.
type Server struct {
	cfg     Config
	mu      sync.Mutex
	rng     *rand.Rand
	gen     Chargen
	closers []io.Closer
	conns   map[net.Conn]struct{} // open TCP connections, closed by Close
	wg      sync.WaitGroup
	served  atomic.Uint64
	closed  atomic.Bool
}

// Start opens every service on udp and, if tcp is non-nil, on tcp. Ports
// that cannot be opened are logged and skipped; Start fails only if none
// opened.
func Start(udp PacketListener, tcp StreamListener, cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	if cfg.TCPIdle <= 0 {
		cfg.TCPIdle = 5 * time.Minute
	}
	s := &Server{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed)), conns: map[net.Conn]struct{}{}}
	var firstErr error
	for _, p := range Ports {
		if udp != nil {
			pc, err := udp.ListenPacket(p)
			if err != nil {
				cfg.Logger.Warn("simple services: cannot open UDP port", "port", p, "err", err)
				firstErr = cmpErr(firstErr, err)
			} else {
				s.closers = append(s.closers, pc)
				s.wg.Add(1)
				go s.serveUDP(pc, p)
			}
		}
		if tcp != nil {
			ln, err := tcp.Listen(p)
			if err != nil {
				cfg.Logger.Warn("simple services: cannot open TCP port", "port", p, "err", err)
				firstErr = cmpErr(firstErr, err)
			} else {
				s.closers = append(s.closers, ln)
				s.wg.Add(1)
				go s.serveTCP(ln, p)
			}
		}
	}
	if len(s.closers) == 0 {
		return nil, errors.Join(errors.New("simple services: no port opened"), firstErr)
	}
	cfg.Logger.Info("simple services started", "sockets", len(s.closers))
	return s, nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// Served counts requests answered (UDP datagrams handled, TCP connections
// finished).
func (s *Server) Served() uint64 { return s.served.Load() }

// Close stops all services and waits for them.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	for _, c := range s.closers {
		c.Close()
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) serveUDP(pc net.PacketConn, port uint16) {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			s.cfg.Logger.Debug("simple services: udp read", "port", port, "err", err)
			if isFatal(err) {
				return
			}
			continue
		}
		s.mu.Lock()
		reply := Respond(port, buf[:n], s.cfg.Now(), s.cfg.Quotes, &s.gen, s.rng)
		s.mu.Unlock()
		if reply != nil {
			if _, err := pc.WriteTo(reply, from); err != nil {
				s.cfg.Logger.Debug("simple services: udp reply", "port", port, "to", from, "err", err)
			}
		}
		s.served.Add(1)
	}
}

// isFatal tells a closed socket from a transient error (an ICMP error
// reported on the socket, a deadline).
func isFatal(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}

func (s *Server) serveTCP(ln net.Listener, port uint16) {
	defer s.wg.Done()
	sem := make(chan struct{}, s.cfg.MaxConns)
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closed.Load() || isFatal(err) {
				return
			}
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			c.Close() // over the bound: refuse rather than queue
			continue
		}
		s.mu.Lock()
		if s.closed.Load() {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-sem }()
			defer func() {
				c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
			s.handleTCP(c, port)
			s.served.Add(1)
		}()
	}
}

func (s *Server) handleTCP(c net.Conn, port uint16) {
	idle := func() { c.SetDeadline(s.cfg.Now().Add(s.cfg.TCPIdle)) }
	idle()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	switch port {
	case PortEcho:
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				idle()
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	case PortDiscard:
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
			idle()
		}
	case PortDaytime:
		io.WriteString(c, DaytimeString(s.cfg.Now()))
	case PortQOTD:
		io.WriteString(c, Quote(s.cfg.Quotes, s.cfg.Now()))
	case PortChargen:
		// Send until the client closes; its reads tell us it is gone.
		go func() {
			io.Copy(io.Discard, c)
			cancel()
			c.Close()
		}()
		var g Chargen
		buf := make([]byte, 74*8)
		for ctx.Err() == nil {
			g.Read(buf)
			idle()
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}
}
