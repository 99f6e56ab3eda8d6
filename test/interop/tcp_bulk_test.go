package interop

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The bulk transfers of issue 3: 100 MiB through Stapel's echo service
// (port 7) from Linux socat, and through `stapel nc` to a Linux echo
// listener, SHA-256 identical both ways, on a clean path and an impaired
// one (2 % loss, reordering, duplication on Stapel's side by --faults;
// 2 % random drops on Linux's side by iptables).
//
// $STAPEL_INTEROP_BULK_MIB overrides the sizes (for slow machines).

const impairedFaults = "lan0:loss=0.02,reorder=0.02,dup=0.02,seed=7"

// SPEC: TCP-RTX-4, TCP-CC-1
func TestTCPBulkEchoFromLinux(t *testing.T) {
	e := startTCP(t, bulkLimit()+time.Minute)
	bulkEchoFromLinux(t, e, transferSize(100<<20), bulkLimit())
}

// SPEC: TCP-RTX-2, TCP-RTX-4, TCP-CC-1
func TestTCPBulkEchoFromLinuxImpaired(t *testing.T) {
	e := startTCP(t, bulkLimit()+time.Minute, "--faults", impairedFaults)
	e.impairLinux(t, 0.02)
	bulkEchoFromLinux(t, e, transferSize(impairedSize), bulkLimit())
	t.Logf("iptables:\n%s", e.iptablesDrops(t))
}

// SPEC: TCP-RTX-4, TCP-CC-1
func TestTCPBulkNCToLinux(t *testing.T) {
	e := startTCP(t, bulkLimit()+time.Minute)
	bulkNCToLinux(t, e, transferSize(100<<20), bulkLimit())
}

// SPEC: TCP-RTX-2, TCP-RTX-4, TCP-CC-1
func TestTCPBulkNCToLinuxImpaired(t *testing.T) {
	e := startTCP(t, bulkLimit()+time.Minute, "--faults", impairedFaults)
	e.impairLinux(t, 0.02)
	bulkNCToLinux(t, e, transferSize(impairedSize), bulkLimit())
	t.Logf("iptables:\n%s", e.iptablesDrops(t))
}

// bulkEchoFromLinux sends n bytes from Linux socat to Stapel's echo
// service and checks what comes back.
func bulkEchoFromLinux(t *testing.T, e *Env, n int64, limit time.Duration) {
	in, sum := e.randomFile(t, "bulk.in", n, 3)
	out := filepath.Join(e.Dir, "bulk.out")
	start := time.Now()
	r := e.NSResult(t, limit, nil, "sh", "-c",
		fmt.Sprintf("socat -t 60 -T 60 -b 65536 - TCP:%s:7 < %s > %s", stapelIP, in, out))
	el := time.Since(start)
	if r.Err != nil {
		t.Fatalf("socat to echo: %v\n%s", r.Err, r.Output())
	}
	got, m := fileSHA(t, out)
	t.Logf("echo: %d MiB each way in %v: %s per direction", n>>20, el.Round(time.Millisecond), mibps(n, el))
	if got != sum || m != n {
		t.Fatalf("echoed %d bytes sha %s, sent %d sha %s", m, got, n, sum)
	}
	logTCPStats(t, e)
}

// pyEcho is a one-connection echo server: recv, sendall, and shutdown
// on EOF (then it waits for the peer's close).
const pyEcho = `
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
c, _ = s.accept()
while True:
    b = c.recv(65536)
    if not b:
        break
    c.sendall(b)
c.shutdown(socket.SHUT_WR)
c.recv(1)
c.close()
`

// bulkNCToLinux sends n bytes with `stapel nc` to a Linux socat echo
// listener and checks the echo nc prints.
func bulkNCToLinux(t *testing.T, e *Env, n int64, limit time.Duration) {
	in, sum := e.randomFile(t, "bulk.in", n, 4)
	out := filepath.Join(e.Dir, "bulk.out")
	// Not socat PIPE: its blocking writes into its own pipe deadlock
	// once the pipe holds data (a socat limit, seen with -b 65536).
	ln := e.BackgroundNS(t, "/usr/bin/python3", "-c", pyEcho, linuxIP, "9000")
	e.WaitFor(t, 20*time.Second, "socat to listen", func() (bool, string) {
		o, _ := e.NS(t, 5*time.Second, "ss", "-ltn", "sport = :9000")
		return strings.Contains(o, "9000"), o + ln.Stderr()
	})
	start := time.Now()
	r := e.Exec(t, limit, nil, []string{"STAPEL_CONTROL=" + e.Sock}, "sh", "-c",
		fmt.Sprintf("%s nc %s 9000 < %s > %s", stapelBin, linuxIP, in, out))
	el := time.Since(start)
	if r.Err != nil {
		t.Fatalf("stapel nc: %v\n%s", r.Err, r.Output())
	}
	got, m := fileSHA(t, out)
	t.Logf("nc to Linux echo: %d MiB each way in %v: %s per direction", n>>20, el.Round(time.Millisecond), mibps(n, el))
	if got != sum || m != n {
		t.Fatalf("echoed %d bytes sha %s, sent %d sha %s", m, got, n, sum)
	}
	logTCPStats(t, e)
}

