package link

import "sync"

// poolBufSize covers an Ethernet frame at MTU 1500 with room to spare;
// larger frames (jumbo MTUs) are allocated and not pooled.
const poolBufSize = 2048

var bufPool = sync.Pool{New: func() any { b := make([]byte, poolBufSize); return &b }}

// getBuf returns a copy of frame in a pooled buffer when it fits.
func getBuf(frame []byte) *[]byte {
	if len(frame) > poolBufSize {
		b := append([]byte(nil), frame...)
		return &b
	}
	p := bufPool.Get().(*[]byte)
	*p = append((*p)[:0], frame...)
	return p
}

func putBuf(p *[]byte) {
	if cap(*p) == poolBufSize {
		bufPool.Put(p)
	}
}
