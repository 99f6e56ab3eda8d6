package tcp

// Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4).
type seqnum = uint32

func seqLT(a, b uint32) bool  { return int32(a-b) < 0 }
func seqLEQ(a, b uint32) bool { return int32(a-b) <= 0 }
func seqGT(a, b uint32) bool  { return int32(a-b) > 0 }
func seqGEQ(a, b uint32) bool { return int32(a-b) >= 0 }

// seqInWindow reports lo <= x < lo+n.
func seqInWindow(x, lo uint32, n uint32) bool { return x-lo < n }

func seqMax(a, b uint32) uint32 {
	if seqGT(a, b) {
		return a
	}
	return b
}
