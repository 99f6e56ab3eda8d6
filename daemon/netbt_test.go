package daemon

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// startNetBTDaemon runs a daemon on one end of a pipe with extra config
// lines for [NetBT.Parameters] and the interface.
func startNetBTDaemon(t *testing.T, netbt, iface string) (*Daemon, *control.Client) {
	t.Helper()
	cfg, err := config.Parse([]byte(`
[Tcpip.Parameters]
Hostname = "stapelhost-longname"
[NetBT.Parameters]
Workgroup = "STAPELGRP"
` + netbt + `
[[Interface]]
Name = "lan"
Tap = "stptap0"
MAC = "02:00:00:00:00:0a"
IPAddress = ["198.51.100.10", "198.51.100.11"]
SubnetMask = ["255.255.255.0", "255.255.255.0"]
` + iface))
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := wire.ParseMAC("02:00:00:00:00:0a")
	a, _ := link.NewPipe(clock.Real{}, 1500, mac, mac)
	sock := filepath.Join(t.TempDir(), "stapel.sock")
	d, err := Start(Options{Config: cfg, Control: sock,
		OpenLink: func(config.Interface) (link.Endpoint, error) { return a, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, &control.Client{Path: sock}
}

func udp137(d *Daemon) []string {
	var out []string
	for _, e := range d.Stack().UDPEndpoints() {
		if e.Local.Port() == 137 {
			out = append(out, e.Local.String())
		}
	}
	return out
}

// SPEC: NBT-6 — NetBT binds one address per interface, the first; the
// computer name is the host name upper-cased and cut to 15 characters.
func TestNetBTBindsFirstAddress(t *testing.T) {
	d, cl := startNetBTDaemon(t, "", "")
	if got := udp137(d); len(got) != 1 || got[0] != "198.51.100.10:137" {
		t.Fatalf("UDP 137 sockets %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := cl.Nbtstat(ctx, control.NbtstatArgs{Mode: control.NbtLocalNames})
	if err != nil || len(r.Adapters) != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	ad := r.Adapters[0]
	var names []string
	for _, n := range ad.Local {
		names = append(names, n.Name)
	}
	if ad.Addr != netip.MustParseAddr("198.51.100.10") || strings.Join(names, " ") != "STAPELHOST-LONG STAPELHOST-LONG STAPELGRP" {
		t.Fatalf("adapter %+v", ad)
	}
	if _, err := cl.Nbtstat(ctx, control.NbtstatArgs{Mode: "x"}); err == nil {
		t.Fatal("unknown mode accepted")
	}
}

// SPEC: NBT-11 — NetbiosOptions = 2 disables NetBT on the interface.
func TestNetBTDisabledPerInterface(t *testing.T) {
	d, cl := startNetBTDaemon(t, "", "NetbiosOptions = 2\n")
	if got := udp137(d); len(got) != 0 {
		t.Fatalf("UDP 137 sockets %v", got)
	}
	r, err := cl.Nbtstat(context.Background(), control.NbtstatArgs{Mode: control.NbtLocalNames})
	if err != nil || len(r.Adapters) != 0 {
		t.Fatalf("%+v %v", r, err)
	}
}

// SPEC: NBT-13 — BroadcastAddress forces the broadcast address.
func TestSubnetBroadcast(t *testing.T) {
	p := netip.MustParsePrefix("198.51.100.10/24")
	if a := subnetBroadcast(p, false); a != netip.MustParseAddr("198.51.100.255") {
		t.Error(a)
	}
	if a := subnetBroadcast(p, true); a != netip.MustParseAddr("198.51.100.0") {
		t.Error(a)
	}
}
