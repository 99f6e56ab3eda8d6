package stackhost

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tools"
)

// Ping implements tools.Host with an echo socket of the stack.
func (h *Host) Ping(ctx context.Context, dst netip.Addr, o tools.PingOptions, emit func(tools.ProbeResult)) error {
	sock, err := h.s.NewEchoSocket()
	if err != nil {
		return err
	}
	defer sock.Close()
	p := &prober{h: h, sock: sock, dst: dst, o: o}
	return tools.PingLoop(ctx, p, o, emit)
}

type prober struct {
	h    *Host
	sock *stack.EchoSocket
	dst  netip.Addr
	o    tools.PingOptions
}

func (p *prober) Now() time.Time { return p.h.s.Clock().Now() }

func (p *prober) Sleep(ctx context.Context, d time.Duration) error {
	if r := p.h.o.Runner; r != nil {
		r.Run(d)
		return ctx.Err()
	}
	done := make(chan struct{})
	t := p.h.s.Clock().AfterFunc(d, func() { close(done) })
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *prober) Probe(ctx context.Context, seq int, timeout time.Duration) tools.ProbeResult {
	sent := p.Now()
	err := p.sock.Send(stack.EchoRequest{
		Dst:  p.dst,
		Seq:  uint16(seq),
		Size: p.o.Size,
		TTL:  uint8(p.o.TTL),
		TOS:  uint8(p.o.TOS),
		DF:   p.o.DF,
	})
	switch {
	case errors.Is(err, stack.ErrNeedsFragmentation):
		return tools.ProbeResult{Kind: tools.ProbeNeedsFrag}
	case errors.Is(err, stack.ErrNoRoute), errors.Is(err, stack.ErrHostUnreachable):
		return tools.ProbeResult{Kind: tools.ProbeUnreachable, Code: 1}
	case err != nil:
		return tools.ProbeResult{Kind: tools.ProbeError, Err: err.Error()}
	}
	ev, ok := p.wait(ctx, uint16(seq), timeout)
	if !ok {
		return tools.ProbeResult{Kind: tools.ProbeTimeout}
	}
	r := tools.ProbeResult{From: ev.From, Code: int(ev.Code), RTT: max(ev.At.Sub(sent), 0)} // RTT of errors too: tracert
	switch ev.Type {
	case 0:
		r.Kind, r.Bytes, r.TTL = tools.ProbeReply, ev.Size, int(ev.TTL)
	case 11:
		r.Kind = tools.ProbeTTLExpired
		if ev.Code == 1 {
			r.Kind = tools.ProbeReasmExpire
		}
	case 3:
		r.Kind = tools.ProbeUnreachable
		if ev.Code == 4 {
			r.Kind = tools.ProbeNeedsFrag
		}
	default:
		r.Kind, r.Err = tools.ProbeError, "unexpected ICMP reply"
	}
	return r
}

// wait returns the event for seq, skipping late answers to earlier probes.
func (p *prober) wait(ctx context.Context, seq uint16, timeout time.Duration) (stack.EchoEvent, bool) {
	events := p.sock.Events()
	if r := p.h.o.Runner; r != nil {
		var got stack.EchoEvent
		found := false
		check := func() bool {
			for !found {
				select {
				case ev, ok := <-events:
					if !ok {
						return true // socket closed
					}
					if ev.Seq == seq {
						got, found = ev, true
					}
				default:
					return false
				}
			}
			return true
		}
		if !check() {
			r.RunUntil(check, timeout)
		}
		return got, found
	}
	expired := make(chan struct{})
	t := p.h.s.Clock().AfterFunc(timeout, func() { close(expired) })
	defer t.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return stack.EchoEvent{}, false
			}
			if ev.Seq == seq {
				return ev, true
			}
		case <-expired:
			return stack.EchoEvent{}, false
		case <-ctx.Done():
			return stack.EchoEvent{}, false
		}
	}
}
