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
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tools"
	"github.com/stapel-net/stapel/wire"
)

const testConfig = `
[Tcpip.Parameters]
Hostname = "stpdaemon"

[[Interface]]
Name = "lan"
Tap = "stptap0"
MAC = "02:00:00:00:00:0a"
IPAddress = ["198.51.100.10"]
SubnetMask = ["255.255.255.0"]
DefaultGateway = ["198.51.100.1"]

[Services]
SimpleTcpip = true
`

var (
	daemonIP = netip.MustParseAddr("198.51.100.10")
	peerIP   = netip.MustParseAddr("198.51.100.1")
)

// start runs a daemon whose "TAP" is one end of an in-memory pipe; the
// other end is a peer stack in the test. Real clock: the control socket is
// a real unix socket.
func start(t *testing.T) (*Daemon, *control.Client, *stack.Stack) {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.Real{}
	mac, _ := wire.ParseMAC("02:00:00:00:00:0a")
	peerMAC, _ := wire.ParseMAC("02:00:00:00:00:01")
	a, b := link.NewPipe(clk, 1500, mac, peerMAC)
	peer := stack.New(stack.Options{Clock: clk, HostName: "stppeer", Seed: 2})
	if _, err := peer.AddInterface(stack.InterfaceConfig{Name: "lan",
		Addrs: []netip.Prefix{netip.PrefixFrom(peerIP, 24)}}, b); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "stapel.sock")
	d, err := Start(Options{Config: cfg, Control: sock, Seed: 1,
		OpenLink: func(config.Interface) (link.Endpoint, error) { return a, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); peer.Close() })
	return d, &control.Client{Path: sock}, peer
}

func TestDaemonControlRoundTrips(t *testing.T) {
	_, c, peer := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.HostName != "stpdaemon" || len(info.Adapters) != 1 || info.Adapters[0].MAC != "02:00:00:00:00:0a" ||
		info.Adapters[0].Addrs[0] != netip.MustParsePrefix("198.51.100.10/24") || info.Adapters[0].Gateways[0] != peerIP {
		t.Fatalf("info %+v", info)
	}
	out := tools.FormatIPConfig(info, true)
	if !strings.Contains(out, "Physical Address. . . . . . . . . : 02-00-00-00-00-0A") {
		t.Fatalf("ipconfig:\n%s", out)
	}

	// ping through the daemon: the stream ends with 2 replies.
	var probes []tools.ProbeResult
	err = c.Ping(ctx, peerIP, tools.PingOptions{Count: 2, Size: 100, Interval: 10 * time.Millisecond},
		func(r tools.ProbeResult) { probes = append(probes, r) })
	if err != nil || len(probes) != 2 {
		t.Fatalf("ping: %v %+v", err, probes)
	}
	for _, p := range probes {
		if p.Kind != tools.ProbeReply || p.From != peerIP || p.Bytes != 100 || p.TTL != 128 {
			t.Fatalf("probe %+v", p)
		}
	}
	// The ping resolved the peer: arp -a shows it dynamic.
	tabs, err := c.ARPTables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := tools.FormatARP(tabs); !strings.Contains(got, "  198.51.100.1          02-00-00-00-00-01     dynamic\n") ||
		!strings.Contains(got, "Interface: 198.51.100.10 --- 0x") {
		t.Fatalf("arp -a:\n%s", got)
	}
	// arp -s / -d
	static := netip.MustParseAddr("198.51.100.7")
	if err := c.AddStaticARP(ctx, static, "02-00-00-00-00-07", netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	tabs, _ = c.ARPTables(ctx)
	if got := tools.FormatARP(tabs); !strings.Contains(got, "  198.51.100.7          02-00-00-00-00-07     static\n") {
		t.Fatalf("arp -a after -s:\n%s", got)
	}
	if err := c.DeleteARP(ctx, static); err != nil {
		t.Fatal(err)
	}
	if err := c.AddStaticARP(ctx, static, "zz", netip.Addr{}); err == nil {
		t.Fatal("bad MAC accepted")
	}

	// nc -u from the daemon to a peer socket, and back.
	pc, err := peer.ListenUDP(netip.AddrPortFrom(peerIP, 5000))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	uc, err := c.OpenUDP(ctx, netip.AddrPort{}, netip.AddrPortFrom(peerIP, 5000))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	uc.WriteTo([]byte("hello\n"), netip.AddrPort{})
	buf := make([]byte, 100)
	n, from, err := pc.ReadFromAddrPort(buf)
	if err != nil || string(buf[:n]) != "hello\n" || from.Addr() != daemonIP {
		t.Fatalf("peer got %q from %v: %v", buf[:n], from, err)
	}
	pc.WriteToAddrPort([]byte("back\n"), from)
	n, from2, err := uc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "back\n" || from2 != netip.AddrPortFrom(peerIP, 5000) {
		t.Fatalf("client got %q from %v: %v", buf[:n], from2, err)
	}

	st, err := c.Stats(ctx)
	if err != nil || st["icmpInEchoReps"] != 2 || st["udpOutDatagrams"] < 1 {
		t.Fatalf("stats %v %v", st, err)
	}
}

// The daemon's simple services answer a peer over UDP.
func TestDaemonSimpleServices(t *testing.T) {
	_, _, peer := start(t)
	for _, tc := range []struct {
		port uint16
		send string
		ok   func(string) bool
	}{
		{7, "echo me", func(s string) bool { return s == "echo me" }},
		{13, "", func(s string) bool { return strings.HasSuffix(s, "\r\n") && strings.Contains(s, ",") }},
		{17, "", func(s string) bool { return len(s) > 2 && len(s) <= 512 }},
		{19, "", func(s string) bool { return len(s) <= 512 }},
	} {
		uc, err := peer.DialUDP(netip.AddrPort{}, netip.AddrPortFrom(daemonIP, tc.port))
		if err != nil {
			t.Fatal(err)
		}
		uc.SetReadDeadline(time.Now().Add(10 * time.Second))
		uc.Write([]byte(tc.send))
		buf := make([]byte, 1000)
		n, err := uc.Read(buf)
		uc.Close()
		if err != nil || !tc.ok(string(buf[:n])) {
			t.Fatalf("port %d: %q %v", tc.port, buf[:n], err)
		}
	}
}

func TestDaemonRefusesSecondInstanceAndCleansUp(t *testing.T) {
	d, _, _ := start(t)
	cfg, _ := config.Parse([]byte(testConfig))
	_, err := Start(Options{Config: cfg, Control: d.SocketPath(),
		OpenLink: func(config.Interface) (link.Endpoint, error) { return link.NewLoopback(clock.Real{}, 1500), nil }})
	if err == nil || !strings.Contains(err.Error(), "another daemon") {
		t.Fatalf("second daemon: %v", err)
	}
	d.Close()
	if _, err := (&control.Client{Path: d.SocketPath()}).Info(context.Background()); err == nil {
		t.Fatal("socket still answers after Close")
	}
}

func TestParseFaults(t *testing.T) {
	f, err := ParseFaults("lan:loss=0.02,reorder=0.01,dup=0.01,delay=1ms,seed=7")
	if err != nil || f.Interface != "lan" || f.Loss != 0.02 || f.Duplicate != 0.01 || f.Delay != time.Millisecond || f.Seed != 7 {
		t.Fatalf("%+v %v", f, err)
	}
	for _, bad := range []string{"loss=0.1", "lan:loss=2", "lan:bogus=1", "lan:delay=x"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
