package stack

import (
	"net/netip"
	"testing"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/wire"
)

// seedFrame builds an Ethernet/IPv4 frame to dst with payload.
func seedFrame(dstMAC wire.MAC, proto uint8, dst string, mf bool, off int, opts []byte, payload []byte) []byte {
	h := wire.IPv4Header{TTL: 64, Protocol: proto, Src: netip.MustParseAddr("192.0.2.9"),
		Dst: netip.MustParseAddr(dst), MF: mf, FragOff: off, Options: opts, ID: 7}
	hl := h.HeaderLen()
	h.TotalLen = uint16(hl + len(payload))
	b := make([]byte, 14+hl+len(payload))
	wire.EthernetHeader{Dst: dstMAC, Src: sim.MAC(9), Type: wire.EtherTypeIPv4}.Put(b)
	h.Put(b[14:])
	copy(b[14+hl:], payload)
	return b
}

// FuzzDeliverFrame feeds arbitrary frames to a router with UDP and echo
// sockets open: nothing may panic (malformed input is dropped and
// counted).
func FuzzDeliverFrame(f *testing.F) {
	clk := clock.NewVirtual(sim.Epoch)
	pa, _ := link.NewPipe(clk, 1500, sim.MAC(1), sim.MAC(2))
	s := New(Options{Clock: clk})
	s.p.router = true
	s.p.srcRouting = 0
	ifc, _ := s.AddInterface(InterfaceConfig{Name: "a", Addrs: []netip.Prefix{pfx("192.0.2.1/24")},
		Gateways: []netip.Addr{ip("192.0.2.254")}}, pa)
	s.ListenUDP(addrPort("0.0.0.0:9"))
	s.NewEchoSocket()
	me := sim.MAC(1)
	udp := make([]byte, 20)
	wire.PutUDP(udp, ip("192.0.2.9"), ip("192.0.2.1"), 5, 9)
	echo := make([]byte, 16)
	(&wire.ICMPv4{Type: 8}).Put(echo)
	quote := seedFrame(me, 17, "192.0.2.9", false, 0, nil, udp)[14:]
	icmpErr := make([]byte, 8+len(quote))
	copy(icmpErr[8:], quote)
	(&wire.ICMPv4{Type: 3, Code: 3, Body: icmpErr[8:]}).Put(icmpErr)
	arp := make([]byte, 14+28)
	wire.EthernetHeader{Dst: wire.BroadcastMAC, Src: sim.MAC(9), Type: wire.EtherTypeARP}.Put(arp)
	(&wire.ARP{Op: 1, SenderMAC: sim.MAC(9), SenderIP: ip("192.0.2.9"), TargetIP: ip("192.0.2.1")}).Put(arp[14:])
	for _, seed := range [][]byte{
		{}, make([]byte, 60), arp,
		seedFrame(me, 17, "192.0.2.1", false, 0, nil, udp),
		seedFrame(me, 17, "192.0.2.1", true, 0, nil, udp[:16]),
		seedFrame(me, 17, "192.0.2.1", false, 16, nil, udp[16:]),
		seedFrame(me, 1, "192.0.2.1", false, 0, nil, echo),
		seedFrame(me, 1, "192.0.2.1", false, 0, nil, icmpErr),
		seedFrame(me, 1, "192.0.2.1", false, 0, []byte{0x83, 7, 4, 198, 51, 100, 1, 0}, echo),
		seedFrame(me, 1, "203.0.113.5", false, 0, nil, echo),
		seedFrame(wire.BroadcastMAC, 17, "192.0.2.255", false, 0, nil, udp),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		s.rxFrame(ifc, frame)
		clk.Advance(0)
	})
}
