package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The demo's TCP section narrates the handshake, a delayed ACK after
// 200 ms, duplicate ACKs and a fast retransmission of the lost segment,
// and shows netstat with the TIME_WAIT entry and the UDP sockets.
// SPEC: TCP-ACK-1, TCP-RTX-4, TCP-TW-1, TOOL-NETSTAT
func TestDemoTCPSection(t *testing.T) {
	code, out, errs := run("demo", "--pcap", filepath.Join(t.TempDir(), "d.pcap"), "--seed", "5")
	if code != 0 {
		t.Fatalf("demo exit %d: %s\n%s", code, errs, out)
	}
	i := strings.Index(out, "--- TCP:")
	if i < 0 {
		t.Fatalf("no TCP section:\n%s", out)
	}
	sec := out[i:]
	for _, re := range []string{
		`hosta > SYN +seq=\d+ mss=1460 win=16384 +SYN: open`,
		`hostb > SYN\|ACK +seq=\d+ mss=1460 win=17520`,
		`hosta > ACK +seq=1 ack=1 len=0 +ACK: step 3, connection ESTABLISHED`,
		`hostb > ACK +seq=1 ack=101 len=0 +delayed ACK: the timer fired 20\dms after`,
		`data \*\* lost on the way`,
		`(?s)duplicate ACK.*duplicate ACK.*RETRANSMISSION, [\d.]+ms after the original`,
		`hostb has all 16000 bytes in order`,
		`TCP    198\.51\.100\.10:\d+ +203\.0\.113\.20:5001 +TIME_WAIT`,
		`TCP    0\.0\.0\.0:5001 +0\.0\.0\.0:0 +LISTENING`,
		`TCP    0\.0\.0\.0:5001 .*\n  UDP    0\.0\.0\.0:7 +\*:\*\n`, // hostb's simple services
		`Segments Retransmitted += 1`,
	} {
		if !regexp.MustCompile(re).MatchString(sec) {
			t.Errorf("TCP demo lacks %s:\n%s", re, sec)
		}
	}
}

func TestNetstatUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"netstat", "-x"}, {"netstat", "-p"}, {"netstat", "-p", "sctp"},
		{"netstat", "-p", "ip"}, {"netstat", "5"}, {"http-get"}, {"httpd", "0"}} {
		if code, _, _ := run(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)", args, code)
		}
	}
}
