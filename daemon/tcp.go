package daemon

import (
	"net/netip"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tcp"
	"github.com/stapel-net/stapel/wire"
)

// AttachTCP plugs a TCP instance with tcp.DefaultParams into s through
// the stack's transport seam.
func AttachTCP(s *stack.Stack, seed uint64) *tcp.Protocol {
	return AttachTCPParams(s, tcp.DefaultParams(), seed)
}

// AttachTCPParams is AttachTCP with explicit parameters. The glue uses
// every seam the two sides offer: segments built in place behind the
// stack's headroom (no copy), TSO super-segments and checksum-verified
// receive offload on capable devices, dead-gateway reports (TCP-DGD-2),
// and the stack's path MTU (576 off-subnet with EnablePMTUDiscovery=0,
// TCP-PMTU-5, is the stack's job).
func AttachTCPParams(s *stack.Stack, params tcp.Params, seed uint64) *tcp.Protocol {
	g := &tcpNet{s: s}
	g.p = tcp.New(g, tcp.Options{Params: params, Seed: seed})
	s.RegisterTransport(wire.ProtoTCP, g)
	return g.p
}

// tcpNet adapts a stack to tcp.Network (and its optional extensions) and
// TCP to stack.TransportHandler.
type tcpNet struct {
	s *stack.Stack
	p *tcp.Protocol
}

var (
	_ tcp.GSONetwork          = (*tcpNet)(nil)
	_ tcp.LocalAddresser      = (*tcpNet)(nil)
	_ tcp.DeadGatewayReporter = (*tcpNet)(nil)
	_ stack.OffloadTransport  = (*tcpNet)(nil)
)

func (n *tcpNet) Clock() clock.Clock { return n.s.Clock() }

func (n *tcpNet) Route(dst netip.Addr) (netip.Addr, int, error) {
	ri, err := n.s.Route(dst)
	return ri.Src, ri.MTU, err
}

func (n *tcpNet) Output(src, dst netip.Addr, ttl, tos uint8, df bool, segment []byte) error {
	return n.s.WriteIP(stack.OutboundPacket{Src: src, Dst: dst, Proto: wire.ProtoTCP,
		TTL: ttl, TOS: tos, DF: df, Payload: segment})
}

// Headroom and OutputBuf: TCP writes the segment behind room for the IP
// and link headers, which the stack fills in place.
func (n *tcpNet) Headroom() int { return stack.TxHeadroom }

func (n *tcpNet) OutputBuf(src, dst netip.Addr, ttl, tos uint8, df bool, buf []byte) error {
	return n.OutputGSO(src, dst, ttl, tos, df, buf, 0)
}

// GSOMax and OutputGSO hand TSO-capable devices super-segments.
func (n *tcpNet) GSOMax(dst netip.Addr) int {
	ri, err := n.s.Route(dst)
	if err != nil {
		return 0
	}
	return ri.GSOMax
}

func (n *tcpNet) OutputGSO(src, dst netip.Addr, ttl, tos uint8, df bool, buf []byte, mss int) error {
	return n.s.WriteIPBuf(stack.OutboundPacket{Src: src, Dst: dst, Proto: wire.ProtoTCP,
		TTL: ttl, TOS: tos, DF: df, GSOSize: mss}, buf)
}

func (n *tcpNet) IsLocal(a netip.Addr) bool { return n.s.IsLocalAddr(a) }

func (n *tcpNet) DeadGateway(dst netip.Addr) { n.s.DeadGateway(dst) }

func (n *tcpNet) HandlePacket(pk *stack.InboundPacket) {
	if pk.Broadcast { // TCP is unicast only (RFC 1122 4.2.3.10)
		return
	}
	if pk.ChecksumValid {
		n.p.HandleSegmentOffload(pk.Src, pk.Dst, pk.Payload, pk.GSOSize)
		return
	}
	n.p.HandleSegment(pk.Src, pk.Dst, pk.Payload)
}

// AcceptsOffload: TCP takes super-segments and device-verified checksums.
func (n *tcpNet) AcceptsOffload() bool { return true }

func (n *tcpNet) HandleError(e *stack.ControlError) {
	n.p.HandleICMP(e.Type, e.Code, e.MTU, e.Src, e.Dst, e.Payload)
}
