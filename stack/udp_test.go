package stack

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
)

func twoHosts(t *testing.T) (*sim.Network, *sim.Segment, *testHost, *testHost) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", nil)
	b := newHost(t, n, seg, "192.0.2.2/24", "", nil)
	n.Run(5 * time.Second)
	return n, seg, a, b
}

// readAsync reads one datagram in a goroutine while the test drives time.
func readAsync(c *UDPConn) chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		buf := make([]byte, 65536)
		k, from, err := c.ReadFromAddrPort(buf)
		ch <- readResult{buf[:k], from, err}
	}()
	return ch
}

type readResult struct {
	data []byte
	from netip.AddrPort
	err  error
}

func runUntilRead(t *testing.T, n *sim.Network, ch chan readResult, limit time.Duration) (readResult, bool) {
	t.Helper()
	var r readResult
	ok := n.RunUntil(func() bool {
		select {
		case r = <-ch:
			return true
		case <-time.After(time.Millisecond):
			return false
		}
	}, limit)
	return r, ok
}

// SPEC: UDP-4
func TestUDPEchoExchange(t *testing.T) {
	n, _, a, b := twoHosts(t)
	srv, err := b.ListenUDP(addrPort("0.0.0.0:7"))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := a.DialUDP(netip.AddrPort{}, addrPort("192.0.2.2:7"))
	if err != nil {
		t.Fatal(err)
	}
	if cl.LocalAddrPort().Addr() != ip("192.0.2.1") || cl.LocalAddrPort().Port() < 1024 {
		t.Fatalf("local %v", cl.LocalAddrPort())
	}
	if _, err := cl.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	r, ok := runUntilRead(t, n, readAsync(srv), time.Second)
	if !ok || string(r.data) != "hello" || r.from != cl.LocalAddrPort() {
		t.Fatalf("server got %+v %v", r, ok)
	}
	srv.WriteTo(r.data, net.UDPAddrFromAddrPort(r.from))
	r, ok = runUntilRead(t, n, readAsync(cl), time.Second)
	if !ok || string(r.data) != "hello" {
		t.Fatalf("client got %+v", r)
	}
	if st := a.Stats(); st.UDPOutDatagrams != 1 || st.UDPInDatagrams != 1 {
		t.Fatalf("%+v", st)
	}
	// A connected socket ignores other senders.
	other, _ := b.ListenUDP(addrPort("0.0.0.0:8"))
	other.WriteToAddrPort([]byte("spoof"), cl.LocalAddrPort())
	n.Run(time.Second)
	cl.SetReadDeadline(n.Now())
	if _, err := cl.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connected socket accepted a stranger: %v", err)
	}
}

// SPEC: UDP-4, ICMP-5
func TestUDPPortUnreachable(t *testing.T) {
	n, seg, a, b := twoHosts(t)
	c := startCapture(seg)
	cl, _ := a.DialUDP(netip.AddrPort{}, addrPort("192.0.2.2:9999"))
	cl.Write([]byte("anyone?"))
	r, ok := runUntilRead(t, n, readAsync(cl), time.Second)
	if !ok || !errors.Is(r.err, syscall.ECONNREFUSED) {
		t.Fatalf("want ECONNREFUSED, got %+v", r)
	}
	if b.Stats().UDPNoPorts != 1 || b.Stats().ICMPOutDestUnreachs != 1 {
		t.Fatal("udpNoPorts / ICMP not counted")
	}
	found := false
	for _, p := range c.packets(t) {
		if _, ic := icmpOf(p); ic != nil && ic.TypeCode.Type() == 3 && ic.TypeCode.Code() == 3 {
			found = true
		}
	}
	if !found {
		t.Fatal("no port unreachable on the wire")
	}
}

func TestUDPAddrInUseAndEphemeral(t *testing.T) {
	_, _, a, _ := twoHosts(t)
	c1, err := a.ListenUDP(addrPort("0.0.0.0:53"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"0.0.0.0:53", "192.0.2.1:53"} {
		if _, err := a.ListenUDP(addrPort(s)); !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("%s: want EADDRINUSE, got %v", s, err)
		}
	}
	if _, err := a.ListenUDP(addrPort("198.18.0.1:54")); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("foreign address: %v", err)
	}
	c1.Close()
	if _, err := a.ListenUDP(addrPort("192.0.2.1:53")); err != nil {
		t.Fatalf("port not released: %v", err)
	}
	var last uint16
	for i := 0; i < 3; i++ {
		c, err := a.ListenUDP(addrPort("0.0.0.0:0"))
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddrPort().Port()
		if p < 1024 || p > 5000 || (last != 0 && p != last+1) {
			t.Fatalf("ephemeral port %d after %d", p, last)
		}
		last = p
	}
}

func TestUDPEphemeralExhaustion(t *testing.T) {
	_, _, a, _ := twoHosts(t)
	n := 0
	for {
		_, err := a.ListenUDP(addrPort("0.0.0.0:0"))
		if err != nil {
			if !errors.Is(err, syscall.EADDRINUSE) {
				t.Fatal(err)
			}
			break
		}
		n++
	}
	if n != 5000-1024+1 {
		t.Fatalf("%d ephemeral ports, want 1024..5000", n)
	}
}

