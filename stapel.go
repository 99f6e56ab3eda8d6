// Package stapel is Stapel as a library: a userspace TCP/IP host (stack,
// TCP, optionally the simple services) built from a configuration, with
// Go's usual socket types, so net/http, crypto/tls and anything else that
// takes a net.Conn or net.Listener run over it unmodified.
//
//	h, err := stapel.New(cfg, stapel.WithLink("lan0", ep))
//	ln, _ := h.Listen("tcp", ":80")
//	go http.Serve(ln, handler)
//	c := &http.Client{Transport: h.HTTPTransport()}
//
// It is thin glue over stack/, tcp/ and daemon's configuration mapping;
// the daemon (`stapel run`) adds TAP devices, captures and the control
// socket.
package stapel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/daemon"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/services/simple"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tcp"
	"github.com/stapel-net/stapel/tools/stackhost"
)

// Option adjusts New.
type Option func(*options)

type options struct {
	clk    clock.Clock
	log    *slog.Logger
	seed   int64
	links  map[string]link.Endpoint
	noSvc  bool
	params *tcp.Params
}

// WithClock runs the host on clk (default real time).
func WithClock(clk clock.Clock) Option { return func(o *options) { o.clk = clk } }

// WithLogger logs through l.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithSeed makes ISNs, port choice and the stack's randomness
// reproducible (0 = random).
func WithSeed(seed int64) Option { return func(o *options) { o.seed = seed } }

// WithLink attaches ep as the configured interface named ifName instead
// of opening its TAP device.
func WithLink(ifName string, ep link.Endpoint) Option {
	return func(o *options) { o.links[ifName] = ep }
}

// WithoutServices does not start the simple services even if the
// configuration enables them.
func WithoutServices() Option { return func(o *options) { o.noSvc = true } }

// WithTCPParams overrides the TCP parameters mapped from the configuration.
func WithTCPParams(p tcp.Params) Option { return func(o *options) { o.params = &p } }

// Host is one Stapel host.
type Host struct {
	st  *stack.Stack
	tcp *tcp.Protocol
	sh  *stackhost.Host
	svc *simple.Server
}

