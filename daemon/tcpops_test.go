package daemon

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/tools"
)

// Every whitepaper TCP parameter in the configuration reaches tcp.Params.
// SPEC: TCP-TW-1, TCP-WIN-3, TCP-SACK-1, TCP-RTX-1, TCP-RTX-2, TCP-RTX-3, TCP-RTX-4, TCP-KA-1, TCP-PORT-1, TCP-ACK-1, TCP-WIN-2
func TestTCPParamsFromConfig(t *testing.T) {
	cfg, err := config.Parse([]byte(`
[Tcpip.Parameters]
TcpTimedWaitDelay = 30
TcpMaxConnectRetransmissions = 3
TcpMaxConnectResponseRetransmissions = 4
TcpMaxDataRetransmissions = 7
TcpMaxDupAcks = 3
KeepAliveTime = 60000
KeepAliveInterval = 500
MaxUserPort = 6000
TcpNumConnections = 100
MaxFreeTWTcbs = 50
NumTcbTablePartitions = 8
TcpUseRFC1122UrgentPointer = true
SynAttackProtect = 2
TcpMaxHalfOpen = 150
TcpMaxHalfOpenRetried = 90
TcpMaxPortsExhausted = 7
EnablePMTUDiscovery = false
EnablePMTUBHDetect = true
EnableDeadGWDetect = false
DefaultTTL = 64
GlobalMaxTcpWindowSize = 40000
TcpWindowSize = 32768
Tcp1323Opts = 3
SackOpts = false

[[Interface]]
Name = "lan"
IPAddress = ["198.51.100.10"]
SubnetMask = ["255.255.255.0"]
TcpDelAckTicks = 4
TcpInitialRTT = 2
`))
	if err != nil {
		t.Fatal(err)
	}
	p := TCPParams(cfg)
	checks := []struct {
		name      string
		got, want any
	}{
		{"TcpTimedWaitDelay", p.TcpTimedWaitDelay, 30 * time.Second},
		{"TcpMaxConnectRetransmissions", p.TcpMaxConnectRetransmissions, 3},
		{"TcpMaxConnectResponseRetransmissions", p.TcpMaxConnectResponseRetransmissions, 4},
		{"TcpMaxDataRetransmissions", p.TcpMaxDataRetransmissions, 7},
		{"TcpMaxDupAcks", p.TcpMaxDupAcks, 3},
		{"KeepAliveTime", p.KeepAliveTime, time.Minute},
		{"KeepAliveInterval", p.KeepAliveInterval, 500 * time.Millisecond},
		{"MaxUserPort", p.MaxUserPort, 6000},
		{"TcpNumConnections", p.TcpNumConnections, 100},
		{"MaxFreeTWTcbs", p.MaxFreeTWTcbs, 50},
		{"NumTcbTablePartitions", p.NumTcbTablePartitions, 8},
		{"TcpUseRFC1122UrgentPointer", p.TcpUseRFC1122UrgentPointer, true},
		{"SynAttackProtect", p.SynAttackProtect, 2},
		{"TcpMaxHalfOpen", p.TcpMaxHalfOpen, 150},
		{"TcpMaxHalfOpenRetried", p.TcpMaxHalfOpenRetried, 90},
		{"TcpMaxPortsExhausted", p.TcpMaxPortsExhausted, 7},
		{"EnablePMTUDiscovery", p.EnablePMTUDiscovery, false},
		{"EnablePMTUBHDetect", p.EnablePMTUBHDetect, true},
		{"EnableDeadGWDetect", p.EnableDeadGWDetect, false},
		{"DefaultTTL", p.DefaultTTL, uint8(64)},
		{"GlobalMaxTcpWindowSize", p.GlobalMaxTcpWindowSize, 40000},
		{"TcpWindowSize", p.TcpWindowSize, 32768},
		{"Tcp1323Opts", p.Tcp1323Opts, 3},
		{"SackOpts", p.SackOpts, false},
		{"TcpDelAckTicks", p.TcpDelAckTicks, 4},
		{"TcpInitialRtt", p.TcpInitialRtt, 2 * time.Second},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Defaults map to the whitepaper defaults.
	def := TCPParams(config.Default())
	if def.TcpTimedWaitDelay != 240*time.Second || def.TcpMaxDataRetransmissions != 5 || def.TcpWindowSize != 0 ||
		def.GlobalMaxTcpWindowSize != 0 || def.TcpInitialRtt != 3*time.Second || def.TcpDelAckTicks != 2 ||
		def.Tcp1323Opts != -1 || !def.SackOpts {
		t.Errorf("defaults: %+v", def)
	}
}

// netstat through the control socket shows the daemon's listeners and a
// live connection with its state; http.get and httpd run net/http over
// the daemon's TCP.
// SPEC: TOOL-NETSTAT
func TestDaemonNetstatAndHTTP(t *testing.T) {
	d, c, peer := start(t)
	ptcp := AttachTCP(peer, 9)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if d.TCP() == nil {
		t.Fatal("daemon without TCP")
	}

	// A web server on the peer, fetched by the daemon's net/http client.
	ln, err := ptcp.Listen(netip.AddrPortFrom(peerIP, 8080), 4)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("stapel ", 100000))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	head, body, err := c.HTTPGet(ctx, "http://198.51.100.1:8080/x")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(body)
	body.Close()
	if err != nil || head.StatusCode != 200 || len(got) != 700000 {
		t.Fatalf("http.get: %+v %d bytes %v", head, len(got), err)
	}

	// httpd on the daemon, fetched from the peer.
	file := filepath.Join(t.TempDir(), "index.txt")
	os.WriteFile(file, []byte("served by stapel httpd\n"), 0o644)
	hctx, hcancel := context.WithCancel(ctx)
	ready := make(chan netip.AddrPort, 1)
	hdone := make(chan error, 1)
	go func() { hdone <- c.HTTPD(hctx, 8000, file, func(a netip.AddrPort) { ready <- a }) }()
	select {
	case <-ready:
	case err := <-hdone:
		t.Fatalf("httpd: %v", err)
	}
	cl := &http.Client{Transport: HTTPTransport(ptcp), Timeout: 30 * time.Second}
	resp, err := cl.Get("http://198.51.100.10:8000/anything")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(page) != "served by stapel httpd\n" {
		t.Fatalf("httpd page %q", page)
	}
	resp, err = cl.Post("http://198.51.100.10:8000/up", "text/plain", strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(page) != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 3\n" {
		t.Fatalf("httpd POST %q", page)
	}

	// netstat: the echo listener, the httpd listener, the peer's
	// keep-alive connection to 8000 in ESTABLISHED.
	info, err := c.Netstat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := tools.FormatConnections(info, tools.NetstatOptions{All: true, Numeric: true})
	for _, want := range []string{
		"  TCP    0.0.0.0:7              0.0.0.0:0              LISTENING\n",
		"  TCP    0.0.0.0:8000           0.0.0.0:0              LISTENING\n",
		"  TCP    198.51.100.10:8000     198.51.100.1:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("netstat -an lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "ESTABLISHED") {
		t.Errorf("no ESTABLISHED row:\n%s", out)
	}
	if e := tools.FormatInterfaceStats(info.Interfaces); !strings.Contains(e, "Bytes") || info.Interfaces[0].RxBytes == 0 {
		t.Errorf("netstat -e:\n%s", e)
	}
	hcancel()
	if err := <-hdone; err != nil {
		t.Fatalf("httpd ended with %v", err)
	}
	cl.CloseIdleConnections()
}
