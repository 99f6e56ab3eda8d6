// Command bench measures Stapel side by side with gVisor's netstack and the
// Linux kernel on the same setups (issue 4): bulk TCP throughput over an
// in-memory link and over TAP, connections per second, memory per idle
// connection, and goodput over a long lossy path. See run.sh.
package main

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"
)

// Path describes the in-memory link between the two hosts of a Pair.
// Delay and Loss apply to each direction.
type Path struct {
	MTU   int           // IP MTU (the Ethernet payload)
	Delay time.Duration // one-way delay
	Loss  float64       // probability a frame is lost, 0..1
	Seed  int64         // makes the loss pattern reproducible per run
}

// Host is one TCP endpoint of a setup.
type Host interface {
	// Addr is the host's IPv4 address.
	Addr() netip.Addr
	// Listen opens a listening socket on the host's address.
	Listen(port uint16) (net.Listener, error)
	// Dial connects to dst from this host.
	Dial(ctx context.Context, dst netip.AddrPort) (net.Conn, error)
}

// diagnoser is optionally implemented by a Host that can say why a run
// went wrong inside it (appended to the table cell).
type diagnoser interface {
	Diagnose() string
}

// diagnosis collects the hosts' diagnoses.
func diagnosis(hs ...Host) string {
	var s string
	for _, h := range hs {
		if d, ok := h.(diagnoser); ok {
			if m := d.Diagnose(); m != "" {
				if s != "" {
					s += "; "
				}
				s += m
			}
		}
	}
	return s
}

// Pair is two hosts joined by a link: A dials, B listens.
type Pair struct {
	A, B  Host
	Close func()
}

// Contender is one TCP/IP implementation under test.
type Contender interface {
	Name() string
	// Pair builds host A (addrA) and host B (addrB) joined by a link with
	// the given path properties.
	Pair(p Path) (*Pair, error)
	// TAP creates the TAP device dev inside network namespace ns and
	// attaches a host with address addr to it; the caller configures the
	// kernel side. Contenders for which this makes no sense return
	// errNotApplicable.
	TAP(ns, dev string, mtu int, addr netip.Prefix) (Host, func(), error)
	// Memory reports the bytes this contender's connections use now, as
	// comparable across contenders as we can make it (see each one).
	Memory() (uint64, error)
}

// errNotApplicable marks a measurement that does not exist for a contender.
var errNotApplicable = errors.New("n/a")

// The hosts' addresses. Only 198.18.0.0/15 is used (benchmarking range).
var (
	addrA    = netip.MustParsePrefix("198.18.0.1/24")
	addrB    = netip.MustParsePrefix("198.18.0.2/24")
	tapKern  = netip.MustParsePrefix("198.18.1.1/24") // kernel side of the TAP
	tapStack = netip.MustParsePrefix("198.18.1.2/24") // userspace stack on the TAP
)
