package wire

import (
	"bytes"
	"net"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

func TestEthernetDIXToGopacket(t *testing.T) {
	h := EthernetHeader{Dst: BroadcastMAC, Src: macA, Type: EtherTypeARP}
	b := make([]byte, EthernetHeaderLen+ARPLen)
	if n := h.Put(b); n != EthernetHeaderLen {
		t.Fatalf("Put = %d", n)
	}
	p := decode(t, b, layers.LayerTypeEthernet)
	e := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if !bytes.Equal(e.DstMAC, BroadcastMAC[:]) || !bytes.Equal(e.SrcMAC, macA[:]) ||
		e.EthernetType != layers.EthernetTypeARP {
		t.Errorf("gopacket sees %v", e)
	}
}

func TestEthernetDIXFromGopacket(t *testing.T) {
	b := serialize(t, &layers.Ethernet{
		SrcMAC: net.HardwareAddr(macA[:]), DstMAC: net.HardwareAddr(macB[:]),
		EthernetType: layers.EthernetTypeIPv4,
	}, rawPayload("hello"))
	h, p, err := ParseEthernet(b)
	if err != nil {
		t.Fatal(err)
	}
	want := EthernetHeader{Dst: macB, Src: macA, Type: EtherTypeIPv4}
	// gopacket pads to the 60-byte minimum; DIX has no length to trim by.
	if h != want || len(p) != 46 || string(p[:5]) != "hello" {
		t.Errorf("got %+v %q", h, p)
	}
}

// SPEC: LINK-2 — SNAP frames are sent on request (ArpUseEtherSNAP) and always received.
func TestEthernetSNAPToGopacket(t *testing.T) {
	h := EthernetHeader{Dst: macB, Src: macA, Type: EtherTypeARP, SNAP: true}
	payload := make([]byte, ARPLen)
	(&ARP{Op: ARPRequest, SenderMAC: macA, SenderIP: addrA, TargetIP: addrB}).Put(payload)
	b := make([]byte, SNAPHeaderLen+len(payload)+20) // trailing bytes = padding
	n := h.Put(b)
	if n != SNAPHeaderLen {
		t.Fatalf("Put = %d", n)
	}
	copy(b[n:], payload)
	PutSNAPLength(b, len(payload))
	p := decode(t, b, layers.LayerTypeEthernet)
	e := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if e.Length != uint16(8+len(payload)) || e.EthernetType != layers.EthernetTypeLLC {
		t.Errorf("ethernet %+v", e)
	}
	llc, ok := p.Layer(layers.LayerTypeLLC).(*layers.LLC)
	if !ok || llc.DSAP != 0xaa || llc.SSAP != 0xaa || llc.Control != 3 {
		t.Fatalf("llc %+v", llc)
	}
	snap, ok := p.Layer(layers.LayerTypeSNAP).(*layers.SNAP)
	if !ok || !bytes.Equal(snap.OrganizationalCode, []byte{0, 0, 0}) || snap.Type != layers.EthernetTypeARP {
		t.Fatalf("snap %+v", snap)
	}
	if _, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); !ok {
		t.Error("gopacket found no ARP inside SNAP")
	}
	// And back: our parser trims the padding by the 802.3 length.
	g, pl, err := ParseEthernet(b)
	if err != nil || g != h || !bytes.Equal(pl, payload) {
		t.Errorf("ParseEthernet = %+v %q %v", g, pl, err)
	}
}

func TestEthernetSNAPFromGopacket(t *testing.T) {
	b := serialize(t,
		&layers.Ethernet{SrcMAC: net.HardwareAddr(macA[:]), DstMAC: net.HardwareAddr(BroadcastMAC[:]),
			EthernetType: layers.EthernetTypeLLC},
		&layers.LLC{DSAP: 0xaa, SSAP: 0xaa, Control: 3},
		&layers.SNAP{OrganizationalCode: []byte{0, 0, 0}, Type: layers.EthernetTypeARP},
		rawPayload("0123456789012345678901234567"))
	h, p, err := ParseEthernet(b)
	if err != nil {
		t.Fatal(err)
	}
	want := EthernetHeader{Dst: BroadcastMAC, Src: macA, Type: EtherTypeARP, SNAP: true}
	if h != want || len(p) != 28 {
		t.Errorf("got %+v len %d", h, len(p))
	}
}

func TestParseEthernetErrors(t *testing.T) {
	frame := func(typeOrLen uint16, rest ...byte) []byte {
		b := make([]byte, 12, 64)
		b = append(b, byte(typeOrLen>>8), byte(typeOrLen))
		return append(b, rest...)
	}
	snap := []byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"13 bytes", make([]byte, 13), ErrTruncated},
		{"dix no payload", frame(0x0800), nil},
		{"length in gap", frame(1501), ErrBadLength},
		{"length 0x5ff", frame(0x05ff), ErrBadLength},
		{"length below snap", frame(7, snap...), ErrBadLength},
		{"snap header cut", frame(8, snap[:5]...), ErrTruncated},
		{"length past end", frame(20, snap...), ErrTruncated},
		{"snap ok", frame(8, snap...), nil},
		{"stp llc", frame(8, 0x42, 0x42, 0x03, 0, 0, 0, 0, 0), ErrUnsupported},
		{"other oui", frame(8, 0xaa, 0xaa, 0x03, 0, 0, 0xf8, 0x08, 0), ErrUnsupported},
	}
	for _, tt := range tests {
		_, _, err := ParseEthernet(tt.b)
		wantErr(t, tt.name, err, tt.want)
	}
}

type rawPayload string

func (r rawPayload) SerializeTo(b gopacketBuffer, _ gopacketOpts) error {
	bytes, err := b.PrependBytes(len(r))
	if err != nil {
		return err
	}
	copy(bytes, r)
	return nil
}

func (r rawPayload) LayerType() gopacketLayerType { return layers.LayerTypeDot1Q }
