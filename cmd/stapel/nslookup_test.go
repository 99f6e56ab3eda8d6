package main

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/daemon"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/wire"
)

func TestNslookupUsage(t *testing.T) {
	for _, args := range [][]string{{"nslookup", "-type=BOGUS", "x"}, {"nslookup", "a", "b", "c"},
		{"nslookup", "-z", "x"}, {"ipconfig", "/flushdns", "extra"}} {
		if code, _, errs := run(args...); code != 2 {
			t.Errorf("%q: exit %d (%s)", args, code, errs)
		}
	}
}

// nslookup and ipconfig /displaydns, /flushdns against a daemon; its
// server (the peer) runs no DNS, so lookups time out quickly with the
// configured DNSQueryTimeouts.
// SPEC: DNS-3, TOOL-NSLOOKUP
func TestNslookupAgainstDaemon(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(`
[Tcpip.Parameters]
Hostname = "stpd"
DNSQueryTimeouts = [1]
[[Interface]]
Name = "lan"
Tap = "stptap9"
MAC = "02:00:00:00:00:0a"
IPAddress = ["198.51.100.10"]
SubnetMask = ["255.255.255.0"]
NameServer = ["198.51.100.1"]
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
	sock := filepath.Join(dir, "c.sock")
	d, err := daemon.Start(daemon.Options{Config: cfg, Control: sock,
		OpenLink: func(config.Interface) (link.Endpoint, error) { return a, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// The own host name is answered locally (DNS-1 step 1) even though
	// the server is silent.
	code, out, errs := run("nslookup", "--control", sock, "stpd")
	if code != 0 || !strings.Contains(out, "Name:    stpd\nAddress:  198.51.100.10\n") {
		t.Fatalf("nslookup stpd: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = run("nslookup", "--control", sock, "host.example.test.")
	if code != 1 || !strings.Contains(out, "Server:  UnKnown\nAddress:  198.51.100.1\n\nDNS request timed out.\n") ||
		!strings.Contains(out, "*** Request to UnKnown timed-out\n") {
		t.Fatalf("nslookup to a silent server: exit %d\n%s", code, out)
	}
	code, out, _ = run("ipconfig", "/displaydns", "--control", sock)
	if code != 0 || !strings.HasPrefix(out, "\nWindows IP Configuration\n") {
		t.Fatalf("displaydns: exit %d\n%s", code, out)
	}
	code, out, _ = run("ipconfig", "/flushdns", "--control", sock)
	if code != 0 || !strings.Contains(out, "Successfully flushed the DNS Resolver Cache.") {
		t.Fatalf("flushdns: exit %d\n%s", code, out)
	}
}
