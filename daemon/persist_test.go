package daemon

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/tools"
)

// startState runs a daemon with a loopback "TAP" and the given state
// directory and returns its control client.
func startState(t *testing.T, stateDir string) (*Daemon, *control.Client) {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "stapel.sock")
	d, err := Start(Options{Config: cfg, Control: sock, Seed: 1, StateDir: stateDir,
		OpenLink: func(config.Interface) (link.Endpoint, error) { return link.NewLoopback(clock.Real{}, 1500), nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, &control.Client{Path: sock}
}

// SPEC: IP-5 — a "route -p add" route is written to the state directory
// and listed under Persistent Routes (and active) after a restart; a
// daemon without a state directory forgets it.
func TestDaemonPersistentRoutesSurviveRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	state := t.TempDir()
	dst := netip.MustParsePrefix("198.19.0.0/16")
	d, c := startState(t, state)
	if err := c.ChangeRoutes(ctx, tools.RouteSpec{Command: "add", Dst: dst, Gateway: peerIP, Metric: 5, Persistent: true}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	b, err := os.ReadFile(filepath.Join(state, PersistentRoutesName))
	if err != nil || !strings.Contains(string(b), "198.19.0.0,255.255.0.0,198.51.100.1,5\n") {
		t.Fatalf("state file: %q %v", b, err)
	}

	_, c = startState(t, state)
	rt, err := c.RouteTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := tools.FormatRoutePrint(rt)
	for _, want := range []string{
		"Persistent Routes:\n  Network Address          Netmask  Gateway Address  Metric\n       198.19.0.0      255.255.0.0     198.51.100.1       5\n",
		"       198.19.0.0      255.255.0.0     198.51.100.1  198.51.100.10       5\n",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("route print after restart lacks %q:\n%s", want, out)
		}
	}

	_, c = startState(t, "") // memory only: nothing carried over
	rt, err = c.RouteTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out := tools.FormatRoutePrint(rt); !strings.HasSuffix(out, "Persistent Routes:\n  None\n") {
		t.Fatalf("daemon without a state dir:\n%s", out)
	}
}
