package wire

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// naiveSum is the RFC 1071 definition: 16-bit big-endian words, odd byte
// padded, end-around carry folded at the end.
func naiveSum(b []byte, initial uint32) uint16 {
	s := uint64(initial)
	for i := 0; i+1 < len(b); i += 2 {
		s += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint64(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = (s >> 16) + (s & 0xffff)
	}
	return uint16(s)
}

func TestChecksumRFC1071Example(t *testing.T) {
	// RFC 1071 section 3 worked example.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if s := fold16(Sum(b, 0)); s != 0xddf2 {
		t.Errorf("sum = %#x, want 0xddf2", s)
	}
	if c := Checksum(b, 0); c != 0x220d {
		t.Errorf("checksum = %#x, want 0x220d", c)
	}
}

func TestChecksumMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 2001+8)
	initials := []uint32{0, 1, 0xffff, 0x10001, 0xfffe_ffff, 0xffffffff, 0x8000_0001}
	for n := 0; n <= 2000; n++ {
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		// Vary the start so unaligned slices are covered too.
		off := n % 8
		b := buf[off : off+n]
		in := initials[n%len(initials)]
		if n%3 == 0 {
			in = r.Uint32()
		}
		if got, want := fold16(Sum(b, in)), naiveSum(b, in); got != want {
			t.Fatalf("len %d initial %#x: Sum folds to %#x, want %#x", n, in, got, want)
		}
		if got, want := Checksum(b, in), ^naiveSum(b, in); got != want {
			t.Fatalf("len %d: Checksum %#x, want %#x", n, got, want)
		}
	}
}

func TestChecksumAllOnes(t *testing.T) {
	// Worst case for carries: every word 0xffff.
	for _, n := range []int{0, 1, 2, 7, 8, 9, 31, 32, 33, 65535} {
		b := make([]byte, n)
		for i := range b {
			b[i] = 0xff
		}
		if got, want := fold16(Sum(b, 0xffffffff)), naiveSum(b, 0xffffffff); got != want {
			t.Errorf("len %d: %#x want %#x", n, got, want)
		}
	}
}

func TestSumChaining(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 1500)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	whole := Checksum(b, 0)
	for k := 0; k <= len(b); k += 2 {
		if got := Checksum(b[k:], Sum(b[:k], 0)); got != whole {
			t.Fatalf("split at %d: %#x want %#x", k, got, whole)
		}
	}
}

func TestChecksumVerifiesToZero(t *testing.T) {
	b := []byte{0x45, 0x00, 0x00, 0x54, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01, 0, 0, 192, 0, 2, 1, 198, 51, 100, 7}
	c := Checksum(b, 0)
	b[10], b[11] = byte(c>>8), byte(c)
	if Checksum(b, 0) != 0 {
		t.Error("checksum over header with its checksum is not 0")
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	src, dst := addrA, addrB
	var ph []byte
	ph = append(ph, ip4(src)...)
	ph = append(ph, ip4(dst)...)
	ph = append(ph, 0, ProtoTCP, 0x05, 0xdc)
	if got, want := fold16(PseudoHeaderSum(src, dst, ProtoTCP, 1500)), naiveSum(ph, 0); got != want {
		t.Errorf("pseudo header %#x want %#x", got, want)
	}
	// Invalid addresses count as 0.0.0.0 instead of panicking.
	_ = PseudoHeaderSum(netip.Addr{}, netip.MustParseAddr("2001:db8::1"), ProtoUDP, 8)
}

// The vector kernel agrees with the scalar loop on every length and
// alignment, and on buffers long enough to need several kernel calls
// (worst-case carries included).
func TestSumVectorMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	buf := make([]byte, 3<<20+64)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	check := func(b []byte, in uint32) {
		t.Helper()
		if got, want := fold16(Sum(b, in)), fold16(sumScalar(b, uint64(in))); got != want {
			t.Fatalf("len %d: Sum folds to %#x, scalar %#x", len(b), got, want)
		}
	}
	for n := 0; n <= 4096; n++ {
		check(buf[n%32:n%32+n], r.Uint32())
	}
	for _, n := range []int{vectorChunk - 64, vectorChunk, vectorChunk + 64, vectorChunk + 1, 3 << 20} {
		check(buf[1:1+n], 0xffffffff)
	}
	ones := make([]byte, 3<<20)
	for i := range ones {
		ones[i] = 0xff
	}
	check(ones, 0xffffffff)
	check(ones[:vectorChunk+63], 0)
}
