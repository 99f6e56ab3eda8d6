package wire

import (
	"bytes"
	"net"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

func TestARPToGopacket(t *testing.T) {
	a := ARP{Op: ARPRequest, SenderMAC: macA, SenderIP: addrA, TargetIP: addrB}
	b := make([]byte, ARPLen)
	a.Put(b)
	p := decode(t, b, layers.LayerTypeARP)
	g := p.Layer(layers.LayerTypeARP).(*layers.ARP)
	if g.AddrType != layers.LinkTypeEthernet || g.Protocol != layers.EthernetTypeIPv4 ||
		g.HwAddressSize != 6 || g.ProtAddressSize != 4 || g.Operation != ARPRequest ||
		!bytes.Equal(g.SourceHwAddress, macA[:]) || !bytes.Equal(g.SourceProtAddress, ip4(addrA)) ||
		!bytes.Equal(g.DstHwAddress, make([]byte, 6)) || !bytes.Equal(g.DstProtAddress, ip4(addrB)) {
		t.Errorf("gopacket sees %+v", g)
	}
}

func TestARPFromGopacket(t *testing.T) {
	b := serialize(t, &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPReply,
		SourceHwAddress: net.HardwareAddr(macB[:]), SourceProtAddress: ip4(addrB),
		DstHwAddress: net.HardwareAddr(macA[:]), DstProtAddress: ip4(addrA),
	})
	b = append(b, make([]byte, 18)...) // Ethernet padding is ignored
	a, err := ParseARP(b)
	if err != nil {
		t.Fatal(err)
	}
	want := ARP{Op: ARPReply, SenderMAC: macB, SenderIP: addrB, TargetMAC: macA, TargetIP: addrA}
	if a != want {
		t.Errorf("got %+v", a)
	}
}

func TestParseARPErrors(t *testing.T) {
	good := make([]byte, ARPLen)
	(&ARP{Op: ARPReply, SenderIP: addrA, TargetIP: addrB}).Put(good)
	mut := func(i int, v byte) []byte {
		b := append([]byte(nil), good...)
		b[i] = v
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"good", good, nil},
		{"short", good[:27], ErrTruncated},
		{"token ring htype", mut(1, 6), ErrUnsupported},
		{"ptype", mut(2, 0x86), ErrUnsupported},
		{"hlen", mut(4, 8), ErrUnsupported},
		{"plen", mut(5, 16), ErrUnsupported},
		{"unknown op is the caller's call", mut(7, 9), nil},
	}
	for _, tt := range tests {
		_, err := ParseARP(tt.b)
		wantErr(t, tt.name, err, tt.want)
	}
}
