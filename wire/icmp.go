package wire

import (
	"encoding/binary"
	"net/netip"
)

// ICMPv4HeaderLen is type, code, checksum and the 4-byte "rest of header".
const ICMPv4HeaderLen = 8

// ICMPv4 message types.
const (
	ICMPEchoReply           = 0
	ICMPDestUnreachable     = 3
	ICMPSourceQuench        = 4
	ICMPRedirect            = 5
	ICMPEcho                = 8
	ICMPRouterAdvertisement = 9
	ICMPRouterSolicitation  = 10
	ICMPTimeExceeded        = 11
	ICMPParameterProblem    = 12
	ICMPTimestamp           = 13
	ICMPTimestampReply      = 14
	ICMPAddressMaskRequest  = 17
	ICMPAddressMaskReply    = 18
)

// Destination Unreachable codes (RFC 792, RFC 1122, RFC 1812).
const (
	ICMPNetUnreachable           = 0
	ICMPHostUnreachable          = 1
	ICMPProtocolUnreachable      = 2
	ICMPPortUnreachable          = 3
	ICMPFragmentationNeeded      = 4
	ICMPSourceRouteFailed        = 5
	ICMPDestNetUnknown           = 6
	ICMPDestHostUnknown          = 7
	ICMPSourceHostIsolated       = 8
	ICMPNetAdminProhibited       = 9
	ICMPHostAdminProhibited      = 10
	ICMPNetUnreachableForTOS     = 11
	ICMPHostUnreachableForTOS    = 12
	ICMPCommAdminProhibited      = 13
	ICMPHostPrecedenceViolation  = 14
	ICMPPrecedenceCutoffInEffect = 15
)

// Redirect codes.
const (
	ICMPRedirectNet     = 0
	ICMPRedirectHost    = 1
	ICMPRedirectTOSNet  = 2
	ICMPRedirectTOSHost = 3
)

// Time Exceeded codes.
const (
	ICMPTTLExceeded            = 0
	ICMPReassemblyTimeExceeded = 1
)

// Parameter Problem codes.
const (
	ICMPPointerIndicatesError = 0
	ICMPMissingRequiredOption = 1
	ICMPBadLength             = 2
)

// ICMPv4 is a parsed ICMP message. Rest is the type-specific second word
// (id/seq, next-hop MTU, gateway, pointer); accessors interpret it. Body
// aliases the input: echo data, or the quoted datagram of an error (parse
// it with ParseIPv4Quote).
type ICMPv4 struct {
	Type, Code uint8
	Checksum   uint16
	Rest       [4]byte
	Body       []byte
}

// ParseICMPv4 reads an ICMP message and verifies its checksum over the
// whole message. b must be the IP payload (already trimmed to TotalLen).
func ParseICMPv4(b []byte) (ICMPv4, error) {
	var m ICMPv4
	if len(b) < ICMPv4HeaderLen {
		return m, errICMPTruncated
	}
	if Checksum(b, 0) != 0 {
		return m, errICMPBadChecksum
	}
	m.Type = b[0]
	m.Code = b[1]
	m.Checksum = binary.BigEndian.Uint16(b[2:4])
	m.Rest = [4]byte(b[4:8])
	m.Body = b[ICMPv4HeaderLen:]
	return m, nil
}

// Len is the message length Put writes.
func (m *ICMPv4) Len() int { return ICMPv4HeaderLen + len(m.Body) }

// Put writes the message (header and Body) with its checksum into b and
// returns its length. Body may already sit at b[8:] (built in place); the
// copy is then a no-op. m.Checksum is updated.
func (m *ICMPv4) Put(b []byte) int {
	n := m.Len()
	_ = b[n-1]
	b[0] = m.Type
	b[1] = m.Code
	b[2], b[3] = 0, 0
	copy(b[4:8], m.Rest[:])
	copy(b[ICMPv4HeaderLen:n], m.Body)
	m.Checksum = Checksum(b[:n], 0)
	binary.BigEndian.PutUint16(b[2:4], m.Checksum)
	return n
}

