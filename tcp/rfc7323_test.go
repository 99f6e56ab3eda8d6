package tcp

import (
	"bytes"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/wire"
)

// injectOpts sends a segment with options from (src) to host h.
func injectOpts(h *fakeHost, src, dst netip.AddrPort, flags wire.TCPFlags, seq, ack uint32, win uint16, o *wire.TCPOptions, payload []byte) {
	ol := 0
	if o != nil {
		ol = o.Len()
	}
	b := make([]byte, 20+ol+len(payload))
	wh := wire.TCPHeader{SrcPort: src.Port(), DstPort: dst.Port(), Seq: seq, Ack: ack, Flags: flags, Window: win}
	if o != nil {
		o.Put(b[20:])
		wh.Options = b[20 : 20+ol]
	}
	copy(b[20+ol:], payload)
	wh.Put(b, src.Addr(), dst.Addr())
	h.p.HandleSegment(src.Addr(), dst.Addr(), b)
}

// SPEC: TCP-WIN-3 — the whitepaper's example: a window field of 0x7FFF
// with a negotiated shift of 5 is 1,048,544 bytes; the SYN's own window is
// never scaled; our SYN-ACK echoes a scale option only because the peer's
// SYN carried one.
func TestWindowScaleShiftBy5(t *testing.T) {
	n := newFakeNet(10*time.Millisecond, 40)
	p := DefaultParams() // Tcp1323Opts absent: accept, don't initiate (AMB-7)
	p.TcpWindowSize = 1 << 20
	b := n.host(addrB, p, 41)
	ln, err := b.p.Listen(netip.AddrPortFrom(addrB, 80), 5)
	if err != nil {
		t.Fatal(err)
	}
	peer := netip.AddrPortFrom(addrA, 4000)
	srvAddr := netip.AddrPortFrom(addrB, 80)
	const iss = 1000
	injectOpts(b, peer, srvAddr, wire.SYN, iss, 0, 0x7FFF,
		&wire.TCPOptions{HasMSS: true, MSS: 1460, HasWScale: true, WScale: 5, SACKPermitted: true}, nil)
	synacks := n.segs(func(w wireSeg, tc *layers.TCP) bool { return tc.SYN && tc.ACK })
	if len(synacks) != 1 {
		t.Fatalf("%d SYN-ACKs", len(synacks))
	}
	sa := synacks[0].tcp()
	ws := findOpt(sa, layers.TCPOptionKindWindowScale)
	if ws == nil {
		t.Fatalf("SYN-ACK has no window scale: %v", optKinds(sa))
	}
	if sa.Window != 0xFFFF {
		t.Errorf("SYN-ACK window %d, want 65535 (unscaled, capped)", sa.Window)
	}
	if ws.OptionData[0] != 5 { // 1 MiB >> 4 = 65,536 does not fit 16 bits
		t.Errorf("our shift %d for a 1 MiB window, want 5", ws.OptionData[0])
	}
	injectOpts(b, peer, srvAddr, wire.ACK, iss+1, sa.Seq+1, 0x7FFF, nil, nil)
	srv := ln.tryAccept()
	if srv == nil {
		t.Fatal("not accepted")
	}
	srv.mu.Lock()
	sndWnd, scale := srv.sndWnd, srv.sndScale
	rcvScale, rcvCap := srv.rcvScale, srv.rcvCap
	srv.mu.Unlock()
	if scale != 5 || sndWnd != 1_048_544 {
		t.Fatalf("send window %d (shift %d), want 1,048,544 (0x7FFF << 5)", sndWnd, scale)
	}
	// Our own advertisements: field << our shift covers the buffer.
	srv.Write([]byte("x"))
	n.run(time.Millisecond)
	segs := n.segs(func(w wireSeg, tc *layers.TCP) bool { return !tc.SYN && w.src == addrB })
	if len(segs) == 0 {
		t.Fatal("no data segment")
	}
	win := int(segs[len(segs)-1].tcp().Window) << rcvScale
	if win < rcvCap-(1<<rcvScale) || win > rcvCap+(1<<rcvScale) || rcvCap <= 0xFFFF {
		t.Errorf("advertised %d (field<<%d), buffer %d", win, rcvScale, rcvCap)
	}
}

