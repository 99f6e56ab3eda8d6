package tcp

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

func testData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// transfer sends data both ways concurrently and closes; returns whether
// everything arrived.
func transfer(t testing.TB, pr *pair, ab, ba []byte, limit time.Duration) (bool, *pump, *pump) {
	p1 := &pump{w: pr.cli, r: pr.srv, src: ab, closeWr: true}
	p2 := &pump{w: pr.srv, r: pr.cli, src: ba, closeWr: true}
	ok := pr.n.runUntil(func() bool {
		p1.step()
		p2.step()
		return (p1.eof && p2.eof) || p1.err != nil || p2.err != nil
	}, limit)
	return ok && p1.err == nil && p2.err == nil, p1, p2
}

func TestHandshakeAndTransfer(t *testing.T) {
	pr := newPair(t, 5*time.Millisecond, DefaultParams(), DefaultParams(), 1)
	ab := testData(100_000, 2)
	ba := testData(30_000, 3)
	ok, p1, p2 := transfer(t, pr, ab, ba, 5*time.Minute)
	if !ok {
		t.Fatalf("transfer failed: %v %v", p1.err, p2.err)
	}
	if !bytes.Equal(p1.got, ab) || !bytes.Equal(p2.got, ba) {
		t.Fatalf("data mismatch: got %d/%d and %d/%d", len(p1.got), len(ab), len(p2.got), len(ba))
	}
	// Both closed: client (first closer... both) end up TIME-WAIT or CLOSED.
	pr.n.run(time.Second)
	for _, c := range []*Conn{pr.cli, pr.srv} {
		if s := c.State(); s != StateTimeWait && s != StateClosed {
			t.Errorf("state %v after both closed", s)
		}
	}
}

// SPEC: TCP-PMTU-1, TCP-WIN-1 — SYN carries MSS = MTU−40 and window 16384;
// the SYN-ACK and later segments offer 17,520 on Ethernet.
func TestSynOptionsAndWindow(t *testing.T) {
	pr := newPair(t, time.Millisecond, DefaultParams(), DefaultParams(), 4)
	syns := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return tc.SYN })
	if len(syns) != 2 {
		t.Fatalf("want SYN and SYN-ACK, got %d", len(syns))
	}
	for i, w := range syns {
		tc := w.tcp()
		var mss uint16
		for _, o := range tc.Options {
			if o.OptionType == layers.TCPOptionKindMSS {
				mss = uint16(o.OptionData[0])<<8 | uint16(o.OptionData[1])
			}
		}
		if mss != 1460 {
			t.Errorf("segment %d MSS %d, want 1460", i, mss)
		}
		if !w.df {
			t.Errorf("DF not set (TCP-PMTU-2)")
		}
	}
	if w := syns[0].tcp().Window; w != 16384 {
		t.Errorf("SYN window %d, want 16384", w)
	}
	if w := syns[1].tcp().Window; w != 17520 {
		t.Errorf("SYN-ACK window %d, want 17520", w)
	}
	// The client's ACK completing the handshake offers 17,520 too.
	acks := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return !tc.SYN && w.src == addrA })
	if len(acks) == 0 || acks[0].tcp().Window != 17520 {
		t.Fatalf("client window after handshake: %v", acks)
	}
}

// SPEC: TCP-WIN-2, AMB-6 — TcpWindowSize rounds up to an MSS multiple.
func TestWindowOverride(t *testing.T) {
	pb := DefaultParams()
	pb.TcpWindowSize = 8000
	pr := newPair(t, time.Millisecond, DefaultParams(), pb, 5)
	synack := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return tc.SYN && tc.ACK })[0].tcp()
	if synack.Window != 8760 { // 6 × 1460
		t.Errorf("SYN-ACK window %d, want 8760", synack.Window)
	}
}

// SPEC: TCP-RTX-1 — SYN to a silent host at 0, 3 s, 9 s; ETIMEDOUT at 21 s.
func TestSynRetransmitTrace(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	a := n.host(addrA, DefaultParams(), 1)
	c := a.dialNB(t, netip.AddrPortFrom(addrX, 80))
	var failedAt time.Duration
	n.runUntil(func() bool {
		if c.State() == StateClosed && failedAt == 0 {
			failedAt = n.now()
		}
		return failedAt != 0
	}, time.Minute)
	syns := n.segs(func(w wireSeg, tc *layers.TCP) bool { return tc.SYN })
	want := []time.Duration{0, 3 * time.Second, 9 * time.Second}
	if len(syns) != len(want) {
		n.dump(t)
		t.Fatalf("got %d SYNs, want %d", len(syns), len(want))
	}
	for i, w := range syns {
		if w.at != want[i] {
			t.Errorf("SYN %d at %v, want %v", i, w.at, want[i])
		}
	}
	if failedAt != 21*time.Second {
		t.Errorf("failed at %v, want 21s", failedAt)
	}
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("error %v, want ETIMEDOUT", err)
	}
	if s := a.p.Stats(); s.AttemptFails != 1 || s.ActiveOpens != 1 {
		t.Errorf("stats %+v", s)
	}
}

