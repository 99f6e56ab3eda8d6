package interop

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// SPEC: TCP-DGD-2, TCP-DGD-3, IP-6 — two Linux default gateways (R1,
// G2). Once a `stapel nc` echo through R1 to H is flowing (the first
// MiB has come back), R1 stops forwarding; the rest of the stream stalls,
// TCP reports the dead gateway, the stack moves the default gateway to
// G2 and the transfer completes through it, byte for byte.
func TestRoutingDeadGatewayFailover(t *testing.T) {
	tp := startTopo(t, 1500, routingConfig("", `["198.18.0.1", "198.18.0.3"]`), true, 5*time.Minute)
	ln := tp.bgNS(t, tp.h, "/usr/bin/python3", "-c", pyEcho, hostIP, "9000")
	tp.WaitFor(t, 20*time.Second, "echo server on H", func() (bool, string) {
		r := tp.Exec(t, 5*time.Second, nil, nil, "ip", "netns", "exec", tp.h, "ss", "-ltn", "sport = :9000")
		return strings.Contains(r.Stdout, "9000"), r.Output() + ln.Stderr()
	})

	const first, rest = 1 << 20, 8 << 20
	data := make([]byte, first+rest)
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	// nc reads a pipe the test feeds in two parts, so R1 can be stopped
	// while the connection is established and has carried data.
	pr, pw := io.Pipe()
	t.Cleanup(func() { pr.CloseWithError(io.ErrClosedPipe) })
	wrote := make(chan error, 2)
	go func() { _, err := pw.Write(data[:first]); wrote <- err }()
	nc := tp.Background(t, pr, []string{"STAPEL_CONTROL=" + tp.Sock}, stapelBin, "nc", hostIP, "9000")
	echoed := func() int64 {
		fi, err := os.Stat(nc.out)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	tp.WaitFor(t, 60*time.Second, "the first MiB to come back through R1", func() (bool, string) {
		return echoed() >= first, nc.Stderr()
	})
	if err := <-wrote; err != nil {
		t.Fatalf("feeding nc: %v", err)
	}
	if via := statCounter(t, tp.Env, "deadGatewayReports"); via != 0 {
		t.Fatalf("dead gateway reported before R1 stopped (%d)", via)
	}
	// R1 stops routing (ip_forward=0: it drops silently; an iptables
	// FORWARD rule would also catch the bridged frames to G2 when
	// br_netfilter is loaded). Replies from H come back through G2
	// throughout, so only Stapel's sending direction breaks.
	tp.MustNS(t, "sysctl", "-qw", "net.ipv4.ip_forward=0")
	tp.logf("R1 stopped forwarding after %d bytes echoed", echoed())
	go func() {
		_, err := pw.Write(data[first:])
		pw.Close()
		wrote <- err
	}()
	start := time.Now()
	tp.WaitFor(t, 240*time.Second, "nc to finish through G2", func() (bool, string) {
		return nc.Exited(), nc.Stderr()
	})
	if err := <-wrote; err != nil {
		t.Fatalf("feeding nc: %v", err)
	}
	if got := nc.Stdout(); !bytes.Equal(got, data) {
		t.Fatalf("echoed %d bytes, sent %d (equal prefix: %v)\n%s", len(got), len(data),
			bytes.Equal(got, data[:min(len(got), len(data))]), nc.Stderr())
	}
	t.Logf("%d MiB after R1 stopped came through G2 in %v", rest>>20, time.Since(start).Round(time.Millisecond))
	if n := statCounter(t, tp.Env, "deadGatewayReports"); n == 0 {
		t.Fatal("transfer completed without a dead gateway report")
	}
	r := tp.Tool(t, 10*time.Second, "route", "print")
	if !strings.Contains(r.Stdout, "Default Gateway:        "+g2IP+"\n") {
		t.Fatalf("the host's default gateway did not move to G2:\n%s", r.Stdout)
	}
	t.Logf("route print after failover:\n%s", r.Stdout)
}
