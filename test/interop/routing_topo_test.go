package interop

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Topology of the routing interop tests (issue 5), all in 198.18.0.0/15:
//
//	Stapel 198.18.0.2 ── stptap0 ── R1 (the harness namespace, 198.18.0.1)
//	R1 198.18.1.1 ══ veth, MTU m ══ 198.18.1.2 R2 (namespace stp…r)
//	R2 198.18.2.1 ── veth ── 198.18.2.2 H (namespace stp…h, a Linux host)
//
// R1 and R2 are Linux routers; the R1–R2 link has the small MTU (576 or
// 1280), every other link 1500, so both ends announce MSS 1460 and only
// path MTU discovery finds the narrow hop. With bridged, stptap0 is in a
// bridge with a third router G2 (namespace stp…g, 198.18.0.3), which
// routes 198.18.3.0/24 (its own 198.18.3.1) and reaches H over its own
// link to R2 (198.18.4.0/24), which R2 uses for all traffic to Stapel.

const (
	hostIP = "198.18.2.2"
	r1IP   = "198.18.0.1"
	r1Far  = "198.18.1.1"
	r2IP   = "198.18.1.2"
	g2IP   = "198.18.0.3"
	g2Net  = "198.18.3.1"
)

// routingConfig is Stapel's configuration for these tests; extra lines go
// into [Tcpip.Parameters] and gateways replaces the default gateway list.
func routingConfig(extra, gateways string) string {
	if gateways == "" {
		gateways = `["198.18.0.1"]`
	}
	return fmt.Sprintf(`[Tcpip.Parameters]
DefaultTTL = 128
%s

[[Interface]]
Name = "lan0"
Tap = "stptap0"
IPAddress = ["198.18.0.2"]
SubnetMask = ["255.255.255.0"]
DefaultGateway = %s

[Services]
SimpleTcpip = true
`, extra, gateways)
}

type topo struct {
	*Env
	r2, h, g2 string // namespaces
	narrow    string // R1's end of the narrow link
}

// inNS runs a command in namespace ns and fails the test on error.
func (tp *topo) inNS(t *testing.T, ns string, args ...string) string {
	t.Helper()
	r := tp.Exec(t, 30*time.Second, nil, nil, "ip", append([]string{"netns", "exec", ns}, args...)...)
	if r.Err != nil {
		t.Fatalf("ip netns exec %s %s: %v\n%s", ns, strings.Join(args, " "), r.Err, r.Output())
	}
	return r.Stdout
}

func (tp *topo) bgNS(t *testing.T, ns string, args ...string) *Proc {
	t.Helper()
	return tp.Background(t, nil, nil, "ip", append([]string{"netns", "exec", ns}, args...)...)
}

func (tp *topo) addNS(t *testing.T, suffix string) string {
	t.Helper()
	ns := tp.Netns + suffix
	tp.inHost(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { tp.Exec(t, 10*time.Second, nil, nil, "ip", "netns", "del", ns) })
	tp.inNS(t, ns, "ip", "link", "set", "lo", "up")
	tp.inNS(t, ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	return ns
}

func (tp *topo) inHost(t *testing.T, args ...string) {
	t.Helper()
	if r := tp.Exec(t, 30*time.Second, nil, nil, args[0], args[1:]...); r.Err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), r.Err, r.Output())
	}
}

// veth makes a veth pair with ends a (in namespace na) and b (in nb).
func (tp *topo) veth(t *testing.T, a, na, b, nb string, mtu int) {
	t.Helper()
	tp.inNS(t, na, "ip", "link", "add", a, "mtu", fmt.Sprint(mtu), "type", "veth", "peer", "name", b, "mtu", fmt.Sprint(mtu))
	tp.inNS(t, na, "ip", "link", "set", b, "netns", nb)
	tp.inNS(t, na, "ip", "link", "set", a, "up")
	tp.inNS(t, nb, "ip", "link", "set", b, "up")
}

