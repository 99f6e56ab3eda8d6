package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/daemon"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/wire"
)

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := realMain(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDemoDeterministicAndPcapDecodes(t *testing.T) {
	dir := t.TempDir()
	p1, p2 := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	code, out1, errs := run("demo", "--pcap", p1, "--seed", "3")
	if code != 0 {
		t.Fatalf("demo exit %d: %s\n%s", code, errs, out1)
	}
	code, out2, _ := run("demo", "--pcap", p2, "--seed", "3")
	if code != 0 {
		t.Fatal("second run failed")
	}
	if strings.ReplaceAll(out1, p1, "X") != strings.ReplaceAll(out2, p2, "X") {
		t.Fatalf("demo not deterministic:\n%s\n---\n%s", out1, out2)
	}
	b1, _ := os.ReadFile(p1)
	b2, _ := os.ReadFile(p2)
	if !bytes.Equal(b1, b2) {
		t.Fatal("pcaps differ between identical runs")
	}
	for _, want := range []string{
		"ARP who-has 198.51.100.1 tell 198.51.100.10",
		"Pinging 203.0.113.20 with 32 bytes of data:",
		"Reply from 203.0.113.20: bytes=32 time=",
		"Reply from 203.0.113.20: bytes=4000 time=",
		"Packet needs to be fragmented but DF set.",
		"Reply from 198.51.100.1: TTL expired in transit.",
		`hosta <- 203.0.113.20:7: "hello from hosta\n"`,
		"Interface: 198.51.100.10 --- 0x",
		"Interface: 203.0.113.20 --- 0x",
		"    Packets: Sent = 4, Received = 4, Lost = 0 (0% loss),",
	} {
		if !strings.Contains(out1, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// Decode the capture with an independent decoder.
	f, err := os.Open(p1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var arp, echoReq, echoRep, frags, udp, ttlExceeded int
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if pkt.ErrorLayer() != nil {
			t.Errorf("undecodable frame: %v", pkt.ErrorLayer().Error())
		}
		if pkt.Layer(layers.LayerTypeARP) != nil {
			arp++
		}
		if ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
				frags++
				continue
			}
		}
		if ic, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
			switch ic.TypeCode.Type() {
			case layers.ICMPv4TypeEchoRequest:
				echoReq++
			case layers.ICMPv4TypeEchoReply:
				echoRep++
			case layers.ICMPv4TypeTimeExceeded:
				ttlExceeded++
			}
		}
		if pkt.Layer(layers.LayerTypeUDP) != nil {
			udp++
		}
	}
	if arp < 4 || echoReq < 4 || echoRep < 4 || frags < 6 || udp < 4 || ttlExceeded != 1 {
		t.Fatalf("capture: arp %d echo req %d rep %d frags %d udp %d ttl-exceeded %d", arp, echoReq, echoRep, frags, udp, ttlExceeded)
	}
}

func TestRunConfigErrorExits2(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[Tcpip.Parameters]\nDefaultTTL = 300\n"), 0o644)
	code, _, errs := run("run", "-c", bad, "--control", filepath.Join(dir, "s.sock"))
	if code != 2 || !strings.Contains(errs, "DefaultTTL") || !strings.Contains(errs, "300") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	code, _, errs = run("run", "-c", filepath.Join(dir, "missing.toml"))
	if code != 2 || !strings.Contains(errs, "missing.toml") {
		t.Fatalf("missing file: exit %d, stderr %q", code, errs)
	}
}

func TestUsage(t *testing.T) {
	code, out, _ := run("help")
	if code != 0 {
		t.Fatal("help failed")
	}
	for _, c := range []string{"run", "demo", "ping", "arp", "ipconfig", "nc"} {
		if !strings.Contains(out, "  "+c+" ") {
			t.Errorf("help lacks %s", c)
		}
	}
	if code, _, _ := run("-h"); code != 0 {
		t.Error("-h")
	}
	for _, args := range [][]string{{}, {"bogus"}, {"run", "--bogus"}, {"run"}, {"demo", "--nope"},
		{"ping"}, {"ping", "-z", "192.0.2.1"}, {"ping", "-n", "x", "192.0.2.1"}, {"ping", "-l", "70000", "192.0.2.1"},
		{"arp"}, {"arp", "-s", "192.0.2.1"}, {"ipconfig", "/bogus"}, {"nc", "-u"}, {"nc", "-u", "-l"}} {
		if code, _, errs := run(args...); code != 2 {
			t.Errorf("%q: exit %d (%s)", args, code, errs)
		}
	}
	code, out, _ = run("ping", "no.such.host")
	if code != 1 || !strings.Contains(out, "Ping request could not find host no.such.host.") {
		t.Errorf("unknown host: %d %q", code, out)
	}
}