// ID is the identifier of echo, timestamp and address mask messages.
func (m *ICMPv4) ID() uint16 { return binary.BigEndian.Uint16(m.Rest[0:2]) }

// Seq is the sequence number of echo, timestamp and address mask messages.
func (m *ICMPv4) Seq() uint16 { return binary.BigEndian.Uint16(m.Rest[2:4]) }

// SetIDSeq fills Rest for echo, timestamp and address mask messages.
func (m *ICMPv4) SetIDSeq(id, seq uint16) {
	binary.BigEndian.PutUint16(m.Rest[0:2], id)
	binary.BigEndian.PutUint16(m.Rest[2:4], seq)
}

// NextHopMTU is the MTU a router reports in Fragmentation Needed
// (RFC 1191); 0 means an old router that did not say, and PMTU discovery
// must then guess.
func (m *ICMPv4) NextHopMTU() uint16 { return binary.BigEndian.Uint16(m.Rest[2:4]) }

// SetNextHopMTU fills Rest for Fragmentation Needed.
func (m *ICMPv4) SetNextHopMTU(mtu uint16) {
	m.Rest[0], m.Rest[1] = 0, 0
	binary.BigEndian.PutUint16(m.Rest[2:4], mtu)
}

// Gateway is the better first hop named by a Redirect.
func (m *ICMPv4) Gateway() netip.Addr { return netip.AddrFrom4(m.Rest) }

// SetGateway fills Rest for a Redirect.
func (m *ICMPv4) SetGateway(gw netip.Addr) { m.Rest = as4(gw) }

// Pointer is the octet offset of the problem in a Parameter Problem's
// quoted datagram.
func (m *ICMPv4) Pointer() uint8 { return m.Rest[0] }

// SetPointer fills Rest for a Parameter Problem.
func (m *ICMPv4) SetPointer(p uint8) { m.Rest = [4]byte{p} }

// IsError reports whether the type is an ICMP error message, which must
// never be answered with another ICMP error (RFC 1122 3.2.2).
func (m *ICMPv4) IsError() bool {
	switch m.Type {
	case ICMPDestUnreachable, ICMPSourceQuench, ICMPRedirect, ICMPTimeExceeded, ICMPParameterProblem:
		return true
	}
	return false
}

// ICMPTimestampLen is the body length of Timestamp and Timestamp Reply.
const ICMPTimestampLen = 12

// ICMPTimestampBody holds the three timestamps (milliseconds since
// midnight UT, RFC 792) of a Timestamp or Timestamp Reply.
type ICMPTimestampBody struct {
	Originate, Receive, Transmit uint32
}

// Timestamps decodes the body of a Timestamp (Reply) message.
func (m *ICMPv4) Timestamps() (ICMPTimestampBody, error) {
	if len(m.Body) < ICMPTimestampLen {
		return ICMPTimestampBody{}, errICMPTruncated
	}
	return ICMPTimestampBody{
		Originate: binary.BigEndian.Uint32(m.Body[0:4]),
		Receive:   binary.BigEndian.Uint32(m.Body[4:8]),
		Transmit:  binary.BigEndian.Uint32(m.Body[8:12]),
	}, nil
}

// Put writes the 12-byte timestamp body into b.
func (t *ICMPTimestampBody) Put(b []byte) {
	_ = b[ICMPTimestampLen-1]
	binary.BigEndian.PutUint32(b[0:4], t.Originate)
	binary.BigEndian.PutUint32(b[4:8], t.Receive)
	binary.BigEndian.PutUint32(b[8:12], t.Transmit)
}

// ICMPAddressMaskLen is the body length of Address Mask messages.
const ICMPAddressMaskLen = 4

// AddressMask decodes the body of an Address Mask Request or Reply
// (RFC 950); Rest holds id/seq.
func (m *ICMPv4) AddressMask() (netip.Addr, error) {
	if len(m.Body) < ICMPAddressMaskLen {
		return netip.Addr{}, errICMPTruncated
	}
	return netip.AddrFrom4([4]byte(m.Body[0:4])), nil
}

// PutAddressMask writes a 4-byte Address Mask body into b.
func PutAddressMask(b []byte, mask netip.Addr) { putAddr(b, mask) }
