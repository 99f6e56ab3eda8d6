package wire

import (
	"encoding/binary"
	"net/netip"
)

// RouterAddr is one router address with its preference (RFC 1256);
// higher preference wins, and 0x80000000 means "never use as default".
type RouterAddr struct {
	Addr       netip.Addr
	Preference int32
}

// RouterAdvertisement is a decoded ICMP Router Advertisement.
// Lifetime is in seconds.
type RouterAdvertisement struct {
	Lifetime uint16
	Entries  []RouterAddr
}

// RouterAdvertisementNever is the preference of an address that must not
// be used as a default router.
const RouterAdvertisementNever = int32(-0x80000000)

const rdiscEntryWords = 2

// ParseRouterAdvertisement decodes the body of a Router Advertisement
// whose checksum ParseICMPv4 already verified. It applies the RFC 1256
// 5.2 validity checks (code 0, at least one address, entry size >= 2
// words, enough body) so the caller only has to check the source. It
// allocates the entry slice: router discovery is rare control traffic.
func ParseRouterAdvertisement(m ICMPv4) (RouterAdvertisement, error) {
	var ra RouterAdvertisement
	if m.Type != ICMPRouterAdvertisement || m.Code != 0 {
		return ra, errICMPUnsupported
	}
	num := int(m.Rest[0])
	size := int(m.Rest[1]) * 4
	if num == 0 || size < rdiscEntryWords*4 {
		return ra, errICMPBadLength
	}
	if len(m.Body) < num*size {
		return ra, errICMPTruncated
	}
	ra.Lifetime = binary.BigEndian.Uint16(m.Rest[2:4])
	ra.Entries = make([]RouterAddr, num)
	for i := range ra.Entries {
		e := m.Body[i*size:]
		ra.Entries[i] = RouterAddr{
			Addr:       netip.AddrFrom4([4]byte(e[0:4])),
			Preference: int32(binary.BigEndian.Uint32(e[4:8])),
		}
	}
	return ra, nil
}

// RouterAdvertisementLen is the ICMP message length for n entries.
func RouterAdvertisementLen(n int) int { return ICMPv4HeaderLen + n*rdiscEntryWords*4 }

// PutRouterAdvertisement writes a complete Router Advertisement (header,
// entries, checksum) into b and returns its length. At most 255 entries
// fit the count field; more is a programming error and panics.
func PutRouterAdvertisement(b []byte, ra *RouterAdvertisement) int {
	if len(ra.Entries) > 255 {
		panic("wire: more than 255 router advertisement entries")
	}
	n := RouterAdvertisementLen(len(ra.Entries))
	_ = b[n-1]
	for i, e := range ra.Entries {
		p := b[ICMPv4HeaderLen+i*8:]
		putAddr(p[0:4], e.Addr)
		binary.BigEndian.PutUint32(p[4:8], uint32(e.Preference))
	}
	m := ICMPv4{Type: ICMPRouterAdvertisement, Body: b[ICMPv4HeaderLen:n]}
	m.Rest[0] = byte(len(ra.Entries))
	m.Rest[1] = rdiscEntryWords
	binary.BigEndian.PutUint16(m.Rest[2:4], ra.Lifetime)
	return m.Put(b)
}

// PutRouterSolicitation writes a Router Solicitation (8 bytes, RFC 1256)
// into b and returns its length.
func PutRouterSolicitation(b []byte) int {
	m := ICMPv4{Type: ICMPRouterSolicitation}
	return m.Put(b)
}
