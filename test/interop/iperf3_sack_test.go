package interop

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Issue 4, interop: RFC 7323 and RFC 2018 against the Linux kernel's
// TCP, seen by tcpdump on the kernel side of the TAP and decoded with
// gopacket, under 2 % loss and reordering on Stapel's side (--faults,
// seeded) and 2 % random drops on Linux's (iptables statistic); and the
// retransmission counters of the same transfer with SACK off.

// iperfFaults impairs Stapel's interface both ways.
const iperfFaults = "lan0:loss=0.02,reorder=0.02,seed=11"

// lossySize is what Stapel sends through the impaired path (bounded so
// each run stays well under 30 s).
const lossySize = "4M"

// lossyRun is one impaired environment: Stapel sends lossySize to
// Linux's iperf3 server (and, if fromLinux, Linux's iperf3 client sends
// to Stapel's server), all captured.
type lossyRun struct {
	report    string
	elapsed   time.Duration
	retrBytes uint64 // tcpRetransBytes during Stapel's send
	retrSegs  uint64 // tcpRetransSegs
	fastRetr  uint64 // tcpFastRetrans
	timeouts  uint64 // tcpTimeouts
	dsacks    uint64 // tcpDSACKRecv: retransmissions the peer reported as duplicates
	pkts      []gopacket.Packet
}

func runLossy(t *testing.T, sack, fromLinux bool) lossyRun {
	t.Helper()
	var lr lossyRun
	e := startIperf(t, sack, 90*time.Second, "--faults", iperfFaults)
	e.impairLinux(t, 0.02)
	c := e.StartCapture(t, "tcp port 5201")
	e.linuxIperfServer(t)
	before := e.tcpCounters(t)
	start := time.Now()
	rep := e.stapelIperf3(t, 30*time.Second, "-c", linuxIP, "-n", lossySize)
	el := time.Since(start)
	after := e.tcpCounters(t)
	lr.retrBytes = after["tcpRetransBytes"] - before["tcpRetransBytes"]
	lr.retrSegs = after["tcpRetransSegs"] - before["tcpRetransSegs"]
	lr.fastRetr = after["tcpFastRetrans"] - before["tcpFastRetrans"]
	lr.timeouts = after["tcpTimeouts"] - before["tcpTimeouts"]
	lr.dsacks = after["tcpDSACKRecv"] - before["tcpDSACKRecv"]
	lr.elapsed = el
	var diffs []string
	for k, v := range after {
		if strings.HasPrefix(k, "tcp") && v != before[k] {
			diffs = append(diffs, fmt.Sprintf("%s+%d", k, v-before[k]))
		}
	}
	sort.Strings(diffs)
	t.Logf("SackOpts=%v counters: %s", sack, strings.Join(diffs, " "))
	lr.report = fmt.Sprintf("SackOpts=%v: Stapel sent %d B in %v (%s), Linux received %d B; tcpRetransBytes +%d, tcpRetransSegs +%d, tcpFastRetrans +%d, tcpTimeouts +%d",
		sack, rep.SentBytes, el.Round(time.Millisecond), mbit(rep.SenderBitsPerSecond()), rep.ReceivedBytes, lr.retrBytes, lr.retrSegs, lr.fastRetr, lr.timeouts)
	t.Log(lr.report)
	if rep.ReceivedBytes == 0 || rep.SentBytes < 4<<20 {
		t.Errorf("SackOpts=%v: transfer incomplete: %+v", sack, rep)
	}
	if fromLinux {
		e.stapelIperfServer(t)
		j := e.linuxIperf3(t, 30*time.Second, "-c", stapelIP, "-n", "2M")
		t.Logf("SackOpts=%v: Linux sent %d B to Stapel (%s, %d retransmits), Stapel received %d B",
			sack, j.End.SumSent.Bytes, mbit(j.End.SumSent.BitsPerSecond), j.End.SumSent.Retransmits, j.End.SumReceived.Bytes)
		if j.End.SumReceived.Bytes == 0 {
			t.Errorf("Linux -> Stapel: nothing received")
		}
	}
	t.Logf("iptables:\n%s", e.iptablesDrops(t))
	lr.pkts = c.Stop(t)
	return lr
}

// synOpts is what a SYN or SYN-ACK offered.
type synOpts struct {
	seen, ts, sackOK bool
	wscale           int // -1 = absent
	mss              int
}