// SPEC: TCP-WIN-4 (RFC 7323 §5 PAWS) — a segment whose timestamp is older
// than TS.Recent is an old duplicate: dropped (its data never reaches the
// reader) and answered with an ACK, even though its sequence number is in
// the window.
func TestPAWSDropsOldDuplicate(t *testing.T) {
	p := DefaultParams()
	p.Tcp1323Opts = 3
	pr := newPair(t, 5*time.Millisecond, p, p, 42)
	pp := &pump{w: pr.cli, r: pr.srv, src: []byte("hello")}
	pr.n.runUntil(func() bool { pp.step(); return len(pp.got) == 5 }, time.Second)
	pr.n.run(time.Second)
	pr.srv.mu.Lock()
	rcvNxt, recent, ack := pr.srv.rcvNxt, pr.srv.tsRecent, pr.srv.sndNxt
	pr.srv.mu.Unlock()
	pr.n.clearTrace()
	old := &wire.TCPOptions{HasTimestamp: true, TSVal: recent - 5000, TSEcr: 1}
	injectOpts(pr.b, pr.cli.id.local, pr.cli.id.remote, wire.ACK|wire.PSH, rcvNxt, ack, 1000, old, []byte("STALE"))
	pr.srv.mu.Lock()
	got, nxt := pr.srv.rcv.len(), pr.srv.rcvNxt
	pr.srv.mu.Unlock()
	if got != 0 || nxt != rcvNxt {
		t.Fatalf("PAWS let an old duplicate in: %d bytes queued, rcvNxt moved %d", got, nxt-rcvNxt)
	}
	acks := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrB && tc.ACK })
	if len(acks) != 1 || acks[0].tcp().Ack != rcvNxt {
		t.Errorf("want one ACK for %d, got %v", rcvNxt, acks)
	}
	// The same bytes with a current timestamp are accepted.
	cur := &wire.TCPOptions{HasTimestamp: true, TSVal: recent + 1, TSEcr: 1}
	injectOpts(pr.b, pr.cli.id.local, pr.cli.id.remote, wire.ACK|wire.PSH, rcvNxt, ack, 1000, cur, []byte("FRESH"))
	pr.srv.mu.Lock()
	got = pr.srv.rcv.len()
	pr.srv.mu.Unlock()
	if got != 5 {
		t.Errorf("fresh segment not accepted (%d bytes)", got)
	}
}

// Timestamps measure the RTT from echoes (RFC 7323 §4): the RTO tracks
// the path even for retransmitted segments.
func TestTimestampRTT(t *testing.T) {
	p := DefaultParams()
	p.Tcp1323Opts = 2
	pr := newPair(t, 100*time.Millisecond, p, p, 43)
	pp := &pump{w: pr.cli, r: pr.srv, src: testData(200_000, 3)}
	pr.n.runUntil(func() bool { pp.step(); return len(pp.got) == 200_000 }, time.Minute)
	pr.cli.mu.Lock()
	srtt := pr.cli.srtt
	pr.cli.mu.Unlock()
	// RTT = 200 ms plus up to one delayed-ACK wait.
	if srtt < 190*time.Millisecond || srtt > 420*time.Millisecond {
		t.Errorf("SRTT %v, want ≈200 ms", srtt)
	}
}

