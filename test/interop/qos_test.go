package interop

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// qosConfig is baseConfig with 802.1p tagging allowed on the interface.
const qosConfig = `[Tcpip.Parameters]
DefaultTTL = 128

[[Interface]]
Name = "lan0"
Tap = "stptap0"
IPAddress = ["198.18.0.2"]
SubnetMask = ["255.255.255.0"]
DefaultGateway = ["198.18.0.1"]
QoS8021p = true
`

// TestQoSMarkingToLinux: flows installed with `stapel qos add` (the TC
// API's role) mark Stapel's UDP datagrams as guaranteed (DSCP 40, 802.1p
// 5) and a TCP connection as network control (DSCP 48, 802.1p 7). On
// the kernel side tcpdump's capture, decoded with gopacket, shows the
// DSCP and the priority tag (VID 0); the kernel accepts the
// priority-tagged frames on its plain TAP interface (socat receives the
// datagram and the stream), and iptables' dscp match counts the marked
// packets.
// SPEC: QOS-1, QOS-4, QOS-5
func TestQoSMarkingToLinux(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Config: qosConfig, Timeout: 90 * time.Second})
	for _, r := range [][]string{
		{"-p", "udp", "--dport", "5001", "-m", "dscp", "--dscp", "40"},
		{"-p", "tcp", "--dport", "5002", "-m", "dscp", "--dscp", "48"},
	} {
		args := append([]string{"iptables", "-w", "-A", "INPUT", "-i", tapName}, r...)
		e.MustNS(t, append(args, "-j", "ACCEPT")...)
	}
	for _, a := range [][]string{
		{"qos", "add", "guaranteed", "-p", "udp", "-r", linuxIP + ":5001"},
		{"qos", "add", "network-control", "-p", "tcp", "-r", linuxIP + ":5002"},
	} {
		if r := e.Tool(t, 10*time.Second, a...); r.Err != nil {
			t.Fatalf("stapel %s: %v\n%s", strings.Join(a, " "), r.Err, r.Output())
		}
	}

	udpRx := e.BackgroundNS(t, "socat", "-u", "UDP4-RECV:5001,bind="+linuxIP, "STDOUT")
	tcpRx := e.BackgroundNS(t, "socat", "-u", "TCP4-LISTEN:5002,bind="+linuxIP+",reuseaddr", "STDOUT")
	e.WaitFor(t, 10*time.Second, "socat listening", func() (bool, string) {
		out, _ := e.NS(t, 5*time.Second, "ss", "-lntu")
		return strings.Contains(out, ":5001") && strings.Contains(out, ":5002"), out
	})
	cp := e.StartCapture(t, "")

	if r := e.ToolIn(t, 20*time.Second, strings.NewReader("udp-marked\n"), "nc", "-u", "-q", "1", linuxIP, "5001"); r.Err != nil {
		t.Fatalf("stapel nc -u: %v\n%s", r.Err, r.Output())
	}
	// 256 KiB: TCP builds super-segments (TSO on the TAP); tagged flows
	// have them cut in software so every wire segment carries the tag.
	bulk := "tcp-marked\n" + strings.Repeat("0123456789abcdef", 16384)
	if r := e.ToolIn(t, 30*time.Second, strings.NewReader(bulk), "nc", "-q", "1", linuxIP, "5002"); r.Err != nil {
		t.Fatalf("stapel nc: %v\n%s", r.Err, r.Output())
	}
	e.WaitFor(t, 10*time.Second, "Linux socat to receive both", func() (bool, string) {
		u, c := string(udpRx.Stdout()), string(tcpRx.Stdout())
		return strings.Contains(u, "udp-marked") && len(c) == len(bulk), fmt.Sprintf("udp: %q, tcp: %d of %d bytes", u, len(c), len(bulk))
	})
	if string(tcpRx.Stdout()) != bulk {
		t.Fatal("the TCP stream arrived corrupted")
	}
	pkts := cp.Stop(t)

	var udpSeen, tcpSeen, maxLen int
	for _, p := range pkts {
		ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ip4 == nil || ip4.SrcIP.String() != stapelIP {
			continue
		}
		q, tagged := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q)
		check := func(what string, dscp, prio uint8) {
			if ip4.TOS>>2 != dscp {
				t.Errorf("%s: DSCP %d, want %d", what, ip4.TOS>>2, dscp)
			}
			if !tagged {
				t.Errorf("%s: no 802.1Q tag in the capture", what)
			} else if q.Priority != prio || q.VLANIdentifier != 0 {
				t.Errorf("%s: tag priority %d VID %d, want %d and 0", what, q.Priority, q.VLANIdentifier, prio)
			}
		}
		if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && u.DstPort == 5001 {
			udpSeen++
			check("UDP datagram", 40, 5)
		}
		if c, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && c.DstPort == 5002 {
			tcpSeen++
			check("TCP segment", 48, 7)
			maxLen = max(maxLen, int(ip4.Length))
			if int(ip4.Length) > 1496 {
				t.Errorf("TCP datagram of %d bytes: larger than the tagged MTU 1496", ip4.Length)
			}
		}
	}
	if udpSeen == 0 || tcpSeen < 3 {
		t.Fatalf("captured %d marked UDP datagrams and %d TCP segments from Stapel", udpSeen, tcpSeen)
	}

	out := e.MustNS(t, "iptables", "-w", "-L", "INPUT", "-v", "-n", "-x")
	counts := map[string]int{}
	re := regexp.MustCompile(`(?m)^\s*(\d+)\s+\d+\s+ACCEPT\s+(\w+).*dpt:(\d+)`)
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		counts[m[3]] = n
	}
	if counts["5001"] < 1 || counts["5002"] < tcpSeen {
		t.Fatalf("iptables dscp counters udp %d, tcp %d (captured %d TCP segments):\n%s", counts["5001"], counts["5002"], tcpSeen, out)
	}
	t.Logf("marked and tagged: %d UDP, %d TCP (largest %d bytes); iptables:\n%s", udpSeen, tcpSeen, maxLen, out)
}

