package tcp

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// The ring keeps FIFO order across wrap-around and growth, and peek sees
// any range as at most two slices.
func TestByteQueueRing(t *testing.T) {
	var q byteQueue
	var model []byte
	r := rand.New(rand.NewPCG(1, 2))
	next := byte(0)
	for i := 0; i < 5000; i++ {
		switch r.IntN(3) {
		case 0:
			p := make([]byte, r.IntN(300))
			for j := range p {
				p[j] = next
				next++
			}
			q.append(p)
			model = append(model, p...)
		case 1:
			k := r.IntN(q.len() + 1)
			q.drop(k)
			model = model[k:]
		case 2:
			buf := make([]byte, r.IntN(200))
			k := q.read(buf)
			if !bytes.Equal(buf[:k], model[:k]) || k != min(len(buf), len(model)) {
				t.Fatalf("step %d: read %d bytes wrong", i, k)
			}
			model = model[k:]
		}
		if q.len() != len(model) {
			t.Fatalf("step %d: len %d, want %d", i, q.len(), len(model))
		}
		if len(model) > 0 {
			off := r.IntN(len(model))
			n := r.IntN(len(model)-off) + 1
			a, b := q.peek(off, n)
			if got := append(append([]byte(nil), a...), b...); !bytes.Equal(got, model[off:off+n]) {
				t.Fatalf("step %d: peek(%d,%d) wrong", i, off, n)
			}
		}
	}
	if len(q.b) > 4096 {
		t.Errorf("ring grew to %d for at most a few KiB queued", len(q.b))
	}
}
