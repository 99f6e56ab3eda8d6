package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Addresses of the test network (RFC 2544 range, as the project requires).
const (
	tapName   = "stptap0"
	linuxIP   = "198.18.0.1" // kernel side of the TAP
	stapelIP  = "198.18.0.2" // the daemon
	linuxCIDR = linuxIP + "/24"
)

// baseConfig is the configuration from the interop issue, verbatim.
const baseConfig = `[Tcpip.Parameters]
DefaultTTL = 128

[[Interface]]
Name = "lan0"
Tap = "stptap0"
IPAddress = ["198.18.0.2"]
SubnetMask = ["255.255.255.0"]
DefaultGateway = ["198.18.0.1"]

[Services]
SimpleTcpip = true
`

// Options adjust one test environment.
type Options struct {
	// Config is the daemon's TOML configuration; empty means baseConfig.
	Config string
	// PreTap, if set, makes the harness create stptap0 itself before the
	// daemon starts (the daemon then attaches to it) and lets the test
	// configure the kernel side first; the harness adds nothing to it.
	PreTap func(t *testing.T, e *Env)
	// Timeout bounds the whole test; 0 means 2 minutes.
	Timeout time.Duration
	// DaemonArgs are added to `stapel run` (e.g. --faults).
	DaemonArgs []string
}

// Env is one namespace with one running daemon.
type Env struct {
	Netns   string // network namespace, stp<random>
	Dir     string // per-test files: config, log, captures
	Sock    string // control socket
	PcapDir string // the daemon's pcap directory
	LogPath string // daemon stdout+stderr
	Ctx     context.Context

	daemon     *exec.Cmd
	daemonDone chan struct{}
	daemonErr  error

	mu         sync.Mutex
	transcript bytes.Buffer // every command run and its output
	procs      []*Proc
}