// TestQoSShaperToLinux: with QoSPacketScheduler on, a flow shaped to
// 20 kB/s with a 2 kB bucket has most of a 20-datagram burst held by the
// shaper (the flow's Delayed counter, read with `stapel qos`), none
// dropped, and Linux still receives every datagram, in order. No timing
// is asserted (the rate itself is tested in virtual time in stack).
// SPEC: QOS-5
func TestQoSShaperToLinux(t *testing.T) {
	t.Parallel()
	cfg := strings.Replace(qosConfig, "QoS8021p = true", "QoSPacketScheduler = true\nQoSLinkSpeedKbps = 100000", 1)
	e := Start(t, Options{Config: cfg, Timeout: 90 * time.Second})
	if r := e.Tool(t, 10*time.Second, "qos", "add", "controlled-load", "-p", "udp", "-r", linuxIP+":5003",
		"-rate", "20000", "-bucket", "2000"); r.Err != nil {
		t.Fatalf("stapel qos add: %v\n%s", r.Err, r.Output())
	}
	rx := e.BackgroundNS(t, "socat", "-u", "UDP4-RECV:5003,bind="+linuxIP, "STDOUT")
	e.WaitFor(t, 10*time.Second, "socat listening", func() (bool, string) {
		out, _ := e.NS(t, 5*time.Second, "ss", "-lnu")
		return strings.Contains(out, ":5003"), out
	})
	// Resolve Linux's MAC first: while ARP is pending only one datagram
	// waits (ARP-6) and the rest of the burst would be lost before QoS.
	if r := e.Tool(t, 10*time.Second, "ping", "-n", "1", linuxIP); r.Err != nil {
		t.Fatalf("ping: %v\n%s", r.Err, r.Output())
	}
	var in strings.Builder
	for i := range 20 {
		fmt.Fprintf(&in, "%02d %s\n", i, strings.Repeat("x", 996))
	}
	if r := e.ToolIn(t, 20*time.Second, strings.NewReader(in.String()), "nc", "-u", "-q", "1", linuxIP, "5003"); r.Err != nil {
		t.Fatalf("stapel nc -u: %v\n%s", r.Err, r.Output())
	}
	e.WaitFor(t, 20*time.Second, "Linux to receive all 20 datagrams", func() (bool, string) {
		got := string(rx.Stdout())
		return got == in.String(), fmt.Sprintf("%d of %d bytes", len(got), in.Len())
	})
	r := e.Tool(t, 10*time.Second, "qos")
	if r.Err != nil {
		t.Fatalf("stapel qos: %v\n%s", r.Err, r.Output())
	}
	var sent, delayed, dropped int
	for _, line := range strings.Split(r.Stdout, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "1" {
			continue
		}
		// ID Service(2 words) Proto Local Remote DSCP Prio Rate Sent Delayed Dropped
		n := len(f)
		sent, _ = strconv.Atoi(f[n-3])
		delayed, _ = strconv.Atoi(f[n-2])
		dropped, _ = strconv.Atoi(f[n-1])
	}
	if sent != 20 || delayed < 10 || dropped != 0 {
		t.Fatalf("flow counters sent %d delayed %d dropped %d, want 20, >= 10, 0:\n%s", sent, delayed, dropped, r.Stdout)
	}
	t.Logf("stapel qos:\n%s", r.Stdout)
}