// Blocking Dial reports ETIMEDOUT (errors.Is with the errno).
func TestDialTimeoutBlocking(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	a := n.host(addrA, DefaultParams(), 1)
	errc := make(chan error, 1)
	go func() {
		_, err := a.p.Dial(netip.AddrPort{}, netip.AddrPortFrom(addrX, 80))
		errc <- err
	}()
	n.clk.BlockUntil(1)
	n.run(30 * time.Second)
	if err := <-errc; !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatalf("Dial: %v", err)
	}
}

// SPEC: TCP-RTX-3 — SYN-ACK retransmitted TcpMaxConnectResponseRetransmissions
// times, then the half-open connection is dropped.
func TestSynAckRetransmit(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	a := n.host(addrA, DefaultParams(), 1)
	b := n.host(addrB, DefaultParams(), 2)
	ln, _ := b.p.Listen(netip.AddrPortFrom(addrB, 80), 5)
	n.filter = func(w wireSeg) bool { return !(w.src == addrB) } // SYN-ACKs lost
	a.dialNB(t, netip.AddrPortFrom(addrB, 80))
	n.run(2 * time.Second)
	n.filter = func(w wireSeg) bool { return false } // client goes silent too
	n.run(40 * time.Second)
	sa := n.segs(func(w wireSeg, tc *layers.TCP) bool { return tc.SYN && tc.ACK })
	var at []time.Duration
	for _, w := range sa {
		at = append(at, w.at-sa[0].at)
	}
	want := []time.Duration{0, 3 * time.Second, 9 * time.Second}
	if len(at) != 3 || at[1] != want[1] || at[2] != want[2] {
		t.Fatalf("SYN-ACK times %v, want %v", at, want)
	}
	if len(b.p.Connections()) != 1 { // only the listener
		t.Fatalf("half-open not dropped: %v", b.p.Connections())
	}
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if ln.halfOpen != 0 {
		t.Fatalf("listener halfOpen %d", ln.halfOpen)
	}
}

// SPEC: TCP-RTX-2 — data retransmissions double from the RTO until
// TcpMaxDataRetransmissions, then abort with ETIMEDOUT.
func TestDataRetransmitTrace(t *testing.T) {
	pr := newPair(t, 50*time.Millisecond, DefaultParams(), DefaultParams(), 7)
	// Measure a few RTTs first so the RTO comes from SRTT.
	ok, _, _ := func() (bool, *pump, *pump) {
		p := &pump{w: pr.cli, r: pr.srv, src: testData(3000, 1)}
		ok := pr.n.runUntil(func() bool { p.step(); return len(p.got) == 3000 }, time.Minute)
		return ok, p, nil
	}()
	if !ok {
		t.Fatal("warm-up failed")
	}
	pr.n.run(time.Second)
	pr.cli.mu.Lock()
	rto := pr.cli.rto
	pr.cli.mu.Unlock()
	pr.n.clearTrace()
	pr.n.filter = func(w wireSeg) bool { return false } // the path dies
	start := pr.n.now()
	pr.cli.Write([]byte("hello"))
	var died time.Duration
	pr.n.runUntil(func() bool {
		if pr.cli.State() == StateClosed {
			died = pr.n.now()
			return true
		}
		return false
	}, 10*time.Minute)
	data := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrA && len(tc.Payload) > 0 })
	if len(data) != 6 {
		pr.n.dump(t)
		t.Fatalf("got %d data segments, want 1+5", len(data))
	}
	gap := rto
	for i := 1; i < len(data); i++ {
		if d := data[i].at - data[i-1].at; d != gap {
			t.Errorf("retransmission %d after %v, want %v", i, d, gap)
		}
		gap *= 2
	}
	if want := start + 63*rto; died != want {
		t.Errorf("aborted at %v, want %v (63 × RTO %v)", died, want, rto)
	}
	if _, err := pr.cli.Write([]byte("x")); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("write after abort: %v", err)
	}
}

