package wire

import (
	"encoding/binary"
	"net/netip"
)

// UDPHeaderLen is the UDP header length.
const UDPHeaderLen = 8

// UDPHeader is a parsed UDP header.
type UDPHeader struct {
	SrcPort, DstPort uint16
	Length           uint16
	Checksum         uint16
}

// ParseUDP reads a UDP datagram from the IP payload b. Length must be at
// least 8 and at most len(b); the payload is trimmed to Length. A nonzero
// checksum is verified with the pseudo header of src and dst; zero means
// the sender computed none (RFC 768).
func ParseUDP(b []byte, src, dst netip.Addr) (UDPHeader, []byte, error) {
	var h UDPHeader
	if len(b) < UDPHeaderLen {
		return h, nil, errUDPTruncated
	}
	h.SrcPort = binary.BigEndian.Uint16(b[0:2])
	h.DstPort = binary.BigEndian.Uint16(b[2:4])
	h.Length = binary.BigEndian.Uint16(b[4:6])
	h.Checksum = binary.BigEndian.Uint16(b[6:8])
	if h.Length < UDPHeaderLen {
		return h, nil, errUDPBadLength
	}
	if int(h.Length) > len(b) {
		return h, nil, errUDPTruncated
	}
	b = b[:h.Length]
	if h.Checksum != 0 && Checksum(b, PseudoHeaderSum(src, dst, ProtoUDP, len(b))) != 0 {
		return h, nil, errUDPBadChecksum
	}
	return h, b[UDPHeaderLen:], nil
}

// PutUDP writes the header of the datagram b (header space followed by the
// payload, len(b) <= 65535) and its checksum. A computed checksum of 0 is
// sent as 0xffff, since 0 would mean "no checksum".
func PutUDP(b []byte, src, dst netip.Addr, sport, dport uint16) {
	if len(b) > 0xffff {
		panic("wire: UDP datagram longer than 65535 bytes")
	}
	_ = b[UDPHeaderLen-1]
	binary.BigEndian.PutUint16(b[0:2], sport)
	binary.BigEndian.PutUint16(b[2:4], dport)
	binary.BigEndian.PutUint16(b[4:6], uint16(len(b)))
	b[6], b[7] = 0, 0
	c := Checksum(b, PseudoHeaderSum(src, dst, ProtoUDP, len(b)))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b[6:8], c)
}
