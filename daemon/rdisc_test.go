package daemon

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// frameLog keeps the frames the daemon sends on its in-memory link.
type frameLog struct {
	mu     sync.Mutex
	frames [][]byte
}

func (l *frameLog) DeliverFrame(f []byte) {
	l.mu.Lock()
	l.frames = append(l.frames, append([]byte(nil), f...))
	l.mu.Unlock()
}
func (l *frameLog) LinkStateChanged(bool) {}

// solicitations returns the destination of every ICMP router
// solicitation (type 10) in the log.
func (l *frameLog) solicitations() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, f := range l.frames {
		p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		if ip != nil && ic != nil && ic.TypeCode.Type() == layers.ICMPv4TypeRouterSolicitation {
			out = append(out, ip.DstIP.String())
		}
	}
	return out
}

// startRdisc runs a daemon on virtual time with the given interface
// router-discovery keys and returns what it sent in the first 5 s.
func startRdisc(t *testing.T, extra string) []string {
	t.Helper()
	cfg, err := config.Parse([]byte(`
[[Interface]]
Name = "lan"
MAC = "02:00:00:00:00:0a"
IPAddress = ["198.51.100.10"]
SubnetMask = ["255.255.255.0"]
` + extra))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	mac, _ := wire.ParseMAC("02:00:00:00:00:0a")
	peerMAC, _ := wire.ParseMAC("02:00:00:00:00:01")
	a, b := link.NewPipe(clk, 1500, mac, peerMAC)
	var log frameLog
	b.Attach(&log)
	d, err := Start(Options{Config: cfg, Control: filepath.Join(t.TempDir(), "s.sock"), Clock: clk, Seed: 1,
		OpenLink: func(config.Interface) (link.Endpoint, error) { return a, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	clk.Advance(5 * time.Second)
	return log.solicitations()
}

// SPEC: ICMP-2 — PerformRouterDiscovery reaches the stack: 1 sends three
// solicitations to 224.0.0.2 (255.255.255.255 with
// SolicitationAddressBcast); 0 and the default 2 (DHCP-controlled; no
// DHCP client yet) send none.
func TestDaemonRouterDiscoveryConfig(t *testing.T) {
	cases := []struct {
		extra string
		want  []string
	}{
		{"PerformRouterDiscovery = 1\n", []string{"224.0.0.2", "224.0.0.2", "224.0.0.2"}},
		{"PerformRouterDiscovery = 1\nSolicitationAddressBcast = true\n", []string{"255.255.255.255", "255.255.255.255", "255.255.255.255"}},
		{"PerformRouterDiscovery = 0\n", nil},
		{"", nil}, // default 2
	}
	for _, c := range cases {
		got := startRdisc(t, c.extra)
		if len(got) != len(c.want) {
			t.Errorf("%q: solicitations to %v, want %v", c.extra, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q: solicitations to %v, want %v", c.extra, got, c.want)
				break
			}
		}
	}
}
