package main

import (
	"context"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	gstack "gvisor.dev/gvisor/pkg/tcpip/stack"
)

// newGVLink joins two gVisor channel endpoints like Stapel's link.Pipe: a
// bounded queue (link.DefaultQueueLen, 512) and a goroutine per direction,
// plus, when the path asks, the harness's loss and delay line (impair.go).
func newGVLink(p Path) (a, b *channel.Endpoint, stop func()) {
	a = channel.New(impairQueueLen, uint32(p.MTU), "")
	b = channel.New(impairQueueLen, uint32(p.MTU), "")
	ctx, cancel := context.WithCancel(context.Background())
	var lines []*delayLine[gvPacket]
	for i, dir := range [][2]*channel.Endpoint{{a, b}, {b, a}} {
		var line *delayLine[gvPacket]
		if p.Delay > 0 {
			dst := dir[1]
			line = newDelayLine(p.Delay,
				func(g gvPacket) { dst.InjectInbound(g.proto, g.pkt); g.pkt.DecRef() },
				func(g gvPacket) { g.pkt.DecRef() })
			lines = append(lines, line)
		}
		go forwardGV(ctx, dir[0], dir[1], newLossGen(p, uint64(i+1)), line)
	}
	return a, b, func() {
		cancel()
		for _, l := range lines {
			l.close()
		}
		a.Close()
		b.Close()
	}
}

type gvPacket struct {
	proto tcpip.NetworkProtocolNumber
	pkt   *gstack.PacketBuffer
}

func forwardGV(ctx context.Context, src, dst *channel.Endpoint, loss *lossGen, line *delayLine[gvPacket]) {
	for {
		pkt := src.ReadContext(ctx)
		if pkt == nil {
			return
		}
		if loss.lost() {
			pkt.DecRef()
			continue
		}
		// A fresh packet carrying only the bytes, as gVisor's own pipe
		// endpoint does, so the receiver parses it from scratch.
		g := gvPacket{pkt.NetworkProtocolNumber, gstack.NewPacketBuffer(gstack.PacketBufferOptions{Payload: pkt.ToBuffer()})}
		pkt.DecRef()
		if line == nil {
			dst.InjectInbound(g.proto, g.pkt)
			g.pkt.DecRef()
		} else if !line.push(g) {
			g.pkt.DecRef() // delay line full: dropped
		}
	}
}
