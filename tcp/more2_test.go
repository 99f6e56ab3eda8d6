package tcp

import (
	"errors"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// SPEC: TCP-URG-1 — the urgent pointer follows TcpUseRFC1122UrgentPointer
// on both ends: BSD points after the last urgent byte, RFC 1122 at it.
func TestUrgentPointer(t *testing.T) {
	for _, rfc := range []bool{false, true} {
		p := DefaultParams()
		p.TcpUseRFC1122UrgentPointer = rfc
		pr := newPair(t, time.Millisecond, p, p, 24)
		pr.n.clearTrace()
		pr.cli.Write([]byte("abc"))
		pr.cli.WriteUrgent([]byte("!"))
		pr.n.run(time.Second)
		var up uint16
		var seg *layers.TCP
		for _, w := range pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrA && tc.URG }) {
			seg = w.tcp()
			up = seg.Urgent
		}
		if seg == nil {
			pr.n.dump(t)
			t.Fatal("no URG segment")
		}
		// Urgent byte "!" is the 4th byte of the stream.
		want := uint16(4) - uint16(seg.Seq-pr.cli.iss-1)
		if rfc {
			want--
		}
		if up != want {
			t.Errorf("rfc1122=%v: urgent pointer %d, want %d", rfc, up, want)
		}
		if n, ok := pr.srv.UrgentMark(); !ok || n != 4 {
			t.Errorf("rfc1122=%v: receiver mark %d %v, want 4", rfc, n, ok)
		}
	}
}

// SPEC: TCP-CC-1 — slow start begins with two segments.
func TestInitialWindowTwoSegments(t *testing.T) {
	pr := newPair(t, 50*time.Millisecond, DefaultParams(), DefaultParams(), 25)
	pr.n.clearTrace()
	pr.cli.Write(testData(20*1460, 1))
	pr.n.run(60 * time.Millisecond)
	first := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrA && len(tc.Payload) > 0 })
	if len(first) != 2 {
		t.Fatalf("first flight %d segments, want 2", len(first))
	}
	pr.n.run(100 * time.Millisecond) // one ACK for both: cwnd 3
	second := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrA && len(tc.Payload) > 0 })
	if len(second)-len(first) != 3 {
		t.Fatalf("second flight %d segments, want 3", len(second)-len(first))
	}
}

// SPEC: TCP-RTX-2 — RTO from RFC 6298 SRTT/RTTVAR (floor 500 ms), and
// Karn: a retransmitted segment gives no RTT sample.
func TestRTOFromRTT(t *testing.T) {
	pr := newPair(t, 400*time.Millisecond, DefaultParams(), DefaultParams(), 26)
	pr.cli.mu.Lock()
	srtt, rto := pr.cli.srtt, pr.cli.rto
	pr.cli.mu.Unlock()
	// Handshake RTT 800 ms: SRTT 800 ms, RTTVAR 400 ms, RTO 2.4 s.
	if srtt != 800*time.Millisecond || rto != 2400*time.Millisecond {
		t.Fatalf("srtt %v rto %v, want 800ms 2.4s", srtt, rto)
	}
	// Lose the first transmission: the ACK of the retransmission must not
	// be taken as a 0.4 s... sample.
	n := 0
	pr.n.filter = func(w wireSeg) bool {
		if w.src == addrA && len(w.tcp().Payload) > 0 {
			n++
			return n > 1
		}
		return true
	}
	pr.cli.Write([]byte("x"))
	pr.n.run(10 * time.Second)
	pr.cli.mu.Lock()
	defer pr.cli.mu.Unlock()
	if pr.cli.srtt != 800*time.Millisecond {
		t.Errorf("srtt changed to %v by a retransmitted segment", pr.cli.srtt)
	}
	if pr.cli.rto != 2400*time.Millisecond {
		t.Errorf("rto %v not restored after ACKs resumed", pr.cli.rto)
	}
}

type dgdNet struct {
	*fakeHost
	mu   sync.Mutex
	dead []netip.Addr
	at   []time.Duration
}

func (d *dgdNet) DeadGateway(dst netip.Addr) {
	d.mu.Lock()
	d.dead = append(d.dead, dst)
	d.at = append(d.at, d.n.now())
	d.mu.Unlock()
}

// SPEC: TCP-DGD-2, AMB-9 — a connection reports its route after the 3rd
// of 5 retransmissions.
func TestDeadGatewayReport(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	h := &fakeHost{n: n, addr: addrA}
	d := &dgdNet{fakeHost: h}
	h.p = New(d, Options{Params: DefaultParams(), Seed: 1})
	n.hosts[addrA] = h
	b := n.host(addrB, DefaultParams(), 2)
	ln, _ := b.p.Listen(netip.AddrPortFrom(addrB, 80), 5)
	c := h.dialNB(t, netip.AddrPortFrom(addrB, 80))
	n.run(time.Second)
	ln.tryAccept()
	n.filter = func(wireSeg) bool { return false }
	start := n.now()
	c.Write([]byte("x"))
	n.run(5 * time.Minute)
	if len(d.dead) != 1 || d.dead[0] != addrB {
		t.Fatalf("reports %v", d.dead)
	}
	// RTO 500 ms: retransmissions at 0.5, 1.5, 3.5 s; report at the 3rd.
	if got := d.at[0] - start; got != 3500*time.Millisecond {
		t.Errorf("reported at %v, want 3.5s", got)
	}
}

