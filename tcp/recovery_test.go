package tcp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/wire"
)

// lose3 drops the 2nd, 4th and 6th data segments from A.
func lose3(pr *pair) {
	k := 0
	pr.n.filter = func(w wireSeg) bool {
		if w.src == addrA && len(w.tcp().Payload) > 0 {
			k++
			return k != 2 && k != 4 && k != 6
		}
		return true
	}
}

func sendAndRead(t *testing.T, pr *pair, data []byte) {
	t.Helper()
	pr.cli.Write(data)
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
		t.Fatalf("data mismatch: %d/%d", len(got), len(data))
	}
}

// RFC 6582 NewReno: without SACK, three losses in one window are repaired
// by one fast retransmit and two partial-ACK retransmissions, one hole per
// round trip, with no retransmission timeout.
// SPEC: TCP-RTX-4
func TestNewRenoPartialAcks(t *testing.T) {
	p := DefaultParams()
	p.SackOpts = false
	pr := newPair(t, 20*time.Millisecond, p, p, 50)
	warm := &pump{w: pr.cli, r: pr.srv, src: testData(100_000, 1)}
	pr.n.runUntil(func() bool { warm.step(); return len(warm.got) == 100_000 }, time.Minute)
	pr.n.run(time.Second)
	before := pr.a.p.Stats()
	lose3(pr)
	sendAndRead(t, pr, testData(10*1460, 2))
	s := pr.a.p.Stats()
	if re := s.RetransSegs - before.RetransSegs; re != 3 {
		pr.n.dump(t)
		t.Errorf("%d retransmissions, want the 3 holes", re)
	}
	if s.Timeouts != before.Timeouts || s.FastRetrans-before.FastRetrans != 1 {
		t.Errorf("timeouts %d, recoveries %d: want one fast recovery, no RTO",
			s.Timeouts-before.Timeouts, s.FastRetrans-before.FastRetrans)
	}
}

// RFC 2883 D-SACK: data received twice is reported as the first SACK
// block of the next ACK, and the sender counts it (a spurious
// retransmission).
func TestDSACK(t *testing.T) {
	pr := newPair(t, 5*time.Millisecond, DefaultParams(), DefaultParams(), 51)
	pp := &pump{w: pr.cli, r: pr.srv, src: []byte("0123456789")}
	pr.n.runUntil(func() bool { pp.step(); return len(pp.got) == 10 }, time.Second)
	pr.n.run(time.Second)
	pr.cli.mu.Lock()
	una := pr.cli.sndUna
	pr.cli.mu.Unlock()
	pr.n.clearTrace()
	// The client "retransmits" bytes the server already has.
	pr.srv.mu.Lock()
	srvNxt := pr.srv.sndNxt
	pr.srv.mu.Unlock()
	inject(pr, wire.ACK|wire.PSH, una-10, srvNxt, []byte("0123456789"))
	pr.n.run(100 * time.Millisecond)
	acks := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrB })
	if len(acks) != 1 {
		t.Fatalf("%d answers, want one ACK", len(acks))
	}
	o := findOpt(acks[0].tcp(), layers.TCPOptionKindSACK)
	if o == nil || len(o.OptionData) != 8 {
		t.Fatalf("ACK has no single D-SACK block: %v", optKinds(acks[0].tcp()))
	}
	start := uint32(o.OptionData[0])<<24 | uint32(o.OptionData[1])<<16 | uint32(o.OptionData[2])<<8 | uint32(o.OptionData[3])
	if start != una-10 {
		t.Errorf("D-SACK starts at %d, want %d", start, una-10)
	}
	if got := pr.a.p.Stats().DSACKsIn; got != 1 {
		t.Errorf("sender counted %d D-SACKs, want 1", got)
	}
	if got := pr.b.p.Stats().DupSegsIn; got != 1 {
		t.Errorf("receiver counted %d duplicates, want 1", got)
	}
}

// A retransmission lost again is found from later SACKs (data sent after
// it arrived, it did not) and resent without waiting for the RTO.
// (It needs a receive window with room beyond the hole for new data.)
func TestLostRetransmission(t *testing.T) {
	p := DefaultParams()
	p.Tcp1323Opts = 3
	p.TcpWindowSize = 256 << 10
	pr := newPair(t, 20*time.Millisecond, p, p, 52)
	warm := &pump{w: pr.cli, r: pr.srv, src: testData(200_000, 1)}
	pr.n.runUntil(func() bool { warm.step(); return len(warm.got) == 200_000 }, time.Minute)
	pr.n.run(time.Second)
	before := pr.a.p.Stats()
	k := 0
	var lostSeq uint32
	copies := 0
	pr.n.filter = func(w wireSeg) bool {
		tc := w.tcp()
		if w.src != addrA || len(tc.Payload) == 0 {
			return true
		}
		k++
		if k == 2 {
			lostSeq = tc.Seq
		}
		if tc.Seq == lostSeq && k >= 2 {
			copies++
			return copies > 2 // the original and the first retransmission
		}
		return true
	}
	pr.cli.SetWriteBuffer(1 << 20)
	pr.n.clearTrace()
	sendAndRead(t, pr, testData(400*1448, 3))
	s := pr.a.p.Stats()
	if s.Timeouts != before.Timeouts {
		dumpRel(t, pr.n, lostSeq)
		t.Errorf("%d RTOs: the lost retransmission waited for the timer", s.Timeouts-before.Timeouts)
	}
	if s.LostRetrans-before.LostRetrans != 1 || copies != 3 {
		t.Errorf("lost retransmissions detected %d, copies sent %d", s.LostRetrans-before.LostRetrans, copies)
	}
}

// dumpRel logs the trace with sequence numbers relative to base and the
// SACK blocks decoded.
func dumpRel(t *testing.T, n *fakeNet, base uint32) {
	for _, w := range n.segs(nil) {
		tc := w.tcp()
		s := ""
		if o := findOpt(tc, layers.TCPOptionKindSACK); o != nil {
			for i := 0; i+8 <= len(o.OptionData); i += 8 {
				s += fmt.Sprintf(" [%d,%d)", binary.BigEndian.Uint32(o.OptionData[i:])-base, binary.BigEndian.Uint32(o.OptionData[i+4:])-base)
			}
		}
		if w.src == addrA {
			t.Logf("%v A seq=%d len=%d", w.at, tc.Seq-base, len(tc.Payload))
		} else {
			t.Logf("%v B ack=%d%s", w.at, tc.Ack-base, s)
		}
	}
}