func logTCPStats(t *testing.T, e *Env) {
	r := e.Tool(t, 10*time.Second, "netstat", "-s", "-p", "tcp")
	t.Logf("stapel netstat -s -p tcp:%s", r.Stdout)
}

// impairedSize is the impaired transfer size: the full 100 MiB. With 2 %
// loss, reordering and duplication on Stapel's side plus 2 % random drops
// each way on Linux's, it took 1m21s through the echo service and 1m09s
// through stapel nc (1.2 and 1.4 MiB/s per direction, both directions at
// once; tcp/ with SACK recovery, 2026-11-22, 2-core test machine). Before
// SACK recovery the same runs took 3m39s and 2m56s. bulkLimit (4 min)
// bounds each; $STAPEL_INTEROP_BULK_MIB shrinks it on slower machines.
const impairedSize = 100 << 20

// One-way rates over the TAP, for the report: Linux socat into Stapel's
// discard service (9), and `stapel nc` into a Linux socat that counts.
func TestTCPOneWayRates(t *testing.T) {
	e := startTCP(t, 3*time.Minute)
	n := transferSize(100 << 20)
	in, _ := e.randomFile(t, "oneway.in", n, 5)
	start := time.Now()
	r := e.NSResult(t, bulkLimit(), nil, "sh", "-c", fmt.Sprintf("socat -u -b 65536 FILE:%s TCP:%s:9", in, stapelIP))
	el := time.Since(start)
	if r.Err != nil {
		t.Fatalf("socat to discard: %v\n%s", r.Err, r.Output())
	}
	t.Logf("Linux -> Stapel discard: %d MiB in %v: %s", n>>20, el.Round(time.Millisecond), mibps(n, el))

	out := filepath.Join(e.Dir, "oneway.out")
	ln := e.BackgroundNS(t, "socat", "-u", "TCP-LISTEN:9100,reuseaddr", "CREATE:"+out)
	e.WaitFor(t, 20*time.Second, "socat to listen", func() (bool, string) {
		o, _ := e.NS(t, 5*time.Second, "ss", "-ltn", "sport = :9100")
		return strings.Contains(o, "9100"), o + ln.Stderr()
	})
	start = time.Now()
	r = e.Exec(t, bulkLimit(), nil, []string{"STAPEL_CONTROL=" + e.Sock}, "sh", "-c",
		fmt.Sprintf("%s nc %s 9100 < %s", stapelBin, linuxIP, in))
	el = time.Since(start)
	if r.Err != nil {
		t.Fatalf("stapel nc: %v\n%s", r.Err, r.Output())
	}
	e.WaitFor(t, 20*time.Second, "socat to finish writing", func() (bool, string) { return ln.Exited(), "" })
	if _, m := fileSHA(t, out); m != n {
		t.Fatalf("Linux received %d of %d bytes", m, n)
	}
	t.Logf("Stapel nc -> Linux: %d MiB in %v: %s", n>>20, el.Round(time.Millisecond), mibps(n, el))
}

// The daemon without a capture, so the TAP runs with TSO and checksum
// offload (DisableTaskOffload = 0): 100 MiB each way through the echo
// service and through stapel nc to Linux, SHA-256 identical.
func TestTCPBulkTAPOffload(t *testing.T) {
	e := startTCP(t, bulkLimit()+time.Minute, noPcap)
	if !strings.Contains(e.DaemonLog(), "TSO") && !strings.Contains(e.DaemonLog(), "offloads") {
		t.Logf("daemon log does not mention offloads:\n%s", e.DaemonLog())
	}
	for _, l := range strings.Split(e.DaemonLog(), "\n") {
		if strings.Contains(l, "tap attached") {
			t.Logf("%s", l)
		}
	}
	bulkEchoFromLinux(t, e, transferSize(100<<20), bulkLimit())
	bulkNCToLinux(t, e, transferSize(100<<20), bulkLimit())
}
