package interop

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// conflictLog matches the whitepaper's event text for ip, with the MAC
// captured (colon or dash separated).
func conflictLog(ip string) *regexp.Regexp {
	return regexp.MustCompile(`The system detected an address conflict for IP address ` + regexp.QuoteMeta(ip) +
		` with the system having network hardware address ([0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5})`)
}

// scapy runs testdata/stp_scapy.py inside the namespace.
func (e *Env) scapy(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "stp_scapy.py"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.NS(t, timeout, append([]string{scapyPython, script}, args...)...)
	if err != nil {
		t.Fatalf("scapy %s: %v", args[0], err)
	}
	return out
}

// TestDuplicateAddressAtStartup: the kernel side already holds Stapel's
// address when the daemon starts. Stapel's gratuitous ARPs get an answer,
// so it logs the conflict with the kernel side's MAC, keeps running, and
// does not use or defend the address.
// SPEC: ARP-7, ARP-8, ARP-9
func TestDuplicateAddressAtStartup(t *testing.T) {
	t.Parallel()
	var kernelMAC string
	e := Start(t, Options{PreTap: func(t *testing.T, e *Env) {
		e.MustNS(t, "ip", "addr", "add", linuxCIDR, "dev", tapName)
		e.MustNS(t, "ip", "addr", "add", stapelIP+"/24", "dev", tapName)
		// Linux ignores ARP requests whose sender IP is one of its own
		// addresses (a gratuitous ARP) unless accept_local is on; with it,
		// the kernel answers and so defends 198.18.0.2 as a host would.
		e.MustNS(t, "sysctl", "-qw", "net.ipv4.conf."+tapName+".accept_local=1")
		e.MustNS(t, "ip", "link", "set", tapName, "up")
		kernelMAC = e.LinkMAC(t, tapName)
	}})
	re := conflictLog(stapelIP)
	var m []string
	e.WaitFor(t, 20*time.Second, "the address conflict in the daemon log", func() (bool, string) {
		m = re.FindStringSubmatch(e.DaemonLog())
		return m != nil, tail(e.DaemonLog(), 10)
	})
	if normMAC(m[1]) != kernelMAC {
		t.Errorf("conflict logged with MAC %s, want the kernel side's %s:\n%s", m[1], kernelMAC, m[0])
	}
	if !e.DaemonAlive() {
		t.Fatalf("the daemon must keep running after a conflict (ARP-8)")
	}

	// ipconfig does not show the refused address.
	r := e.Tool(t, 10*time.Second, "ipconfig")
	if r.Code != 0 {
		t.Errorf("stapel ipconfig: exit %d\n%s", r.Code, r.Output())
	}
	for _, l := range strings.Split(r.Stdout, "\n") {
		if strings.Contains(l, "IP Address") && strings.HasSuffix(strings.TrimSpace(l), stapelIP) {
			t.Errorf("ipconfig still shows the conflicting address: %q\n%s", l, r.Stdout)
		}
	}

	// Nobody but the kernel answers an ARP request for 198.18.0.2, and an
	// echo to it gets no reply from Stapel.
	c := e.StartCapture(t, "arp or icmp")
	e.scapy(t, 30*time.Second, "arp", tapName, "who-has", kernelMAC, linuxIP, stapelIP)
	time.Sleep(time.Second)
	pkts := c.Stop(t)
	for _, p := range pkts {
		a := arp(p)
		if a == nil || a.Operation != layers.ARPReply {
			continue
		}
		if bytes.Equal(a.SourceProtAddress, []byte{198, 18, 0, 2}) && normMAC(eth(p).SrcMAC.String()) != kernelMAC {
			t.Errorf("Stapel (%s) still answers ARP for the conflicting %s", eth(p).SrcMAC, stapelIP)
		}
	}
}

// TestDuplicateAddressAtRuntime: once running, an ARP from another MAC
// claiming Stapel's address is logged as a conflict naming that MAC.
// SPEC: ARP-9
func TestDuplicateAddressAtRuntime(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{})
	e.StapelMAC(t)
	const intruder = "02:53:54:00:00:99"
	e.scapy(t, 30*time.Second, "arp", tapName, "who-has", intruder, stapelIP, linuxIP)
	re := conflictLog(stapelIP)
	var m []string
	e.WaitFor(t, 10*time.Second, "the address conflict in the daemon log", func() (bool, string) {
		m = re.FindStringSubmatch(e.DaemonLog())
		return m != nil, tail(e.DaemonLog(), 10)
	})
	if normMAC(m[1]) != intruder {
		t.Errorf("conflict logged with MAC %s, want the intruder's %s", m[1], intruder)
	}
	if !e.DaemonAlive() {
		t.Fatalf("the daemon must keep running after a conflict")
	}
}
