package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dnsConfig points the daemon's resolver at dnsmasq on the kernel side,
// with a search list whose first suffix lacks the name "web" (DNS-4).
const dnsConfig = `[Tcpip.Parameters]
SearchList = ["example.test", "search.test"]

[[Interface]]
Name = "lan0"
Tap = "stptap0"
IPAddress = ["198.18.0.2"]
SubnetMask = ["255.255.255.0"]
DefaultGateway = ["198.18.0.1"]
NameServer = ["198.18.0.1"]
`

// startDnsmasq runs dnsmasq in the namespace on 198.18.0.1:53 with the
// test's records and returns its query log's path. --local=/test/ makes
// it answer NXDOMAIN for unknown .test names instead of REFUSED;
// --local-ttl gives its records a TTL (the default 0 is never cached).
func startDnsmasq(t *testing.T, e *Env) string {
	t.Helper()
	bin, err := exec.LookPath("dnsmasq")
	if err != nil {
		for _, p := range []string{"/usr/sbin/dnsmasq", "/sbin/dnsmasq"} {
			if _, err := os.Stat(p); err == nil {
				bin = p
			}
		}
	}
	if bin == "" {
		t.Skip("dnsmasq not installed (Debian package dnsmasq-base)")
	}
	logPath := filepath.Join(e.Dir, "dnsmasq.log")
	p := e.BackgroundNS(t, bin, "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--user=root",
		"--pid-file=", "--port", "53", "--listen-address", linuxIP, "--bind-interfaces",
		"--local=/test/", "--local-ttl=600", "--log-queries", "--log-facility="+logPath,
		"--host-record=host.example.test,198.51.100.7",
		"--host-record=web.search.test,198.51.100.8",
		"--host-record=peer.example.test,"+linuxIP,
		"--ptr-record=1.0.18.198.in-addr.arpa,ns.example.test",
		"--txt-record=big.example.test,"+bigTXT+","+bigTXT+","+bigTXT)
	t.Cleanup(p.Stop)
	e.WaitFor(t, 10*time.Second, "dnsmasq to listen on "+linuxIP+":53", func() (bool, string) {
		out, _ := e.NS(t, 5*time.Second, "ss", "-lnu")
		return strings.Contains(out, linuxIP+":53 "), out + p.Stderr()
	})
	return logPath
}

// bigTXT is one 200-byte TXT string: three make an answer over UDP's
// 512 bytes, which dnsmasq truncates (TC=1).
var bigTXT = strings.Repeat("stapel-", 28) + "done"

// queries counts dnsmasq's log lines for a query of name with type typ.
func queries(logPath, typ, name string) (int, string) {
	b, _ := os.ReadFile(logPath)
	return strings.Count(string(b), "query["+typ+"] "+name+" from "), string(b)
}

