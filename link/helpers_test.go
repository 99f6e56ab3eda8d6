package link

import (
	"sync"
	"time"

	"github.com/stapel-net/stapel/wire"
)

var t0 = time.Date(2000, 2, 17, 0, 0, 0, 0, time.UTC)

var (
	macA = wire.MAC{0x02, 0, 0, 0, 0, 0x0a}
	macB = wire.MAC{0x02, 0, 0, 0, 0, 0x0b}
)

// recorder is a Dispatcher that keeps copies of what it receives.
type recorder struct {
	mu     sync.Mutex
	frames [][]byte
	states []bool
	block  chan struct{} // if set, DeliverFrame waits on it
	got    chan struct{} // signalled (non-blocking) per frame
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{}, 4096)} }

func (r *recorder) DeliverFrame(f []byte) {
	if r.block != nil {
		<-r.block
	}
	r.mu.Lock()
	r.frames = append(r.frames, append([]byte(nil), f...))
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
}

func (r *recorder) LinkStateChanged(up bool) {
	r.mu.Lock()
	r.states = append(r.states, up)
	r.mu.Unlock()
}

func (r *recorder) Frames() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.frames...)
}

func (r *recorder) States() []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bool(nil), r.states...)
}

// frame builds an Ethernet II frame of total length n whose payload bytes
// are seq so frames can be told apart.
func frame(dst, src wire.MAC, n int, seq byte) []byte {
	f := make([]byte, n)
	copy(f[0:6], dst[:])
	copy(f[6:12], src[:])
	f[12], f[13] = 0x88, 0xb5 // local experimental EtherType
	for i := 14; i < n; i++ {
		f[i] = seq
	}
	return f
}
