package daemon

import (
	"context"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// nc (TCP) through the daemon, and the daemon's TCP simple services.
func TestDaemonTCP(t *testing.T) {
	_, c, peer := start(t)
	ptcp := AttachTCP(peer, 9)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	ln, err := ptcp.Listen(netip.AddrPortFrom(peerIP, 7001), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // upper-casing echo server on the peer
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		b, _ := io.ReadAll(conn)
		conn.Write([]byte(strings.ToUpper(string(b))))
		conn.Close()
	}()
	sc, err := c.DialTCP(ctx, netip.AddrPort{}, netip.AddrPortFrom(peerIP, 7001))
	if err != nil {
		t.Fatal(err)
	}
	sc.Write([]byte("over tcp\n"))
	sc.CloseWrite()
	got, err := io.ReadAll(sc)
	sc.Close()
	if err != nil || string(got) != "OVER TCP\n" {
		t.Fatalf("got %q %v", got, err)
	}

	// TCP daytime and echo served by the daemon.
	dc, err := ptcp.Dial(netip.AddrPort{}, netip.AddrPortFrom(daemonIP, 13))
	if err != nil {
		t.Fatal(err)
	}
	dc.SetReadDeadline(time.Now().Add(10 * time.Second))
	day, _ := io.ReadAll(dc)
	dc.Close()
	if !strings.HasSuffix(string(day), "\r\n") {
		t.Fatalf("daytime %q", day)
	}
	ec, err := ptcp.Dial(netip.AddrPort{}, netip.AddrPortFrom(daemonIP, 7))
	if err != nil {
		t.Fatal(err)
	}
	ec.SetReadDeadline(time.Now().Add(10 * time.Second))
	ec.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(ec, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo %q %v", buf, err)
	}
	ec.Close()
}