// SPEC: TCP-ACK-1 — ACK every second segment, else after 200 ms.
func TestDelayedAck(t *testing.T) {
	pr := newPair(t, 10*time.Millisecond, DefaultParams(), DefaultParams(), 8)
	pr.cli.SetNoDelay(true)
	pr.n.run(time.Second)
	pr.n.clearTrace()
	// One small segment: ACKed after 200 ms.
	pr.cli.Write([]byte("a"))
	pr.n.run(time.Second)
	acks := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrB })
	data := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrA })
	if len(acks) != 1 || acks[0].at-data[0].at != 10*time.Millisecond+200*time.Millisecond {
		pr.n.dump(t)
		t.Fatalf("single segment: want one ACK 200 ms after arrival")
	}
	// Two full segments: ACKed at once on the second.
	pr.n.clearTrace()
	pr.cli.Write(testData(2*1460, 9))
	pr.n.run(time.Second)
	acks = pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrB })
	data = pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrA })
	if len(data) != 2 || len(acks) != 1 || acks[0].at != data[1].at+10*time.Millisecond {
		pr.n.dump(t)
		t.Fatalf("two segments: want one immediate ACK for the second")
	}
	if acks[0].tcp().Ack != data[1].tcp().Seq+1460 {
		t.Errorf("ACK does not cover both segments")
	}
}

// SPEC: TCP-NAGLE-1 — small writes wait for the outstanding one's ACK.
func TestNagleTelnet(t *testing.T) {
	pr := newPair(t, 50*time.Millisecond, DefaultParams(), DefaultParams(), 10)
	pr.n.run(time.Second)
	pr.n.clearTrace()
	for _, ch := range "abc" {
		pr.cli.Write([]byte(string(ch)))
		pr.n.run(10 * time.Millisecond)
	}
	pr.n.run(2 * time.Second)
	data := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrA && len(tc.Payload) > 0 })
	if len(data) != 2 || string(data[0].tcp().Payload) != "a" || string(data[1].tcp().Payload) != "bc" {
		pr.n.dump(t)
		t.Fatalf("want segments \"a\" then \"bc\"")
	}
	// The second goes when "a" is ACKed: delayed ACK 200 ms + 2 × 50 ms path.
	if d := data[1].at - data[0].at; d != 300*time.Millisecond {
		t.Errorf("coalesced segment after %v, want 300ms", d)
	}
	// With TCP_NODELAY each write goes at once.
	pr.n.clearTrace()
	pr.cli.SetNoDelay(true)
	for _, ch := range "xyz" {
		pr.cli.Write([]byte(string(ch)))
		pr.n.run(10 * time.Millisecond)
	}
	pr.n.run(time.Second)
	data = pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrA && len(tc.Payload) > 0 })
	if len(data) != 3 {
		t.Fatalf("NODELAY: %d segments, want 3", len(data))
	}
}

// SPEC: TCP-KA-1 — probes after KeepAliveTime idle, then every
// KeepAliveInterval; abort after TcpMaxDataRetransmissions unanswered.
func TestKeepalive(t *testing.T) {
	pr := newPair(t, 10*time.Millisecond, DefaultParams(), DefaultParams(), 11)
	pr.n.run(time.Second)
	pr.cli.SetKeepAlive(true)
	pr.n.clearTrace()
	start := pr.n.now()
	pr.n.run(2*time.Hour + time.Second)
	probes := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrA })
	if len(probes) != 1 {
		pr.n.dump(t)
		t.Fatalf("want 1 probe in the first 2 h, got %d", len(probes))
	}
	// Last segment received by the client was the handshake (~start−1 s).
	if p := probes[0].tcp(); len(p.Payload) != 0 || !p.ACK {
		t.Errorf("probe is not a bare ACK: %v", probes[0])
	}
	answers := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrB })
	if len(answers) != 1 {
		t.Fatalf("peer did not answer the probe")
	}
	// Peer silent now: probes every second, abort after 5.
	pr.n.clearTrace()
	pr.n.filter = func(w wireSeg) bool { return w.src != addrB }
	_ = start
	pr.n.run(3 * time.Hour)
	probes = pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrA && !tc.RST })
	if len(probes) != 5 {
		pr.n.dump(t)
		t.Fatalf("want 5 unanswered probes, got %d", len(probes))
	}
	for i := 2; i < len(probes); i++ {
		if d := probes[i].at - probes[i-1].at; d != time.Second {
			t.Errorf("probe interval %v", d)
		}
	}
	if pr.cli.State() != StateClosed {
		t.Errorf("connection survived unanswered probes: %v", pr.cli.State())
	}
	if _, err := pr.cli.Read(make([]byte, 1)); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("read: %v", err)
	}
}