// router makes a namespace forward and answer ICMP without rate limits
// (tracert sends three probes per hop at once).
func (tp *topo) router(t *testing.T, ns string) {
	t.Helper()
	tp.inNS(t, ns, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.icmp_ratelimit=0")
}

// startTopo builds the topology; mtu is the R1–R2 link's.
func startTopo(t *testing.T, mtu int, cfg string, bridged bool, timeout time.Duration) *topo {
	t.Helper()
	requireInterop(t)
	tp := &topo{}
	e := Start(t, Options{Config: cfg, Timeout: timeout, PreTap: func(t *testing.T, e *Env) {
		if bridged {
			br := "stpbr" + e.Netns[3:]
			e.MustNS(t, "ip", "link", "add", br, "type", "bridge")
			e.MustNS(t, "ip", "link", "set", tapName, "master", br)
			e.MustNS(t, "ip", "addr", "add", linuxCIDR, "dev", br)
			e.MustNS(t, "ip", "link", "set", br, "up")
		} else {
			e.MustNS(t, "ip", "addr", "add", linuxCIDR, "dev", tapName)
		}
		e.MustNS(t, "ip", "link", "set", tapName, "up")
	}})
	tp.Env = e
	sfx := e.Netns[3:]
	tp.r2, tp.h = tp.addNS(t, "r"), tp.addNS(t, "h")
	tp.narrow = "stp" + sfx + "a"
	tp.veth(t, tp.narrow, e.Netns, "stp"+sfx+"b", tp.r2, mtu)
	tp.veth(t, "stp"+sfx+"c", tp.r2, "stp"+sfx+"d", tp.h, 1500)
	tp.router(t, e.Netns)
	tp.router(t, tp.r2)
	tp.inNS(t, e.Netns, "ip", "addr", "add", r1Far+"/24", "dev", tp.narrow)
	tp.inNS(t, e.Netns, "ip", "route", "add", "198.18.2.0/24", "via", r2IP)
	tp.inNS(t, tp.r2, "ip", "addr", "add", r2IP+"/24", "dev", "stp"+sfx+"b")
	tp.inNS(t, tp.r2, "ip", "addr", "add", "198.18.2.1/24", "dev", "stp"+sfx+"c")
	tp.inNS(t, tp.r2, "ip", "route", "add", "default", "via", r1Far)
	tp.inNS(t, tp.h, "ip", "addr", "add", hostIP+"/24", "dev", "stp"+sfx+"d")
	tp.inNS(t, tp.h, "ip", "route", "add", "default", "via", "198.18.2.1")
	if bridged {
		br := "stpbr" + sfx
		tp.g2 = tp.addNS(t, "g")
		tp.veth(t, "stp"+sfx+"e", e.Netns, "stp"+sfx+"f", tp.g2, 1500)
		tp.inNS(t, e.Netns, "ip", "link", "set", "stp"+sfx+"e", "master", br)
		tp.router(t, tp.g2)
		tp.inNS(t, tp.g2, "ip", "addr", "add", g2IP+"/24", "dev", "stp"+sfx+"f")
		tp.inNS(t, tp.g2, "ip", "addr", "add", g2Net+"/24", "dev", "lo")
		// G2 has its own link to R2 (198.18.4.0/24): a second way to H
		// that does not pass R1. R2 sends everything for Stapel's subnet
		// that way, so replies never depend on R1.
		tp.veth(t, "stp"+sfx+"g", tp.g2, "stp"+sfx+"h", tp.r2, 1500)
		tp.inNS(t, tp.g2, "ip", "addr", "add", "198.18.4.1/24", "dev", "stp"+sfx+"g")
		tp.inNS(t, tp.r2, "ip", "addr", "add", "198.18.4.2/24", "dev", "stp"+sfx+"h")
		tp.inNS(t, tp.g2, "ip", "route", "add", "198.18.2.0/24", "via", "198.18.4.2")
		tp.inNS(t, tp.r2, "ip", "route", "add", "198.18.0.0/24", "via", "198.18.4.1")
		tp.inNS(t, e.Netns, "ip", "route", "add", "198.18.3.0/24", "via", g2IP)
	}
	// Everything answers before the test starts.
	tp.WaitFor(t, 20*time.Second, "H to reach Stapel", func() (bool, string) {
		r := tp.Exec(t, 5*time.Second, nil, nil, "ip", "netns", "exec", tp.h, "ping", "-c", "1", "-W", "1", stapelIP)
		return r.Err == nil, r.Output()
	})
	return tp
}

// capture starts tcpdump on dev in namespace ns, writing headers to a
// pcap file; stop it and read the file with tcpLengths.
func (tp *topo) capture(t *testing.T, ns, dev, filter string) (*Proc, string) {
	t.Helper()
	f := filepath.Join(tp.Dir, "cap-"+dev+".pcap")
	p := tp.bgNS(t, ns, "tcpdump", "-i", dev, "-nn", "-U", "-s", "128", "-w", f, filter)
	tp.WaitFor(t, 20*time.Second, "tcpdump to start", func() (bool, string) {
		return strings.Contains(p.Stderr(), "listening on"), p.Stderr()
	})
	return p, f
}

// tcpLengths returns the IP total lengths and DF bits of the TCP segments
// with payload from src in a pcap file.
func tcpLengths(t *testing.T, file, src string) (lens []int, df []bool) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.Lazy)
		ipl, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ipl == nil || ipl.SrcIP.String() != src || ipl.Protocol != layers.IPProtocolTCP {
			continue
		}
		if int(ipl.Length) <= 20+60 { // pure ACKs
			continue
		}
		lens = append(lens, int(ipl.Length))
		df = append(df, ipl.Flags&layers.IPv4DontFragment != 0)
	}
	return lens, df
}

func maxInt(v []int) int {
	m := 0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
