package stack

import (
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/wire"
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

// nullEP is an endpoint whose WriteFrame is one write(2) to /dev/null,
// standing in for a TAP's syscall; Deliver feeds frames to the stack.
type nullEP struct {
	fd int
	d  link.Dispatcher
}

func (e *nullEP) Name() string             { return "null" }
func (e *nullEP) MTU() int                 { return 1500 }
func (e *nullEP) MAC() wire.MAC            { return sim.MAC(1) }
func (e *nullEP) Attach(d link.Dispatcher) { e.d = d }
func (e *nullEP) Close() error             { return nil }
func (e *nullEP) WriteFrame(frame []byte) error {
	_, err := syscall.Write(e.fd, frame)
	return err
}

type atomicCount struct{ n atomic.Int64 }

func (c *atomicCount) HandlePacket(p *InboundPacket) { c.n.Add(int64(len(p.Payload))) }
func (c *atomicCount) HandleError(*ControlError)     {}

// BenchmarkParallelFlows sends (WriteIPBuf, a syscall per frame) and
// receives (DeliverFrame to a registered transport) 1460-byte TCP
// segments from every benchmark goroutine at once through one stack:
// with -cpu 1,2,4 it shows whether the data path serialises on a lock.
func BenchmarkParallelFlows(b *testing.B) {
	null, err := syscall.Open("/dev/null", syscall.O_WRONLY, 0)
	if err != nil {
		b.Skip(err)
	}
	defer syscall.Close(null)
	ep := &nullEP{fd: null}
	s := New(Options{Clock: clock.Real{}})
	defer s.Close()
	if _, err := s.AddInterface(InterfaceConfig{Name: "a", Addrs: []netip.Prefix{pfx("192.0.2.1/24")}}, ep); err != nil {
		b.Fatal(err)
	}
	s.AddStaticARP(ip("192.0.2.2"), sim.MAC(2), netip.Addr{})
	ct := &atomicCount{}
	s.RegisterTransport(6, ct)
	// A frame from 192.0.2.2 to us, TCP checksum not checked by ct.
	in := make([]byte, wire.EthernetHeaderLen+20+1480)
	(&wire.EthernetHeader{Dst: sim.MAC(1), Src: sim.MAC(2), Type: wire.EtherTypeIPv4}).Put(in)
	(&wire.IPv4Header{TotalLen: 1500, TTL: 64, Protocol: 6, Src: ip("192.0.2.2"), Dst: ip("192.0.2.1")}).Put(in[wire.EthernetHeaderLen:])
	b.ReportAllocs()
	b.SetBytes(2 * 1480)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, TxHeadroom+1480)
		pkt := OutboundPacket{Dst: ip("192.0.2.2"), Proto: 6}
		for pb.Next() {
			if err := s.WriteIPBuf(pkt, buf); err != nil {
				b.Error(err)
				return
			}
			ep.d.DeliverFrame(in)
		}
	})
	if ct.n.Load() < int64(b.N)*1480 {
		b.Fatal("lost packets", ct.n.Load())
	}
}