// Closed port answers RST; Dial gets ECONNREFUSED.
func TestClosedPortRST(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	a := n.host(addrA, DefaultParams(), 1)
	b := n.host(addrB, DefaultParams(), 2)
	c := a.dialNB(t, netip.AddrPortFrom(addrB, 81))
	n.run(time.Second)
	rst := n.segs(func(w wireSeg, tc *layers.TCP) bool { return tc.RST })
	if len(rst) != 1 || !rst[0].tcp().ACK || rst[0].tcp().Ack != n.segs(nil)[0].tcp().Seq+1 {
		n.dump(t)
		t.Fatal("want RST|ACK acking the SYN")
	}
	if _, err := c.Read(nil); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("error %v, want ECONNREFUSED", err)
	}
	if b.p.Stats().OutRsts != 1 {
		t.Errorf("tcpOutRsts %d", b.p.Stats().OutRsts)
	}
}

// SPEC: TCP-TW-1 — TIME-WAIT lasts TcpTimedWaitDelay (240 s).
func TestTimeWait(t *testing.T) {
	pr := newPair(t, 10*time.Millisecond, DefaultParams(), DefaultParams(), 12)
	pr.cli.Close()
	var twAt time.Duration
	pr.n.runUntil(func() bool {
		pr.srv.mu.Lock()
		fin := pr.srv.finRcvd
		pr.srv.mu.Unlock()
		return fin
	}, time.Minute)
	pr.srv.Close()
	pr.n.runUntil(func() bool { return pr.cli.State() == StateTimeWait }, time.Minute)
	twAt = pr.n.now()
	if s := pr.srv.State(); s != StateLastAck && s != StateClosed {
		t.Fatalf("server %v", s)
	}
	pr.n.runUntil(func() bool { return pr.cli.State() == StateClosed }, 10*time.Minute)
	if d := pr.n.now() - twAt; d != 240*time.Second {
		t.Errorf("TIME-WAIT lasted %v, want 240s", d)
	}
	if pr.srv.State() != StateClosed {
		t.Errorf("server %v", pr.srv.State())
	}
}

// Simultaneous open (RFC 9293 figure 7).
func TestSimultaneousOpen(t *testing.T) {
	n := newFakeNet(10*time.Millisecond, 1)
	a := n.host(addrA, DefaultParams(), 1)
	b := n.host(addrB, DefaultParams(), 2)
	ca, err := a.p.startDial(netip.AddrPortFrom(addrA, 4000), netip.AddrPortFrom(addrB, 4001))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.p.startDial(netip.AddrPortFrom(addrB, 4001), netip.AddrPortFrom(addrA, 4000))
	if err != nil {
		t.Fatal(err)
	}
	if !n.runUntil(func() bool { return ca.State() == StateEstablished && cb.State() == StateEstablished }, time.Minute) {
		n.dump(t)
		t.Fatalf("states %v %v", ca.State(), cb.State())
	}
	pr := &pair{n: n, a: a, b: b, cli: ca, srv: cb}
	ab, ba := testData(5000, 1), testData(7000, 2)
	ok, p1, p2 := transfer(t, pr, ab, ba, time.Minute)
	if !ok || !bytes.Equal(p1.got, ab) || !bytes.Equal(p2.got, ba) {
		t.Fatal("transfer after simultaneous open failed")
	}
}

// Simultaneous close: both FIN-WAIT-1 → CLOSING → TIME-WAIT.
func TestSimultaneousClose(t *testing.T) {
	pr := newPair(t, 10*time.Millisecond, DefaultParams(), DefaultParams(), 13)
	pr.cli.CloseWrite()
	pr.srv.CloseWrite()
	pr.n.run(time.Second)
	if pr.cli.State() != StateTimeWait || pr.srv.State() != StateTimeWait {
		pr.n.dump(t)
		t.Fatalf("states %v %v, want TIME_WAIT both", pr.cli.State(), pr.srv.State())
	}
}