// Start creates the namespace, starts the daemon in it and configures the
// kernel side of its TAP. Everything is undone by t.Cleanup.
func Start(t *testing.T, o Options) *Env {
	t.Helper()
	requireInterop(t)
	if o.Config == "" {
		o.Config = baseConfig
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	t.Cleanup(cancel)
	dir, err := os.MkdirTemp("", "stapel-interop-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	e := &Env{
		Netns:   "stp" + randHex(5),
		Dir:     dir,
		Sock:    filepath.Join(dir, "control.sock"),
		PcapDir: filepath.Join(dir, "pcap"),
		LogPath: filepath.Join(dir, "daemon.log"),
		Ctx:     ctx,
	}
	if err := os.Mkdir(e.PcapDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-registered first: dump, then stop, then delete.
	if _, err := e.run(t, 10*time.Second, "ip", "netns", "add", e.Netns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	t.Cleanup(func() { e.deleteNamespace(t) })
	t.Cleanup(func() { e.stopAll(t) })
	t.Cleanup(func() {
		if t.Failed() {
			e.dump(t)
		}
	})

	e.MustNS(t, "ip", "link", "set", "lo", "up")
	// IPv6 would add router solicitations and MLD to every capture.
	e.MustNS(t, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	if o.PreTap != nil {
		e.MustNS(t, "ip", "tuntap", "add", "dev", tapName, "mode", "tap")
		o.PreTap(t, e)
	}

	cfg := filepath.Join(dir, "stapel.toml")
	if err := os.WriteFile(cfg, []byte(o.Config), 0o644); err != nil {
		t.Fatal(err)
	}
	e.startDaemon(t, cfg, o.DaemonArgs)

	e.WaitFor(t, 15*time.Second, "daemon creates "+tapName, func() (bool, string) {
		out, err := e.NS(t, 5*time.Second, "ip", "link", "show", tapName)
		return err == nil, out
	})
	if o.PreTap == nil {
		e.MustNS(t, "ip", "addr", "add", linuxCIDR, "dev", tapName)
		e.MustNS(t, "ip", "link", "set", tapName, "up")
	}
	e.WaitFor(t, 15*time.Second, "daemon's control socket "+e.Sock, func() (bool, string) {
		_, err := os.Stat(e.Sock)
		return err == nil, fmt.Sprint(err)
	})
	return e
}

func (e *Env) startDaemon(t *testing.T, cfg string, extra []string) {
	t.Helper()
	logf, err := os.Create(e.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"netns", "exec", e.Netns, stapelBin, "run", "-c", cfg, "--control", e.Sock, "--pcap", e.PcapDir,
		// Its own state directory: never the machine's /var/lib/stapel.
		// A --state-dir in extra comes later and wins.
		"--state-dir", filepath.Join(e.Dir, "state")}
	args = append(args, extra...)
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so cleanup can stop it and only it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	e.logf("$ ip %s", strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting daemon: %v", err)
	}
	e.daemon = cmd
	e.daemonDone = make(chan struct{})
	go func() {
		e.daemonErr = cmd.Wait()
		logf.Close()
		close(e.daemonDone)
	}()
}

// DaemonAlive reports whether the daemon process is still running.
func (e *Env) DaemonAlive() bool {
	select {
	case <-e.daemonDone:
		return false
	default:
		return true
	}
}

// exitErr is the daemon's exit status once it has exited.
func (e *Env) exitErr() error {
	if e.DaemonAlive() {
		return nil
	}
	return e.daemonErr
}

// DaemonLog returns what the daemon has logged so far.
func (e *Env) DaemonLog() string {
	b, _ := os.ReadFile(e.LogPath)
	return string(b)
}

// stopAll stops background helpers, then the daemon: SIGTERM to its
// process group, SIGKILL after 5 s.
func (e *Env) stopAll(t *testing.T) {
	e.mu.Lock()
	procs := e.procs
	e.procs = nil
	e.mu.Unlock()
	for _, p := range procs {
		p.Stop()
	}
	if e.daemon == nil || e.daemon.Process == nil {
		return
	}
	pgid := e.daemon.Process.Pid
	if e.DaemonAlive() {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-e.daemonDone:
		case <-time.After(5 * time.Second):
			t.Logf("daemon did not exit 5 s after SIGTERM; killing it")
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			select {
			case <-e.daemonDone:
			case <-time.After(5 * time.Second):
				t.Errorf("daemon (pid %d) survived SIGKILL", pgid)
			}
		}
	} else {
		t.Errorf("the daemon exited during the test (%v); it must keep running", e.exitErr())
	}
}

func (e *Env) deleteNamespace(t *testing.T) {
	if _, err := e.run(t, 10*time.Second, "ip", "netns", "del", e.Netns); err != nil {
		t.Errorf("deleting namespace %s: %v", e.Netns, err)
	}
}

// dump prints the daemon log, the commands run and a decoded summary of
// the daemon's captures, for a failed test.
func (e *Env) dump(t *testing.T) {
	t.Logf("==== namespace %s: daemon alive=%v exit=%v", e.Netns, e.DaemonAlive(), e.exitErr())
	t.Logf("==== daemon log (%s):\n%s", e.LogPath, tail(e.DaemonLog(), 200))
	e.mu.Lock()
	tr := e.transcript.String()
	e.mu.Unlock()
	t.Logf("==== commands and tool output:\n%s", tail(tr, 400))
	files, _ := filepath.Glob(filepath.Join(e.PcapDir, "*"))
	for _, f := range files {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, _ := exec.CommandContext(ctx, "tcpdump", "-nn", "-e", "-v", "-r", f).CombinedOutput()
		cancel()
		t.Logf("==== daemon capture %s (last 60 lines):\n%s", f, tail(string(out), 60))
	}
}

func (e *Env) logf(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fmt.Fprintf(&e.transcript, "[%s] ", time.Now().Format("15:04:05.000"))
	fmt.Fprintf(&e.transcript, format, args...)
	e.transcript.WriteByte('\n')
}

// Result is one finished command.
type Result struct {
	Stdout, Stderr string
	Code           int // exit code; -1 if killed or not started
	Err            error
}

// Output returns stdout followed by stderr.
func (r Result) Output() string { return r.Stdout + r.Stderr }

// Exec runs a command with a timeout in its own process group, killing the
// group when the timeout or the test deadline passes.
func (e *Env) Exec(t *testing.T, timeout time.Duration, stdin io.Reader, env []string, name string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(e.ctxOrBackground(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	cmd.Stdin = stdin
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	start := time.Now()
	err := cmd.Run()
	r := Result{Stdout: so.String(), Stderr: se.String(), Code: -1, Err: err}
	if cmd.ProcessState != nil {
		r.Code = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		r.Err = fmt.Errorf("timed out after %v: %w", timeout, ctx.Err())
	}
	e.logf("%s", strings.TrimRight(fmt.Sprintf("$ %s %s  [exit %d, %v, err=%v]\n%s%s", name, strings.Join(args, " "), r.Code,
		time.Since(start).Round(time.Millisecond), r.Err, indent(tail(r.Stdout, 40)), indent(tail(r.Stderr, 20))), "\n"))
	return r
}

func (e *Env) ctxOrBackground() context.Context {
	if e.Ctx != nil {
		return e.Ctx
	}
	return context.Background()
}

// run is Exec for harness commands: combined output, error includes it.
func (e *Env) run(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	r := e.Exec(t, timeout, nil, nil, name, args...)
	if r.Err != nil {
		return r.Output(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), r.Err, strings.TrimSpace(r.Output()))
	}
	return r.Output(), nil
}

// NS runs a command inside the namespace.
func (e *Env) NS(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	return e.run(t, timeout, "ip", append([]string{"netns", "exec", e.Netns}, args...)...)
}

// NSResult runs a command inside the namespace with optional stdin.
func (e *Env) NSResult(t *testing.T, timeout time.Duration, stdin io.Reader, args ...string) Result {
	t.Helper()
	return e.Exec(t, timeout, stdin, nil, "ip", append([]string{"netns", "exec", e.Netns}, args...)...)
}

// MustNS runs a command inside the namespace and fails the test on error.
func (e *Env) MustNS(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.NS(t, 20*time.Second, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Tool runs a stapel tool against this daemon (through $STAPEL_CONTROL).
func (e *Env) Tool(t *testing.T, timeout time.Duration, args ...string) Result {
	t.Helper()
	return e.ToolIn(t, timeout, nil, args...)
}

// ToolIn is Tool with stdin.
func (e *Env) ToolIn(t *testing.T, timeout time.Duration, stdin io.Reader, args ...string) Result {
	t.Helper()
	return e.Exec(t, timeout, stdin, []string{"STAPEL_CONTROL=" + e.Sock}, stapelBin, args...)
}

// WaitFor polls cond every 200 ms until it holds or the timeout passes;
// then it fails the test with the last detail cond gave. It also fails
// early if the daemon has exited.
func (e *Env) WaitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	if !e.Poll(t, timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// Poll is WaitFor that returns false instead of failing.
func (e *Env) Poll(t *testing.T, timeout time.Duration, cond func() (bool, string)) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var detail string
	for i := 0; ; i++ {
		var ok bool
		ok, detail = cond()
		if ok {
			return true
		}
		if e.daemonDone != nil && !e.DaemonAlive() {
			t.Fatalf("daemon exited (%v) while polling; last state: %s", e.exitErr(), detail)
		}
		if time.Now().After(deadline) || e.ctxOrBackground().Err() != nil || i > 10000 {
			t.Logf("poll gave up after %v; last state: %s", timeout, strings.TrimSpace(detail))
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Proc is a background command started by the harness.
type Proc struct {
	cmd  *exec.Cmd
	out  string // file with its stdout
	err  string // file with its stderr
	done chan struct{}
	once sync.Once
}

// Background starts a long-running command (tcpdump, a listener) in its
// own process group; cleanup stops it if the test does not.
func (e *Env) Background(t *testing.T, stdin io.Reader, env []string, name string, args ...string) *Proc {
	t.Helper()
	id := randHex(3)
	p := &Proc{out: filepath.Join(e.Dir, "bg-"+id+".out"), err: filepath.Join(e.Dir, "bg-"+id+".err"), done: make(chan struct{})}
	so, err := os.Create(p.out)
	if err != nil {
		t.Fatal(err)
	}
	se, err := os.Create(p.err)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(name, args...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Stdin = stdin
	p.cmd.Stdout, p.cmd.Stderr = so, se
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	e.logf("$ %s %s &", name, strings.Join(args, " "))
	if err := p.cmd.Start(); err != nil {
		so.Close()
		se.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		so.Close()
		se.Close()
		close(p.done)
	}()
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	return p
}

// BackgroundNS starts a background command inside the namespace.
func (e *Env) BackgroundNS(t *testing.T, args ...string) *Proc {
	t.Helper()
	return e.Background(t, nil, nil, "ip", append([]string{"netns", "exec", e.Netns}, args...)...)
}

// Stdout returns what the process has written to stdout so far.
func (p *Proc) Stdout() []byte {
	b, _ := os.ReadFile(p.out)
	return b
}

// Stderr returns what the process has written to stderr so far.
func (p *Proc) Stderr() string {
	b, _ := os.ReadFile(p.err)
	return string(b)
}

// Stop interrupts the process group, kills it after 3 s, and waits.
func (p *Proc) Stop() {
	p.once.Do(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGINT)
		select {
		case <-p.done:
			return
		case <-time.After(3 * time.Second):
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	})
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// LinkMAC returns the MAC of a device in the namespace (aa:bb:cc:dd:ee:ff).
func (e *Env) LinkMAC(t *testing.T, dev string) string {
	t.Helper()
	out := e.MustNS(t, "ip", "-j", "link", "show", dev)
	var links []struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		t.Fatalf("parsing ip -j link show %s: %v: %s", dev, err, out)
	}
	return strings.ToLower(links[0].Address)
}

// NeighMAC returns the MAC the kernel side has learned for ip, or "".
func (e *Env) NeighMAC(t *testing.T, ip string) string {
	t.Helper()
	out, err := e.NS(t, 10*time.Second, "ip", "-j", "neigh", "show", ip, "dev", tapName)
	if err != nil {
		return ""
	}
	var ns []struct {
		LLAddr string `json:"lladdr"`
	}
	if json.Unmarshal([]byte(out), &ns) != nil || len(ns) == 0 {
		return ""
	}
	return strings.ToLower(ns[0].LLAddr)
}

// StapelMAC pings the daemon from the kernel side and returns the MAC the
// kernel learned for it.
func (e *Env) StapelMAC(t *testing.T) string {
	t.Helper()
	var mac string
	e.WaitFor(t, 20*time.Second, "the kernel to learn Stapel's MAC", func() (bool, string) {
		out, _ := e.NS(t, 5*time.Second, "ping", "-c", "1", "-W", "1", stapelIP)
		mac = e.NeighMAC(t, stapelIP)
		return mac != "", out
	})
	return mac
}

// writeFile writes data into the test directory and returns its path.
func (e *Env) writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(e.Dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = append([]string{fmt.Sprintf("... (%d lines omitted)", len(parts)-lines)}, parts[len(parts)-lines:]...)
	}
	return strings.Join(parts, "\n")
}

func indent(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}

// normMAC turns aa-BB-cc... or aa:bb:cc... into aa:bb:cc:dd:ee:ff.
func normMAC(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "-", ":"))
}
