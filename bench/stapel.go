package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/link/tap"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tcp"
	"github.com/stapel-net/stapel/wire"
)

// stapelContender is Stapel with its whitepaper defaults on the real clock:
// link.Pipe (plus the harness's impaired path, impair.go) between two stacks, or a
// link/tap Device.
type stapelContender struct {
	// profile is the TCP parameter set ("default" or "modern", see
	// stapeltcp.go); the column is named after it.
	profile string
	// window overrides TcpWindowSize (0 = the whitepaper default, ≈17520
	// bytes on Ethernet).
	window int
}

func (c stapelContender) Name() string {
	if c.profile == "modern" {
		return "Stapel modern"
	}
	return "Stapel"
}

// Memory is this process's Go heap and stacks.
func (stapelContender) Memory() (uint64, error) { return goMemory(), nil }

var (
	macA = wire.MAC{0x02, 0, 0x5e, 0, 0, 0x01}
	macB = wire.MAC{0x02, 0, 0x5e, 0, 0, 0x02}
)

// newStapelHost builds a stack with one interface on ep and TCP on it.
func (c stapelContender) newHost(ep link.Endpoint, addr netip.Prefix, static []stack.StaticARP, seed int64) (*stapelHost, error) {
	st := stack.New(stack.Options{Clock: clock.Real{}, Seed: seed})
	ic := stack.InterfaceConfig{Name: "eth0", Addrs: []netip.Prefix{addr}, StaticARP: static}
	if _, err := st.AddInterface(ic, ep); err != nil {
		st.Close()
		return nil, fmt.Errorf("stapel AddInterface: %w", err)
	}
	t, err := stapelTCP(st, uint64(seed), c.profile, c.window)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &stapelHost{st: st, tcp: t, addr: addr.Addr()}, nil
}

func (c stapelContender) Pair(p Path) (*Pair, error) {
	clk := clock.Real{}
	pa, pb := link.NewPipe(clk, p.MTU, macA, macB)
	var epA link.Endpoint = pa
	if p.Delay > 0 || p.Loss > 0 {
		// One impairment on A's end covers both directions once each.
		epA = newImpaired(pa, p)
	}
	// Static ARP: the gVisor link has no ARP, and ARP is not what we time.
	a, err := c.newHost(epA, addrA, []stack.StaticARP{{IP: addrB.Addr(), MAC: macB}}, 1)
	if err != nil {
		pb.Close()
		epA.Close()
		return nil, err
	}
	b, err := c.newHost(pb, addrB, []stack.StaticARP{{IP: addrA.Addr(), MAC: macA}}, 2)
	if err != nil {
		a.st.Close()
		pb.Close()
		return nil, err
	}
	return &Pair{A: a, B: b, Close: func() { a.st.Close(); b.st.Close() }}, nil
}

// TAP opens the device from a thread inside ns (link/tap keeps working from
// any goroutine afterwards).
func (c stapelContender) TAP(ns, dev string, mtu int, addr netip.Prefix) (Host, func(), error) {
	var d *tap.Device
	err := inNetns(ns, func() error {
		var err error
		d, err = tap.OpenConfig(tap.Config{Name: dev, MTU: mtu, Offload: *stapelOffload})
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("open TAP %s: %w", dev, err)
	}
	h, err := c.newHost(d, addr, nil, 3)
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	return h, func() {
		if *stapelOffloadStats {
			fmt.Fprintf(os.Stderr, "  Stapel TAP %s offloads %+v: %+v\n  link %+v\n  TCP %+v\n", dev, d.Offloads(), d.OffloadStats(), d.Stats(), h.tcp.Stats())
		}
		h.st.Close()
	}, nil
}

// stapelOffload opens Stapel's TAP with IFF_VNET_HDR (checksum offload
// and TSO), as a deployment would when the kernel offers it.
var stapelOffload = flag.Bool("stapel-offload", true,
	"open Stapel's TAP with virtio-net header offloads (checksum, TSO) when the kernel grants them")

var stapelOffloadStats = flag.Bool("stapel-offload-stats", false, "print Stapel's TAP offload counters after each TAP run")

// stapelHost is one Stapel stack with TCP.
type stapelHost struct {
	st   *stack.Stack
	tcp  *tcp.Protocol
	addr netip.Addr
}

func (h *stapelHost) Addr() netip.Addr { return h.addr }

// Diagnose reports datagrams the stack could not send, if any.
func (h *stapelHost) Diagnose() string {
	st := h.st.Stats()
	if st.IPOutDiscards == 0 && st.IPOutNoRoutes == 0 && st.LinkTxErrors == 0 {
		return ""
	}
	return fmt.Sprintf("stack: %d output discards, %d without route, %d link errors", st.IPOutDiscards, st.IPOutNoRoutes, st.LinkTxErrors)
}

func (h *stapelHost) Listen(port uint16) (net.Listener, error) {
	return h.tcp.Listen(netip.AddrPortFrom(h.addr, port), 0)
}

func (h *stapelHost) Dial(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
	c, err := h.tcp.DialContext(ctx, netip.AddrPortFrom(h.addr, 0), dst)
	if err != nil {
		return nil, err
	}
	return c, nil
}