// Half-close both ways: data keeps flowing toward the side that shut
// down its sending direction.
func TestHalfClose(t *testing.T) {
	for _, dir := range []string{"client", "server"} {
		t.Run(dir, func(t *testing.T) {
			pr := newPair(t, 10*time.Millisecond, DefaultParams(), DefaultParams(), 14)
			closer, other := pr.cli, pr.srv
			if dir == "server" {
				closer, other = pr.srv, pr.cli
			}
			closer.CloseWrite()
			pr.n.run(time.Second)
			if n, err := other.Read(make([]byte, 10)); n != 0 || err == nil || err.Error() != "EOF" {
				t.Fatalf("read on other side: %d %v", n, err)
			}
			if _, err := closer.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("write after CloseWrite: %v", err)
			}
			data := testData(50_000, 3)
			p := &pump{w: other, r: closer, src: data, closeWr: true}
			if !pr.n.runUntil(func() bool { p.step(); return p.eof }, time.Minute) || !bytes.Equal(p.got, data) {
				t.Fatalf("data after half-close: %d/%d %v", len(p.got), len(data), p.err)
			}
		})
	}
}

// Close with unread data resets the peer (ECONNRESET).
func TestCloseWithUnreadDataResets(t *testing.T) {
	pr := newPair(t, 10*time.Millisecond, DefaultParams(), DefaultParams(), 15)
	pr.cli.Write([]byte("unread"))
	pr.n.run(time.Second)
	pr.srv.Close()
	pr.n.run(time.Second)
	if _, err := pr.cli.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read: %v", err)
	}
	if s := pr.a.p.Stats(); s.EstabResets != 1 {
		t.Errorf("tcpEstabResets %d", s.EstabResets)
	}
}

// Zero-window probing (persist timer) and resumption.
func TestZeroWindowProbe(t *testing.T) {
	pr := newPair(t, 10*time.Millisecond, DefaultParams(), DefaultParams(), 16)
	data := testData(100_000, 5)
	p := &pump{w: pr.cli, r: pr.srv, src: data}
	// Fill the receiver without reading: window closes at 17,520.
	pr.n.runUntil(func() bool {
		pr.cli.mu.Lock()
		room := pr.cli.sndCap - pr.cli.snd.len()
		pr.cli.mu.Unlock()
		if p.off < len(p.src) && room > 0 {
			n, _ := pr.cli.Write(p.src[p.off:min(p.off+room, len(p.src))])
			p.off += n
		}
		return false
	}, 30*time.Second)
	zw := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrB && tc.Window == 0 })
	if len(zw) == 0 {
		pr.n.dump(t)
		t.Fatal("receiver never advertised a zero window")
	}
	probes := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool {
		return w.src == addrA && len(tc.Payload) == 1 && w.at > zw[0].at
	})
	if len(probes) < 3 {
		t.Fatalf("only %d zero-window probes in 30 s", len(probes))
	}
	if probes[2].at-probes[1].at <= probes[1].at-probes[0].at {
		t.Errorf("probe interval does not back off: %v %v %v", probes[0].at, probes[1].at, probes[2].at)
	}
	if pr.cli.State() != StateEstablished {
		t.Fatalf("persisting sender gave up: %v", pr.cli.State())
	}
	// Reading reopens the window; everything arrives.
	p.closeWr = true
	if !pr.n.runUntil(func() bool { p.step(); return p.eof }, time.Minute) || !bytes.Equal(p.got, data) {
		t.Fatalf("after reopening: %d/%d %v", len(p.got), len(data), p.err)
	}
}

// Fast retransmit after TcpMaxDupAcks (2) duplicate ACKs (TCP-RTX-4, AMB-11).
func TestFastRetransmit(t *testing.T) {
	pr := newPair(t, 20*time.Millisecond, DefaultParams(), DefaultParams(), 17)
	// Open cwnd first.
	p := &pump{w: pr.cli, r: pr.srv, src: testData(60_000, 1)}
	pr.n.runUntil(func() bool { p.step(); return len(p.got) == 60_000 }, time.Minute)
	pr.n.run(time.Second)
	pr.n.clearTrace()
	dropped := false
	var lostSeq uint32
	pr.n.filter = func(w wireSeg) bool {
		if tc := w.tcp(); !dropped && w.src == addrA && len(tc.Payload) > 0 {
			dropped = true
			lostSeq = tc.Seq
			return false
		}
		return true
	}
	data := testData(8*1460, 2)
	pr.cli.Write(data)
	start := pr.n.now()
	var got []byte
	buf := make([]byte, 1<<16)
	pr.n.runUntil(func() bool {
		for {
			pr.srv.mu.Lock()
			r := pr.srv.rcv.len()
			pr.srv.mu.Unlock()
			if r == 0 {
				break
			}
			n, _ := pr.srv.Read(buf)
			got = append(got, buf[:n]...)
		}
		return len(got) == len(data)
	}, time.Minute)
	if !bytes.Equal(got, data) {
		t.Fatal("data mismatch")
	}
	re := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool {
		return w.src == addrA && tc.Seq == lostSeq && len(tc.Payload) > 0
	})
	if len(re) != 2 {
		t.Fatalf("lost segment sent %d times", len(re))
	}
	if re[1].at-start > 200*time.Millisecond {
		t.Errorf("retransmitted at %v: not fast", re[1].at-start)
	}
}

