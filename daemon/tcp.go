package daemon

import (
	"net/netip"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tcp"
	"github.com/stapel-net/stapel/wire"
)

// AttachTCP plugs a TCP instance into s through the stack's transport
// seam. (Minimal glue with tcp.DefaultParams; replace it when the lead's
// config→tcp.Params mapping lands.)
func AttachTCP(s *stack.Stack, seed uint64) *tcp.Protocol {
	p := tcp.New(tcpNet{s}, tcp.Options{Seed: seed})
	s.RegisterTransport(wire.ProtoTCP, tcpHandler{p})
	return p
}

type tcpNet struct{ s *stack.Stack }

func (n tcpNet) Clock() clock.Clock { return n.s.Clock() }

func (n tcpNet) Route(dst netip.Addr) (netip.Addr, int, error) {
	ri, err := n.s.Route(dst)
	return ri.Src, ri.MTU, err
}

func (n tcpNet) Output(src, dst netip.Addr, ttl, tos uint8, df bool, segment []byte) error {
	return n.s.WriteIP(stack.OutboundPacket{Src: src, Dst: dst, Proto: wire.ProtoTCP,
		TTL: ttl, TOS: tos, DF: df, Payload: segment})
}

func (n tcpNet) IsLocal(a netip.Addr) bool { return n.s.IsLocalAddr(a) }

type tcpHandler struct{ p *tcp.Protocol }

func (h tcpHandler) HandlePacket(pk *stack.InboundPacket) {
	if pk.Broadcast { // TCP is unicast only
		return
	}
	h.p.HandleSegment(pk.Src, pk.Dst, pk.Payload)
}

func (h tcpHandler) HandleError(e *stack.ControlError) {
	h.p.HandleICMP(e.Type, e.Code, e.MTU, e.Src, e.Dst, e.Payload)
}
