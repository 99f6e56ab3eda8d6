package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/services/iperf3"
)

// Helpers of the iperf3 interop tests (issue 4): Linux's iperf3 against
// `stapel iperf3` over the TAP, in both roles and both directions.

// iperfConfig turns on RFC 7323 (Tcp1323Opts = 3: window scaling and
// timestamps) with a 1 MiB receive window, so the SYNs carry a window
// scale of 5 (the whitepaper's example), and SACK as asked.
func iperfConfig(sack bool) string {
	return fmt.Sprintf(`[Tcpip.Parameters]
DefaultTTL = 128
Tcp1323Opts = 3
SackOpts = %v
TcpWindowSize = 1048576

[[Interface]]
Name = "lan0"
Tap = "stptap0"
IPAddress = ["198.18.0.2"]
SubnetMask = ["255.255.255.0"]
DefaultGateway = ["198.18.0.1"]
`, sack)
}

func startIperf(t *testing.T, sack bool, timeout time.Duration, daemonArgs ...string) *Env {
	t.Helper()
	requireInterop(t)
	if _, err := exec.LookPath("iperf3"); err != nil {
		if os.Getenv(envRequired) == "1" {
			t.Fatalf("%s=1 but iperf3 is missing (Debian package iperf3)", envRequired)
		}
		t.Skip("iperf3 interop test skipped: iperf3 is not installed (Debian package iperf3)")
	}
	e := Start(t, Options{Config: iperfConfig(sack), Timeout: timeout, DaemonArgs: daemonArgs})
	e.StapelMAC(t) // the kernel has resolved Stapel: no ARP inside the timed runs
	return e
}

// iperf3Result is the part of `iperf3 -J` the tests read.
type iperf3Result struct {
	Start struct {
		TCPMSSDefault int `json:"tcp_mss_default"`
	} `json:"start"`
	End struct {
		SumSent     iperf3Sum `json:"sum_sent"`
		SumReceived iperf3Sum `json:"sum_received"`
	} `json:"end"`
	Error string `json:"error"`
}

type iperf3Sum struct {
	Bytes         int64   `json:"bytes"`
	Seconds       float64 `json:"seconds"`
	BitsPerSecond float64 `json:"bits_per_second"`
	Retransmits   int64   `json:"retransmits"`
}

// linuxIperf3 runs the kernel's iperf3 (client) with -J in the namespace.
func (e *Env) linuxIperf3(t *testing.T, timeout time.Duration, args ...string) iperf3Result {
	t.Helper()
	r := e.NSResult(t, timeout, nil, append([]string{"iperf3", "-J"}, args...)...)
	var j iperf3Result
	if err := json.Unmarshal([]byte(r.Stdout), &j); err != nil {
		t.Fatalf("iperf3 %s: %v, output not JSON (%v):\n%s", strings.Join(args, " "), r.Err, err, r.Output())
	}
	if r.Err != nil || j.Error != "" {
		t.Fatalf("iperf3 %s: %v: %s\n%s", strings.Join(args, " "), r.Err, j.Error, r.Stderr)
	}
	return j
}

// stapelIperfServer starts `stapel iperf3 -s` and waits until it listens.
func (e *Env) stapelIperfServer(t *testing.T, args ...string) *Proc {
	t.Helper()
	p := e.Background(t, nil, []string{"STAPEL_CONTROL=" + e.Sock}, stapelBin, append([]string{"iperf3", "-s"}, args...)...)
	e.WaitFor(t, 10*time.Second, "stapel iperf3 -s to listen", func() (bool, string) {
		if p.Exited() {
			t.Fatalf("stapel iperf3 -s exited: %s%s", p.Stdout(), p.Stderr())
		}
		return strings.Contains(string(p.Stdout()), "Server listening"), p.Stderr()
	})
	return p
}

// stapelIperf3 runs `stapel iperf3 -c ... -J` and returns its report.
func (e *Env) stapelIperf3(t *testing.T, timeout time.Duration, args ...string) iperf3.Report {
	t.Helper()
	r := e.Tool(t, timeout, append([]string{"iperf3", "-J"}, args...)...)
	if r.Err != nil {
		t.Fatalf("stapel iperf3 %s: %v\n%s", strings.Join(args, " "), r.Err, r.Output())
	}
	var rep iperf3.Report
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("stapel iperf3 %s: report not JSON (%v):\n%s", strings.Join(args, " "), err, r.Output())
	}
	return rep
}

// linuxIperfServer starts the kernel's iperf3 server on the kernel side
// of the TAP and waits until it listens.
func (e *Env) linuxIperfServer(t *testing.T) *Proc {
	t.Helper()
	p := e.BackgroundNS(t, "iperf3", "-s", "-B", linuxIP, "-p", "5201")
	e.WaitFor(t, 10*time.Second, "iperf3 -s to listen", func() (bool, string) {
		o, _ := e.NS(t, 5*time.Second, "ss", "-ltn", "sport = :5201")
		return strings.Contains(o, "5201"), o + p.Stderr()
	})
	return p
}

// tcpCounters reads the daemon's counters through the control socket.
func (e *Env) tcpCounters(t *testing.T) map[string]uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(e.Ctx, 10*time.Second)
	defer cancel()
	m, err := (&control.Client{Path: e.Sock}).Stats(ctx)
	if err != nil {
		t.Fatalf("reading counters: %v", err)
	}
	return m
}

func mbit(bps float64) string { return fmt.Sprintf("%.1f Mbit/s", bps/1e6) }
