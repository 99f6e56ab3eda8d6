package tcp

// byteQueue is a FIFO of bytes kept in one slice: appends at the tail,
// consumption from the head, compaction once the dead head is large.
type byteQueue struct {
	b    []byte
	head int
}

func (q *byteQueue) len() int { return len(q.b) - q.head }

func (q *byteQueue) append(p []byte) { q.b = append(q.b, p...) }

// peek returns up to n bytes starting at offset off from the head.
func (q *byteQueue) peek(off, n int) []byte {
	s := q.b[q.head+off:]
	if len(s) > n {
		s = s[:n]
	}
	return s
}

// read copies from the head into p and consumes it.
func (q *byteQueue) read(p []byte) int {
	n := copy(p, q.b[q.head:])
	q.drop(n)
	return n
}

// drop consumes n bytes from the head.
func (q *byteQueue) drop(n int) {
	q.head += n
	if q.head == len(q.b) {
		q.b = q.b[:0]
		q.head = 0
	} else if q.head > 4096 && q.head > len(q.b)/2 {
		m := copy(q.b, q.b[q.head:])
		q.b = q.b[:m]
		q.head = 0
	}
}

// release frees the storage.
func (q *byteQueue) release() { q.b, q.head = nil, 0 }
