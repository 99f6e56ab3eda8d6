package iperf3

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// pump moves a test's data over its streams: it writes blocks until
// stopped (or until limit bytes are sent), or reads until the peer or
// stop ends it, counting per stream.
type pump struct {
	conns  []net.Conn
	send   bool
	blk    int
	limit  int64 // total bytes to send or receive (0 = until stopped)
	m      *meter
	counts []atomic.Int64

	claimed  atomic.Int64
	stopped  atomic.Bool
	done     chan struct{} // closed when limit is reached or every stream ended
	doneOnce sync.Once
	wg       sync.WaitGroup
	live     atomic.Int32
}

func newPump(conns []net.Conn, send bool, blk int, limit int64, m *meter) *pump {
	return &pump{conns: conns, send: send, blk: blk, limit: limit, m: m,
		counts: make([]atomic.Int64, len(conns)), done: make(chan struct{})}
}

func (p *pump) finish() { p.doneOnce.Do(func() { close(p.done) }) }

func (p *pump) start() {
	p.live.Store(int32(len(p.conns)))
	for i, c := range p.conns {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if p.send {
				p.write(i, c)
			} else {
				p.read(i, c)
			}
			if p.live.Add(-1) == 0 {
				p.finish()
			}
		}()
	}
}

func (p *pump) write(i int, c net.Conn) {
	buf := make([]byte, p.blk)
	for j := range buf { // iperf3 sends arbitrary bytes; a pattern compresses nowhere
		buf[j] = byte(j*7 + i)
	}
	for !p.stopped.Load() {
		want := len(buf)
		if p.limit > 0 {
			c := p.claimed.Add(int64(want))
			if c-int64(want) >= p.limit {
				return // the last writer out ends the test (start)
			}
			if c > p.limit {
				want -= int(c - p.limit)
			}
		}
		n, err := c.Write(buf[:want])
		p.counts[i].Add(int64(n))
		p.m.bytes.Add(int64(n))
		if err != nil {
			return
		}
	}
}

func (p *pump) read(i int, c net.Conn) {
	buf := make([]byte, 128<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 && !p.stopped.Load() {
			p.counts[i].Add(int64(n))
			if t := p.m.bytes.Add(int64(n)); p.limit > 0 && t >= p.limit {
				p.finish()
			}
		}
		if err != nil {
			return
		}
	}
}

// stop freezes the counts; blocked writers are released by a past
// write deadline. Readers go on draining (uncounted) until close.
func (p *pump) stop() {
	if p.stopped.Swap(true) {
		return
	}
	if p.send {
		for _, c := range p.conns {
			c.SetWriteDeadline(time.Unix(1, 0))
		}
		p.wg.Wait()
	}
}

// close ends every stream and waits for the goroutines.
func (p *pump) close() {
	p.stop()
	for _, c := range p.conns {
		c.Close()
	}
	p.wg.Wait()
}

func (p *pump) streamResults(secs float64) []StreamResult {
	out := make([]StreamResult, len(p.conns))
	for i := range p.conns {
		out[i] = StreamResult{ID: streamID(i), Bytes: Int(p.counts[i].Load()), StartTime: 0, EndTime: secs}
	}
	return out
}

func (p *pump) total() int64 {
	var t int64
	for i := range p.counts {
		t += p.counts[i].Load()
	}
	return t
}
