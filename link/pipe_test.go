package link

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
)

func TestPipeVirtual(t *testing.T) {
	clk := clock.NewVirtual(t0)
	a, b := NewPipe(clk, 1500, macA, macB)
	ra, rb := newRecorder(), newRecorder()
	a.Attach(ra)
	b.Attach(rb)
	if a.MAC() != macA || b.MAC() != macB || a.MTU() != 1500 {
		t.Fatal("wrong MAC/MTU")
	}
	f1 := frame(macB, macA, 60, 1)
	f2 := frame(macA, macB, 1514, 2)
	if err := a.WriteFrame(f1); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteFrame(f2); err != nil {
		t.Fatal(err)
	}
	want1 := append([]byte(nil), f1...)
	f1[20] = 0xff // the pipe must have copied
	if len(rb.Frames()) != 0 {
		t.Fatal("delivered synchronously inside WriteFrame")
	}
	clk.Advance(0)
	if got := rb.Frames(); len(got) != 1 || !bytes.Equal(got[0], want1) {
		t.Fatalf("b got %x", got)
	}
	if got := ra.Frames(); len(got) != 1 || !bytes.Equal(got[0], f2) {
		t.Fatalf("a got %d frames", len(got))
	}
	if err := a.WriteFrame(make([]byte, 1515)); !errors.Is(err, ErrFrameTooLong) {
		t.Fatalf("oversized frame: %v", err)
	}
	if err := a.WriteFrame(make([]byte, 13)); !errors.Is(err, ErrFrameTooShort) {
		t.Fatalf("runt frame: %v", err)
	}
	st := a.Stats()
	if st.TxFrames != 1 || st.TxBytes != 60 || st.RxFrames != 1 || st.TxErrors != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// Frames keep their order, and a reply written from inside DeliverFrame
// (as a stack answering ARP does) works without deadlock.
func TestPipeOrderAndReplyFromCallback(t *testing.T) {
	clk := clock.NewVirtual(t0)
	a, b := NewPipe(clk, 1500, macA, macB)
	ra := newRecorder()
	a.Attach(ra)
	b.Attach(echoer{b})
	for i := range 10 {
		a.WriteFrame(frame(macB, macA, 60, byte(i)))
	}
	clk.Advance(0)
	got := ra.Frames()
	if len(got) != 10 {
		t.Fatalf("got %d echoes", len(got))
	}
	for i, f := range got {
		if f[14] != byte(i) {
			t.Fatalf("echo %d carries %d", i, f[14])
		}
	}
}

type echoer struct{ ep Endpoint }

func (e echoer) DeliverFrame(f []byte) { e.ep.WriteFrame(f) }
func (e echoer) LinkStateChanged(bool) {}

func TestPipeVirtualQueueBound(t *testing.T) {
	clk := clock.NewVirtual(t0)
	a, b := NewPipe(clk, 1500, macA, macB)
	rb := newRecorder()
	b.Attach(rb)
	for i := range DefaultQueueLen + 88 {
		a.WriteFrame(frame(macB, macA, 60, byte(i)))
	}
	clk.Advance(0)
	if n := len(rb.Frames()); n != DefaultQueueLen {
		t.Fatalf("delivered %d, want %d", n, DefaultQueueLen)
	}
	if d := b.Stats().QueueDrops; d != 88 {
		t.Fatalf("QueueDrops %d, want 88", d)
	}
}

func TestPipeCarrierAndClose(t *testing.T) {
	clk := clock.NewVirtual(t0)
	a, b := NewPipe(clk, 1500, macA, macB)
	ra, rb := newRecorder(), newRecorder()
	a.Attach(ra)
	b.Attach(rb)
	a.SetCarrier(false)
	a.SetCarrier(false) // no change, no event
	if err := a.WriteFrame(frame(macB, macA, 60, 1)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(0)
	if len(rb.Frames()) != 0 || a.Stats().CarrierDrops != 1 {
		t.Fatal("frame crossed an unplugged cable")
	}
	b.SetCarrier(true)
	clk.Advance(0)
	if !reflect.DeepEqual(ra.States(), []bool{false, true}) || !reflect.DeepEqual(rb.States(), []bool{false, true}) {
		t.Fatalf("states a=%v b=%v", ra.States(), rb.States())
	}
	a.WriteFrame(frame(macB, macA, 60, 1)) // in flight when b closes
	b.Close()
	clk.Advance(0)
	if len(rb.Frames()) != 0 {
		t.Fatal("delivered after Close")
	}
	if b.Stats().Undelivered != 1 {
		t.Fatalf("undelivered %d", b.Stats().Undelivered)
	}
	if s := ra.States(); s[len(s)-1] != false {
		t.Fatalf("peer did not see carrier loss: %v", s)
	}
	if err := b.WriteFrame(frame(macA, macB, 60, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

func TestLoopback(t *testing.T) {
	clk := clock.NewVirtual(t0)
	l := NewLoopback(clk, 65535)
	r := newRecorder()
	l.Attach(r)
	f := frame(macA, macA, 9000, 7)
	l.WriteFrame(f)
	clk.Advance(0)
	if got := r.Frames(); len(got) != 1 || !bytes.Equal(got[0], f) {
		t.Fatal("loopback did not return the frame")
	}
}

func TestPipeReal(t *testing.T) {
	a, b := NewPipe(clock.Real{}, 1500, macA, macB)
	defer a.Close()
	defer b.Close()
	rb := newRecorder()
	b.Attach(rb)
	for i := range 5 {
		a.WriteFrame(frame(macB, macA, 100, byte(i)))
	}
	for range 5 {
		select {
		case <-rb.got:
		case <-time.After(5 * time.Second):
			t.Fatal("real-clock pipe did not deliver")
		}
	}
	for i, f := range rb.Frames() {
		if f[14] != byte(i) {
			t.Fatalf("frame %d out of order", i)
		}
	}
}

// With the real clock a stuck receiver fills the bounded queue; further
// frames are dropped and counted, and WriteFrame never blocks.
func TestPipeRealQueueBound(t *testing.T) {
	a, b := NewPipe(clock.Real{}, 1500, macA, macB)
	rb := newRecorder()
	rb.block = make(chan struct{})
	b.Attach(rb)
	a.WriteFrame(frame(macB, macA, 60, 0))
	// Wait until the reader holds frame 0 inside DeliverFrame, so the
	// queue is empty and exactly DefaultQueueLen more fit.
	deadline := time.Now().Add(5 * time.Second)
	for len(b.in.q) != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	for i := range DefaultQueueLen + 10 {
		a.WriteFrame(frame(macB, macA, 60, byte(i)))
	}
	if d := b.Stats().QueueDrops; d != 10 {
		t.Fatalf("QueueDrops %d, want 10", d)
	}
	close(rb.block)
	a.Close()
	b.Close()
}
