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
)

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
type EthernetHeader struct {
	Dst, Src MAC
	Type     EtherType
	SNAP     bool
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
		h.Type = EtherType(t)
		return h, b[EthernetHeaderLen:], nil
	}
	if t > ethMaxLength {
		return h, nil, errEthBadLength
	}
	if t < SNAPHeaderLen-EthernetHeaderLen {
		return h, nil, errEthBadLength
	}
	if len(b) < SNAPHeaderLen {
		return h, nil, errEthTruncated
	}
	// LLC DSAP=SNAP, SSAP=SNAP, control=UI; OUI 0 means "EtherType follows".
	if b[14] != 0xaa || b[15] != 0xaa || b[16] != 0x03 || b[17] != 0 || b[18] != 0 || b[19] != 0 {
		return h, nil, errEthUnsupported
	}
	end := EthernetHeaderLen + int(t)
	if end > len(b) {
		return h, nil, errEthTruncated
	}
	h.Type = EtherType(binary.BigEndian.Uint16(b[20:22]))
	h.SNAP = true
	return h, b[SNAPHeaderLen:end], nil
}

// Len is the header length Put writes: 14 for DIX, 22 for SNAP.
func (h EthernetHeader) Len() int {
	if h.SNAP {
		return SNAPHeaderLen
	}
	return EthernetHeaderLen
}

// Put writes the header and returns its length. For SNAP the 802.3 length
// field depends on the payload, which may not be known yet, so it is left
// zero; call PutSNAPLength once the payload is in place.
func (h EthernetHeader) Put(b []byte) int {
	_ = b[h.Len()-1]
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

// PutSNAPLength sets the 802.3 length field of a SNAP frame in b: the
// LLC/SNAP bytes plus payloadLen.
func PutSNAPLength(b []byte, payloadLen int) {
	binary.BigEndian.PutUint16(b[12:14], uint16(SNAPHeaderLen-EthernetHeaderLen+payloadLen))
}
