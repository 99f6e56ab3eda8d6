package interop

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Rows of `stapel stats`: "  Label   = N", and ICMP's "  Label  In  Out".
var (
	statLine = regexp.MustCompile(`^\s+(\S.*?)\s*=\s*(\d+)\s*$`)
	icmpLine = regexp.MustCompile(`^\s+(\S.*?)\s+(\d+)\s+(\d+)\s*$`)
)

// stats returns the `stapel stats` rows keyed "Section/Label" (ICMP rows
// as "ICMP Statistics/Label/Received" and ".../Sent").
func (e *Env) stats(t *testing.T) map[string]uint64 {
	t.Helper()
	r := e.Tool(t, 10*time.Second, "stats")
	if r.Code != 0 {
		t.Fatalf("stapel stats: exit %d\n%s", r.Code, r.Output())
	}
	m := map[string]uint64{}
	section := ""
	for _, l := range strings.Split(r.Stdout, "\n") {
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, " ") {
			section = strings.TrimSpace(l)
			continue
		}
		if s := statLine.FindStringSubmatch(l); s != nil {
			v, _ := strconv.ParseUint(s[2], 10, 64)
			m[section+"/"+s[1]] = v
		} else if s := icmpLine.FindStringSubmatch(l); s != nil {
			in, _ := strconv.ParseUint(s[2], 10, 64)
			out, _ := strconv.ParseUint(s[3], 10, 64)
			m[section+"/"+s[1]+"/Received"] = in
			m[section+"/"+s[1]+"/Sent"] = out
		}
	}
	if len(m) == 0 {
		t.Fatalf("stapel stats printed no counters:\n%s", r.Stdout)
	}
	return m
}

// TestMalformedBurst: 2,000 malformed frames of many kinds leave the daemon
// running and answering, with the drops counted.
func TestMalformedBurst(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Timeout: 3 * time.Minute})
	stapelMAC := e.StapelMAC(t)
	kernelMAC := e.LinkMAC(t, tapName)
	before := e.stats(t)

	out := e.scapy(t, 90*time.Second, "malformed", tapName, stapelMAC, kernelMAC, linuxIP, stapelIP, "2000", "1")
	t.Logf("sent:\n%s", out)

	if !e.DaemonAlive() {
		t.Fatalf("the daemon died on malformed input")
	}
	// It still answers, fragmented datagrams included.
	for _, n := range []string{"56", "4000"} {
		o, err := e.NS(t, 30*time.Second, "ping", "-n", "-c", "3", "-i", "0.2", "-W", "3", "-s", n, stapelIP)
		if err != nil || !strings.Contains(o, " 0% packet loss") {
			t.Errorf("after the burst, ping -s %s: err=%v\n%s", n, err, o)
		}
	}
	if r := e.Tool(t, 20*time.Second, "ping", "-n", "1", "-w", "3000", linuxIP); r.Code != 0 {
		t.Errorf("after the burst, stapel ping %s: exit %d\n%s", linuxIP, r.Code, r.Output())
	}

	after := e.stats(t)
	t.Logf("counters that moved:%s", movedCounters(before, after))
	moved := func(keys ...string) bool {
		for _, k := range keys {
			if after[k] > before[k] {
				return true
			}
		}
		return false
	}
	// Each kind was sent about 110 times; its drop counter must move.
	for _, c := range []struct {
		what string
		keys []string
	}{
		{"bad IP headers", []string{"IP Statistics/Received Header Errors"}},
		{"bad UDP checksums and lengths", []string{"UDP Statistics/Receive Errors"}},
		{"bad ICMP checksums and truncated ICMP", []string{"ICMP Statistics/Errors/Received"}},
		{"garbage ARP", []string{"Stapel Counters/arpInErrors"}},
		{"overlapping and oversized fragments", []string{"Stapel Counters/reasmOverlaps",
			"Stapel Counters/reasmOversize", "IP Statistics/Reassembly Failures"}},
	} {
		if !moved(c.keys...) {
			t.Errorf("%s were not counted: none of %v increased", c.what, c.keys)
		}
	}
	if !e.DaemonAlive() {
		t.Fatalf("the daemon exited")
	}
}

func movedCounters(before, after map[string]uint64) string {
	var lines []string
	for k, v := range after {
		if v != before[k] {
			lines = append(lines, "\n  "+k+": "+strconv.FormatUint(before[k], 10)+" -> "+strconv.FormatUint(v, 10))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "")
}
