//go:build amd64 && !purego

package wire

import (
	"math/bits"

	"golang.org/x/sys/cpu"
)

// haveVector: the AVX2 kernel runs where the CPU has it.
var haveVector = cpu.X86.HasAVX2

// vectorMin is the length from which the vector kernel pays for its
// set-up and its final reduction.
const vectorMin = 256

// vectorChunk bounds one sumAVX2 call so its 32-bit lanes cannot
// overflow: each lane gains at most 4 × 0xffff per 64-byte block, and
// 4096 blocks keep that below 2^32.
const vectorChunk = 4096 * 64

// sumAVX2 returns the sum of b's little-endian 16-bit words as an
// integer (not folded). len(b) must be a multiple of 64 and at most
// vectorChunk.
//
//go:noescape
func sumAVX2(b []byte) uint64

// sumVector returns the one's-complement sum of b (len a multiple of 64)
// as big-endian words, folded to 16 bits. Summing little-endian words
// gives the byte-swapped sum (RFC 1071 §2(B)), so it is swapped back.
func sumVector(b []byte) uint32 {
	var acc, c uint64
	for len(b) > 0 {
		n := min(len(b), vectorChunk)
		acc, c = bits.Add64(acc, sumAVX2(b[:n]), c)
		b = b[n:]
	}
	acc += c // at most one more carry can come of this add: acc < 2^64-1 after a carry
	s := (acc >> 32) + (acc & 0xffffffff)
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return uint32(bits.ReverseBytes16(uint16(s)))
}
