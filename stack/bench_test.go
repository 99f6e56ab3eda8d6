package stack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
)

// BenchmarkUDPPipe measures one UDP datagram from socket to socket across
// an in-memory pipe (send, IP, Ethernet, pipe, receive, demux, queue, read).
func BenchmarkUDPPipe(b *testing.B) {
	for _, size := range []int{64, 1400} {
		b.Run(map[int]string{64: "64B", 1400: "1400B"}[size], func(b *testing.B) {
			clk := clock.NewVirtual(sim.Epoch)
			pa, pb := link.NewPipe(clk, 1500, sim.MAC(1), sim.MAC(2))
			sa, sb := New(Options{Clock: clk}), New(Options{Clock: clk})
			sa.AddInterface(InterfaceConfig{Name: "a", Addrs: []netip.Prefix{pfx("192.0.2.1/24")}}, pa)
			sb.AddInterface(InterfaceConfig{Name: "b", Addrs: []netip.Prefix{pfx("192.0.2.2/24")}}, pb)
			clk.Advance(5 * time.Second)
			rcv, _ := sb.ListenUDP(addrPort("0.0.0.0:9"))
			snd, _ := sa.DialUDP(netip.AddrPort{}, addrPort("192.0.2.2:9"))
			msg := make([]byte, size)
			buf := make([]byte, 2048)
			// Resolve ARP first.
			snd.Write(msg)
			clk.Advance(0)
			rcv.ReadFromAddrPort(buf)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := snd.Write(msg); err != nil {
					b.Fatal(err)
				}
				clk.Advance(0)
				if n, _, err := rcv.ReadFromAddrPort(buf); err != nil || n != size {
					b.Fatal(n, err)
				}
			}
		})
	}
}

type countTransport struct{ n int }

func (c *countTransport) HandlePacket(p *InboundPacket) { c.n += len(p.Payload) }
func (c *countTransport) HandleError(*ControlError)     {}

// BenchmarkWriteIPPipe is the TCP seam's data path: WriteIP on one stack,
// HandlePacket on the other, across an in-memory pipe.
func BenchmarkWriteIPPipe(b *testing.B) {
	clk := clock.NewVirtual(sim.Epoch)
	pa, pb := link.NewPipe(clk, 1500, sim.MAC(1), sim.MAC(2))
	sa, sb := New(Options{Clock: clk}), New(Options{Clock: clk})
	sa.AddInterface(InterfaceConfig{Name: "a", Addrs: []netip.Prefix{pfx("192.0.2.1/24")}}, pa)
	sb.AddInterface(InterfaceConfig{Name: "b", Addrs: []netip.Prefix{pfx("192.0.2.2/24")}}, pb)
	clk.Advance(5 * time.Second)
	ct := &countTransport{}
	sb.RegisterTransport(6, ct)
	hdr, payload := make([]byte, 20), make([]byte, 1460)
	pkt := OutboundPacket{Dst: ip("192.0.2.2"), Proto: 6, Header: hdr, Payload: payload}
	sa.WriteIP(pkt)
	clk.Advance(0)
	b.ReportAllocs()
	b.SetBytes(1460)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := sa.WriteIP(pkt); err != nil {
			b.Fatal(err)
		}
		clk.Advance(0)
	}
	if ct.n < b.N*1480 {
		b.Fatal("lost packets", ct.n)
	}
}
