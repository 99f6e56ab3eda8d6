package interop

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Helpers of the TCP interop tests (issue 3). The shared harness starts
// the daemon with fixed arguments; startTCP is Start with extra daemon
// flags (--faults) and a TCP-friendly config.

// tcpConfig is baseConfig with TIME-WAIT shortened to its minimum (30 s)
// so the TIME-WAIT test is bounded.
const tcpConfig = `[Tcpip.Parameters]
DefaultTTL = 128
TcpTimedWaitDelay = 30

[[Interface]]
Name = "lan0"
Tap = "stptap0"
IPAddress = ["198.18.0.2"]
SubnetMask = ["255.255.255.0"]
DefaultGateway = ["198.18.0.1"]

[Services]
SimpleTcpip = true
`

// startTCP is Start (namespace, daemon, kernel side of the TAP) with
// extra arguments for `stapel run`.
func startTCP(t *testing.T, timeout time.Duration, daemonArgs ...string) *Env {
	t.Helper()
	requireInterop(t)
	// A TAP made by the harness outlives a daemon restart (one the daemon
	// creates vanishes with it, and with it the kernel side's address).
	e := Start(t, Options{Config: tcpConfig, Timeout: timeout, PreTap: func(t *testing.T, e *Env) {
		e.MustNS(t, "ip", "addr", "add", linuxCIDR, "dev", tapName)
		e.MustNS(t, "ip", "link", "set", tapName, "up")
	}})
	if len(daemonArgs) > 0 {
		e.restartDaemon(t, daemonArgs)
	}
	return e
}

// noPcap as the first daemon argument of startTCP runs the daemon without
// --pcap.
const noPcap = "<no-pcap>"

// restartDaemon stops the daemon Start launched and starts it again with
// extra arguments (it re-attaches to the existing TAP, whose kernel side
// keeps its address).
func (e *Env) restartDaemon(t *testing.T, extra []string) {
	t.Helper()
	pgid := e.daemon.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-e.daemonDone:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-e.daemonDone
	}
	os.Remove(e.Sock)
	cfg := filepath.Join(e.Dir, "stapel.toml")
	logf, err := os.OpenFile(e.LogPath, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"netns", "exec", e.Netns, stapelBin, "run", "-c", cfg, "--control", e.Sock,
		"--state-dir", filepath.Join(e.Dir, "state")}
	// noPcap (harness-level, not a daemon flag): run without a capture,
	// whose wrapper would hide the TAP's offloads.
	if len(extra) > 0 && extra[0] == noPcap {
		extra = extra[1:]
	} else {
		args = append(args, "--pcap", e.PcapDir)
	}
	args = append(args, extra...)
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	e.logf("$ ip %s", strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("restarting daemon: %v", err)
	}
	e.daemon = cmd
	e.daemonDone = make(chan struct{})
	done := e.daemonDone
	go func() {
		e.daemonErr = cmd.Wait()
		logf.Close()
		close(done)
	}()
	e.WaitFor(t, 15*time.Second, "daemon's control socket "+e.Sock, func() (bool, string) {
		_, err := os.Stat(e.Sock)
		return err == nil, fmt.Sprint(err)
	})
	// The TAP may have gone down and up: make sure the kernel side is up.
	e.NS(t, 10*time.Second, "ip", "link", "set", tapName, "up")
	e.WaitFor(t, 20*time.Second, "Stapel to answer ping after the restart", func() (bool, string) {
		out, err := e.NS(t, 5*time.Second, "ping", "-c", "1", "-W", "1", stapelIP)
		return err == nil, out
	})
}

// randomFile writes n pseudo-random bytes (seeded) and returns its path
// and SHA-256.
func (e *Env) randomFile(t *testing.T, name string, n int64, seed uint64) (string, string) {
	t.Helper()
	p := filepath.Join(e.Dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	r := rand.New(rand.NewPCG(seed, seed+1))
	buf := make([]byte, 1<<20)
	for left := n; left > 0; {
		k := int64(len(buf))
		if k > left {
			k = left
		}
		for i := 0; i < int(k); i += 8 {
			v := r.Uint64()
			for j := 0; j < 8 && i+j < int(k); j++ {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		f.Write(buf[:k])
		h.Write(buf[:k])
		left -= k
	}
	return p, hex.EncodeToString(h.Sum(nil))
}

// fileSHA returns a file's SHA-256 and size.
func fileSHA(t *testing.T, p string) (string, int64) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, _ := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n
}

// impairLinux drops a random 2 % of TCP segments entering and leaving the
// namespace's kernel (iptables statistic match; tc netem is unavailable).
func (e *Env) impairLinux(t *testing.T, p float64) {
	t.Helper()
	for _, chain := range []string{"INPUT", "OUTPUT"} {
		e.MustNS(t, "iptables", "-A", chain, "-p", "tcp", "-m", "statistic", "--mode", "random",
			"--probability", fmt.Sprint(p), "-j", "DROP")
	}
}

// iptablesDrops sums the packets dropped by the statistic rules.
func (e *Env) iptablesDrops(t *testing.T) string {
	out, _ := e.NS(t, 10*time.Second, "iptables", "-L", "-v", "-n", "-x")
	return out
}

// transferSize is the bulk size: 100 MiB unless $STAPEL_INTEROP_BULK_MIB
// says otherwise.
func transferSize(def int64) int64 {
	if s := os.Getenv("STAPEL_INTEROP_BULK_MIB"); s != "" {
		var m int64
		if _, err := fmt.Sscan(s, &m); err == nil && m > 0 {
			return m << 20
		}
	}
	return def
}

// bulkLimit bounds one bulk transfer: 4 minutes, or 30 with an explicit
// STAPEL_INTEROP_BULK_MIB.
func bulkLimit() time.Duration {
	if os.Getenv("STAPEL_INTEROP_BULK_MIB") != "" {
		return 30 * time.Minute
	}
	return 4 * time.Minute
}

func mibps(n int64, d time.Duration) string {
	return fmt.Sprintf("%.1f MiB/s (%.0f Mbit/s)", float64(n)/(1<<20)/d.Seconds(), float64(n)*8/1e6/d.Seconds())
}
