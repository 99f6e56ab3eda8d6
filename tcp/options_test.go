package tcp

import (
	"bytes"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

func optKinds(tc *layers.TCP) []layers.TCPOptionKind {
	var k []layers.TCPOptionKind
	for _, o := range tc.Options {
		k = append(k, o.OptionType)
	}
	return k
}

func findOpt(tc *layers.TCP, kind layers.TCPOptionKind) *layers.TCPOption {
	for i := range tc.Options {
		if tc.Options[i].OptionType == kind {
			return &tc.Options[i]
		}
	}
	return nil
}

// SPEC: TCP-SACK-1, AMB-7 — by default the SYN offers MSS and
// SACK-permitted only; window scaling and timestamps are not initiated.
func TestDefaultSynOptions(t *testing.T) {
	pr := newPair(t, time.Millisecond, DefaultParams(), DefaultParams(), 30)
	syn := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return tc.SYN && !tc.ACK })[0].tcp()
	if findOpt(syn, layers.TCPOptionKindWindowScale) != nil || findOpt(syn, layers.TCPOptionKindTimestamps) != nil {
		t.Errorf("default SYN initiates RFC 1323: %v", optKinds(syn))
	}
	if findOpt(syn, layers.TCPOptionKindSACKPermitted) == nil {
		t.Errorf("default SYN lacks SACK-permitted: %v", optKinds(syn))
	}
	if !pr.cli.sackOK || pr.cli.tsOK || pr.cli.wsOK {
		t.Errorf("negotiated sack=%v ts=%v ws=%v", pr.cli.sackOK, pr.cli.tsOK, pr.cli.wsOK)
	}
}

// SPEC: TCP-WIN-3, TCP-WIN-4, TCP-SACK-1 — with Tcp1323Opts=3 and a
// 256 KiB TcpWindowSize the SYN looks like the whitepaper's W2K trace
// (MSS, NOP, WS, NOP, NOP, TS, NOP, NOP, SACK-permitted); windows are
// scaled after the handshake, and the data segments carry timestamps.
func TestWindowScalingAndTimestamps(t *testing.T) {
	p := DefaultParams()
	p.Tcp1323Opts = 3
	p.TcpWindowSize = 256 << 10
	pb := DefaultParams() // accepts when offered (AMB-7)
	pb.TcpWindowSize = 256 << 10
	pr := newPair(t, 20*time.Millisecond, p, pb, 31)
	syns := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return tc.SYN })
	syn, synack := syns[0].tcp(), syns[1].tcp()
	want := []layers.TCPOptionKind{2, 1, 3, 1, 1, 8, 1, 1, 4}
	if got := optKinds(syn); len(got) != len(want) {
		t.Fatalf("SYN options %v, want %v", got, want)
	} else {
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("SYN options %v, want %v", got, want)
			}
		}
	}
	if ws := findOpt(syn, layers.TCPOptionKindWindowScale); ws.OptionData[0] != 3 {
		t.Errorf("shift %d, want 3 for 256 KiB (65535 << 2 is 4 bytes short)", ws.OptionData[0])
	}
	if findOpt(synack, layers.TCPOptionKindWindowScale) == nil || findOpt(synack, layers.TCPOptionKindTimestamps) == nil {
		t.Errorf("SYN-ACK does not echo WS/TS: %v", optKinds(synack))
	}
	if syn.Window != 0xFFFF && syn.Window != 16384 {
		t.Errorf("SYN window %d is scaled?", syn.Window)
	}
	if !pr.cli.wsOK || !pr.cli.tsOK || !pr.srv.wsOK || !pr.srv.tsOK {
		t.Fatal("RFC 1323 not negotiated")
	}
	if pr.cli.sndMSS != 1460-12 {
		t.Errorf("MSS with timestamps %d, want 1448", pr.cli.sndMSS)
	}
	if pr.srv.rcvCap <= 0xFFFF {
		t.Errorf("receive buffer %d not above 64 KiB", pr.srv.rcvCap)
	}
	// Bulk transfer: more than 64 KiB in flight at once.
	pr.n.clearTrace()
	data := testData(1<<20, 1)
	pp := &pump{w: pr.cli, r: pr.srv, src: data}
	pr.cli.SetWriteBuffer(1 << 20)
	pr.n.runUntil(func() bool { pp.step(); return len(pp.got) == len(data) }, time.Minute)
	if !bytes.Equal(pp.got, data) {
		t.Fatal("data mismatch")
	}
	pr.cli.mu.Lock()
	maxWnd := pr.cli.maxSndWnd
	pr.cli.mu.Unlock()
	if maxWnd <= 0xFFFF {
		t.Errorf("peer window never exceeded 64 KiB: %d", maxWnd)
	}
	for _, w := range pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return !tc.RST }) {
		if findOpt(w.tcp(), layers.TCPOptionKindTimestamps) == nil {
			t.Fatalf("segment without timestamps: %v", w)
		}
	}
}

// SPEC: TCP-SACK-1 — several losses in one window are repaired from the
// SACK holes without waiting for the retransmission timer.
func TestSACKRecovery(t *testing.T) {
	pr := newPair(t, 20*time.Millisecond, DefaultParams(), DefaultParams(), 32)
	warm := &pump{w: pr.cli, r: pr.srv, src: testData(100_000, 1)}
	pr.n.runUntil(func() bool { warm.step(); return len(warm.got) == 100_000 }, time.Minute)
	pr.n.run(time.Second)
	pr.n.clearTrace()
	k := 0
	pr.n.filter = func(w wireSeg) bool {
		if w.src == addrA && len(w.tcp().Payload) > 0 {
			k++
			return k != 2 && k != 4 && k != 6 // three holes
		}
		return true
	}
	data := testData(10*1460, 2)
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
	if d := pr.n.now() - start; d > 400*time.Millisecond {
		pr.n.dump(t)
		t.Errorf("recovery took %v: RTO used instead of SACK", d)
	}
	sacks := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool {
		return w.src == addrB && findOpt(tc, layers.TCPOptionKindSACK) != nil
	})
	if len(sacks) == 0 {
		t.Error("receiver sent no SACK blocks")
	}
	if re := pr.a.p.Stats().RetransSegs; re != 3 {
		t.Errorf("%d retransmissions, want exactly the 3 holes", re)
	}
}