// TestDNSNslookupDnsmasq: `stapel nslookup` resolves through the daemon's
// caching resolver against dnsmasq.
// SPEC: DNS-1, DNS-2 (reverse), DNS-4 (SearchList), DNS-6 (positive and
// negative cache), TOOL-NSLOOKUP
func TestDNSNslookupDnsmasq(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Config: dnsConfig, Timeout: 90 * time.Second})
	logPath := startDnsmasq(t, e)
	header := "Server:  ns.example.test\nAddress:  198.18.0.1\n\n"

	// An unqualified name gets the first SearchList suffix; the second
	// lookup comes from the cache: dnsmasq sees one query.
	for i := 0; i < 2; i++ {
		r := e.Tool(t, 30*time.Second, "nslookup", "host")
		if r.Err != nil || !strings.HasPrefix(r.Stdout, header) ||
			!strings.Contains(r.Stdout, "Name:    host.example.test\nAddress:  198.51.100.7\n") {
			t.Fatalf("nslookup host #%d: %v\n%s", i+1, r.Err, r.Output())
		}
		if i == 1 && !strings.Contains(r.Stdout, "Non-authoritative answer:\n") {
			t.Errorf("cached answer not marked non-authoritative:\n%s", r.Stdout)
		}
	}
	e.WaitFor(t, 5*time.Second, "dnsmasq to log the query", func() (bool, string) {
		n, log := queries(logPath, "A", "host.example.test")
		return n >= 1, log
	})
	if n, log := queries(logPath, "A", "host.example.test"); n != 1 {
		t.Errorf("dnsmasq saw %d queries for host.example.test, want 1 (second from the cache):\n%s", n, log)
	}

	// Reverse lookup (PTR from dnsmasq's host-record).
	r := e.Tool(t, 30*time.Second, "nslookup", "198.51.100.7")
	if r.Err != nil || !strings.Contains(r.Stdout, "Name:    host.example.test\nAddress:  198.51.100.7\n") {
		t.Errorf("nslookup 198.51.100.7: %v\n%s", r.Err, r.Output())
	}
	r = e.Tool(t, 30*time.Second, "nslookup", "-type=PTR", "7.100.51.198.in-addr.arpa")
	if r.Err != nil || !strings.Contains(r.Stdout, "7.100.51.198.in-addr.arpa\tname = host.example.test\n") {
		t.Errorf("nslookup -type=PTR: %v\n%s", r.Err, r.Output())
	}

	// The second SearchList suffix: web.example.test does not exist,
	// web.search.test does.
	r = e.Tool(t, 30*time.Second, "nslookup", "web")
	if r.Err != nil || !strings.Contains(r.Stdout, "Name:    web.search.test\nAddress:  198.51.100.8\n") {
		t.Errorf("nslookup web: %v\n%s", r.Err, r.Output())
	}
	if n, log := queries(logPath, "A", "web.example.test"); n != 1 {
		t.Errorf("web.example.test asked %d times, want 1:\n%s", n, log)
	}

	// NXDOMAIN, twice: the second from the negative cache.
	for i := 0; i < 2; i++ {
		r = e.Tool(t, 30*time.Second, "nslookup", "nosuch.example.test.")
		if !strings.Contains(r.Stdout, "*** ns.example.test can't find nosuch.example.test: Non-existent domain\n") {
			t.Fatalf("nslookup nosuch #%d: %v\n%s", i+1, r.Err, r.Output())
		}
	}
	e.WaitFor(t, 5*time.Second, "dnsmasq to log the NXDOMAIN query", func() (bool, string) {
		n, log := queries(logPath, "A", "nosuch.example.test")
		return n >= 1, log
	})
	if n, log := queries(logPath, "A", "nosuch.example.test"); n != 1 {
		t.Errorf("dnsmasq saw %d queries for nosuch.example.test, want 1 (negative cache):\n%s", n, log)
	}

	// ipconfig /displaydns shows both; /flushdns empties the cache.
	r = e.Tool(t, 10*time.Second, "ipconfig", "/displaydns")
	if r.Err != nil || !strings.Contains(r.Stdout, "A (Host) Record . . . : 198.51.100.7\n") ||
		!strings.Contains(r.Stdout, "         nosuch.example.test\n") {
		t.Errorf("ipconfig /displaydns: %v\n%s", r.Err, r.Output())
	}
	r = e.Tool(t, 10*time.Second, "ipconfig", "/flushdns")
	if r.Err != nil || !strings.Contains(r.Stdout, "Successfully flushed the DNS Resolver Cache.") {
		t.Errorf("ipconfig /flushdns: %v\n%s", r.Err, r.Output())
	}
	if r = e.Tool(t, 10*time.Second, "ipconfig", "/displaydns"); strings.Contains(r.Stdout, "Record Name") {
		t.Errorf("cache not empty after /flushdns:\n%s", r.Stdout)
	}
}

// TestDNSTruncatedRetriesOverTCP: an answer too big for UDP comes back
// truncated and is asked again over Stapel TCP (RFC 1035 4.2.2).
// SPEC: TOOL-NSLOOKUP
func TestDNSTruncatedRetriesOverTCP(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Config: dnsConfig, Timeout: 90 * time.Second})
	startDnsmasq(t, e)
	c := e.StartCapture(t, "tcp port 53")
	r := e.Tool(t, 30*time.Second, "nslookup", "-type=TXT", "big.example.test.")
	pkts := c.Stop(t)
	if r.Err != nil || strings.Count(r.Stdout, "\t\""+bigTXT+"\"\n") != 3 {
		t.Fatalf("nslookup -type=TXT big.example.test: %v\n%s", r.Err, r.Output())
	}
	if len(pkts) == 0 {
		t.Errorf("no TCP segment on port 53: the truncated answer was not retried over TCP")
	}
}