// SPEC: TCP-PMTU-4, AMB-8 — with EnablePMTUBHDetect, after two
// retransmissions the segment goes without DF; once ACKed, MSS 536 + DF.
func TestBlackHoleDetection(t *testing.T) {
	p := DefaultParams()
	p.EnablePMTUBHDetect = true
	pr := newPair(t, time.Millisecond, p, DefaultParams(), 27)
	// A router that drops big DF packets silently.
	pr.n.filter = func(w wireSeg) bool { return !(w.df && len(w.b) > 600) }
	data := testData(5000, 1)
	pp := &pump{w: pr.cli, r: pr.srv, src: data}
	if !pr.n.runUntil(func() bool { pp.step(); return len(pp.got) == len(data) }, 5*time.Minute) {
		pr.n.dump(t)
		t.Fatalf("stuck behind the black hole: %d/%d", len(pp.got), len(data))
	}
	if m := pr.cli.MSS(); m != 536 {
		t.Errorf("MSS %d, want 536", m)
	}
	pr.cli.mu.Lock()
	df := pr.cli.df
	pr.cli.mu.Unlock()
	if !df {
		t.Error("DF not restored")
	}
}

// SPEC: SEC-2, SEC-3, AMB-17 — once TcpMaxHalfOpen SYN-RCVD connections
// exist, new half-open connections get one SYN-ACK retransmission.
func TestSynAttackProtect(t *testing.T) {
	for _, level := range []int{0, 1} {
		n := newFakeNet(time.Millisecond, 1)
		a := n.host(addrA, DefaultParams(), 1)
		pb := DefaultParams()
		pb.SynAttackProtect = level
		pb.TcpMaxHalfOpen = 3
		b := n.host(addrB, pb, 2)
		b.p.Listen(netip.AddrPortFrom(addrB, 80), 100)
		n.filter = func(w wireSeg) bool { return w.src == addrA && w.tcp().SYN } // spoofed SYNs: no ACK ever
		for i := 0; i < 4; i++ {
			a.dialNB(t, netip.AddrPortFrom(addrB, 80))
		}
		n.run(time.Second)
		n.filter = func(w wireSeg) bool { return false }
		n.run(time.Minute)
		synacks := n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrB && tc.SYN })
		want := 4 * 3 // each: SYN-ACK + 2 retransmissions
		if level == 1 {
			want = 4 * 2 // triggered: one retransmission each
		}
		if len(synacks) != want {
			t.Errorf("SynAttackProtect=%d: %d SYN-ACKs, want %d", level, len(synacks), want)
		}
		if c := b.p.Connections(); len(c) != 1 {
			t.Errorf("half-open left: %v", c)
		}
	}
}

// SPEC: TCP-ACK-1 — TcpDelAckTicks = 0 ACKs every segment at once.
func TestNoDelayedAck(t *testing.T) {
	pb := DefaultParams()
	pb.TcpDelAckTicks = 0
	pr := newPair(t, 10*time.Millisecond, DefaultParams(), pb, 28)
	pr.cli.SetNoDelay(true)
	pr.n.clearTrace()
	pr.cli.Write([]byte("a"))
	pr.n.run(time.Second)
	acks := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrB })
	if len(acks) != 1 || acks[0].at != 10*time.Millisecond+pr.n.segs(nil)[0].at {
		pr.n.dump(t)
		t.Fatal("want an immediate ACK")
	}
}

// SetLinger(n > 0): Close waits up to n seconds for the data's ACK.
func TestLingerTimeout(t *testing.T) {
	pr := newPair(t, 10*time.Millisecond, DefaultParams(), DefaultParams(), 29)
	pr.n.filter = func(wireSeg) bool { return false }
	pr.cli.Write([]byte("stuck"))
	pr.cli.SetLinger(5)
	start := pr.n.now()
	pending := pr.n.clk.Pending()
	done := make(chan time.Duration, 1)
	go func() {
		pr.cli.Close()
		done <- pr.n.now()
	}()
	pr.n.clk.BlockUntil(pending + 1) // Close armed its linger timer
	for {
		select {
		case at := <-done:
			// 5 s exactly, unless the stepper ran the next timer (the
			// 7.5 s retransmission) before this goroutine read the clock.
			if d := at - start; d < 5*time.Second || d >= 7500*time.Millisecond {
				t.Fatalf("Close returned after %v, want 5s", d)
			}
			return
		default:
			if pr.n.now()-start > time.Minute {
				t.Fatal("Close did not return")
			}
			pr.n.clk.Step()
			time.Sleep(time.Millisecond) // let Close notice
		}
	}
}

// Protocol.Close resets connections and refuses new sockets.
func TestProtocolClose(t *testing.T) {
	pr := newPair(t, time.Millisecond, DefaultParams(), DefaultParams(), 33)
	pr.a.p.Close()
	pr.n.run(time.Second)
	if pr.cli.State() != StateClosed || pr.srv.State() != StateClosed {
		t.Fatalf("states %v %v", pr.cli.State(), pr.srv.State())
	}
	if _, err := pr.a.p.Dial(netip.AddrPort{}, netip.AddrPortFrom(addrB, 80)); !errors.Is(err, syscall.ECONNABORTED) {
		t.Fatalf("dial after close: %v", err)
	}
	if _, err := pr.a.p.Listen(netip.AddrPort{}, 1); !errors.Is(err, syscall.ECONNABORTED) {
		t.Fatalf("listen after close: %v", err)
	}
	if len(pr.a.p.Connections()) != 0 {
		t.Fatalf("connections left: %v", pr.a.p.Connections())
	}
}