// The tool subcommands against a daemon whose link is an in-memory pipe
// to a peer stack.
func TestToolsAgainstDaemon(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(`
[Tcpip.Parameters]
Hostname = "stpd"
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
	sock := filepath.Join(dir, "c.sock")
	d, err := daemon.Start(daemon.Options{Config: cfg, Control: sock,
		OpenLink: func(config.Interface) (link.Endpoint, error) { return a, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	code, out, errs := run("ping", "-n", "2", "--control", sock, "198.51.100.1")
	re := regexp.MustCompile(`^
Pinging 198\.51\.100\.1 with 32 bytes of data:

(Reply from 198\.51\.100\.1: bytes=32 time(<1|=\d+)ms TTL=128
){2}
Ping statistics for 198\.51\.100\.1:
    Packets: Sent = 2, Received = 2, Lost = 0 \(0% loss\),
Approximate round trip times in milli-seconds:
    Minimum = \d+ms, Maximum = \d+ms, Average = \d+ms
$`)
	if code != 0 || !re.MatchString(out) {
		t.Fatalf("ping exit %d:\n%s\n%s", code, out, errs)
	}
	code, out, _ = run("ping", "-n", "1", "-w", "300", "--control", sock, "198.51.100.99")
	if code != 1 || !strings.Contains(out, "Request timed out.") {
		t.Fatalf("unreachable ping exit %d:\n%s", code, out)
	}
	code, out, _ = run("arp", "-a", "--control", sock)
	if code != 0 || !strings.Contains(out, "  198.51.100.1          02-00-00-00-00-01     dynamic") {
		t.Fatalf("arp -a %d:\n%s", code, out)
	}
	if code, _, errs := run("arp", "-s", "198.51.100.7", "02-00-00-00-00-07", "--control", sock); code != 0 {
		t.Fatalf("arp -s: %s", errs)
	}
	if code, _, errs := run("arp", "-d", "198.51.100.7", "--control", sock); code != 0 {
		t.Fatalf("arp -d: %s", errs)
	}
	code, out, _ = run("ipconfig", "-all", "--control", sock)
	if code != 0 || !strings.Contains(out, "        Host Name . . . . . . . . . . . . : stpd\n") ||
		!strings.Contains(out, "        IP Address. . . . . . . . . . . . : 198.51.100.10\n") {
		t.Fatalf("ipconfig %d:\n%s", code, out)
	}
	code, out, _ = run("stats", "--control", sock)
	if code != 0 || !strings.Contains(out, "  Echo Replies") || !strings.Contains(out, "TCP Statistics") {
		t.Fatalf("stats %d:\n%s", code, out)
	}

	// nc -u: stdin lines become datagrams; the peer's answer is printed.
	pc, err := peer.ListenUDP(netip.MustParseAddrPort("198.51.100.1:7000"))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 100)
		for {
			n, from, err := pc.ReadFromAddrPort(buf)
			if err != nil {
				return
			}
			pc.WriteToAddrPort(bytes.ToUpper(buf[:n]), from)
		}
	}()
	defer pc.Close()
	stdin = strings.NewReader("one\ntwo\n")
	defer func() { stdin = os.Stdin }()
	code, out, errs = run("nc", "-u", "-q", "2", "--control", sock, "198.51.100.1", "7000")
	if code != 0 || out != "ONE\nTWO\n" {
		t.Fatalf("nc exit %d out %q err %q", code, out, errs)
	}

	if code, _, errs := run("arp", "-d", "*", "--control", sock); code != 0 {
		t.Fatalf("arp -d *: %s", errs)
	}
	if code, out, _ := run("arp", "-a", "--control", sock); code != 0 || out != "No ARP Entries Found\n" {
		t.Fatalf("arp -a after -d *: %q", out)
	}
	if _, err := (&daemonProbe{sock}).ok(); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run("ping", "--control", filepath.Join(dir, "none.sock"), "192.0.2.1")
	if code != 1 || out != "" || !strings.Contains(errs, "cannot reach the stapel daemon") {
		t.Fatalf("ping without daemon: %d %q %q", code, out, errs)
	}
	code, _, errs = run("ipconfig", "--control", filepath.Join(dir, "none.sock"))
	if code != 1 || !strings.Contains(errs, "stapel run") {
		t.Fatalf("no daemon: %d %q", code, errs)
	}
}

type daemonProbe struct{ sock string }

func (p *daemonProbe) ok() (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := client(p.sock).Info(ctx)
	return err == nil, err
}
