package tcp

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/clock"
)

// Test addresses (documentation/benchmark ranges only).
var (
	addrA = netip.MustParseAddr("198.18.0.1")
	addrB = netip.MustParseAddr("198.18.0.2")
	addrX = netip.MustParseAddr("198.18.0.99") // silent host
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// wireSeg is a segment seen on the fake wire.
type wireSeg struct {
	at       time.Duration // since epoch
	src, dst netip.Addr
	df       bool
	b        []byte
	fate     string // faults applied (for debugging dumps)
}

// tcp decodes the segment with gopacket.
func (w wireSeg) tcp() *layers.TCP {
	pkt := gopacket.NewPacket(w.b, layers.LayerTypeTCP, gopacket.Default)
	l, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
	return l
}

func (w wireSeg) String() string {
	t := w.tcp()
	if t == nil {
		return fmt.Sprintf("%v %v>%v undecodable", w.at, w.src, w.dst)
	}
	return fmt.Sprintf("%-8v %v:%d>%v:%d %s seq=%d ack=%d win=%d len=%d %s", w.at, w.src, t.SrcPort, w.dst, t.DstPort,
		flagString(t), t.Seq, t.Ack, t.Window, len(t.Payload), w.fate)
}

func flagString(t *layers.TCP) string {
	s := ""
	add := func(b bool, n string) {
		if b {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	add(t.SYN, "SYN")
	add(t.FIN, "FIN")
	add(t.RST, "RST")
	add(t.PSH, "PSH")
	add(t.ACK, "ACK")
	add(t.URG, "URG")
	return s
}

// faults are seeded per-direction impairments.
type faults struct {
	loss, dup, reorder, corrupt float64
	jitter                      time.Duration
	// reorderDelay, if set, is how long a reordered segment is held
	// (link.Faulty's fixed hold) instead of a random extra delay.
	reorderDelay time.Duration
}

// fakeNet connects fake hosts; delivery is asynchronous through the
// virtual clock, so Output never re-enters TCP.
type fakeNet struct {
	clk   *clock.Virtual
	delay time.Duration
	mtu   int

	mu     sync.Mutex
	hosts  map[netip.Addr]*fakeHost
	rng    *rand.Rand
	f      faults
	trace  []wireSeg
	filter func(w wireSeg) bool // return false to drop
	record bool
	// reorderedData counts data-carrying segments the faults held back.
	reorderedData int
}

type fakeHost struct {
	n    *fakeNet
	addr netip.Addr
	p    *Protocol
}

func newFakeNet(delay time.Duration, seed uint64) *fakeNet {
	return &fakeNet{
		clk:    clock.NewVirtual(epoch),
		delay:  delay,
		mtu:    1500,
		hosts:  make(map[netip.Addr]*fakeHost),
		rng:    rand.New(rand.NewPCG(seed, 77)),
		record: true,
	}
}

func (n *fakeNet) host(a netip.Addr, params Params, seed uint64) *fakeHost {
	h := &fakeHost{n: n, addr: a}
	h.p = New(h, Options{Params: params, Seed: seed})
	n.mu.Lock()
	n.hosts[a] = h
	n.mu.Unlock()
	return h
}

func (h *fakeHost) Clock() clock.Clock { return h.n.clk }

func (h *fakeHost) Route(dst netip.Addr) (netip.Addr, int, error) {
	if dst == netip.MustParseAddr("203.0.113.1") {
		return netip.Addr{}, 0, errors.New("no route")
	}
	return h.addr, h.n.mtu, nil
}

func (h *fakeHost) IsLocal(a netip.Addr) bool { return a == h.addr }

func (h *fakeHost) Output(src, dst netip.Addr, ttl, tos uint8, df bool, seg []byte) error {
	n := h.n
	b := append([]byte(nil), seg...)
	w := wireSeg{at: n.clk.Now().Sub(epoch), src: src, dst: dst, df: df, b: b}
	n.mu.Lock()
	if n.filter != nil && !n.filter(w) {
		if n.record {
			n.trace = append(n.trace, w)
		}
		n.mu.Unlock()
		return nil
	}
	to := n.hosts[dst]
	f := n.f
	copies := 1
	if f.loss > 0 && n.rng.Float64() < f.loss {
		copies = 0
	}
	if copies == 1 && f.dup > 0 && n.rng.Float64() < f.dup {
		copies = 2
	}
	var delays [2]time.Duration
	var bodies [2][]byte
	for i := 0; i < copies; i++ {
		d := n.delay
		if f.reorder > 0 && n.rng.Float64() < f.reorder {
			if len(b) > 20 && len(b) > int(b[12]>>4)*4 {
				n.reorderedData++
			}
			if f.reorderDelay > 0 {
				d += f.reorderDelay
			} else {
				d += time.Duration(n.rng.Int64N(int64(3*n.delay + time.Millisecond)))
			}
		}
		if f.jitter > 0 {
			d += time.Duration(n.rng.Int64N(int64(f.jitter)))
		}
		delays[i] = d
		bodies[i] = b
		if f.corrupt > 0 && n.rng.Float64() < f.corrupt {
			c := append([]byte(nil), b...)
			c[n.rng.IntN(len(c))] ^= byte(1 + n.rng.IntN(255))
			bodies[i] = c
		}
	}
	if copies == 0 {
		w.fate = "LOST"
	} else if copies == 2 {
		w.fate = "DUP"
	}
	if bodies[0] != nil && &bodies[0][0] != &b[0] {
		w.fate += " CORRUPT"
	}
	if n.record {
		n.trace = append(n.trace, w)
	}
	n.mu.Unlock()
	if to == nil {
		return nil
	}
	for i := 0; i < copies; i++ {
		body := bodies[i]
		n.clk.AfterFunc(delays[i], func() { to.p.HandleSegment(src, dst, body) })
	}
	return nil
}

// runUntil steps virtual time until cond holds or limit of virtual time
// has passed; it reports whether cond held.
func (n *fakeNet) runUntil(cond func() bool, limit time.Duration) bool {
	end := n.clk.Now().Add(limit)
	for !cond() {
		next, ok := n.clk.Next()
		if !ok || next.After(end) {
			n.clk.AdvanceTo(end)
			return cond()
		}
		n.clk.Step()
	}
	return true
}

func (n *fakeNet) run(d time.Duration) { n.clk.Advance(d) }

func (n *fakeNet) now() time.Duration { return n.clk.Now().Sub(epoch) }

// segs returns the recorded segments matching pred.
func (n *fakeNet) segs(pred func(w wireSeg, t *layers.TCP) bool) []wireSeg {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []wireSeg
	for _, w := range n.trace {
		if t := w.tcp(); t != nil && (pred == nil || pred(w, t)) {
			out = append(out, w)
		}
	}
	return out
}

func (n *fakeNet) dump(t testing.TB) {
	t.Helper()
	for _, w := range n.segs(nil) {
		t.Log(w)
	}
}

func (n *fakeNet) clearTrace() {
	n.mu.Lock()
	n.trace = nil
	n.mu.Unlock()
}

// pair is a connected client/server pair on two fake hosts.
type pair struct {
	n      *fakeNet
	a, b   *fakeHost
	cli    *Conn
	srv    *Conn
	ln     *Listener
	srvErr error
}

// dialNB starts a dial without blocking (single-goroutine tests).
func (h *fakeHost) dialNB(t testing.TB, raddr netip.AddrPort) *Conn {
	t.Helper()
	c, err := h.p.startDial(netip.AddrPort{}, raddr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

// tryAccept returns an established connection if one is queued.
func (l *Listener) tryAccept() *Conn {
	l.mu.Lock()
	if len(l.queue) == 0 {
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()
	c, _ := l.AcceptTCP()
	return c
}

func newPair(t testing.TB, delay time.Duration, pa, pb Params, seed uint64) *pair {
	t.Helper()
	n := newFakeNet(delay, seed)
	pr := &pair{n: n, a: n.host(addrA, pa, seed+1), b: n.host(addrB, pb, seed+2)}
	ln, err := pr.b.p.Listen(netip.AddrPortFrom(addrB, 80), 5)
	if err != nil {
		t.Fatal(err)
	}
	pr.ln = ln
	pr.cli = pr.a.dialNB(t, netip.AddrPortFrom(addrB, 80))
	if !n.runUntil(func() bool {
		if pr.srv == nil {
			pr.srv = ln.tryAccept()
		}
		return pr.srv != nil && pr.cli.State() == StateEstablished
	}, time.Minute) {
		n.dump(t)
		t.Fatalf("handshake did not complete: cli %v", pr.cli.State())
	}
	return pr
}

// pump moves data: writes src into w as room allows, reads r into dst.
type pump struct {
	w       *Conn
	r       *Conn
	src     []byte
	off     int
	got     []byte
	closeWr bool
	eof     bool
	err     error
	buf     []byte
}

// step does non-blocking work; it never waits.
func (p *pump) step() {
	if p.off < len(p.src) {
		p.w.mu.Lock()
		room := p.w.sndCap - p.w.snd.len()
		ok := p.w.err == nil && !p.w.wrClosed && p.w.state != StateClosed
		p.w.mu.Unlock()
		if room > 0 && ok {
			k := min(room, len(p.src)-p.off)
			n, err := p.w.Write(p.src[p.off : p.off+k])
			p.off += n
			if err != nil && p.err == nil {
				p.err = err
			}
		}
	}
	if p.off == len(p.src) && p.closeWr {
		p.closeWr = false
		p.w.CloseWrite()
	}
	if p.buf == nil {
		p.buf = make([]byte, 64<<10)
	}
	for !p.eof {
		p.r.mu.Lock()
		ready := p.r.rcv.len() > 0 || p.r.finRcvd || p.r.err != nil || p.r.state == StateClosed
		p.r.mu.Unlock()
		if !ready {
			break
		}
		n, err := p.r.Read(p.buf)
		p.got = append(p.got, p.buf[:n]...)
		if err != nil {
			p.eof = true
			if err.Error() != "EOF" && p.err == nil {
				p.err = err
			}
		}
	}
}