func (s synOpts) String() string {
	return fmt.Sprintf("mss=%d wscale=%d ts=%v sackOK=%v", s.mss, s.wscale, s.ts, s.sackOK)
}

// wireView sums up a capture: the handshakes' options, SACK blocks per
// sender, and whether Stapel's scaled windows exceed 64 KiB.
type wireView struct {
	stapelSYN, linuxSYNACK, linuxSYN, stapelSYNACK synOpts
	sackFromLinux, sackFromStapel                  int // SACK blocks seen
	dsackFromLinux                                 int // of them, D-SACKs
	badSACK                                        []string
	noTS                                           int // established segments without timestamps
	maxStapelWindow                                int // raw window << 5
}

func decodeWire(t *testing.T, pkts []gopacket.Packet) wireView {
	t.Helper()
	v := wireView{}
	for _, p := range pkts {
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil {
			continue
		}
		fromStapel := ip.SrcIP.String() == stapelIP
		o := synOpts{seen: true, wscale: -1}
		var blocks [][2]uint32
		for _, opt := range tcp.Options {
			switch opt.OptionType {
			case layers.TCPOptionKindMSS:
				if len(opt.OptionData) == 2 {
					o.mss = int(opt.OptionData[0])<<8 | int(opt.OptionData[1])
				}
			case layers.TCPOptionKindWindowScale:
				if len(opt.OptionData) == 1 {
					o.wscale = int(opt.OptionData[0])
				}
			case layers.TCPOptionKindTimestamps:
				o.ts = len(opt.OptionData) == 8
			case layers.TCPOptionKindSACKPermitted:
				o.sackOK = true
			case layers.TCPOptionKindSACK:
				d := opt.OptionData
				if len(d)%8 != 0 || len(d) == 0 || len(d) > 32 {
					v.badSACK = append(v.badSACK, fmt.Sprintf("SACK option of %d bytes", len(d)))
					continue
				}
				for i := 0; i+8 <= len(d); i += 8 {
					l := uint32(d[i])<<24 | uint32(d[i+1])<<16 | uint32(d[i+2])<<8 | uint32(d[i+3])
					r := uint32(d[i+4])<<24 | uint32(d[i+5])<<16 | uint32(d[i+6])<<8 | uint32(d[i+7])
					blocks = append(blocks, [2]uint32{l, r})
				}
			}
		}
		switch {
		case tcp.SYN && !tcp.ACK && fromStapel:
			v.stapelSYN = o
		case tcp.SYN && !tcp.ACK:
			v.linuxSYN = o
		case tcp.SYN && fromStapel:
			v.stapelSYNACK = o
		case tcp.SYN:
			v.linuxSYNACK = o
		}
		if !tcp.SYN && !tcp.RST && !o.ts {
			v.noTS++
		}
		if fromStapel && !tcp.SYN && int(tcp.Window)<<5 > v.maxStapelWindow {
			v.maxStapelWindow = int(tcp.Window) << 5
		}
		for i, b := range blocks {
			// A sane non-empty range; above the cumulative ACK, except a
			// first block at or below it, which is a D-SACK (RFC 2883).
			size := b[1] - b[0]
			above := int32(b[0]-tcp.Ack) > 0
			if size == 0 || size > 16<<20 || !tcp.ACK || (i > 0 && !above) {
				v.badSACK = append(v.badSACK, fmt.Sprintf("block %d: %d-%d with ack %d", i, b[0], b[1], tcp.Ack))
			}
			if i == 0 && !above && !fromStapel {
				v.dsackFromLinux++
			}
			if fromStapel {
				v.sackFromStapel++
			} else {
				v.sackFromLinux++
			}
		}
	}
	return v
}

