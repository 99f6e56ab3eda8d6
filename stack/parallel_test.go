package stack

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/tcp"
	"github.com/stapel-net/stapel/wire"
)

// pipePair is two stacks on the real clock joined by a link.Pipe, with
// static ARP entries so no datagram waits for resolution. epA, if not
// nil, wraps A's end of the pipe.
func pipePair(t *testing.T, epA func(link.Endpoint) link.Endpoint) (sa, sb *Stack) {
	t.Helper()
	clk := clock.Real{}
	pa, pb := link.NewPipe(clk, 1500, sim.MAC(1), sim.MAC(2))
	var ea link.Endpoint = pa
	if epA != nil {
		ea = epA(pa)
	}
	sa, sb = New(Options{Clock: clk, Seed: 1}), New(Options{Clock: clk, Seed: 2})
	t.Cleanup(func() { sa.Close(); sb.Close() })
	if _, err := sa.AddInterface(InterfaceConfig{Name: "a", Addrs: []netip.Prefix{pfx("192.0.2.1/24")}}, ea); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.AddInterface(InterfaceConfig{Name: "b", Addrs: []netip.Prefix{pfx("192.0.2.2/24")}}, pb); err != nil {
		t.Fatal(err)
	}
	if err := sa.AddStaticARP(ip("192.0.2.2"), sim.MAC(2), netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if err := sb.AddStaticARP(ip("192.0.2.1"), sim.MAC(1), netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	return sa, sb
}

// TestParallelFlows runs several TCP flows (each echoed back) and UDP
// flows at once, each driven by its own goroutines, over two stacks on
// the real clock, and checks every byte (run with -race: the send and
// receive fast paths run concurrently under the read lock).
func TestParallelFlows(t *testing.T) {
	sa, sb := pipePair(t, nil)
	ta, tb := attachTCP(sa, tcp.DefaultParams()), attachTCP(sb, tcp.DefaultParams())
	const tcpFlows, size = 4, 192 << 10
	const udpFlows, datagrams = 4, 40
	var wg sync.WaitGroup
	for f := range tcpFlows {
		port := uint16(6000 + f)
		ln, err := tb.Listen(netip.AddrPortFrom(ip("192.0.2.2"), port), 4)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i*7 + f*31 + i>>9)
		}
		wg.Add(2)
		go func() { // server: echo everything back
			defer wg.Done()
			c, err := ln.AcceptTCP()
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			if _, err := io.Copy(c, c); err != nil {
				t.Errorf("flow %d: echo: %v", f, err)
			}
			c.CloseWrite()
		}()
		go func() { // client: write all, read it all back
			defer wg.Done()
			c, err := ta.Dial(netip.AddrPort{}, netip.AddrPortFrom(ip("192.0.2.2"), port))
			if err != nil {
				t.Errorf("flow %d: dial: %v", f, err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			werr := make(chan error, 1)
			go func() {
				_, err := c.Write(data)
				c.CloseWrite()
				werr <- err
			}()
			got, err := io.ReadAll(c)
			if err := <-werr; err != nil {
				t.Errorf("flow %d: write: %v", f, err)
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("flow %d: got %d bytes (err %v), want %d intact", f, len(got), err, len(data))
			}
		}()
	}
	for f := range udpFlows {
		port := uint16(7000 + f)
		srv, err := sb.ListenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), port))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		cl, err := sa.DialUDP(netip.AddrPort{}, netip.AddrPortFrom(ip("192.0.2.2"), port))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		wg.Add(2)
		go func() { // echo server
			defer wg.Done()
			buf := make([]byte, 4096)
			for range datagrams {
				srv.SetReadDeadline(time.Now().Add(30 * time.Second))
				n, from, err := srv.ReadFromAddrPort(buf)
				if err != nil {
					t.Errorf("udp %d: %v", f, err)
					return
				}
				srv.WriteToAddrPort(buf[:n], from)
			}
		}()
		go func() { // one datagram in flight; 3000 bytes go as two fragments
			defer wg.Done()
			buf := make([]byte, 4096)
			for i := range datagrams {
				msg := bytes.Repeat([]byte(fmt.Sprintf("%d/%d.", f, i)), 1000)[:1000+i*50]
				cl.Write(msg)
				cl.SetReadDeadline(time.Now().Add(30 * time.Second))
				n, err := cl.Read(buf)
				if err != nil || !bytes.Equal(buf[:n], msg) {
					t.Errorf("udp %d datagram %d: %d bytes, %v", f, i, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// gatedEndpoint holds the first frame of a UDP datagram to port gatePort
// inside WriteFrame until release is closed.
type gatedEndpoint struct {
	link.Endpoint
	gatePort uint16
	armed    atomic.Bool
	entered  chan struct{}
	release  chan struct{}
}

func (g *gatedEndpoint) WriteFrame(frame []byte) error {
	if isUDPToPort(frame, g.gatePort) && g.armed.CompareAndSwap(true, false) {
		close(g.entered)
		<-g.release
	}
	return g.Endpoint.WriteFrame(frame)
}

func isUDPToPort(frame []byte, port uint16) bool {
	eh, p, err := wire.ParseEthernet(frame)
	if err != nil || eh.Type != wire.EtherTypeIPv4 {
		return false
	}
	h, seg, err := wire.ParseIPv4(p)
	return err == nil && h.Protocol == wire.ProtoUDP && len(seg) >= 4 && uint16(seg[2])<<8|uint16(seg[3]) == port
}

// TestNoLockDuringLinkWrite blocks one datagram inside the link's
// WriteFrame and checks that, meanwhile, the same stack still sends
// another datagram and receives one: no stack lock is held across a
// link write (with one stack mutex held there, both would wait for the
// blocked write and the test would time out).
func TestNoLockDuringLinkWrite(t *testing.T) {
	g := &gatedEndpoint{gatePort: 9001, entered: make(chan struct{}), release: make(chan struct{})}
	g.armed.Store(true)
	sa, sb := pipePair(t, func(ep link.Endpoint) link.Endpoint { g.Endpoint = ep; return g })
	var once sync.Once
	releaseGate := func() { once.Do(func() { close(g.release) }) }
	defer releaseGate()

	gated, err := sa.DialUDP(netip.AddrPort{}, addrPort("192.0.2.2:9001"))
	if err != nil {
		t.Fatal(err)
	}
	defer gated.Close()
	free, err := sa.DialUDP(netip.AddrPort{}, addrPort("192.0.2.2:9002"))
	if err != nil {
		t.Fatal(err)
	}
	defer free.Close()
	sink, err := sb.ListenUDP(addrPort("192.0.2.2:9002"))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	inA, err := sa.ListenUDP(addrPort("192.0.2.1:9003"))
	if err != nil {
		t.Fatal(err)
	}
	defer inA.Close()
	fromB, err := sb.DialUDP(netip.AddrPort{}, addrPort("192.0.2.1:9003"))
	if err != nil {
		t.Fatal(err)
	}
	defer fromB.Close()

	gatedDone := make(chan error, 1)
	go func() { _, err := gated.Write([]byte("held in WriteFrame")); gatedDone <- err }()
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the gated datagram never reached WriteFrame")
	}

	// While that write is blocked: a send and a receive through stack A.
	done := make(chan error, 1)
	go func() {
		if _, err := free.Write([]byte("sent meanwhile")); err != nil {
			done <- fmt.Errorf("send: %w", err)
			return
		}
		buf := make([]byte, 64)
		sink.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, _, err := sink.ReadFromAddrPort(buf); err != nil || string(buf[:n]) != "sent meanwhile" {
			done <- fmt.Errorf("peer got %q, %v", buf[:n], err)
			return
		}
		if _, err := fromB.Write([]byte("received meanwhile")); err != nil {
			done <- fmt.Errorf("peer send: %w", err)
			return
		}
		inA.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := inA.ReadFromAddrPort(buf)
		if err == nil && string(buf[:n]) != "received meanwhile" {
			err = fmt.Errorf("got %q", buf[:n])
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		releaseGate()
		t.Fatal("a send or receive waited for another datagram's link write: a stack lock is held across WriteFrame")
	}
	releaseGate()
	if err := <-gatedDone; err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.entered:
	default:
		t.Fatal("gate not passed")
	}
}
