package tcp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
)

// syncHost delivers every segment synchronously inside Output, like a
// loopback that does not queue: TCP must not deadlock on re-entry.
type syncHost struct {
	clk  *clock.Virtual
	addr netip.Addr
	p    *Protocol
	peer *syncHost
}

func (h *syncHost) Clock() clock.Clock { return h.clk }
func (h *syncHost) Route(dst netip.Addr) (netip.Addr, int, error) {
	return h.addr, 1500, nil
}
func (h *syncHost) Output(src, dst netip.Addr, ttl, tos uint8, df bool, seg []byte) error {
	h.peer.p.HandleSegment(src, dst, seg)
	return nil
}

func TestSynchronousDelivery(t *testing.T) {
	clk := clock.NewVirtual(epoch)
	a := &syncHost{clk: clk, addr: addrA}
	b := &syncHost{clk: clk, addr: addrB}
	a.peer, b.peer = b, a
	a.p = New(a, Options{Seed: 1})
	b.p = New(b, Options{Seed: 2})
	ln, _ := b.p.Listen(netip.AddrPortFrom(addrB, 80), 5)
	c, err := a.p.startDial(netip.AddrPort{}, netip.AddrPortFrom(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	s := ln.tryAccept()
	if s == nil || c.State() != StateEstablished {
		t.Fatalf("handshake: %v", c.State())
	}
	pr := &pair{cli: c, srv: s, n: &fakeNet{clk: clk}}
	ab, ba := testData(200_000, 1), testData(100_000, 2)
	ok, p1, p2 := transfer(t, pr, ab, ba, time.Hour)
	if !ok || !bytes.Equal(p1.got, ab) || !bytes.Equal(p2.got, ba) {
		t.Fatalf("transfer: %v %d/%d %d/%d", ok, len(p1.got), len(ab), len(p2.got), len(ba))
	}
}