// TestDNSNslookupInteractive: nslookup without a name reads commands:
// the "Default Server:" banner, "set debug" with the request and answer
// dumps, "set type=", "server".
// SPEC: TOOL-NSLOOKUP
func TestDNSNslookupInteractive(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Config: dnsConfig, Timeout: 90 * time.Second})
	startDnsmasq(t, e)
	in := "?\nhost\nset debug\nhost.example.test.\nset nodebug\nset type=PTR\n7.100.51.198.in-addr.arpa\n" +
		"server 198.18.0.1\nexit\n"
	r := e.ToolIn(t, 30*time.Second, strings.NewReader(in), "nslookup")
	if r.Err != nil {
		t.Fatalf("nslookup: %v\n%s", r.Err, r.Output())
	}
	for _, want := range []string{
		"Default Server:  ns.example.test\nAddress:  198.18.0.1\n\n> ",
		"set OPTION      - set an option\n",
		"Name:    host.example.test\nAddress:  198.51.100.7\n",
		"SendRequest(), len 35\n    HEADER:\n        opcode = QUERY, id = ",
		"        header flags:  query, want recursion\n",
		"    QUESTIONS:\n        host.example.test, type = A, class = IN\n",
		"Got answer (51 bytes):\n",
		"    ->  host.example.test\n        type = A, class = IN, dlen = 4\n        internet address = 198.51.100.7\n",
		"7.100.51.198.in-addr.arpa\tname = host.example.test\n",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.Stdout)
		}
	}
	if strings.Count(r.Stdout, "Default Server:  ns.example.test") != 2 {
		t.Errorf("server command did not print the new default server:\n%s", r.Stdout)
	}
}

// TestDNSNslookupServerArg: "nslookup NAME SERVER" asks that server
// directly, bypassing the cache (as Windows nslookup does).
// SPEC: TOOL-NSLOOKUP
func TestDNSNslookupServerArg(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Config: dnsConfig, Timeout: 90 * time.Second})
	logPath := startDnsmasq(t, e)
	for i := 0; i < 2; i++ {
		r := e.Tool(t, 30*time.Second, "nslookup", "host.example.test", linuxIP)
		if r.Err != nil || !strings.Contains(r.Stdout, "Name:    host.example.test\nAddress:  198.51.100.7\n") {
			t.Fatalf("nslookup host.example.test %s: %v\n%s", linuxIP, r.Err, r.Output())
		}
	}
	e.WaitFor(t, 5*time.Second, "dnsmasq to log both queries", func() (bool, string) {
		n, log := queries(logPath, "A", "host.example.test")
		return n == 2, log
	})
}

// TestDNSToolsResolveNames: ping and tracert take a host name, resolved
// through the daemon's resolver, and name it as Windows does.
// SPEC: DNS-1, TOOL-PING
func TestDNSToolsResolveNames(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Config: dnsConfig, Timeout: 90 * time.Second})
	startDnsmasq(t, e)
	r := e.Tool(t, 30*time.Second, "ping", "-n", "2", "peer.example.test")
	if r.Err != nil || !strings.Contains(r.Stdout, "Pinging peer.example.test ["+linuxIP+"] with 32 bytes of data:") ||
		strings.Count(r.Stdout, "Reply from "+linuxIP+": bytes=32") != 2 {
		t.Errorf("ping peer.example.test: %v\n%s", r.Err, r.Output())
	}
	r = e.Tool(t, 30*time.Second, "tracert", "-d", "-h", "2", "peer")
	if r.Err != nil || !strings.Contains(r.Stdout, "Tracing route to peer ["+linuxIP+"]") || !strings.Contains(r.Stdout, linuxIP) {
		t.Errorf("tracert peer: %v\n%s", r.Err, r.Output())
	}
	r = e.Tool(t, 30*time.Second, "ping", "-n", "1", "nosuch.example.test")
	if !strings.Contains(r.Stdout, "Ping request could not find host nosuch.example.test. Please check the name and try again.") {
		t.Errorf("ping nosuch.example.test: %v\n%s", r.Err, r.Output())
	}
}