// SPEC: the RFC 7323 and RFC 2018 requirements of issue 4.
func TestIperf3LossySACKAgainstLinux(t *testing.T) {
	requireInterop(t)
	withSACK := runLossy(t, true, true)
	w := decodeWire(t, withSACK.pkts)
	t.Logf("SackOpts=true capture (%d frames): Stapel SYN %v; Linux SYN-ACK %v; Linux SYN %v; Stapel SYN-ACK %v; SACK blocks from Linux %d (%d D-SACK), from Stapel %d; Stapel's largest scaled window %d",
		len(withSACK.pkts), w.stapelSYN, w.linuxSYNACK, w.linuxSYN, w.stapelSYNACK, w.sackFromLinux, w.dsackFromLinux, w.sackFromStapel, w.maxStapelWindow)
	for _, c := range []struct {
		name string
		o    synOpts
		ws   int // wanted scale, -1 = any present
	}{{"Stapel's SYN", w.stapelSYN, 5}, {"Linux's SYN-ACK", w.linuxSYNACK, -1}, {"Linux's SYN", w.linuxSYN, -1}, {"Stapel's SYN-ACK", w.stapelSYNACK, 5}} {
		switch {
		case !c.o.seen:
			t.Errorf("%s not captured", c.name)
		case !c.o.ts || !c.o.sackOK || c.o.wscale < 0 || (c.ws >= 0 && c.o.wscale != c.ws):
			t.Errorf("%s: %v, want window scale %d, timestamps and SACK-permitted", c.name, c.o, c.ws)
		}
	}
	if w.sackFromLinux == 0 || w.sackFromStapel == 0 {
		t.Errorf("SACK blocks: %d from Linux, %d from Stapel; want both under loss", w.sackFromLinux, w.sackFromStapel)
	}
	if len(w.badSACK) > 0 {
		t.Errorf("malformed SACK blocks: %v", w.badSACK[:min(len(w.badSACK), 10)])
	}
	if w.noTS > 0 {
		t.Errorf("%d established segments without timestamps", w.noTS)
	}
	if w.maxStapelWindow <= 65535 {
		t.Errorf("Stapel's largest window %d: scaling never took the window past 64 KiB", w.maxStapelWindow)
	}

	noSACK := runLossy(t, false, false)
	wn := decodeWire(t, noSACK.pkts)
	t.Logf("SackOpts=false capture: Stapel SYN %v; SACK blocks from Linux %d", wn.stapelSYN, wn.sackFromLinux)
	if wn.stapelSYN.sackOK || wn.sackFromLinux > 0 {
		t.Errorf("SackOpts=false: Stapel's SYN %v, %d SACK blocks from Linux; want neither", wn.stapelSYN, wn.sackFromLinux)
	}
	t.Logf("%s through 2 %% loss + reordering: SACK %v, %d B retransmitted in %d segments (%d reported as D-SACK), %d fast retransmits, %d RTOs; NewReno %v, %d B in %d segments, %d fast retransmits, %d RTOs",
		lossySize, withSACK.elapsed.Round(time.Millisecond), withSACK.retrBytes, withSACK.retrSegs, withSACK.dsacks, withSACK.fastRetr, withSACK.timeouts,
		noSACK.elapsed.Round(time.Millisecond), noSACK.retrBytes, noSACK.retrSegs, noSACK.fastRetr, noSACK.timeouts)
	// SACK recovery happened and did its job: recoveries entered on SACK
	// information, and far fewer retransmission timeouts than NewReno,
	// which stalls on every second loss in a window.
	if withSACK.fastRetr == 0 {
		t.Errorf("SackOpts=true: no SACK recovery entered (tcpFastRetrans +0)")
	}
	if withSACK.timeouts >= noSACK.timeouts {
		t.Errorf("RTOs: SACK %d, NewReno %d; want fewer with SACK", withSACK.timeouts, noSACK.timeouts)
	}
	// Issue 4: fewer retransmitted bytes with SACK. The 5 ms reordering
	// of --faults spans many round trips here; the SACK sender learns it
	// from the first D-SACKs and stops resending held-back segments
	// (tcp/rack.go), so it resends little beyond what was really lost;
	// NewReno cannot tell a held-back segment from a lost one.
	if withSACK.retrBytes >= noSACK.retrBytes {
		// Linux's drops (iptables statistic) are not seeded, so each
		// count moves by about ±15 segments between runs; SACK's margin
		// was 12–40 % in every run seen. An inversion is measured once
		// more with fresh transfers before it counts as a failure.
		t.Logf("SACK retransmitted %d bytes, NewReno %d: measuring both once more", withSACK.retrBytes, noSACK.retrBytes)
		s2, n2 := runLossy(t, true, false), runLossy(t, false, false)
		if s2.retrBytes >= n2.retrBytes {
			t.Errorf("SACK retransmitted %d then %d bytes, NewReno %d then %d: want fewer with SACK (%d of SACK's %d retransmitted segments were D-SACKed as unnecessary)",
				withSACK.retrBytes, s2.retrBytes, noSACK.retrBytes, n2.retrBytes, s2.dsacks, s2.retrSegs)
		}
	}
}
