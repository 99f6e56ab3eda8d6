package stack

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/wire"
)

// redirNet: host H (198.51.100.2, gateway R1 .1) and routers R1 (.1) and
// R2 (.3) on segment A; B (203.0.113.2) behind R2 on segment B. R1 routes
// 203.0.113.0/24 via R2, back out of the interface the datagram came in.
type redirNet struct {
	n          *sim.Network
	segA, segB *sim.Segment
	h, r1, r2  *testHost
	b          *testHost
}

func newRedirNet(t *testing.T, hmod func(*config.Tcpip)) *redirNet {
	n := sim.ForTest(t, 1)
	segA := n.NewSegment("a", 1500, link.FaultConfig{})
	segB := n.NewSegment("b", 1500, link.FaultConfig{})
	router := func(p *config.Tcpip) { p.IPEnableRouter = true }
	h := newHost(t, n, segA, "198.51.100.2/24", "198.51.100.1", hmod)
	r1 := newHost(t, n, segA, "198.51.100.1/24", "", router)
	r2 := newHost(t, n, segA, "198.51.100.3/24", "", router)
	r2.addIf(t, segB, "eth1", "203.0.113.1/24", "")
	b := newHost(t, n, segB, "203.0.113.2/24", "203.0.113.1", nil)
	if err := r1.AddRoute(Route{Dst: pfx("203.0.113.0/24"), Gateway: ip("198.51.100.3")}); err != nil {
		t.Fatal(err)
	}
	n.Run(5 * time.Second)
	return &redirNet{n, segA, segB, h, r1, r2, b}
}

func (rn *redirNet) ping(t *testing.T, seq uint16) {
	t.Helper()
	es, _ := rn.h.NewEchoSocket()
	defer es.Close()
	es.Send(EchoRequest{Dst: ip("203.0.113.2"), Seq: seq})
	if ev, ok := waitEvent(t, rn.n, es, 5*time.Second); !ok || ev.Type != 0 {
		t.Fatalf("ping %d: %+v %v", seq, ev, ok)
	}
}

// SPEC: ICMP-3, IP-8 — a router forwarding back out of the incoming
// interface redirects the host on that subnet; the host accepts it (from
// its first-hop gateway, on-link), sends the next datagrams straight to
// the better router, and the host route lapses after exactly 10 minutes.
func TestRedirectSentAcceptedAndExpires(t *testing.T) {
	rn := newRedirNet(t, nil)
	c := startCapture(rn.segA)
	rn.ping(t, 1)
	if rn.r1.Stats().ICMPOutRedirects != 1 || rn.h.Stats().RedirectsAccepted != 1 {
		t.Fatalf("redirect sent %d accepted %d (rejected %d)\n%s", rn.r1.Stats().ICMPOutRedirects,
			rn.h.Stats().RedirectsAccepted, rn.h.Stats().RedirectsRejected, rn.h.log.String())
	}
	var redirect *layers.ICMPv4
	for _, p := range c.packets(t) {
		if _, ic := icmpOf(p); ic != nil && ic.TypeCode.Type() == layers.ICMPv4TypeRedirect {
			redirect = ic
		}
	}
	if redirect == nil || redirect.TypeCode.Code() != wire.ICMPRedirectHost {
		t.Fatalf("no host redirect on the wire: %+v", redirect)
	}
	ri, _ := rn.h.Route(ip("203.0.113.2"))
	if ri.Gateway != ip("198.51.100.3") {
		t.Fatalf("route after redirect via %v", ri.Gateway)
	}
	// The next ping goes to R2 directly: R1 forwards nothing more.
	fw := rn.r1.Stats().IPForwDatagrams
	rn.ping(t, 2)
	if rn.r1.Stats().IPForwDatagrams != fw {
		t.Fatal("host still sends through R1")
	}
	found := false
	for _, r := range rn.h.Routes() {
		found = found || r.Kind == RouteRedirect && r.Dst == pfx("203.0.113.2/32") && r.Gateway == ip("198.51.100.3")
	}
	if !found {
		t.Fatalf("redirect host route not listed: %v", routeLines(rn.h.Routes()))
	}
	// 10 minutes after the redirect (ICMP-3). The pings took a few ms.
	rn.n.Run(10*time.Minute - 100*time.Millisecond)
	if ri, _ := rn.h.Route(ip("203.0.113.2")); ri.Gateway != ip("198.51.100.3") {
		t.Fatal("redirect lapsed early")
	}
	rn.n.Run(200 * time.Millisecond)
	if ri, _ := rn.h.Route(ip("203.0.113.2")); ri.Gateway != ip("198.51.100.1") {
		t.Fatalf("redirect still in force after 10 min: via %v", ri.Gateway)
	}
	if st := rn.h.LearnedRouteStats(); st.Entries != 0 || st.RedirectsExpired != 1 {
		t.Fatalf("learned %+v", st)
	}
}

