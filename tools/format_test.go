package tools

import (
	"net/netip"
	"testing"
	"time"
)

var (
	ipA = netip.MustParseAddr("198.51.100.10")
	ipR = netip.MustParseAddr("198.51.100.1")
	ipB = netip.MustParseAddr("203.0.113.20")
)

// SPEC: TOOL-PING — reply, time<1ms, timeout, TTL expired, DF lines and the
// statistics block.
func TestPingGolden(t *testing.T) {
	st := &PingStats{}
	probes := []ProbeResult{
		{Kind: ProbeReply, From: ipB, Bytes: 32, RTT: 300 * time.Microsecond, TTL: 127},
		{Kind: ProbeReply, From: ipB, Bytes: 32, RTT: 12*time.Millisecond + 900*time.Microsecond, TTL: 127},
		{Kind: ProbeTimeout},
		{Kind: ProbeTTLExpired, From: ipR},
		{Kind: ProbeNeedsFrag},
		{Kind: ProbeUnreachable, From: ipR, Code: 1},
		{Kind: ProbeUnreachable, Code: 1},
	}
	got := FormatPingHeader(ipB, 32)
	for _, p := range probes {
		st.Add(p)
		got += FormatProbe(p)
	}
	got += FormatPingStats(ipB, st)
	want := `
Pinging 203.0.113.20 with 32 bytes of data:

Reply from 203.0.113.20: bytes=32 time<1ms TTL=127
Reply from 203.0.113.20: bytes=32 time=12ms TTL=127
Request timed out.
Reply from 198.51.100.1: TTL expired in transit.
Packet needs to be fragmented but DF set.
Reply from 198.51.100.1: Destination host unreachable.
Destination host unreachable.

Ping statistics for 203.0.113.20:
    Packets: Sent = 7, Received = 2, Lost = 5 (71% loss),
Approximate round trip times in milli-seconds:
    Minimum = 0ms, Maximum = 12ms, Average = 6ms
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestPingStatsNoReplies(t *testing.T) {
	st := &PingStats{}
	for i := 0; i < 4; i++ {
		st.Add(ProbeResult{Kind: ProbeTimeout})
	}
	want := "\nPing statistics for 203.0.113.20:\n    Packets: Sent = 4, Received = 0, Lost = 4 (100% loss),\n"
	if got := FormatPingStats(ipB, st); got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestPingStatsMaths(t *testing.T) {
	cases := []struct {
		rtts          []time.Duration // -1 = lost
		min, max, avg time.Duration
		loss          int
	}{
		{[]time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}, 1, 4, 2, 0},
		{[]time.Duration{999 * time.Microsecond, -1, -1}, 0, 0, 0, 66},
		{[]time.Duration{10 * time.Millisecond, 11 * time.Millisecond, -1, 20 * time.Millisecond}, 10, 20, 13, 25},
	}
	for i, c := range cases {
		st := &PingStats{}
		for _, r := range c.rtts {
			if r < 0 {
				st.Add(ProbeResult{Kind: ProbeTimeout})
			} else {
				st.Add(ProbeResult{Kind: ProbeReply, RTT: r})
			}
		}
		ms := time.Millisecond
		if st.Min != c.min*ms || st.Max != c.max*ms || st.Average() != c.avg*ms || st.LossPercent() != c.loss {
			t.Errorf("case %d: min %v max %v avg %v loss %d", i, st.Min, st.Max, st.Average(), st.LossPercent())
		}
	}
}

// SPEC: TOOL-ARP
func TestARPGolden(t *testing.T) {
	tables := []ARPTable{
		{IfAddr: ipA, IfIndex: 2, Entries: []ARPEntry{
			{IP: ipR, MAC: "02:00:5e:00:00:01"},
			{IP: netip.MustParseAddr("198.51.100.7"), MAC: "02:00:5e:00:00:07", Static: true},
		}},
		{IfAddr: netip.MustParseAddr("192.0.2.1"), IfIndex: 3},
	}
	want := `
Interface: 198.51.100.10 --- 0x2
  Internet Address      Physical Address      Type
  198.51.100.1          02-00-5e-00-00-01     dynamic
  198.51.100.7          02-00-5e-00-00-07     static
`
	if got := FormatARP(tables); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := FormatARP(tables[1:]); got != "No ARP Entries Found\n" {
		t.Errorf("empty: %q", got)
	}
}

// SPEC: TOOL-IPCONFIG — dotted-leader labels.
func TestIPConfigGolden(t *testing.T) {
	h := HostInfo{HostName: "hosta", NodeType: "Broadcast", Adapters: []Adapter{{
		Index: 2, Name: "lan", Description: "Stapel virtual Ethernet adapter (lan)",
		MAC: "02:00:5e:00:00:0a", Up: true,
		Addrs:    []netip.Prefix{netip.MustParsePrefix("198.51.100.10/24")},
		Gateways: []netip.Addr{ipR, netip.MustParseAddr("198.51.100.2")},
	}, {Index: 3, Name: "wan", MAC: "02:00:5e:00:00:0b", Up: false}}}
	want := `
Stapel IP Configuration

        Host Name . . . . . . . . . . . . : hosta
        Primary DNS Suffix  . . . . . . . :
        Node Type . . . . . . . . . . . . : Broadcast
        IP Routing Enabled. . . . . . . . : No
        WINS Proxy Enabled. . . . . . . . : No

Ethernet adapter lan:

        Connection-specific DNS Suffix  . :
        Description . . . . . . . . . . . : Stapel virtual Ethernet adapter (lan)
        Physical Address. . . . . . . . . : 02-00-5E-00-00-0A
        DHCP Enabled. . . . . . . . . . . : No
        IP Address. . . . . . . . . . . . : 198.51.100.10
        Subnet Mask . . . . . . . . . . . : 255.255.255.0
        Default Gateway . . . . . . . . . : 198.51.100.1
                                            198.51.100.2

Ethernet adapter wan:

        Media State . . . . . . . . . . . : Cable Disconnected
        Connection-specific DNS Suffix  . :
        Description . . . . . . . . . . . :
        Physical Address. . . . . . . . . : 02-00-5E-00-00-0B
        DHCP Enabled. . . . . . . . . . . : No
`
	if got := FormatIPConfig(h, true); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	short := `
Stapel IP Configuration

Ethernet adapter lan:

        Connection-specific DNS Suffix  . :
        IP Address. . . . . . . . . . . . : 198.51.100.10
        Subnet Mask . . . . . . . . . . . : 255.255.255.0
        Default Gateway . . . . . . . . . : 198.51.100.1
                                            198.51.100.2

Ethernet adapter wan:

        Media State . . . . . . . . . . . : Cable Disconnected
`
	if got := FormatIPConfig(h, false); got != short {
		t.Errorf("got:\n%s\nwant:\n%s", got, short)
	}
}

func TestMaskString(t *testing.T) {
	for bits, want := range map[int]string{0: "0.0.0.0", 8: "255.0.0.0", 24: "255.255.255.0", 27: "255.255.255.224", 32: "255.255.255.255"} {
		if got := MaskString(bits); got != want {
			t.Errorf("%d: %s", bits, got)
		}
	}
}

// A named target reads "NAME [ADDR]" in ping's header, as on Windows.
// SPEC: TOOL-PING
func TestPingHeaderNamed(t *testing.T) {
	got := FormatPingHeaderName("host.example.test", ipB, 32)
	if want := "\nPinging host.example.test [203.0.113.20] with 32 bytes of data:\n\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := Target("", ipB); got != "203.0.113.20" {
		t.Errorf("Target without name = %q", got)
	}
}
