package tcp

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// gsoHost is a fakeHost whose path offers TSO (GSONetwork) and headroom
// (BufferNetwork). Super-segments reach the peer whole, through
// HandleSegmentOffload, as an offloading TAP would hand them up.
type gsoHost struct {
	*fakeHost
	gsoMax int

	mu   sync.Mutex
	segs []gsoSeg // every super-segment sent
}

type gsoSeg struct{ payload, mss int }

const testHeadroom = 34

func (g *gsoHost) Headroom() int         { return testHeadroom }
func (g *gsoHost) GSOMax(netip.Addr) int { return g.gsoMax }

func (g *gsoHost) OutputBuf(src, dst netip.Addr, ttl, tos uint8, df bool, buf []byte) error {
	return g.Output(src, dst, ttl, tos, df, buf[testHeadroom:])
}

func (g *gsoHost) OutputGSO(src, dst netip.Addr, ttl, tos uint8, df bool, buf []byte, mss int) error {
	seg := append([]byte(nil), buf[testHeadroom:]...)
	hl := int(seg[12]>>4) * 4
	g.mu.Lock()
	g.segs = append(g.segs, gsoSeg{len(seg) - hl, mss})
	g.mu.Unlock()
	n := g.n
	n.mu.Lock()
	to := n.hosts[dst]
	n.mu.Unlock()
	n.clk.AfterFunc(n.delay, func() { to.p.HandleSegmentOffload(src, dst, seg, mss) })
	return nil
}

// With a TSO path, bulk data leaves in super-segments of whole MSS-sized
// pieces (the tail may be shorter), each handed over with its piece size,
// and arrives intact; without one (the other direction) nothing changes.
func TestGSOSuperSegments(t *testing.T) {
	n := newFakeNet(2*time.Millisecond, 1)
	params := ModernParams()
	a := &fakeHost{n: n, addr: addrA}
	ga := &gsoHost{fakeHost: a, gsoMax: 65535}
	a.p = New(ga, Options{Params: params, Seed: 2})
	n.hosts[addrA] = a
	b := n.host(addrB, params, 3)
	ln, err := b.p.Listen(netip.AddrPortFrom(addrB, 80), 5)
	if err != nil {
		t.Fatal(err)
	}
	pr := &pair{n: n, a: a, b: b, ln: ln, cli: a.dialNB(t, netip.AddrPortFrom(addrB, 80))}
	if !n.runUntil(func() bool {
		if pr.srv == nil {
			pr.srv = ln.tryAccept()
		}
		return pr.srv != nil && pr.cli.State() == StateEstablished
	}, time.Minute) {
		t.Fatal("handshake did not complete")
	}
	ab := testData(2<<20+777, 5)
	ba := testData(50_000, 6)
	ok, p1, p2 := transfer(t, pr, ab, ba, 5*time.Minute)
	if !ok || !bytes.Equal(p1.got, ab) || !bytes.Equal(p2.got, ba) {
		t.Fatalf("transfer: ok=%v got %d/%d and %d/%d (%v %v)", ok, len(p1.got), len(ab), len(p2.got), len(ba), p1.err, p2.err)
	}
	ga.mu.Lock()
	defer ga.mu.Unlock()
	if len(ga.segs) == 0 {
		t.Fatal("no super-segments sent over the TSO path")
	}
	mss := pr.cli.sndMSS
	big, bytesGSO := 0, 0
	for i, s := range ga.segs {
		if s.mss != mss || s.payload <= mss || s.payload > 65535-20-60 {
			t.Fatalf("super-segment %d: %+v (MSS %d)", i, s, mss)
		}
		if s.payload%mss != 0 && i != len(ga.segs)-1 {
			// Only a segment that ends the queued data may have a tail.
			t.Logf("super-segment %d has a tail: %+v", i, s)
		}
		if s.payload >= 10*mss {
			big++
		}
		bytesGSO += s.payload
	}
	if big == 0 || bytesGSO < len(ab)/2 {
		t.Errorf("super-segments: %d of ≥10 MSS, %d of %d bytes", big, bytesGSO, len(ab))
	}
	// Nothing from B went out as a super-segment: B's path has no TSO.
	for _, w := range n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrB && len(tc.Payload) > pr.srv.sndMSS }) {
		t.Fatalf("B sent a segment larger than its MSS %d: %v", pr.srv.sndMSS, w)
	}
}

// HandleSegmentOffload trusts the device: a segment whose checksum field
// holds only the pseudo-header sum (CHECKSUM_PARTIAL) is accepted, while
// HandleSegment drops it as corrupt.
func TestHandleSegmentOffloadSkipsChecksum(t *testing.T) {
	pr := newPair(t, time.Millisecond, DefaultParams(), DefaultParams(), 9)
	seg := func() []byte {
		b := make([]byte, headerLen+5)
		h := segHeader{srcPort: pr.cli.id.local.Port(), dstPort: 80, seq: pr.cli.sndNxt, ack: pr.cli.rcvNxt,
			flags: flagACK | flagPSH, window: 8192}
		putHeader(b, &h, nil, addrA, addrB, 5)
		copy(b[headerLen:], "hello")
		binary.BigEndian.PutUint16(b[16:], 0x1234) // not the checksum
		return b
	}
	in := pr.b.p.Stats().InErrs
	pr.b.p.HandleSegment(addrA, addrB, seg())
	if got := pr.b.p.Stats().InErrs; got != in+1 {
		t.Fatalf("HandleSegment accepted a bad checksum (InErrs %d→%d)", in, got)
	}
	pr.b.p.HandleSegmentOffload(addrA, addrB, seg(), 0)
	buf := make([]byte, 16)
	pr.srv.mu.Lock()
	n := pr.srv.rcv.read(buf)
	pr.srv.mu.Unlock()
	if string(buf[:n]) != "hello" {
		t.Fatalf("offloaded segment not delivered: %q", buf[:n])
	}
}