func TestUDPDeadlineVirtualTime(t *testing.T) {
	n, _, a, _ := twoHosts(t)
	c, _ := a.ListenUDP(addrPort("0.0.0.0:9"))
	t0 := n.Now()
	c.SetReadDeadline(t0.Add(2 * time.Second))
	ch := readAsync(c)
	time.Sleep(10 * time.Millisecond)
	n.Run(1999 * time.Millisecond)
	select {
	case r := <-ch:
		t.Fatalf("returned early: %+v", r)
	case <-time.After(20 * time.Millisecond):
	}
	n.Run(time.Millisecond)
	select {
	case r := <-ch:
		var ne net.Error
		if !errors.As(r.err, &ne) || !ne.Timeout() || !errors.Is(r.err, os.ErrDeadlineExceeded) {
			t.Fatalf("want timeout, got %v", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("deadline did not fire at 2s virtual")
	}
	// Close unblocks a reader.
	c.SetReadDeadline(time.Time{})
	ch = readAsync(c)
	time.Sleep(5 * time.Millisecond)
	c.Close()
	if r := <-ch; !errors.Is(r.err, net.ErrClosed) {
		t.Fatalf("after close: %v", r.err)
	}
}

// SPEC: IP-15, UDP-1
func TestUDPBroadcast(t *testing.T) {
	n, _, a, b := twoHosts(t)
	rcv, _ := b.ListenUDP(addrPort("192.0.2.2:138")) // bound to its address: still hears broadcasts (NetBT)
	snd, _ := a.ListenUDP(addrPort("0.0.0.0:138"))
	if _, err := snd.WriteToAddrPort([]byte("x"), addrPort("255.255.255.255:138")); !errors.Is(err, ErrBroadcastNotEnabled) {
		t.Fatalf("broadcast without SetBroadcast: %v", err)
	}
	snd.SetBroadcast(true)
	for _, dst := range []string{"255.255.255.255:138", "192.0.2.255:138"} {
		if _, err := snd.WriteToAddrPort([]byte(dst), addrPort(dst)); err != nil {
			t.Fatal(err)
		}
		r, ok := runUntilRead(t, n, readAsync(rcv), time.Second)
		if !ok || string(r.data) != dst || r.from.Addr() != ip("192.0.2.1") {
			t.Fatalf("%s: %+v %v", dst, r, ok)
		}
	}
}

// SPEC: IP-15 (UseZeroBroadcast)
func TestUDPZeroBroadcast(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "", "", nil)
	port := a.port
	_ = port
	a.RemoveInterface("eth0")
	macCounter++
	ifc, err := a.AddInterface(InterfaceConfig{Name: "z", Addrs: []netip.Prefix{pfx("192.0.2.1/24")}, UseZeroBroadcast: true}, seg.NewPort(sim.MAC(macCounter)))
	if err != nil {
		t.Fatal(err)
	}
	_ = ifc
	b := newHost(t, n, seg, "192.0.2.2/24", "", nil)
	n.Run(5 * time.Second)
	c := startCapture(seg)
	rcv, _ := b.ListenUDP(addrPort("0.0.0.0:138"))
	snd, _ := a.ListenUDP(addrPort("0.0.0.0:138"))
	snd.SetBroadcast(true)
	snd.WriteToAddrPort([]byte("z"), addrPort("192.0.2.255:138"))
	r, ok := runUntilRead(t, n, readAsync(rcv), time.Second)
	if !ok || string(r.data) != "z" {
		t.Fatalf("%+v %v", r, ok)
	}
	for _, p := range c.packets(t) {
		if ipl, _ := icmpOf(p); ipl != nil && ipl.Protocol == 17 && ipl.DstIP.String() != "192.0.2.0" {
			t.Fatalf("sent to %v, want 0-style 192.0.2.0", ipl.DstIP)
		}
	}
}

func TestUDPReceiveQueueBound(t *testing.T) {
	n, _, a, b := twoHosts(t)
	rcv, _ := b.ListenUDP(addrPort("0.0.0.0:9"))
	rcv.SetReadBuffer(3000)
	snd, _ := a.ListenUDP(addrPort("0.0.0.0:0"))
	for i := 0; i < 10; i++ {
		snd.WriteToAddrPort(make([]byte, 1000), addrPort("192.0.2.2:9"))
		n.Run(0)
	}
	n.Run(time.Second)
	st := b.Stats()
	if st.UDPInDatagrams != 3 || st.UDPInErrors != 7 || st.UDPRecvQueueDrops != 7 {
		t.Fatalf("in %d errors %d drops %d", st.UDPInDatagrams, st.UDPInErrors, st.UDPRecvQueueDrops)
	}
}

// SPEC: IP-16 (UDP over loopback)
func TestUDPLoopback(t *testing.T) {
	n, _, a, _ := twoHosts(t)
	srv, _ := a.ListenUDP(addrPort("0.0.0.0:7"))
	cl, _ := a.DialUDP(netip.AddrPort{}, addrPort("127.0.0.1:7"))
	cl.Write([]byte("lo"))
	r, ok := runUntilRead(t, n, readAsync(srv), time.Second)
	if !ok || string(r.data) != "lo" || r.from.Addr() != ip("127.0.0.1") {
		t.Fatalf("%+v %v", r, ok)
	}
}
