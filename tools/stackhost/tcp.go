package stackhost

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"github.com/stapel-net/stapel/tools"
)

// ErrNoTCP is returned when the host was built without TCP.
var ErrNoTCP = errors.New("TCP is not available on this host")

var _ tools.StreamHost = (*Host)(nil)

// DialTCP implements tools.StreamHost.
func (h *Host) DialTCP(ctx context.Context, local, remote netip.AddrPort) (tools.StreamConn, error) {
	if h.o.TCP == nil {
		return nil, ErrNoTCP
	}
	c, err := h.o.TCP.DialContext(ctx, local, remote)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return c, nil
}

// AcceptTCP implements tools.StreamHost: listen, take one connection, stop
// listening.
func (h *Host) AcceptTCP(ctx context.Context, local netip.AddrPort) (tools.StreamConn, error) {
	if h.o.TCP == nil {
		return nil, ErrNoTCP
	}
	if !local.Addr().IsValid() {
		local = netip.AddrPortFrom(netip.IPv4Unspecified(), local.Port())
	}
	ln, err := h.o.TCP.Listen(local, 1)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close()
	c, err := ln.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Listen opens a TCP listener on port of every address; with it Host is a
// simple.StreamListener.
func (h *Host) Listen(port uint16) (net.Listener, error) {
	if h.o.TCP == nil {
		return nil, ErrNoTCP
	}
	return h.o.TCP.Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), port), 0)
}

// HasTCP reports whether the host has TCP.
func (h *Host) HasTCP() bool { return h.o.TCP != nil }
