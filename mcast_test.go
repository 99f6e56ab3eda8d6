package stapel

import (
	"net"
	"testing"
	"time"
)

// SPEC: MCAST-4, MCAST-5 — ListenMulticastUDP works like Go's: a datagram
// one host sends to the group reaches the other host's member socket.
func TestListenMulticastUDP(t *testing.T) {
	a, b := pair(t)
	g := &net.UDPAddr{IP: net.ParseIP("239.1.2.3"), Port: 5007}
	rx, err := b.ListenMulticastUDP("udp4", "lan0", g)
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	if _, err := b.ListenMulticastUDP("udp4", "nosuch", &net.UDPAddr{IP: g.IP, Port: 5008}); err == nil {
		t.Error("unknown interface accepted")
	}
	if _, err := b.ListenMulticastUDP("udp4", "", &net.UDPAddr{IP: net.ParseIP(ipA), Port: 5009}); err == nil {
		t.Error("unicast group accepted")
	}
	tx, err := a.ListenPacket("udp4", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	rx.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 100)
	// The membership takes effect at once; send a few in case the first
	// crosses the join on a slow machine.
	for i := 0; ; i++ {
		if _, err := tx.WriteTo([]byte("group hello"), g); err != nil {
			t.Fatal(err)
		}
		rx.SetReadDeadline(time.Now().Add(time.Second))
		n, from, err := rx.ReadFrom(buf)
		if err == nil {
			if string(buf[:n]) != "group hello" || from.(*net.UDPAddr).IP.String() != ipA {
				t.Fatalf("got %q from %v", buf[:n], from)
			}
			break
		}
		if i == 5 {
			t.Fatal(err)
		}
	}
}
