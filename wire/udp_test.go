package wire

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

func udpDatagram(payload []byte) []byte {
	b := make([]byte, UDPHeaderLen+len(payload))
	copy(b[UDPHeaderLen:], payload)
	return b
}

func TestUDPToGopacket(t *testing.T) {
	for _, n := range []int{0, 1, 17, 1472} {
		payload := bytes.Repeat([]byte{0xa5, 0x3c, 0x01}, n)[:n]
		b := udpDatagram(payload)
		PutUDP(b, addrA, addrB, 5353, 40000)
		g := &layers.UDP{}
		decodeOne(t, g, b)
		ip := &layers.IPv4{SrcIP: ip4(addrA), DstIP: ip4(addrB), Protocol: layers.IPProtocolUDP}
		if err := g.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		if _, r := g.VerifyChecksum(); !r.Valid {
			t.Errorf("len %d: gopacket rejects checksum %+v", n, r)
		}
		if g.SrcPort != 5353 || g.DstPort != 40000 || int(g.Length) != len(b) || !bytes.Equal(g.Payload, payload) {
			t.Errorf("len %d: gopacket sees %+v", n, g)
		}
	}
}

func TestUDPFromGopacket(t *testing.T) {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: ip4(addrB), DstIP: ip4(addrC)}
	u := &layers.UDP{SrcPort: 137, DstPort: 137}
	if err := u.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	b := serialize(t, ip, u, rawPayload("netbios name query"))
	h, p, err := ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	uh, up, err := ParseUDP(p, h.Src, h.Dst)
	if err != nil {
		t.Fatal(err)
	}
	if uh.SrcPort != 137 || uh.DstPort != 137 || uh.Length != 26 || uh.Checksum == 0 || string(up) != "netbios name query" {
		t.Errorf("got %+v %q", uh, up)
	}
	// The pseudo header binds the addresses: another destination fails.
	if _, _, err := ParseUDP(p, h.Src, addrA); err == nil {
		t.Error("checksum ignored the pseudo header")
	}
}

func TestUDPZeroChecksumSentAsOnes(t *testing.T) {
	b := udpDatagram([]byte{0, 0})
	PutUDP(b, addrA, addrB, 1, 2)
	// Pick the payload word that makes the computed checksum 0.
	b[6], b[7] = 0, 0
	s := fold16(Sum(b, PseudoHeaderSum(addrA, addrB, ProtoUDP, len(b))))
	binary.BigEndian.PutUint16(b[8:], ^s)
	PutUDP(b, addrA, addrB, 1, 2)
	if c := binary.BigEndian.Uint16(b[6:]); c != 0xffff {
		t.Fatalf("checksum %#x, want 0xffff", c)
	}
	if _, _, err := ParseUDP(b, addrA, addrB); err != nil {
		t.Errorf("0xffff checksum rejected: %v", err)
	}
}

func TestParseUDPErrors(t *testing.T) {
	good := udpDatagram([]byte("abc"))
	PutUDP(good, addrA, addrB, 1000, 2000)
	mut := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want error
	}{
		{"good", good, nil},
		{"padded", append(append([]byte(nil), good...), 0, 0), nil},
		{"short", good[:7], ErrTruncated},
		{"length 7", mut(func(b []byte) { b[5] = 7 }), ErrBadLength},
		{"length past end", mut(func(b []byte) { b[5] = 12 }), ErrTruncated},
		{"bad checksum", mut(func(b []byte) { b[8] ^= 1 }), ErrBadChecksum},
		{"no checksum", mut(func(b []byte) { b[6], b[7], b[8] = 0, 0, 'x' }), nil},
	} {
		h, p, err := ParseUDP(tt.b, addrA, addrB)
		wantErr(t, tt.name, err, tt.want)
		if err == nil && (len(p) != 3 || h.Length != 11) {
			t.Errorf("%s: payload %q length %d", tt.name, p, h.Length)
		}
	}
}
