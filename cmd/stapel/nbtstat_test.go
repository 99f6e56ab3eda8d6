package main

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/daemon"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/services/netbt"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/wire"
)

// nbtstat against a daemon whose link is a pipe to a peer stack running
// its own B-node (services/netbt on the peer's UDP 137), so both name
// services talk over real Stapel stacks: broadcast registration, query
// answers, node status, the cache and its purge.
//
// SPEC: NBT-4, NBT-5, NBT-6, NBT-7 (TOOL-NBTSTAT -n -c -r -R -A -a)
func TestNbtstatAgainstDaemon(t *testing.T) {
	dir := t.TempDir()
	lm := filepath.Join(dir, "lmhosts")
	if err := os.WriteFile(lm, []byte("198.51.100.77 preloaded #PRE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(`
[Tcpip.Parameters]
Hostname = "stapelhost"
[NetBT.Parameters]
Workgroup = "STAPELGRP"
LmhostsFile = "` + lm + `"
[[Interface]]
Name = "lan"
Tap = "stptap9"
MAC = "02:00:00:00:00:0a"
IPAddress = ["198.51.100.10"]
SubnetMask = ["255.255.255.0"]
`))
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := wire.ParseMAC("02:00:00:00:00:0a")
	peerMAC, _ := wire.ParseMAC("02:00:00:00:00:01")
	a, b := link.NewPipe(clock.Real{}, 1500, mac, peerMAC)
	peer := stack.New(stack.Options{HostName: "stppeer"})
	defer peer.Close()
	if _, err := peer.AddInterface(stack.InterfaceConfig{Name: "lan",
		Addrs: []netip.Prefix{netip.MustParsePrefix("198.51.100.1/24")}}, b); err != nil {
		t.Fatal(err)
	}
	pc, err := peer.ListenUDP(netip.MustParseAddrPort("198.51.100.1:137"))
	if err != nil {
		t.Fatal(err)
	}
	pc.SetBroadcast(true)
	pn, err := netbt.Start(netbt.Config{Conn: pc, Addr: netip.MustParseAddr("198.51.100.1"),
		Broadcast: netip.MustParseAddr("198.51.100.255"), MAC: peerMAC, ComputerName: "PEERHOST", Workgroup: "STAPELGRP"})
	if err != nil {
		t.Fatal(err)
	}
	defer pn.Close()
	sock := filepath.Join(dir, "c.sock")
	d, err := daemon.Start(daemon.Options{Config: cfg, Control: sock,
		OpenLink: func(config.Interface) (link.Endpoint, error) { return a, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	var out string
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var code int
		code, out, _ = run("nbtstat", "-n", "--control", sock)
		if code == 0 && strings.Count(out, "Registered") == 3 || time.Now().After(end) {
			break
		}
	}
	want := `
lan:
Node IpAddress: [198.51.100.10] Scope Id: []

                NetBIOS Local Name Table

       Name               Type         Status
    ---------------------------------------------
    STAPELHOST     <00>  UNIQUE      Registered
    STAPELHOST     <20>  UNIQUE      Registered
    STAPELGRP      <00>  GROUP       Registered

`
	if out != want {
		t.Fatalf("nbtstat -n:\n%s\nwant\n%s", out, want)
	}

	// The peer resolves our name by broadcast: the daemon answered.
	addrs, err := pn.Resolve(context.Background(), netbt.MustName("STAPELHOST", 0x20))
	if err != nil || addrs[0] != netip.MustParseAddr("198.51.100.10") {
		t.Fatalf("peer resolving STAPELHOST: %v %v", addrs, err)
	}

	code, out, errs := run("nbtstat", "-A", "198.51.100.1", "--control", sock)
	if code != 0 || !strings.Contains(out, "           NetBIOS Remote Machine Name Table\n") ||
		!strings.Contains(out, "    PEERHOST       <20>  UNIQUE      Registered\n") ||
		!strings.Contains(out, "    STAPELGRP      <00>  GROUP       Registered\n") ||
		!strings.Contains(out, "    MAC Address = 02-00-00-00-00-01\n") {
		t.Fatalf("nbtstat -A %d:\n%s%s", code, out, errs)
	}
	code, out, _ = run("nbtstat", "-A", "198.51.100.99", "--control", sock)
	if code != 0 || !strings.Contains(out, "    Host not found.\n") {
		t.Fatalf("nbtstat -A nobody %d:\n%s", code, out)
	}

	code, out, _ = run("nbtstat", "-a", "peerhost", "--control", sock)
	if code != 0 || !strings.Contains(out, "    PEERHOST       <00>  UNIQUE      Registered\n") {
		t.Fatalf("nbtstat -a %d:\n%s", code, out)
	}
	code, out, _ = run("nbtstat", "-c", "--control", sock)
	re := regexp.MustCompile(`(?m)^    PEERHOST       <00>  UNIQUE        198\.51\.100\.1 +(59\d|600)$`)
	if code != 0 || !re.MatchString(out) || !strings.Contains(out, "    PRELOADED      <20>  UNIQUE       198.51.100.77           -1\n") {
		t.Fatalf("nbtstat -c %d:\n%s", code, out)
	}
	t.Logf("nbtstat -c:\n%s", out)
	code, out, _ = run("nbtstat", "-r", "--control", sock)
	t.Logf("nbtstat -r:\n%s", out)
	if code != 0 || !strings.Contains(out, "    Resolved By Broadcast     = 1\n") ||
		!strings.Contains(out, "    Registered By Broadcast   = 3\n") || !strings.Contains(out, "           PEERHOST       <00>\n") {
		t.Fatalf("nbtstat -r %d:\n%s", code, out)
	}
	code, out, _ = run("nbtstat", "-R", "--control", sock)
	if code != 0 || out != "    Successful purge and preload of the NBT Remote Cache Name Table.\n" {
		t.Fatalf("nbtstat -R %d:\n%s", code, out)
	}
	code, out, _ = run("nbtstat", "-c", "--control", sock)
	if code != 0 || strings.Contains(out, "PEERHOST") || !strings.Contains(out, "PRELOADED      <00>") {
		t.Fatalf("nbtstat -c after -R %d:\n%s", code, out)
	}
	if code, _, _ := run("nbtstat", "-n", "-c", "--control", sock); code != 2 {
		t.Fatalf("two modes: exit %d", code)
	}
}
