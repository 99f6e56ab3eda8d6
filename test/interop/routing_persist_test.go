package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// SPEC: IP-5, TOOL-ROUTE — a "route -p add" route is written to the
// state directory and is back, persistent and active, after the daemon
// restarts; a plain "route add" route is not.
func TestRoutingPersistentRouteSurvivesRestart(t *testing.T) {
	state := filepath.Join(os.TempDir(), "stapel-state-"+randHex(4))
	t.Cleanup(func() { os.RemoveAll(state) })
	args := []string{"--state-dir", state}
	// The harness makes the TAP, so it (and its kernel side) outlives
	// the first daemon.
	e := Start(t, Options{DaemonArgs: args, PreTap: func(t *testing.T, e *Env) {
		e.MustNS(t, "ip", "addr", "add", linuxCIDR, "dev", tapName)
		e.MustNS(t, "ip", "link", "set", tapName, "up")
	}})
	must := func(args ...string) string {
		t.Helper()
		r := e.Tool(t, 10*time.Second, args...)
		if r.Err != nil {
			t.Fatalf("stapel %s: %v\n%s", strings.Join(args, " "), r.Err, r.Output())
		}
		return r.Stdout
	}
	must("route", "-p", "add", "198.19.0.0", "MASK", "255.255.0.0", "198.18.0.1", "METRIC", "5")
	must("route", "add", "192.0.2.7", "198.18.0.1")
	if b, err := os.ReadFile(filepath.Join(state, "persistent-routes")); err != nil ||
		!strings.Contains(string(b), "198.19.0.0,255.255.0.0,198.18.0.1,5\n") {
		t.Fatalf("state file: %q %v", b, err)
	}

	e.restartDaemon(t, args)
	out := must("route", "print")
	for _, want := range []string{
		"Persistent Routes:\n  Network Address          Netmask  Gateway Address  Metric\n       198.19.0.0      255.255.0.0       198.18.0.1       5\n",
		"       198.19.0.0      255.255.0.0       198.18.0.1     198.18.0.2       5\n",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("route print after restart lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "192.0.2.7") {
		t.Fatalf("a non-persistent route survived the restart:\n%s", out)
	}
	t.Logf("route print after restart:\n%s", out)
}