// New builds a host from cfg (nil = defaults, no interfaces). Each
// configured interface uses its WithLink endpoint, else its TAP device.
func New(cfg *config.Config, opts ...Option) (_ *Host, err error) {
	o := options{links: map[string]link.Endpoint{}}
	for _, f := range opts {
		f(&o)
	}
	if cfg == nil {
		cfg = config.Default()
	}
	if o.clk == nil {
		o.clk = clock.Real{}
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	h := &Host{}
	h.st = stack.New(stack.Options{Clock: o.clk, Params: cfg.Tcpip, Logger: o.log, Seed: o.seed, HostName: cfg.Tcpip.Hostname})
	defer func() {
		if err != nil {
			h.Close()
		}
	}()
	params := daemon.TCPParams(cfg)
	if o.params != nil {
		params = *o.params
	}
	h.tcp = daemon.AttachTCPParams(h.st, params, uint64(o.seed))
	for _, ifc := range cfg.Interfaces {
		ep, ok := o.links[ifc.Name]
		if !ok {
			if ep, err = daemon.OpenTAP(ifc, !cfg.Tcpip.DisableTaskOffload, o.log); err != nil {
				return nil, fmt.Errorf("stapel: interface %q: %w", ifc.Name, err)
			}
		}
		if err := h.AttachLink(ifc, ep); err != nil {
			return nil, err
		}
	}
	h.sh = stackhost.New(h.st, stackhost.Options{TCP: h.tcp})
	if cfg.Services.SimpleTcpip && !o.noSvc {
		var quotes []string
		if cfg.Services.Quote != "" {
			quotes = []string{cfg.Services.Quote}
		}
		h.svc, err = simple.Start(h.sh, h.sh, simple.Config{Now: o.clk.Now, Quotes: quotes, Logger: o.log, Seed: uint64(o.seed)})
		if err != nil {
			return nil, err
		}
	}
	return h, nil
}

// AttachLink adds a configured interface on ep (which the host then owns).
func (h *Host) AttachLink(ifc config.Interface, ep link.Endpoint) error {
	ic, err := daemon.StackInterface(ifc, ep.MTU())
	if err != nil {
		ep.Close()
		return fmt.Errorf("stapel: interface %q: %w", ifc.Name, err)
	}
	if _, err := h.st.AddInterface(ic, ep); err != nil {
		ep.Close()
		return fmt.Errorf("stapel: interface %q: %w", ifc.Name, err)
	}
	return nil
}

// Stack is the host's IP layer.
func (h *Host) Stack() *stack.Stack { return h.st }

// TCP is the host's TCP.
func (h *Host) TCP() *tcp.Protocol { return h.tcp }

// Close stops the services and the stack (closing its links).
func (h *Host) Close() error {
	if h.svc != nil {
		h.svc.Close()
	}
	return h.st.Close()
}

// ErrNetwork is returned for networks other than tcp, tcp4, udp, udp4
// (and ip4:PROTO for ListenPacket).
var ErrNetwork = errors.New("stapel: network must be tcp, tcp4, udp, udp4 or ip4:PROTO (ListenPacket)")

// parseAddr reads "ip:port", ":port" or "" (any address, port 0).
// Stapel has no resolver yet: hosts must be IPv4 literals.
func parseAddr(address string) (netip.AddrPort, error) {
	if address == "" {
		return netip.AddrPortFrom(netip.IPv4Unspecified(), 0), nil
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("stapel: bad port in %q", address)
	}
	a := netip.IPv4Unspecified()
	if host != "" {
		if a, err = netip.ParseAddr(host); err != nil || !a.Unmap().Is4() {
			return netip.AddrPort{}, fmt.Errorf("stapel: %q is not an IPv4 address (Stapel has no resolver yet)", host)
		}
		a = a.Unmap()
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// Dial connects to address on network ("tcp" or "udp").
func (h *Host) Dial(network, address string) (net.Conn, error) {
	return h.DialContext(context.Background(), network, address)
}

// DialContext is Dial with a context bounding the connection attempt.
func (h *Host) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	ap, err := parseAddr(address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	switch network {
	case "tcp", "tcp4":
		c, err := h.tcp.DialContext(ctx, netip.AddrPort{}, ap)
		if err != nil {
			return nil, err
		}
		return c, nil
	case "udp", "udp4":
		c, err := h.st.DialUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), 0), ap)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, &net.OpError{Op: "dial", Net: network, Err: ErrNetwork}
}

// Listen opens a TCP listener on address (":80", "198.18.0.2:80").
func (h *Host) Listen(network, address string) (net.Listener, error) {
	if network != "tcp" && network != "tcp4" {
		return nil, &net.OpError{Op: "listen", Net: network, Err: ErrNetwork}
	}
	ap, err := parseAddr(address)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	ln, err := h.tcp.Listen(ap, 0)
	if err != nil {
		return nil, err
	}
	return ln, nil
}

// ListenPacket opens a UDP socket on address, or for network "ip4:PROTO"
// ("ip4:icmp", "ip4:253") a raw IP socket (*IPConn, rawip.go) on the
// IPv4 address (empty = all of ours).
func (h *Host) ListenPacket(network, address string) (net.PacketConn, error) {
	if strings.HasPrefix(network, "ip4:") || strings.HasPrefix(network, "ip:") {
		return h.listenIP(network, address)
	}
	if network != "udp" && network != "udp4" {
		return nil, &net.OpError{Op: "listen", Net: network, Err: ErrNetwork}
	}
	ap, err := parseAddr(address)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	c, err := h.st.ListenUDP(ap)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// HTTPTransport is an http.Transport whose connections run over this
// host's TCP (URLs must name IPv4 addresses).
func (h *Host) HTTPTransport() *http.Transport { return daemon.HTTPTransport(h.tcp) }
