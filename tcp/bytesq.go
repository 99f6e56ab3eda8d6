package tcp

// byteQueue is a FIFO of bytes in a ring: appends at the tail, consumption
// from the head, so neither acknowledging nor reading moves data. The ring
// grows (doubling) when an append does not fit; callers bound what they
// append (the socket buffers), so it stays within twice that bound.
type byteQueue struct {
	b    []byte // the ring; len(b) is its capacity
	head int    // index of the first byte
	n    int    // bytes queued
}

// minRing is the smallest allocation: small exchanges stay small (idle
// connections cost little) and bulk ones double quickly.
const minRing = 64

func (q *byteQueue) len() int { return q.n }

// append copies p to the tail.
func (q *byteQueue) append(p []byte) {
	if len(p) == 0 {
		return
	}
	if q.n+len(p) > len(q.b) {
		q.grow(q.n + len(p))
	}
	tail := q.head + q.n
	if tail >= len(q.b) {
		tail -= len(q.b)
	}
	k := copy(q.b[tail:], p)
	copy(q.b, p[k:])
	q.n += len(p)
}

// grow reallocates the ring to hold at least need bytes, unwrapping it.
func (q *byteQueue) grow(need int) {
	size := max(need, 2*len(q.b), minRing)
	nb := make([]byte, size)
	a, b := q.peek(0, q.n)
	k := copy(nb, a)
	copy(nb[k:], b)
	q.b, q.head = nb, 0
}

// peek returns up to n bytes starting at offset off from the head, as
// two slices (the second is empty unless the range wraps).
func (q *byteQueue) peek(off, n int) ([]byte, []byte) {
	n = min(n, q.n-off)
	if n <= 0 {
		return nil, nil
	}
	start := q.head + off
	if start >= len(q.b) {
		start -= len(q.b)
	}
	if end := start + n; end <= len(q.b) {
		return q.b[start:end], nil
	}
	return q.b[start:], q.b[:n-(len(q.b)-start)]
}

// read copies from the head into p and consumes it.
func (q *byteQueue) read(p []byte) int {
	a, b := q.peek(0, len(p))
	k := copy(p, a)
	k += copy(p[k:], b)
	q.drop(k)
	return k
}

// drop consumes n bytes from the head.
func (q *byteQueue) drop(n int) {
	n = min(n, q.n)
	q.n -= n
	if q.n == 0 {
		q.head = 0
		return
	}
	q.head += n
	if q.head >= len(q.b) {
		q.head -= len(q.b)
	}
}

// release frees the storage.
func (q *byteQueue) release() { q.b, q.head, q.n = nil, 0, 0 }
