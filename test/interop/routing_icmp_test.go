package interop

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// routeVia reports the gateway `stapel route print` lists for the host
// route to dst ("" if none).
func routeVia(t *testing.T, e *Env, dst string) (string, string) {
	t.Helper()
	r := e.Tool(t, 10*time.Second, "route", "print")
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(dst) + `\s+255\.255\.255\.255\s+(\S+)\s`).FindStringSubmatch(r.Stdout)
	if m == nil {
		return "", r.Stdout
	}
	return m[1], r.Stdout
}

// forgedRedirect is a scapy script: an ICMP host redirect from argv[1]
// to argv[2] about a datagram argv[2] → argv[3], naming gateway argv[4].
const forgedRedirect = `
import sys
from scapy.all import IP, ICMP, send
src, dst, about, gw = sys.argv[1:5]
send(IP(src=src, dst=dst)/ICMP(type=5, code=1, gw=gw)/IP(src=dst, dst=about)/ICMP(type=8), verbose=0)
`

// SPEC: ICMP-3 — R1, Stapel's gateway, forwards to 198.18.3.1 through
// G2 on the same subnet and so sends Stapel a redirect: Stapel's route to
// 198.18.3.1 becomes a host route via G2 and traffic goes there
// directly. A redirect forged by G2 (not the first hop for H) changes
// nothing.
func TestRoutingRedirects(t *testing.T) {
	tp := startTopo(t, 1500, routingConfig("", ""), true, 2*time.Minute)
	if r := tp.Tool(t, 30*time.Second, "ping", "-n", "2", g2Net); r.Err != nil {
		t.Fatalf("ping %s: %v\n%s", g2Net, r.Err, r.Output())
	}
	gw, table := routeVia(t, tp.Env, g2Net)
	if gw != g2IP {
		t.Fatalf("after R1's redirect, %s via %q\n%s\n%s", g2Net, gw, table, tp.DaemonLog())
	}
	if n := statCounter(t, tp.Env, "redirectsAccepted"); n < 1 {
		t.Fatalf("redirectsAccepted %d", n)
	}
	t.Logf("route print after Linux's redirect:\n%s", table)
	// The next pings go to G2 directly: R1 forwards no more of them.
	before := tp.MustNS(t, "sh", "-c", "cat /proc/net/snmp | awk '/^Ip:/{n++} n==2 && /^Ip:/{print $7}'")
	if r := tp.Tool(t, 30*time.Second, "ping", "-n", "3", g2Net); r.Err != nil {
		t.Fatalf("ping after redirect: %v\n%s", r.Err, r.Output())
	}
	after := tp.MustNS(t, "sh", "-c", "cat /proc/net/snmp | awk '/^Ip:/{n++} n==2 && /^Ip:/{print $7}'")
	if strings.TrimSpace(before) != strings.TrimSpace(after) {
		t.Fatalf("R1 still forwards Stapel's pings (ForwDatagrams %s → %s)", strings.TrimSpace(before), strings.TrimSpace(after))
	}

	// Forged: G2 is not the first hop for H (R1 is).
	script := filepath.Join(tp.Dir, "redirect.py")
	if err := os.WriteFile(script, []byte(forgedRedirect), 0o644); err != nil {
		t.Fatal(err)
	}
	rejected := statCounter(t, tp.Env, "redirectsRejected")
	tp.inNS(t, tp.g2, scapyPython, script, g2IP, stapelIP, hostIP, g2IP)
	tp.WaitFor(t, 10*time.Second, "Stapel to see the forged redirect", func() (bool, string) {
		n := statCounter(t, tp.Env, "redirectsRejected")
		return n > rejected, tp.DaemonLog()
	})
	if gw, table := routeVia(t, tp.Env, hostIP); gw != "" {
		t.Fatalf("forged redirect installed %s via %s\n%s", hostIP, gw, table)
	}
	if r := tp.Tool(t, 30*time.Second, "tracert", "-d", "-h", "1", hostIP); !strings.Contains(r.Stdout, r1IP) {
		t.Fatalf("first hop to H is no longer R1:\n%s", r.Output())
	}
}

// SPEC: TOOL-ROUTE, IP-5 — route add/change/delete/print through the
// daemon's control socket, -p listed under Persistent Routes.
func TestRoutingRouteCommand(t *testing.T) {
	// Its own state directory: the default (/var/lib/stapel as root) is
	// shared with every other daemon on the machine.
	state, err := os.MkdirTemp("", "stapel-state-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	e := Start(t, Options{DaemonArgs: []string{"--state-dir", state}})
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
	must("route", "change", "192.0.2.7", "198.18.0.1", "METRIC", "9")
	out := must("route", "print")
	for _, want := range []string{
		"       198.19.0.0      255.255.0.0       198.18.0.1     198.18.0.2       5\n",
		"        192.0.2.7  255.255.255.255       198.18.0.1     198.18.0.2       9\n",
		"Default Gateway:        198.18.0.1\n",
		"Persistent Routes:\n  Network Address          Netmask  Gateway Address  Metric\n       198.19.0.0      255.255.0.0       198.18.0.1       5\n",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("route print lacks %q:\n%s", want, out)
		}
	}
	must("route", "delete", "198.19.0.0", "MASK", "255.255.0.0")
	if r := e.Tool(t, 10*time.Second, "route", "delete", "198.19.0.0", "MASK", "255.255.0.0"); r.Err == nil {
		t.Fatalf("deleting a missing route succeeded:\n%s", r.Output())
	}
	if out := must("route", "print"); !strings.HasSuffix(out, "Persistent Routes:\n  None\n") {
		t.Fatalf("after delete:\n%s", out)
	}
	t.Logf("stapel route print:\n%s", out)
}
