package wire

import (
	"encoding/binary"
	"net/netip"
)

// IPv4MinHeaderLen is the header length without options.
const IPv4MinHeaderLen = 20

// ipv4MaxHeaderLen is 15 32-bit words, leaving at most 40 option bytes.
const ipv4MaxHeaderLen = 60

// IP protocol numbers the stack handles.
const (
	ProtoICMP = 1
	ProtoIGMP = 2
	ProtoTCP  = 6
	ProtoUDP  = 17
)

const (
	ipFlagDF      = 0x4000
	ipFlagMF      = 0x2000
	ipFragOffMask = 0x1fff
)

// IPv4Header is a parsed IPv4 header. IHL and FragOff are in bytes so
// callers never multiply by 4 or 8 themselves.
type IPv4Header struct {
	IHL      int // header length in bytes, 20..60
	TOS      uint8
	TotalLen uint16
	ID       uint16
	DF, MF   bool
	FragOff  int // fragment offset in bytes (a multiple of 8)
	TTL      uint8
	Protocol uint8
	Checksum uint16
	Src, Dst netip.Addr
	Options  []byte // raw option bytes including any padding
}

// ParseIPv4 validates an IPv4 header and returns it with the payload,
// trimmed to TotalLen so link-layer padding never reaches transport.
// It checks version, IHL >= 20, IHL <= TotalLen <= len(b), and the header
// checksum. Options are returned raw; see ParseIPv4Options.
func ParseIPv4(b []byte) (IPv4Header, []byte, error) {
	h, err := parseIPv4Fixed(b)
	if err != nil {
		return h, nil, err
	}
	if int(h.TotalLen) < h.IHL {
		return h, nil, errIPBadLength
	}
	if int(h.TotalLen) > len(b) {
		return h, nil, errIPTruncated
	}
	if Checksum(b[:h.IHL], 0) != 0 {
		return h, nil, errIPBadChecksum
	}
	return h, b[h.IHL:h.TotalLen], nil
}

// ParseIPv4Quote reads the original datagram header quoted in an ICMP
// error. The quote is cut after 8 payload bytes, so TotalLen is not
// checked against len(b), and the checksum is not checked because some
// routers quote a header they already modified. The payload is whatever
// follows the header, up to TotalLen.
func ParseIPv4Quote(b []byte) (IPv4Header, []byte, error) {
	h, err := parseIPv4Fixed(b)
	if err != nil {
		return h, nil, err
	}
	p := b[h.IHL:]
	if n := int(h.TotalLen) - h.IHL; n >= 0 && n < len(p) {
		p = p[:n]
	}
	return h, p, nil
}

// parseIPv4Fixed decodes the fields and checks what every use needs:
// length, version and IHL.
func parseIPv4Fixed(b []byte) (IPv4Header, error) {
	var h IPv4Header
	if len(b) < IPv4MinHeaderLen {
		return h, errIPTruncated
	}
	if b[0]>>4 != 4 {
		return h, errIPBadVersion
	}
	h.IHL = int(b[0]&0x0f) * 4
	if h.IHL < IPv4MinHeaderLen {
		return h, errIPBadLength
	}
	if len(b) < h.IHL {
		return h, errIPTruncated
	}
	h.TOS = b[1]
	h.TotalLen = binary.BigEndian.Uint16(b[2:4])
	h.ID = binary.BigEndian.Uint16(b[4:6])
	ff := binary.BigEndian.Uint16(b[6:8])
	h.DF = ff&ipFlagDF != 0
	h.MF = ff&ipFlagMF != 0
	h.FragOff = int(ff&ipFragOffMask) * 8
	h.TTL = b[8]
	h.Protocol = b[9]
	h.Checksum = binary.BigEndian.Uint16(b[10:12])
	h.Src = netip.AddrFrom4([4]byte(b[12:16]))
	h.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	h.Options = b[IPv4MinHeaderLen:h.IHL]
	return h, nil
}

// HeaderLen is the length Put writes: 20 plus the options padded to a
// multiple of 4.
func (h *IPv4Header) HeaderLen() int {
	return IPv4MinHeaderLen + (len(h.Options)+3)&^3
}

// Put writes the header with its checksum into b and returns its length.
// TotalLen is written as given (the caller knows the payload size);
// options are padded with zero (End of Option List) bytes. IHL and
// Checksum in h are updated to what was written. More than 40 option
// bytes cannot be encoded and panic: options only come from the stack.
func (h *IPv4Header) Put(b []byte) int {
	n := h.HeaderLen()
	if n > ipv4MaxHeaderLen {
		panic("wire: IPv4 options longer than 40 bytes")
	}
	_ = b[n-1]
	b[0] = 0x40 | byte(n/4)
	b[1] = h.TOS
	binary.BigEndian.PutUint16(b[2:4], h.TotalLen)
	binary.BigEndian.PutUint16(b[4:6], h.ID)
	ff := uint16(h.FragOff/8) & ipFragOffMask
	if h.DF {
		ff |= ipFlagDF
	}
	if h.MF {
		ff |= ipFlagMF
	}
	binary.BigEndian.PutUint16(b[6:8], ff)
	b[8] = h.TTL
	b[9] = h.Protocol
	b[10], b[11] = 0, 0
	putAddr(b[12:16], h.Src)
	putAddr(b[16:20], h.Dst)
	k := copy(b[IPv4MinHeaderLen:n], h.Options)
	clear(b[IPv4MinHeaderLen+k : n])
	h.IHL = n
	h.Checksum = Checksum(b[:n], 0)
	binary.BigEndian.PutUint16(b[10:12], h.Checksum)
	return n
}
