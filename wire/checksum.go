package wire

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Sum returns the unfolded one's-complement sum of b (as big-endian 16-bit
// words, an odd final byte padded with zero) added to initial. It may
// exceed 0xffff; feed it to another Sum or to Checksum to finish. Chaining
// is exact only when every piece but the last has even length.
//
// The loop adds 8-byte words with carry into a 64-bit accumulator: the
// one's-complement sum is the same modulo 0xffff whatever the word size,
// so this does four times fewer additions than the 16-bit definition.
func Sum(b []byte, initial uint32) uint32 {
	if len(b) >= vectorMin && haveVector {
		// The vector kernel sums a prefix of whole 64-byte blocks; an
		// even-length prefix keeps the tail's byte positions, so the
		// scalar loop finishes from there.
		n := len(b) &^ 63
		return sumScalar(b[n:], uint64(initial)+uint64(sumVector(b[:n])))
	}
	return sumScalar(b, uint64(initial))
}

// sumScalar is Sum without the vector kernel.
func sumScalar(b []byte, initial uint64) uint32 {
	acc := initial
	var c uint64
	// 64 bytes per iteration: the add-with-carry chain is the critical
	// path, so amortising the loop overhead is what pays (about 1.4x over
	// 32 bytes per iteration on amd64).
	for len(b) >= 64 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[0:8]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[8:16]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[16:24]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[24:32]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[32:40]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[40:48]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[48:56]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[56:64]), c)
		b = b[64:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	if len(b) >= 4 {
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint32(b)), c)
		b = b[4:]
	}
	if len(b) >= 2 {
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint16(b)), c)
		b = b[2:]
	}
	if len(b) == 1 {
		acc, c = bits.Add64(acc, uint64(b[0])<<8, c)
	}
	// End-around carry, then fold 64 -> 32 bits. 2^32-1 is a multiple of
	// 2^16-1, so folding to 32 bits keeps the sum's value modulo 0xffff.
	acc, c = bits.Add64(acc, c, 0)
	acc += c
	s := (acc >> 32) + (acc & 0xffffffff)
	s = (s >> 32) + (s & 0xffffffff)
	return uint32(s)
}

// fold16 reduces a partial sum to 16 bits with end-around carries.
func fold16(s uint32) uint16 {
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return uint16(s)
}

// Checksum returns the Internet checksum (RFC 1071): the one's complement
// of the folded sum of b and initial. Over data that already contains a
// correct checksum field it returns 0, which is how parsers verify.
func Checksum(b []byte, initial uint32) uint16 {
	return ^fold16(Sum(b, initial))
}

// PseudoHeaderSum is the partial sum of the IPv4 pseudo header that TCP
// and UDP checksums cover (RFC 793, RFC 768): it binds a segment to its
// addresses so misdelivered datagrams are caught.
func PseudoHeaderSum(src, dst netip.Addr, proto uint8, length int) uint32 {
	s := as4(src)
	d := as4(dst)
	sum := uint32(s[0])<<8 | uint32(s[1])
	sum += uint32(s[2])<<8 | uint32(s[3])
	sum += uint32(d[0])<<8 | uint32(d[1])
	sum += uint32(d[2])<<8 | uint32(d[3])
	sum += uint32(proto)
	sum += uint32(length>>16)&0xffff + uint32(length)&0xffff
	return sum
}

// as4 returns the 4 bytes of an IPv4 address, or zeros for anything else,
// because netip.Addr.As4 panics on IPv6 or the zero Addr.
func as4(a netip.Addr) [4]byte {
	if a.Is4() || a.Is4In6() {
		return a.As4()
	}
	return [4]byte{}
}
