package interop

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// pingSizes are ICMP payload sizes: minimum-ish, a full Ethernet frame,
// and two that need fragments (4000: 3 fragments; 65000: 45).
var pingSizes = []int{56, 1472, 4000, 65000}

// TestLinuxPingsStapel: the kernel pings Stapel; every echo is answered,
// large ones in both directions as fragments.
// SPEC: ICMP-5, IP-20, IP-17
func TestLinuxPingsStapel(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{})
	for _, n := range pingSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c := e.StartCapture(t, "icmp and host "+stapelIP)
			out, err := e.NS(t, 30*time.Second, "ping", "-n", "-c", "3", "-i", "0.2", "-W", "3", "-s", fmt.Sprint(n), stapelIP)
			pkts := c.Stop(t)
			if err != nil || !strings.Contains(out, " 0% packet loss") {
				t.Fatalf("ping -s %d %s: want 0%% packet loss, got err=%v\n%s", n, stapelIP, err, out)
			}
			if strings.Contains(out, "wrong data") || strings.Contains(out, "DUP!") {
				t.Errorf("replies must echo the request's data once:\n%s", out)
			}
			// SPEC: IP-17 — Stapel answers with its DefaultTTL (128).
			if !strings.Contains(out, "ttl=128") {
				t.Errorf("replies should carry ttl=128 (DefaultTTL):\n%s", out)
			}
			replies, frags := 0, 0
			for _, p := range pkts {
				ip := ipv4(p)
				if ip == nil || ip.SrcIP.String() != stapelIP {
					continue
				}
				replies++
				if isFragment(ip) {
					frags++
				}
			}
			if replies == 0 {
				t.Fatalf("capture saw no IPv4 from Stapel")
			}
			wantFrag := n+8 > 1480
			if wantFrag && frags == 0 {
				t.Errorf("a %d-byte echo reply must leave Stapel fragmented; capture saw %d unfragmented datagrams", n, replies)
			}
			if !wantFrag && frags != 0 {
				t.Errorf("a %d-byte echo reply fits the MTU but Stapel sent %d fragments", n, frags)
			}
		})
	}
}

var replyLine = regexp.MustCompile(`(?m)^Reply from 198\.18\.0\.1: bytes=(\d+) time[<=]\d+ms TTL=(\d+)\s*$`)

// TestStapelPingsLinux: `stapel ping` against the kernel, same sizes;
// Stapel fragments the requests and reassembles the replies.
// SPEC: TOOL-PING, ICMP-5, IP-20
func TestStapelPingsLinux(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{})
	for _, n := range pingSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c := e.StartCapture(t, "icmp and host "+stapelIP)
			r := e.Tool(t, 40*time.Second, "ping", "-n", "3", "-l", fmt.Sprint(n), "-w", "3000", linuxIP)
			pkts := c.Stop(t)
			if r.Err != nil || r.Code != 0 {
				t.Fatalf("stapel ping -n 3 -l %d: exit %d, err %v\n%s", n, r.Code, r.Err, r.Output())
			}
			if !strings.Contains(r.Stdout, fmt.Sprintf("Pinging %s with %d bytes of data:", linuxIP, n)) {
				t.Errorf("missing the Pinging header:\n%s", r.Stdout)
			}
			m := replyLine.FindAllStringSubmatch(r.Stdout, -1)
			if len(m) != 3 {
				t.Fatalf("want 3 'Reply from %s: bytes=%d ...' lines, got %d:\n%s", linuxIP, n, len(m), r.Stdout)
			}
			for _, l := range m {
				if l[1] != fmt.Sprint(n) || l[2] != "64" { // Linux replies with TTL 64
					t.Errorf("reply line %q: want bytes=%d TTL=64", l[0], n)
				}
			}
			if !strings.Contains(r.Stdout, "Sent = 3, Received = 3, Lost = 0 (0% loss)") {
				t.Errorf("statistics should say 3 sent, 3 received:\n%s", r.Stdout)
			}
			frags := 0
			for _, p := range pkts {
				if ip := ipv4(p); ip != nil && ip.SrcIP.String() == stapelIP && isFragment(ip) {
					frags++
				}
			}
			if wantFrag := n+8 > 1480; wantFrag != (frags > 0) {
				t.Errorf("size %d: Stapel sent %d fragments; fragmented expected=%v", n, frags, wantFrag)
			}
		})
	}
}

// TestStapelPingDontFragment: -f with a payload above the MTU fails locally
// with the whitepaper's message and sends nothing.
// SPEC: IP-20, TOOL-PING
func TestStapelPingDontFragment(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{})
	c := e.StartCapture(t, "icmp")
	r := e.Tool(t, 20*time.Second, "ping", "-n", "1", "-f", "-l", "4000", "-w", "1000", linuxIP)
	pkts := c.Stop(t)
	if !strings.Contains(r.Stdout, "Packet needs to be fragmented but DF set.") {
		t.Fatalf("stapel ping -f -l 4000: want 'Packet needs to be fragmented but DF set.', exit %d:\n%s", r.Code, r.Output())
	}
	for _, p := range pkts {
		if ip := ipv4(p); ip != nil && ip.SrcIP.String() == stapelIP && ip.Protocol == layers.IPProtocolICMPv4 {
			t.Errorf("nothing should be sent for a DF datagram above the MTU; saw %v", p)
		}
	}
	// A DF ping that fits still works.
	r = e.Tool(t, 20*time.Second, "ping", "-n", "1", "-f", "-l", "1472", "-w", "3000", linuxIP)
	if r.Code != 0 || !strings.Contains(r.Stdout, "Reply from "+linuxIP+": bytes=1472") {
		t.Errorf("stapel ping -f -l 1472 should get a reply (exit %d):\n%s", r.Code, r.Output())
	}
}
