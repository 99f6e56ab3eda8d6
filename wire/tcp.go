package wire

import (
	"encoding/binary"
	"net/netip"
)

// TCPMinHeaderLen is the TCP header length without options.
const TCPMinHeaderLen = 20

// tcpMaxHeaderLen is 15 words: at most 40 option bytes.
const tcpMaxHeaderLen = 60

// TCPFlags are the control bits of byte 13.
type TCPFlags uint8

// TCP control bits.
const (
	FIN TCPFlags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

var tcpFlagNames = [8]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}

// String lists the set flags in bit order, e.g. "SYN|ACK", for logs and
// test failure messages; no flags is "none".
func (f TCPFlags) String() string {
	if f == 0 {
		return "none"
	}
	var buf [32]byte
	b := buf[:0]
	for i, n := range tcpFlagNames {
		if f&(1<<i) != 0 {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, n...)
		}
	}
	return string(b)
}

// TCPHeader is a parsed TCP header. DataOff is in bytes (20..60);
// Options aliases the input and includes any padding.
type TCPHeader struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	DataOff          int
	Flags            TCPFlags
	Window           uint16
	Checksum         uint16
	Urgent           uint16
	Options          []byte
}

// ParseTCP reads a TCP segment from the IP payload b (trimmed to the IP
// TotalLen) and verifies its checksum with the pseudo header of src and
// dst. Options are returned raw; decode them with ParseTCPOptions.
func ParseTCP(b []byte, src, dst netip.Addr) (TCPHeader, []byte, error) {
	h, p, err := ParseTCPNoChecksum(b)
	if err != nil {
		return h, nil, err
	}
	if Checksum(b, PseudoHeaderSum(src, dst, ProtoTCP, len(b))) != 0 {
		return h, nil, errTCPBadChecksum
	}
	return h, p, nil
}

// ParseTCPNoChecksum is ParseTCP without the checksum check, for segments
// already verified (or looped back) and for tests.
func ParseTCPNoChecksum(b []byte) (TCPHeader, []byte, error) {
	var h TCPHeader
	if len(b) < TCPMinHeaderLen {
		return h, nil, errTCPTruncated
	}
	h.SrcPort = binary.BigEndian.Uint16(b[0:2])
	h.DstPort = binary.BigEndian.Uint16(b[2:4])
	h.Seq = binary.BigEndian.Uint32(b[4:8])
	h.Ack = binary.BigEndian.Uint32(b[8:12])
	h.DataOff = int(b[12]>>4) * 4
	h.Flags = TCPFlags(b[13])
	h.Window = binary.BigEndian.Uint16(b[14:16])
	h.Checksum = binary.BigEndian.Uint16(b[16:18])
	h.Urgent = binary.BigEndian.Uint16(b[18:20])
	if h.DataOff < TCPMinHeaderLen {
		return h, nil, errTCPBadLength
	}
	if h.DataOff > len(b) {
		return h, nil, errTCPTruncated
	}
	h.Options = b[TCPMinHeaderLen:h.DataOff]
	return h, b[h.DataOff:], nil
}

// HeaderLen is the length Put writes: 20 plus the options padded to 4.
func (h *TCPHeader) HeaderLen() int {
	return TCPMinHeaderLen + (len(h.Options)+3)&^3
}

// Put writes the header and options into b, which holds the header space
// followed by the payload (b[:HeaderLen()+payloadLen]), computes the
// checksum over header and payload with the pseudo header of src and dst,
// and returns the header length. Options are padded with zero (EOL)
// bytes; h.DataOff and h.Checksum are updated. Options may already sit at
// b[20:] (written with TCPOptions.Put). More than 40 option bytes panic:
// options only come from the stack.
func (h *TCPHeader) Put(b []byte, src, dst netip.Addr) int {
	n := h.HeaderLen()
	if n > tcpMaxHeaderLen {
		panic("wire: TCP options longer than 40 bytes")
	}
	_ = b[n-1]
	binary.BigEndian.PutUint16(b[0:2], h.SrcPort)
	binary.BigEndian.PutUint16(b[2:4], h.DstPort)
	binary.BigEndian.PutUint32(b[4:8], h.Seq)
	binary.BigEndian.PutUint32(b[8:12], h.Ack)
	b[12] = byte(n/4) << 4
	b[13] = byte(h.Flags)
	binary.BigEndian.PutUint16(b[14:16], h.Window)
	b[16], b[17] = 0, 0
	binary.BigEndian.PutUint16(b[18:20], h.Urgent)
	k := copy(b[TCPMinHeaderLen:n], h.Options)
	clear(b[TCPMinHeaderLen+k : n])
	h.DataOff = n
	h.Checksum = Checksum(b, PseudoHeaderSum(src, dst, ProtoTCP, len(b)))
	binary.BigEndian.PutUint16(b[16:18], h.Checksum)
	return n
}
