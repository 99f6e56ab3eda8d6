package stack

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
)

// TestRealClockConcurrent runs two stacks on the real clock with several
// goroutines sending and receiving at once (run with -race). It asserts
// delivery, not timing.
func TestRealClockConcurrent(t *testing.T) {
	clk := clock.Real{}
	pa, pb := link.NewPipe(clk, 1500, sim.MAC(1), sim.MAC(2))
	sa, sb := New(Options{Clock: clk}), New(Options{Clock: clk})
	defer sa.Close()
	defer sb.Close()
	if _, err := sa.AddInterface(InterfaceConfig{Name: "a", Addrs: []netip.Prefix{pfx("192.0.2.1/24")}}, pa); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.AddInterface(InterfaceConfig{Name: "b", Addrs: []netip.Prefix{pfx("192.0.2.2/24")}}, pb); err != nil {
		t.Fatal(err)
	}
	// Pre-resolve so the ARP-6 single-datagram queue does not drop.
	if err := sa.AddStaticARP(ip("192.0.2.2"), sim.MAC(2), netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	sb.AddStaticARP(ip("192.0.2.1"), sim.MAC(1), netip.Addr{})
	const workers, each = 4, 50
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		srv, err := sb.ListenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(7000+w)))
		if err != nil {
			t.Fatal(err)
		}
		cl, err := sa.DialUDP(netip.AddrPort{}, netip.AddrPortFrom(ip("192.0.2.2"), uint16(7000+w)))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		go func() { // echo server
			defer wg.Done()
			buf := make([]byte, 2048)
			for i := 0; i < each; i++ {
				srv.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, from, err := srv.ReadFromAddrPort(buf)
				if err != nil {
					t.Error(err)
					return
				}
				srv.WriteToAddrPort(buf[:n], from)
			}
		}()
		go func() { // client, one datagram in flight at a time
			defer wg.Done()
			buf := make([]byte, 2048)
			for i := 0; i < each; i++ {
				cl.Write([]byte("ping"))
				cl.SetReadDeadline(time.Now().Add(5 * time.Second))
				if n, err := cl.Read(buf); err != nil || string(buf[:n]) != "ping" {
					t.Error(n, err)
					return
				}
			}
		}()
	}
	// Meanwhile: pings, interface queries and an address added and removed.
	es, _ := sa.NewEchoSocket()
	for i := 0; i < 20; i++ {
		es.Send(EchoRequest{Dst: ip("192.0.2.2"), Seq: uint16(i), Size: 3000})
		sa.Interfaces()
		sa.ARPEntries()
		sb.StatsMap()
	}
	ifc := sb.Interface("b")
	ifc.AddAddress(pfx("198.51.100.2/24"))
	ifc.RemoveAddress(ip("198.51.100.2"))
	wg.Wait()
	got := 0
	deadline := time.After(5 * time.Second)
	for got < 20 {
		select {
		case <-es.Events():
			got++
		case <-deadline:
			t.Fatalf("%d of 20 echo replies", got)
		}
	}
}
