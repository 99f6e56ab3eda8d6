package link

import "sync"

// poolBufSize covers an Ethernet frame at MTU 1500 with room to spare;
// jumboBufSize any frame up to MTU 65535 (and a GSO frame's 64 KiB).
// Frames go into pooled copies either way, so a jumbo MTU does not cost
// a 64 KiB allocation per frame.
const (
	poolBufSize  = 2048
	jumboBufSize = 65536 + 128
)

var (
	bufPool   = sync.Pool{New: func() any { b := make([]byte, poolBufSize); return &b }}
	jumboPool = sync.Pool{New: func() any { b := make([]byte, jumboBufSize); return &b }}
)

// getBuf returns a copy of frame in a pooled buffer.
func getBuf(frame []byte) *[]byte {
	var p *[]byte
	switch {
	case len(frame) <= poolBufSize:
		p = bufPool.Get().(*[]byte)
	case len(frame) <= jumboBufSize:
		p = jumboPool.Get().(*[]byte)
	default:
		b := append([]byte(nil), frame...)
		return &b
	}
	*p = append((*p)[:0], frame...)
	return p
}

func putBuf(p *[]byte) {
	switch cap(*p) {
	case poolBufSize:
		bufPool.Put(p)
	case jumboBufSize:
		jumboPool.Put(p)
	}
}
