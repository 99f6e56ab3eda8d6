package interop

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/control"
)

const (
	igmpGroup = "239.1.2.3"
	igmpPort  = "5555"
)

// TestIGMPLinuxBridgeSnooping: the TAP's kernel side is a port of a Linux
// bridge with IGMP snooping and its querier on (queries every 2 s, Max
// Resp Time 1 s), flooding of unknown groups to the TAP port off. Stapel
// joins 239.1.2.3 with `stapel nc -u --join`: the bridge learns the
// membership from Stapel's report (bridge mdb), Stapel answers every
// query, a datagram from a Linux socket to the group reaches Stapel's
// socket, and when nc ends Stapel sends Leave Group and the bridge drops
// the entry. Every IGMP message of Stapel's is a v2 message with TTL 1 and
// the Router Alert option, decoded with gopacket.
// SPEC: MCAST-1, MCAST-2, MCAST-3, MCAST-4
func TestIGMPLinuxBridgeSnooping(t *testing.T) {
	t.Parallel()
	var br string
	e := Start(t, Options{Timeout: 90 * time.Second, PreTap: func(t *testing.T, e *Env) {
		br = "stpbr" + e.Netns[3:]
		// Intervals are in centiseconds.
		e.MustNS(t, "ip", "link", "add", br, "type", "bridge", "mcast_snooping", "1", "mcast_querier", "1",
			"mcast_igmp_version", "2", "mcast_query_use_ifaddr", "1",
			"mcast_query_interval", "200", "mcast_query_response_interval", "100",
			"mcast_startup_query_interval", "100", "mcast_last_member_interval", "50", "mcast_last_member_count", "2")
		e.MustNS(t, "ip", "link", "set", tapName, "master", br)
		e.MustNS(t, "ip", "addr", "add", linuxCIDR, "dev", br)
		e.MustNS(t, "ip", "link", "set", br, "up")
		e.MustNS(t, "ip", "link", "set", tapName, "up")
		// Only groups the bridge learned reach Stapel.
		e.MustNS(t, "bridge", "link", "set", "dev", tapName, "mcast_flood", "off")
	}})
	mdb := func() string {
		out, _ := e.NS(t, 5*time.Second, "bridge", "mdb", "show", "dev", br)
		return out
	}
	learned := func() (bool, string) {
		out := mdb()
		return strings.Contains(out, "port "+tapName) && strings.Contains(out, igmpGroup), out
	}
	if ok, out := learned(); ok {
		t.Fatalf("group known before the join: %s", out)
	}
	cp := e.StartCapture(t, "igmp")
	joined := time.Now()
	nc := e.Background(t, nil, []string{"STAPEL_CONTROL=" + e.Sock}, stapelBin, "nc", "-u", "--join", igmpGroup, "-l", igmpPort)
	e.WaitFor(t, 15*time.Second, "the bridge to learn "+igmpGroup+" on "+tapName, learned)
	t.Logf("learned after %v:\n%s", time.Since(joined).Round(time.Millisecond), mdb())

	// Stapel answers the bridge's queries.
	cl := &control.Client{Path: e.Sock}
	stats := func() map[string]uint64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m, err := cl.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	e.WaitFor(t, 20*time.Second, "Stapel to answer two queries", func() (bool, string) {
		m := stats()
		return m["igmpInQueries"] >= 2 && m["igmpOutReports"] >= 4, fmt.Sprintf("queries in %d, reports out %d", m["igmpInQueries"], m["igmpOutReports"])
	})

	// A Linux socket sends to the group; the bridge forwards it to Stapel.
	send := fmt.Sprintf("UDP4-DATAGRAM:%s:%s,ip-multicast-if=%s,ip-multicast-ttl=1", igmpGroup, igmpPort, linuxIP)
	e.WaitFor(t, 15*time.Second, "the datagram at Stapel's member socket", func() (bool, string) {
		e.NSResult(t, 5*time.Second, strings.NewReader("hello group\n"), "socat", "-u", "STDIN", send)
		out := string(nc.Stdout())
		return strings.Contains(out, "hello group"), "nc: " + out + nc.Stderr()
	})

	// Leaving: nc ends, the socket closes, Stapel sends Leave Group.
	left := time.Now()
	nc.Stop()
	e.WaitFor(t, 15*time.Second, "the bridge to drop "+igmpGroup, func() (bool, string) {
		ok, out := learned()
		return !ok, out
	})
	t.Logf("entry gone %v after nc ended", time.Since(left).Round(time.Millisecond))
	pkts := cp.Stop(t)

	var reports, leaves int
	var maxResp time.Duration
	var queryAt, reportAt []time.Time
	for _, p := range pkts {
		ip := ipv4(p)
		ig, _ := p.Layer(layers.LayerTypeIGMP).(*layers.IGMPv1or2)
		if ip == nil || ig == nil {
			continue
		}
		at := p.Metadata().Timestamp
		if ip.SrcIP.String() != stapelIP {
			if ig.Type == layers.IGMPMembershipQuery && ig.GroupAddress.IsUnspecified() {
				queryAt, maxResp = append(queryAt, at), ig.MaxResponseTime
			}
			continue
		}
		checkIGMPWire(t, p, ip)
		switch ig.Type {
		case layers.IGMPMembershipReportV2:
			reports++
			if ig.GroupAddress.String() != igmpGroup || ip.DstIP.String() != igmpGroup {
				t.Errorf("report for %v to %v", ig.GroupAddress, ip.DstIP)
			}
			reportAt = append(reportAt, at)
		case layers.IGMPLeaveGroup:
			leaves++
			if ig.GroupAddress.String() != igmpGroup || ip.DstIP.String() != "224.0.0.2" {
				t.Errorf("leave for %v to %v", ig.GroupAddress, ip.DstIP)
			}
		default:
			t.Errorf("unexpected IGMP %v from Stapel", ig.Type)
		}
	}
	// Every general query while Stapel was a member (after its first
	// report, its window over before nc ended) has a report within Max
	// Resp Time (+ 1 s for scheduling and capture).
	window := maxResp + time.Second
	answered, queries := 0, 0
	for _, q := range queryAt {
		if len(reportAt) == 0 || q.Before(reportAt[0]) || q.Add(window).After(left) {
			continue
		}
		queries++
		for _, r := range reportAt {
			if !r.Before(q) && r.Sub(q) <= window {
				answered++
				break
			}
		}
	}
	t.Logf("capture: %d v2 reports, %d leaves; %d of %d general queries answered within Max Resp Time %v + 1 s",
		reports, leaves, answered, queries, maxResp)
	if reports < 4 || leaves != 1 {
		t.Errorf("want >= 4 v2 reports (2 unsolicited, answers) and 1 leave; got %d, %d", reports, leaves)
	}
	if queries == 0 || answered < queries {
		t.Errorf("%d of %d queries answered in time", answered, queries)
	}
}

// checkIGMPWire: TTL 1, Router Alert (RFC 2236 2), the group's MAC (MCAST-3).
func checkIGMPWire(t *testing.T, p gopacket.Packet, ip *layers.IPv4) {
	t.Helper()
	ra := false
	for _, o := range ip.Options {
		ra = ra || (o.OptionType == 148 && o.OptionLength == 4)
	}
	if ip.TTL != 1 || !ra {
		t.Errorf("IGMP from Stapel with TTL %d, router alert %v", ip.TTL, ra)
	}
	d := ip.DstIP.To4()
	want := net.HardwareAddr{0x01, 0x00, 0x5e, d[1] & 0x7f, d[2], d[3]}
	if got := eth(p).DstMAC; got.String() != want.String() {
		t.Errorf("IGMP to %v on MAC %v, want %v", ip.DstIP, got, want)
	}
}