// EADDRINUSE for a duplicate listener and an existing 4-tuple.
func TestAddrInUse(t *testing.T) {
	pr := newPair(t, time.Millisecond, DefaultParams(), DefaultParams(), 18)
	if _, err := pr.b.p.Listen(netip.AddrPortFrom(addrB, 80), 5); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second listener: %v", err)
	}
	if _, err := pr.a.p.startDial(pr.cli.id.local, pr.cli.id.remote); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("duplicate tuple: %v", err)
	}
	if _, err := pr.a.p.Listen(netip.AddrPortFrom(addrB, 80), 5); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Errorf("foreign address: %v", err)
	}
}

// SPEC: TCP-PORT-1 — ephemeral ports 1024..MaxUserPort.
func TestEphemeralPorts(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	pa := DefaultParams()
	a := n.host(addrA, pa, 1)
	seen := map[uint16]bool{}
	for i := 0; i < 3977; i++ {
		c, err := a.p.startDial(netip.AddrPort{}, netip.AddrPortFrom(addrX, 80))
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		port := c.id.local.Port()
		if port < 1024 || port > 5000 || seen[port] {
			t.Fatalf("port %d", port)
		}
		seen[port] = true
	}
	if _, err := a.p.startDial(netip.AddrPort{}, netip.AddrPortFrom(addrX, 80)); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("exhausted: %v", err)
	}
}

// Listen backlog: beyond it, SYNs are refused with RST (WS-2).
func TestBacklog(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	a := n.host(addrA, DefaultParams(), 1)
	b := n.host(addrB, DefaultParams(), 2)
	if _, err := b.p.Listen(netip.AddrPortFrom(addrB, 80), 2); err != nil {
		t.Fatal(err)
	}
	var cs []*Conn
	for i := 0; i < 3; i++ {
		cs = append(cs, a.dialNB(t, netip.AddrPortFrom(addrB, 80)))
	}
	n.run(time.Second)
	if cs[0].State() != StateEstablished || cs[1].State() != StateEstablished {
		t.Fatalf("first two: %v %v", cs[0].State(), cs[1].State())
	}
	if _, err := cs[2].Read(nil); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("third: %v %v", cs[2].State(), err)
	}
	if b.p.Stats().BacklogDrops != 1 {
		t.Errorf("listen drops %d", b.p.Stats().BacklogDrops)
	}
}

// Stats and Connections for netstat.
func TestStatsAndConnections(t *testing.T) {
	pr := newPair(t, time.Millisecond, DefaultParams(), DefaultParams(), 19)
	s := pr.b.p.Stats()
	if s.PassiveOpens != 1 || s.CurrEstab != 1 || s.InSegs < 2 {
		t.Errorf("server stats %+v", s)
	}
	if s := pr.a.p.Stats(); s.ActiveOpens != 1 || s.CurrEstab != 1 || s.OutSegs < 2 {
		t.Errorf("client stats %+v", s)
	}
	ci := pr.b.p.Connections()
	if len(ci) != 2 {
		t.Fatalf("connections %v", ci)
	}
	m := pr.b.p.StatsMap()
	if m["tcpPassiveOpens"] != 1 {
		t.Errorf("StatsMap %v", m)
	}
	for _, c := range ci {
		if c.State != StateListen && (c.State != StateEstablished || c.Remote != pr.cli.id.local) {
			t.Errorf("unexpected %+v", c)
		}
	}
	if pr.cli.LocalAddr().String() != pr.cli.id.local.String() || pr.cli.RemoteAddr().Network() != "tcp" {
		t.Errorf("addresses %v %v", pr.cli.LocalAddr(), pr.cli.RemoteAddr())
	}
}
