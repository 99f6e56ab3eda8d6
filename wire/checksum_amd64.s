//go:build amd64 && !purego

#include "textflag.h"

// func sumAVX2(b []byte) uint64
// Adds b's 16-bit little-endian words in 32-bit lanes: each 32-byte load
// is split into its low and high words (mask, shift) and added into four
// accumulators, so the additions carry no dependency on a flag. The lanes
// are widened and summed at the end.
TEXT ·sumAVX2(SB), NOSPLIT, $0-32
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX
	SHRQ $6, CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPCMPEQD Y15, Y15, Y15
	VPSRLD $16, Y15, Y15 // 0x0000ffff in every 32-bit lane
	TESTQ CX, CX
	JZ done

loop:
	VMOVDQU (SI), Y2
	VMOVDQU 32(SI), Y3
	VPSRLD $16, Y2, Y4
	VPSRLD $16, Y3, Y5
	VPAND Y15, Y2, Y2
	VPAND Y15, Y3, Y3
	VPADDD Y2, Y0, Y0
	VPADDD Y4, Y1, Y1
	VPADDD Y3, Y6, Y6
	VPADDD Y5, Y7, Y7
	ADDQ $64, SI
	DECQ CX
	JNZ loop

done:
	// Widen each accumulator's 32-bit lanes to 64 bits and add them up.
	VPCMPEQD Y14, Y14, Y14
	VPSRLQ $32, Y14, Y14 // 0x00000000ffffffff in every 64-bit lane
	VPAND Y14, Y0, Y8
	VPSRLQ $32, Y0, Y9
	VPADDQ Y8, Y9, Y8
	VPAND Y14, Y1, Y9
	VPADDQ Y9, Y8, Y8
	VPSRLQ $32, Y1, Y9
	VPADDQ Y9, Y8, Y8
	VPAND Y14, Y6, Y9
	VPADDQ Y9, Y8, Y8
	VPSRLQ $32, Y6, Y9
	VPADDQ Y9, Y8, Y8
	VPAND Y14, Y7, Y9
	VPADDQ Y9, Y8, Y8
	VPSRLQ $32, Y7, Y9
	VPADDQ Y9, Y8, Y8
	VEXTRACTI128 $1, Y8, X9
	VPADDQ X9, X8, X8
	VPSHUFD $0x4e, X8, X9
	VPADDQ X9, X8, X8
	VMOVQ X8, AX
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET
