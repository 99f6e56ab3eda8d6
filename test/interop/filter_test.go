package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// filterConfig turns on the security filters with only port 7 open for
// TCP and UDP, while the simple services listen on 7, 9, 13, 17 and 19.
const filterConfig = `[Tcpip.Parameters]
EnableSecurityFilters = 1

[[Interface]]
Name = "lan0"
Tap = "stptap0"
IPAddress = ["198.18.0.2"]
SubnetMask = ["255.255.255.0"]
TcpAllowedPorts = ["7"]
UdpAllowedPorts = ["7"]

[Services]
SimpleTcpip = true
`

// TestSecurityFilters: with TcpAllowedPorts = UdpAllowedPorts = [7], Linux
// reaches the echo service on TCP and UDP 7, while SYNs to TCP 13 and 9
// and datagrams to UDP 9 and 13 go unanswered — no RST, no SYN-ACK, no
// ICMP port unreachable on the wire — and are counted; ping (ICMP) is not
// filtered.
// SPEC: IP-21, SEC-1, SEC-5
func TestSecurityFilters(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Config: filterConfig})

	// Allowed: TCP and UDP echo.
	r := e.NSResult(t, 20*time.Second, nil, "sh", "-c", "printf hi | socat -t 5 - TCP:"+stapelIP+":7,connect-timeout=5")
	if r.Err != nil || r.Stdout != "hi" {
		t.Fatalf("TCP echo through the filter: %q err=%v %s", r.Stdout, r.Err, r.Stderr)
	}
	file := e.writeFile(t, "ping.txt", []byte("ping"))
	if r := e.socatUDP(t, file, 7); r.Err != nil || r.Stdout != "ping" {
		t.Fatalf("UDP echo through the filter: %q err=%v %s", r.Stdout, r.Err, r.Stderr)
	}
	if out, err := e.NS(t, 10*time.Second, "ping", "-c", "1", "-W", "3", stapelIP); err != nil {
		t.Fatalf("ping with filters on: %v\n%s", err, out)
	}
	before := e.stats(t)

	// Filtered: each TCP connect attempt must time out (no RST), each UDP
	// datagram vanish (no port unreachable, no daytime answer).
	c := e.StartCapture(t, "src host "+stapelIP+" and (tcp or udp or icmp)")
	for _, port := range []int{13, 9} {
		r := e.NSResult(t, 15*time.Second, nil, "socat", "-T", "2", "/dev/null", fmt.Sprintf("TCP:%s:%d,connect-timeout=2", stapelIP, port))
		if r.Err == nil {
			t.Errorf("TCP %d: connected through the filter", port)
		}
		if strings.Contains(r.Stderr, "refused") {
			t.Errorf("TCP %d: refused (an RST) instead of silently dropped: %s", port, r.Stderr)
		}
	}
	for _, port := range []int{9, 13} {
		if r := e.socatUDP(t, file, port); r.Stdout != "" {
			t.Errorf("UDP %d answered through the filter: %q", port, r.Stdout)
		}
	}
	for _, p := range c.Stop(t) {
		if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && tcp.SrcPort != 7 {
			t.Errorf("Stapel answered a filtered SYN: %v", p)
		}
		if udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && udp.SrcPort != 7 {
			t.Errorf("Stapel answered a filtered datagram: %v", p)
		}
		if ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok && ic.TypeCode.Type() == layers.ICMPv4TypeDestinationUnreachable {
			t.Errorf("ICMP unreachable for a filtered datagram: %v", p)
		}
	}
	after := e.stats(t)
	const tcpKey, udpKey = "Stapel Counters/secFilterTcpDrops", "Stapel Counters/secFilterUdpDrops"
	if after[tcpKey]-before[tcpKey] < 2 {
		t.Errorf("secFilterTcpDrops %d -> %d, want at least one SYN per port", before[tcpKey], after[tcpKey])
	}
	if after[udpKey]-before[udpKey] != 2 {
		t.Errorf("secFilterUdpDrops %d -> %d, want 2", before[udpKey], after[udpKey])
	}
	if n := after["UDP Statistics/No Ports"] - before["UDP Statistics/No Ports"]; n != 0 {
		t.Errorf("udpNoPorts grew by %d", n)
	}
}