// The modern-defaults profile: WS (shift 7 for 4 MiB) and TS initiated,
// SACK, CUBIC, and a first flight of 10 segments (RFC 6928).
func TestModernProfile(t *testing.T) {
	mp := ModernParams()
	pr := newPair(t, 50*time.Millisecond, mp, mp, 44)
	syn := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return tc.SYN && !tc.ACK })[0].tcp()
	ws := findOpt(syn, layers.TCPOptionKindWindowScale)
	if ws == nil || ws.OptionData[0] != 7 || findOpt(syn, layers.TCPOptionKindTimestamps) == nil ||
		findOpt(syn, layers.TCPOptionKindSACKPermitted) == nil {
		t.Fatalf("modern SYN options %v", optKinds(syn))
	}
	if _, ok := pr.cli.cc.(*cubic); !ok {
		t.Errorf("congestion control %T, want cubic", pr.cli.cc)
	}
	pr.n.clearTrace()
	pr.cli.Write(testData(40*1448, 1))
	pr.n.run(60 * time.Millisecond)
	first := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrA && len(tc.Payload) > 0 })
	if len(first) != 10 {
		t.Errorf("first flight %d segments, want 10 (IW10)", len(first))
	}
	// The default profile keeps the whitepaper's 2 and Reno.
	if d := DefaultParams(); d.InitialWindow != 2 || d.CongestionControl != CCReno {
		t.Errorf("defaults %d %q", d.InitialWindow, d.CongestionControl)
	}
}

// CUBIC (RFC 9438): after a loss at W_max the window drops to β·W_max
// and climbs back along the cubic, reaching W_max at K = ∛(W_max(1−β)/C).
func TestCubicCurve(t *testing.T) {
	const mss = 1000
	c := &cubic{}
	c.init(mss, 10)
	c.cwnd, c.ssthresh = 100, 50 // in congestion avoidance at 100 segments
	now := epoch
	c.onCongestion(100*mss, mss, now)
	if c.window() != 70*mss || c.wMax != 100 {
		t.Fatalf("after loss cwnd %d wMax %v, want 70 segments and 100", c.window()/mss, c.wMax)
	}
	k := math.Cbrt(100 * (1 - cubicBeta) / cubicC)
	rtt := 100 * time.Millisecond
	var atK float64
	for t0 := time.Duration(0); t0 < 8*time.Second; t0 += rtt {
		segs := int(c.cwnd)
		for i := 0; i < segs; i++ {
			c.onAck(mss, mss, now.Add(t0+rtt*time.Duration(i)/time.Duration(segs)), rtt)
		}
		if math.Abs(t0.Seconds()-k) < rtt.Seconds()/2 {
			atK = c.cwnd
		}
	}
	if atK < 95 || atK > 108 {
		t.Errorf("cwnd at K=%.2fs is %.1f segments, want ≈100", k, atK)
	}
	if c.cwnd < 120 {
		t.Errorf("no convex growth beyond W_max: %.1f after 8 s", c.cwnd)
	}
	// Fast convergence: a loss below the old W_max remembers less.
	c.cwnd = 80
	c.onCongestion(80*mss, mss, now)
	if want := 80 * (1 + cubicBeta) / 2; math.Abs(c.wMax-want) > 0.01 {
		t.Errorf("fast convergence wMax %v, want %v", c.wMax, want)
	}
}

// At MTU 65,535 MSS = MTU − 40 = 65,495, but with options a full segment
// would not fit one datagram: every segment stays within 65,535 − 60
// bytes of TCP (room for any IP header), and bulk data flows.
func TestMSSAtMaxMTU(t *testing.T) {
	for _, opts := range []int{-1, 3} {
		n := newFakeNet(time.Millisecond, 45)
		n.mtu = 65535
		p := DefaultParams()
		p.Tcp1323Opts = opts
		p.TcpWindowSize = 1 << 20
		pr := &pair{n: n, a: n.host(addrA, p, 46), b: n.host(addrB, p, 47)}
		pr.ln, _ = pr.b.p.Listen(netip.AddrPortFrom(addrB, 80), 5)
		pr.cli = pr.a.dialNB(t, netip.AddrPortFrom(addrB, 80))
		n.runUntil(func() bool { pr.srv = pr.ln.tryAccept(); return pr.srv != nil }, time.Second)
		data := testData(2<<20, 5)
		ok, p1, _ := transfer(t, pr, data, nil, time.Minute)
		if !ok || !bytes.Equal(p1.got, data) {
			t.Fatalf("Tcp1323Opts=%d: transfer failed", opts)
		}
		for _, w := range n.segs(nil) {
			if len(w.b) > 0xFFFF-60 {
				t.Fatalf("Tcp1323Opts=%d: %d-byte segment does not fit", opts, len(w.b))
			}
		}
	}
}
