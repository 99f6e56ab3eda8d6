package interop

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// arpEntry is one row of `stapel arp -a`.
type arpEntry struct{ ip, mac, typ string }

// parseARP reads the rows of `arp -a` output (Windows layout).
func parseARP(out string) []arpEntry {
	var es []arpEntry
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && (f[2] == "dynamic" || f[2] == "static") {
			es = append(es, arpEntry{f[0], normMAC(f[1]), f[2]})
		}
	}
	return es
}

func (e *Env) arpEntries(t *testing.T) ([]arpEntry, string) {
	t.Helper()
	r := e.Tool(t, 10*time.Second, "arp", "-a")
	if r.Err != nil {
		t.Fatalf("stapel arp -a: %v\n%s", r.Err, r.Output())
	}
	return parseARP(r.Stdout), r.Stdout
}

func findARP(es []arpEntry, ip string) (arpEntry, bool) {
	for _, x := range es {
		if x.ip == ip {
			return x, true
		}
	}
	return arpEntry{}, false
}

// arpLifeConfig is the base configuration with a 5 s ARP cache life.
// ArpCacheLife >= ArpCacheMinReferencedLife, so every entry expires after
// ArpCacheLife whether referenced or not.
const arpLifeConfig = `[Tcpip.Parameters]
DefaultTTL = 128
ArpCacheLife = 5
ArpCacheMinReferencedLife = 5

[[Interface]]
Name = "lan0"
Tap = "stptap0"
IPAddress = ["198.18.0.2"]
SubnetMask = ["255.255.255.0"]
DefaultGateway = ["198.18.0.1"]

[Services]
SimpleTcpip = true
`

// TestARPDynamicEntryAges: after traffic, arp -a lists the kernel side as
// dynamic with its MAC; with ArpCacheLife = 5 the entry is gone after it.
// SPEC: ARP-1, ARP-3, ARP-4, ARP-5, TOOL-ARP
func TestARPDynamicEntryAges(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Config: arpLifeConfig})
	kernelMAC := e.LinkMAC(t, tapName)
	e.resolveLinux(t)
	learned := time.Now()
	es, out := e.arpEntries(t)
	x, ok := findARP(es, linuxIP)
	if !ok {
		t.Fatalf("after a ping, arp -a should list %s:\n%s", linuxIP, out)
	}
	if x.mac != kernelMAC || x.typ != "dynamic" {
		t.Fatalf("arp -a lists %s as %s %s; want %s dynamic:\n%s", linuxIP, x.mac, x.typ, kernelMAC, out)
	}
	// Poll (bounded) until the entry ages out. The kernel side sends no ARP
	// of its own in this time: it learned Stapel from Stapel's request.
	var gone time.Duration
	e.WaitFor(t, 25*time.Second, linuxIP+" to age out of the ARP cache", func() (bool, string) {
		es, out := e.arpEntries(t)
		if _, ok := findARP(es, linuxIP); ok {
			return false, out
		}
		gone = time.Since(learned)
		return true, out
	})
	t.Logf("entry for %s gone %v after it was learned (ArpCacheLife = 5 s)", linuxIP, gone.Round(100*time.Millisecond))
	if gone < 3*time.Second {
		t.Errorf("entry vanished after %v, well before ArpCacheLife = 5 s", gone)
	}
}

// TestARPStaticAddDelete: arp -s adds a static entry that is used for
// sending without any ARP request; arp -d removes it.
// SPEC: ARP-3, TOOL-ARP
func TestARPStaticAddDelete(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{})
	const ip, mac = "198.18.0.77", "02-53-54-00-00-77"
	if r := e.Tool(t, 10*time.Second, "arp", "-s", ip, mac); r.Code != 0 {
		t.Fatalf("stapel arp -s %s %s: exit %d\n%s", ip, mac, r.Code, r.Output())
	}
	es, out := e.arpEntries(t)
	x, ok := findARP(es, ip)
	if !ok || x.mac != normMAC(mac) || x.typ != "static" {
		t.Fatalf("arp -a should list %s %s static:\n%s", ip, mac, out)
	}
	// Traffic to it goes straight to the static MAC, with no ARP request.
	c := e.StartCapture(t, "")
	e.Tool(t, 10*time.Second, "ping", "-n", "1", "-w", "500", ip)
	pkts := c.Stop(t)
	sawEcho := false
	for _, p := range pkts {
		if a := arp(p); a != nil && a.Operation == layers.ARPRequest && bytes.Equal(a.DstProtAddress, []byte{198, 18, 0, 77}) {
			t.Errorf("Stapel sent an ARP request for %s despite the static entry", ip)
		}
		if ip4 := ipv4(p); ip4 != nil && ip4.DstIP.String() == ip {
			sawEcho = true
			if got := eth(p).DstMAC.String(); got != normMAC(mac) {
				t.Errorf("echo to %s went to MAC %s, want the static %s", ip, got, normMAC(mac))
			}
		}
	}
	if !sawEcho {
		t.Errorf("no echo request to %s seen on the wire", ip)
	}
	if r := e.Tool(t, 10*time.Second, "arp", "-d", ip); r.Code != 0 {
		t.Fatalf("stapel arp -d %s: exit %d\n%s", ip, r.Code, r.Output())
	}
	es, out = e.arpEntries(t)
	if _, ok := findARP(es, ip); ok {
		t.Fatalf("after arp -d, %s is still listed:\n%s", ip, out)
	}
	// A dynamic entry can be deleted too.
	e.resolveLinux(t)
	if r := e.Tool(t, 10*time.Second, "arp", "-d", linuxIP); r.Code != 0 {
		t.Fatalf("stapel arp -d %s: exit %d\n%s", linuxIP, r.Code, r.Output())
	}
	es, out = e.arpEntries(t)
	if _, ok := findARP(es, linuxIP); ok {
		t.Fatalf("after arp -d, %s is still listed:\n%s", linuxIP, out)
	}
}
