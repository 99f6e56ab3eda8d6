package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"sync"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tcp"
	"github.com/stapel-net/stapel/wire"
)

var errTCPNotIntegrated = errors.New("n/a (TCP not integrated)")

// stapelProfile picks Stapel's TCP parameter set: the whitepaper's
// defaults or tcp.ModernParams (window scaling and timestamps initiated,
// 4 MiB window, IW10, CUBIC). -stapel-window still overrides the window.
var stapelProfile = flag.String("stapel-profile", "default",
	"Stapel's TCP parameters: default (whitepaper) or modern (tcp.ModernParams: WS+TS, 4 MiB window, IW10, CUBIC)")

// stapelTCP gives the stack a TCP. Until the stack creates its own
// tcp.Protocol, the harness joins one through the transport seam
// (RegisterTransport/WriteIP/Route) — the same three calls the stack's
// integration will make. When stack/ grows TCP, replace this function's
// body with the stack's accessor.
func stapelTCP(st *stack.Stack, seed uint64, glue bool, window int) (*tcp.Protocol, func() string, error) {
	if !glue {
		return nil, nil, errTCPNotIntegrated
	}
	params := tcp.DefaultParams()
	switch *stapelProfile {
	case "default":
	case "modern":
		params = tcp.ModernParams()
	default:
		return nil, nil, fmt.Errorf("-stapel-profile %q: want default or modern", *stapelProfile)
	}
	if window > 0 {
		params.TcpWindowSize = window
	}
	g := &tcpGlue{st: st}
	g.p = tcp.New(g, tcp.Options{Params: params, Seed: seed})
	st.RegisterTransport(wire.ProtoTCP, g)
	return g.p, g.diagnose, nil
}

// tcpGlue adapts a stack.Stack to tcp.Network and tcp to
// stack.TransportHandler.
type tcpGlue struct {
	st *stack.Stack
	p  *tcp.Protocol

	mu      sync.Mutex
	outErrs uint64 // segments the stack refused
	lastErr error
}

// diagnose says why segments were lost inside the host, if any were.
func (g *tcpGlue) diagnose() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.outErrs == 0 {
		return ""
	}
	return fmt.Sprintf("WriteIP refused %d segments: %v", g.outErrs, g.lastErr)
}

func (g *tcpGlue) Clock() clock.Clock { return g.st.Clock() }

func (g *tcpGlue) Route(dst netip.Addr) (netip.Addr, int, error) {
	r, err := g.st.Route(dst)
	return r.Src, r.MTU, err
}

func (g *tcpGlue) Output(src, dst netip.Addr, ttl, tos uint8, df bool, seg []byte) error {
	err := g.st.WriteIP(stack.OutboundPacket{Src: src, Dst: dst, Proto: wire.ProtoTCP, TTL: ttl, TOS: tos, DF: df, Payload: seg})
	if err != nil {
		g.mu.Lock()
		g.outErrs++
		g.lastErr = fmt.Errorf("%d-byte segment: %w", len(seg), err)
		g.mu.Unlock()
	}
	return err
}

// Headroom and OutputBuf let TCP build segments where the stack adds its
// headers in place (tcp.BufferNetwork, stack.WriteIPBuf): no copy.
func (g *tcpGlue) Headroom() int { return stack.TxHeadroom }

func (g *tcpGlue) OutputBuf(src, dst netip.Addr, ttl, tos uint8, df bool, buf []byte) error {
	return g.OutputGSO(src, dst, ttl, tos, df, buf, 0)
}

// GSOMax and OutputGSO let TCP hand TSO-capable paths (an offloading TAP)
// super-segments (tcp.GSONetwork, stack.RouteInfo.GSOMax).
func (g *tcpGlue) GSOMax(dst netip.Addr) int {
	r, err := g.st.Route(dst)
	if err != nil {
		return 0
	}
	return r.GSOMax
}

func (g *tcpGlue) OutputGSO(src, dst netip.Addr, ttl, tos uint8, df bool, buf []byte, mss int) error {
	err := g.st.WriteIPBuf(stack.OutboundPacket{Src: src, Dst: dst, Proto: wire.ProtoTCP, TTL: ttl, TOS: tos, DF: df, GSOSize: mss}, buf)
	if err != nil {
		g.mu.Lock()
		g.outErrs++
		g.lastErr = fmt.Errorf("%d-byte segment: %w", len(buf)-stack.TxHeadroom, err)
		g.mu.Unlock()
	}
	return err
}

func (g *tcpGlue) IsLocal(a netip.Addr) bool { return g.st.IsLocalAddr(a) }

func (g *tcpGlue) HandlePacket(p *stack.InboundPacket) {
	if p.Broadcast {
		return // TCP never accepts broadcast (RFC 1122 §4.2.3.10)
	}
	if p.ChecksumValid {
		g.p.HandleSegmentOffload(p.Src, p.Dst, p.Payload, p.GSOSize)
		return
	}
	g.p.HandleSegment(p.Src, p.Dst, p.Payload)
}

// AcceptsOffload: TCP takes super-segments and trusted checksums from an
// offloading TAP whole (stack.OffloadTransport).
func (g *tcpGlue) AcceptsOffload() bool { return true }

func (g *tcpGlue) HandleError(e *stack.ControlError) {
	g.p.HandleICMP(e.Type, e.Code, e.MTU, e.Src, e.Dst, e.Payload)
}
