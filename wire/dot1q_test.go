package wire

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// SPEC: QOS-4 — priority-tagged frames (VID 0) carry the 802.1p priority
// in the 802.1Q tag; gopacket decodes what Put writes, and ParseEthernet
// reads it back as an ordinary frame.
func TestDot1QPriorityTagRoundTrip(t *testing.T) {
	src, dst := MAC{2, 0, 0, 0, 0, 1}, MAC{2, 0, 0, 0, 0, 2}
	for _, snap := range []bool{false, true} {
		h := EthernetHeader{Dst: dst, Src: src, Type: EtherTypeIPv4, SNAP: snap, Tagged: true, Priority: 5}
		payload := []byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789")
		b := make([]byte, h.Len()+len(payload))
		n := h.Put(b)
		if n != h.Len() || n != map[bool]int{false: 18, true: 26}[snap] {
			t.Fatalf("snap=%v: Put wrote %d, Len %d", snap, n, h.Len())
		}
		if snap {
			PutSNAPLength(b[Dot1QTagLen:], len(payload))
		}
		copy(b[n:], payload)

		pkt := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		q, ok := pkt.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q)
		if !ok {
			t.Fatalf("snap=%v: gopacket found no Dot1Q layer: %v", snap, pkt)
		}
		if q.Priority != 5 || q.VLANIdentifier != 0 || q.DropEligible {
			t.Fatalf("snap=%v: tag %+v", snap, q)
		}

		g, p, err := ParseEthernet(b)
		if err != nil {
			t.Fatalf("snap=%v: %v", snap, err)
		}
		if !g.Tagged || g.Priority != 5 || g.VID != 0 || g.Type != EtherTypeIPv4 || g.SNAP != snap || !bytes.Equal(p, payload) {
			t.Fatalf("snap=%v: parsed %+v payload %q", snap, g, p)
		}
	}
}

// Frames of a real VLAN are reported as EtherTypeVLAN (not ours); stacked
// tags and truncated tags are errors.
func TestDot1QOtherVLANAndErrors(t *testing.T) {
	h := EthernetHeader{Dst: MAC{2}, Src: MAC{4}, Type: EtherTypeIPv4, Tagged: true, Priority: 3, VID: 42}
	b := make([]byte, h.Len()+20)
	h.Put(b)
	g, _, err := ParseEthernet(b)
	if err != nil || g.Type != EtherTypeVLAN || g.VID != 42 || g.Priority != 3 {
		t.Fatalf("VID 42: %+v %v", g, err)
	}
	if _, _, err := ParseEthernet(b[:16]); err == nil {
		t.Fatal("truncated tag accepted")
	}
	h.VID = 0
	h.Type = EtherTypeVLAN // Q-in-Q
	h.Put(b)
	if _, _, err := ParseEthernet(b); err == nil {
		t.Fatal("stacked tag accepted")
	}
}