// redirectFrame builds an ICMP redirect from (mac, from) to the host
// about a datagram host→dst, naming gw.
func redirectFrame(r *rawStation, hostMAC wire.MAC, from, host, dst, gw netip.Addr) []byte {
	const qlen = wire.IPv4MinHeaderLen + 8
	icmpLen := wire.ICMPv4HeaderLen + qlen
	f := make([]byte, wire.EthernetHeaderLen+wire.IPv4MinHeaderLen+icmpLen)
	eh := wire.EthernetHeader{Dst: hostMAC, Src: r.mac(), Type: wire.EtherTypeIPv4}
	eh.Put(f)
	ipb := f[wire.EthernetHeaderLen:]
	ih := wire.IPv4Header{TotalLen: uint16(wire.IPv4MinHeaderLen + icmpLen), TTL: 64, Protocol: wire.ProtoICMP, Src: from, Dst: host}
	ih.Put(ipb)
	ib := ipb[wire.IPv4MinHeaderLen:]
	q := ib[wire.ICMPv4HeaderLen:]
	qh := wire.IPv4Header{TotalLen: 84, ID: 9, TTL: 64, Protocol: wire.ProtoICMP, Src: host, Dst: dst}
	qh.Put(q)
	m := wire.ICMPv4{Type: wire.ICMPRedirect, Code: wire.ICMPRedirectHost, Body: q}
	m.SetGateway(gw)
	m.Put(ib)
	return f
}

// SPEC: ICMP-3 — redirects not from the current first hop (forged by
// another host), naming an off-link gateway, or with
// EnableICMPRedirects=0 change nothing.
func TestRedirectRejected(t *testing.T) {
	rn := newRedirNet(t, nil)
	off := newHost(t, rn.n, rn.segA, "198.51.100.9/24", "198.51.100.1", func(p *config.Tcpip) { p.EnableICMPRedirects = false })
	rn.n.Run(5 * time.Second)
	st := newRawStation(rn.segA)
	h, b := ip("198.51.100.2"), ip("203.0.113.2")
	send := func(host *testHost, from, gw netip.Addr) {
		st.ep.WriteFrame(redirectFrame(st, host.ifc.MAC(), from, host.ifc.Info().Addrs[0].Addr(), b, gw))
		rn.n.Run(10 * time.Millisecond)
	}
	send(rn.h, ip("198.51.100.66"), ip("198.51.100.66")) // forged: not the first hop
	send(rn.h, ip("198.51.100.1"), ip("192.0.2.1"))      // off-link new gateway
	send(off, ip("198.51.100.1"), ip("198.51.100.3"))    // redirects disabled
	if ri, _ := rn.h.Route(b); ri.Gateway != ip("198.51.100.1") {
		t.Fatalf("forged redirect accepted: via %v", ri.Gateway)
	}
	if ri, _ := off.Route(b); ri.Gateway != ip("198.51.100.1") {
		t.Fatal("redirect accepted with EnableICMPRedirects=0")
	}
	if rn.h.Stats().RedirectsRejected != 2 || off.Stats().RedirectsRejected != 1 || rn.h.LearnedRouteStats().Entries != 0 {
		t.Fatalf("rejections %d/%d", rn.h.Stats().RedirectsRejected, off.Stats().RedirectsRejected)
	}
	// The real first hop is believed.
	send(rn.h, ip("198.51.100.1"), ip("198.51.100.3"))
	if ri, _ := rn.h.Route(b); ri.Gateway != ip("198.51.100.3") {
		t.Fatalf("genuine redirect not accepted: %v", ri.Gateway)
	}
	// Now R2 is the first hop: R1 can no longer redirect.
	send(rn.h, ip("198.51.100.1"), ip("198.51.100.66"))
	if ri, _ := rn.h.Route(b); ri.Gateway != ip("198.51.100.3") {
		t.Fatalf("redirect from the old first hop accepted: %v", ri.Gateway)
	}
	_ = h
}

// SPEC: ICMP-7, ICMP-6 — TTL exceeded and unreachables reach the
// connected UDP socket they concern as soft errors (read returns them
// once), and the socket keeps working.
func TestUDPSoftErrors(t *testing.T) {
	rn := newRouted(t, 1500, nil)
	c, err := rn.a.DialUDP(netip.AddrPort{}, addrPort("203.0.113.2:9999"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetTTL(1)
	c.Write([]byte("x"))
	rn.n.Run(time.Second)
	buf := make([]byte, 16)
	if _, err := c.Read(buf); !errors.Is(err, ErrHostUnreachable) {
		t.Fatalf("after TTL exceeded: %v", err)
	}
	c.SetTTL(0)
	c.Write([]byte("y")) // B has no socket on 9999: port unreachable
	rn.n.Run(time.Second)
	if _, err := c.Read(buf); !errors.Is(err, ErrConnRefused) {
		t.Fatalf("after port unreachable: %v", err)
	}
	if rn.a.Stats().ICMPTransportErrors != 2 {
		t.Fatalf("icmpTransportErrors %d", rn.a.Stats().ICMPTransportErrors)
	}
}
