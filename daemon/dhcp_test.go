package daemon

import (
	"context"
	"encoding/json"
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

const dhcpTestConfig = `
[Tcpip.Parameters]
ArpRetryCount = 1

[[Interface]]
Name = "lan0"
EnableDHCP = true
DhcpRetryBaseMs = 10
`

func startDHCPDaemon(t *testing.T, state string) (*Daemon, *control.Client) {
	t.Helper()
	cfg, err := config.Parse([]byte(dhcpTestConfig))
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "stapel.sock")
	d, err := Start(Options{Config: cfg, Control: sock, Seed: 1, StateDir: state,
		OpenLink: func(config.Interface) (link.Endpoint, error) { return link.NewLoopback(clock.Real{}, 1500), nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, &control.Client{Path: sock}
}

func waitAutoconf(t *testing.T, c *control.Client) tools.Adapter {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if a := info.Adapters[0]; a.Autoconf {
			return a
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no APIPA address: %+v", info.Adapters[0])
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// SPEC: DHCP-1, DHCP-4 — without a server the daemon's client
// auto-configures; ipconfig shows it; the address is stored in the state
// directory and chosen again after a restart; /release drops it.
func TestDaemonDHCPAutoconfStored(t *testing.T) {
	state := t.TempDir()
	d, c := startDHCPDaemon(t, state)
	a := waitAutoconf(t, c)
	if !a.DHCP || !a.AutoconfOn || len(a.Addrs) != 1 || !netip.MustParsePrefix("169.254.0.0/16").Contains(a.Addrs[0].Addr()) {
		t.Fatalf("adapter %+v", a)
	}
	out := tools.FormatIPConfig(tools.HostInfo{Adapters: []tools.Adapter{a}}, true)
	if !strings.Contains(out, "Autoconfiguration IP Address. . . : "+a.Addrs[0].Addr().String()) {
		t.Fatalf("ipconfig /all:\n%s", out)
	}
	d.Close()
	var st map[string]storedDHCP
	b, err := os.ReadFile(filepath.Join(state, DHCPLeasesName))
	if err != nil || json.Unmarshal(b, &st) != nil || st["lan0"].AutoconfAddress != a.Addrs[0].Addr() {
		t.Fatalf("state file %q: %v", b, err)
	}

	_, c = startDHCPDaemon(t, state)
	if b := waitAutoconf(t, c); b.Addrs[0] != a.Addrs[0] {
		t.Fatalf("APIPA %v after the restart, want %v again", b.Addrs[0], a.Addrs[0])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := c.DHCPRelease(ctx, "lan0")
	if err != nil || len(info.Adapters[0].Addrs) != 0 {
		t.Fatalf("release: %v %+v", err, info)
	}
	if _, err := c.DHCPRelease(ctx, "nosuch"); err == nil {
		t.Fatal("release of an unknown adapter succeeded")
	}
}
