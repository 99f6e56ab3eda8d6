package stapel

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// SPEC: MCAST-5 — ListenPacket("ip4:icmp") works like Go's raw IP socket:
// an echo request written by one host reaches the other's raw ICMP
// socket (header stripped), and the peer stack's echo reply comes back.
func TestListenPacketIP4ICMP(t *testing.T) {
	a, b := pair(t)
	ca, err := a.ListenPacket("ip4:icmp", "")
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	cb, err := b.ListenPacket("ip4:1", ipB)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	if _, err := a.ListenPacket("ip4:tcp", ""); err == nil {
		t.Fatal("raw TCP opened")
	}
	if _, err := a.ListenPacket("ip4:x", ""); !errors.Is(err, ErrNetwork) {
		t.Fatalf("bad protocol: %v", err)
	}
	buf := gopacket.NewSerializeBuffer()
	req := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 0x4242, Seq: 7}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, req, gopacket.Payload("stapel raw")); err != nil {
		t.Fatal(err)
	}
	dst := &net.IPAddr{IP: net.ParseIP(ipB)}
	deadline := time.Now().Add(10 * time.Second)
	ca.SetReadDeadline(deadline)
	cb.SetReadDeadline(deadline)
	if _, err := ca.WriteTo(buf.Bytes(), dst); err != nil {
		t.Fatal(err)
	}
	decode := func(c net.PacketConn, want layers.ICMPv4TypeCode) net.Addr {
		t.Helper()
		p := make([]byte, 1500)
		for {
			n, from, err := c.ReadFrom(p)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			pk := gopacket.NewPacket(p[:n], layers.LayerTypeICMPv4, gopacket.Default)
			ic, _ := pk.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if ic == nil {
				t.Fatalf("not ICMP: %x", p[:n])
			}
			if ic.TypeCode == want && ic.Id == 0x4242 && ic.Seq == 7 && string(ic.Payload) == "stapel raw" {
				return from
			}
		}
	}
	if from := decode(cb, layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0)); from.String() != ipA {
		t.Fatalf("request from %v", from)
	}
	if from := decode(ca, layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0)); from.String() != ipB {
		t.Fatalf("reply from %v", from)
	}
	// Raw gives the whole datagram.
	if _, ok := ca.(*IPConn); !ok {
		t.Fatalf("%T", ca)
	}
}
