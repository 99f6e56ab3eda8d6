package wire

import (
	"encoding/binary"
	"net/netip"
)

// IGMPLen is the length of an IGMPv1/v2 message.
const IGMPLen = 8

// IGMP message types (RFC 2236).
const (
	IGMPMembershipQuery = 0x11
	IGMPV1Report        = 0x12
	IGMPV2Report        = 0x16
	IGMPLeaveGroup      = 0x17
)

// IGMP is an IGMPv1/v2 message. MaxRespTime is in tenths of a second; 0
// in a query means an IGMPv1 router (RFC 2236 4).
type IGMP struct {
	Type        uint8
	MaxRespTime uint8
	Checksum    uint16
	Group       netip.Addr
}

// ParseIGMP reads an IGMP message and verifies the checksum over all of b.
// Longer messages (IGMPv3 queries) are accepted and read as v2, which is
// what RFC 3376 7.1 asks of a v2 host.
func ParseIGMP(b []byte) (IGMP, error) {
	var g IGMP
	if len(b) < IGMPLen {
		return g, errIGMPTruncated
	}
	if Checksum(b, 0) != 0 {
		return g, errIGMPBadChecksum
	}
	g.Type = b[0]
	g.MaxRespTime = b[1]
	g.Checksum = binary.BigEndian.Uint16(b[2:4])
	g.Group = netip.AddrFrom4([4]byte(b[4:8]))
	return g, nil
}

// Put writes the 8-byte message with its checksum into b and updates
// g.Checksum.
func (g *IGMP) Put(b []byte) {
	_ = b[IGMPLen-1]
	b[0] = g.Type
	b[1] = g.MaxRespTime
	b[2], b[3] = 0, 0
	putAddr(b[4:8], g.Group)
	g.Checksum = Checksum(b[:IGMPLen], 0)
	binary.BigEndian.PutUint16(b[2:4], g.Checksum)
}
