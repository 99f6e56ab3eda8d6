package wire

import "encoding/binary"

// EthernetHeaderLen is the DIX (Ethernet II) header length.
const EthernetHeaderLen = 14

// SNAPHeaderLen is the 802.3 header plus LLC (3) and SNAP (5) bytes.
const SNAPHeaderLen = 22

// EtherType names the protocol carried in a frame.
type EtherType uint16

// EtherTypes the stack speaks.
const (
	EtherTypeIPv4 EtherType = 0x0800
	EtherTypeARP  EtherType = 0x0806
	// EtherTypeVLAN is the IEEE 802.1Q tag protocol identifier (SPEC QOS-4).
	EtherTypeVLAN EtherType = 0x8100
)

// Dot1QTagLen is the length of an IEEE 802.1Q tag (TPID and TCI).
const Dot1QTagLen = 4

// ethMaxLength is the largest 802.3 length value; 0x0600 and above are
// EtherTypes. Values in between are invalid on the wire.
const (
	ethMaxLength    = 1500
	ethMinEtherType = 0x0600
)

// EthernetHeader is a parsed link header. SNAP says the frame used (or
// should use) 802.3 LLC/SNAP encapsulation (RFC 1042) instead of DIX;
// Windows 2000 always receives both and sends SNAP only when
// ArpUseEtherSNAP=1.
//
// Tagged says an IEEE 802.1Q tag follows the source MAC (SPEC QOS-4):
// Priority is its 802.1p priority code point (0..7) and VID its VLAN. A
// host sends priority-tagged frames (VID 0) only; ParseEthernet accepts
// those as untagged ones and reports frames of another VLAN with Type
// EtherTypeVLAN, which the stack does not speak.
type EthernetHeader struct {
	Dst, Src MAC
	Type     EtherType
	SNAP     bool
	Tagged   bool
	Priority uint8
	VID      uint16
}

// ParseEthernet splits a frame into header and payload. For 802.3 frames
// only LLC/SNAP with OUI 00-00-00 is accepted (ErrUnsupported otherwise,
// e.g. spanning tree BPDUs), and the payload is trimmed to the 802.3 length
// so Ethernet padding is not passed up.
func ParseEthernet(b []byte) (EthernetHeader, []byte, error) {
	var h EthernetHeader
	if len(b) < EthernetHeaderLen {
		return h, nil, errEthTruncated
	}
	copy(h.Dst[:], b[0:6])
	copy(h.Src[:], b[6:12])
	t := binary.BigEndian.Uint16(b[12:14])
	if t >= ethMinEtherType {
		if t == uint16(EtherTypeVLAN) {
			return parseDot1Q(h, b)
		}
		h.Type = EtherType(t)
		return h, b[EthernetHeaderLen:], nil
	}
	return parseSNAP(h, b, 0, t)
}

// parseDot1Q reads the 802.1Q tag of b and the header behind it (DIX or
// SNAP, as for an untagged frame). Stacked tags (Q-in-Q) are refused.
func parseDot1Q(h EthernetHeader, b []byte) (EthernetHeader, []byte, error) {
	const hl = EthernetHeaderLen + Dot1QTagLen
	if len(b) < hl {
		return h, nil, errEthTruncated
	}
	tci := binary.BigEndian.Uint16(b[14:16])
	h.Tagged, h.Priority, h.VID = true, uint8(tci>>13), tci&0x0fff
	t := binary.BigEndian.Uint16(b[16:18])
	if h.VID != 0 { // another VLAN: not ours, let the caller count it
		h.Type = EtherTypeVLAN
		return h, b[hl:], nil
	}
	if t >= ethMinEtherType {
		if t == uint16(EtherTypeVLAN) {
			return h, nil, errEthUnsupported
		}
		h.Type = EtherType(t)
		return h, b[hl:], nil
	}
	return parseSNAP(h, b, Dot1QTagLen, t)
}

// parseSNAP reads an 802.3 LLC/SNAP header whose length field t is at
// b[12+tag:]; tag is 4 behind an 802.1Q tag, else 0.
func parseSNAP(h EthernetHeader, b []byte, tag int, t uint16) (EthernetHeader, []byte, error) {
	if t > ethMaxLength {
		return h, nil, errEthBadLength
	}
	if t < SNAPHeaderLen-EthernetHeaderLen {
		return h, nil, errEthBadLength
	}
	if len(b) < SNAPHeaderLen+tag {
		return h, nil, errEthTruncated
	}
	l := b[tag:] // the tag shifts the LLC/SNAP bytes, nothing else
	// LLC DSAP=SNAP, SSAP=SNAP, control=UI; OUI 0 means "EtherType follows".
	if l[14] != 0xaa || l[15] != 0xaa || l[16] != 0x03 || l[17] != 0 || l[18] != 0 || l[19] != 0 {
		return h, nil, errEthUnsupported
	}
	end := EthernetHeaderLen + int(t)
	if end > len(l) {
		return h, nil, errEthTruncated
	}
	h.Type = EtherType(binary.BigEndian.Uint16(l[20:22]))
	h.SNAP = true
	return h, l[SNAPHeaderLen:end], nil
}

// Len is the header length Put writes: 14 for DIX, 22 for SNAP, 4 more
// with an 802.1Q tag.
func (h EthernetHeader) Len() int {
	n := EthernetHeaderLen
	if h.SNAP {
		n = SNAPHeaderLen
	}
	if h.Tagged {
		n += Dot1QTagLen
	}
	return n
}

// Put writes the header and returns its length. For SNAP the 802.3 length
// field depends on the payload, which may not be known yet, so it is left
// zero; call PutSNAPLength once the payload is in place.
func (h EthernetHeader) Put(b []byte) int {
	_ = b[h.Len()-1]
	if h.Tagged { // SPEC QOS-4: 802.1Q tag, PCP in the top 3 bits, CFI 0
		// The untagged header goes 4 bytes further; the MACs and the
		// tag are then written in front of its type/length field.
		h.Tagged = false
		n := Dot1QTagLen + h.Put(b[Dot1QTagLen:])
		copy(b[0:6], h.Dst[:])
		copy(b[6:12], h.Src[:])
		binary.BigEndian.PutUint16(b[12:14], uint16(EtherTypeVLAN))
		binary.BigEndian.PutUint16(b[14:16], uint16(h.Priority&7)<<13|h.VID&0x0fff)
		return n
	}
	copy(b[0:6], h.Dst[:])
	copy(b[6:12], h.Src[:])
	if !h.SNAP {
		binary.BigEndian.PutUint16(b[12:14], uint16(h.Type))
		return EthernetHeaderLen
	}
	b[12], b[13] = 0, 0
	b[14], b[15], b[16] = 0xaa, 0xaa, 0x03
	b[17], b[18], b[19] = 0, 0, 0
	binary.BigEndian.PutUint16(b[20:22], uint16(h.Type))
	return SNAPHeaderLen
}

// PutSNAPLength sets the 802.3 length field of an untagged SNAP frame in
// b: the LLC/SNAP bytes plus payloadLen. For a tagged one pass b[4:].
func PutSNAPLength(b []byte, payloadLen int) {
	binary.BigEndian.PutUint16(b[12:14], uint16(SNAPHeaderLen-EthernetHeaderLen+payloadLen))
}
