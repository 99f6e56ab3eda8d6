package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// routingSize is the transfer size of the routing tests: 50 MiB (the
// issue's figure) unless $STAPEL_INTEROP_ROUTING_MIB says otherwise.
func routingSize() int64 {
	if s := os.Getenv("STAPEL_INTEROP_ROUTING_MIB"); s != "" {
		if m, err := strconv.ParseInt(s, 10, 64); err == nil && m > 0 {
			return m << 20
		}
	}
	return 50 << 20
}

// statCounter reads one counter from `stapel stats` (0 if absent).
func statCounter(t *testing.T, e *Env, name string) int {
	t.Helper()
	r := e.Tool(t, 10*time.Second, "stats")
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + `\s*=\s*(\d+)`).FindStringSubmatch(r.Stdout)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// echoThrough sends n bytes with `stapel nc` to a Python echo server on H
// and checks the echo (both directions cross the narrow link).
func (tp *topo) echoThrough(t *testing.T, n int64, limit time.Duration) time.Duration {
	t.Helper()
	in, sum := tp.randomFile(t, "route.in", n, 5)
	out := filepath.Join(tp.Dir, "route.out")
	ln := tp.bgNS(t, tp.h, "/usr/bin/python3", "-c", pyEcho, hostIP, "9000")
	tp.WaitFor(t, 20*time.Second, "echo server on H", func() (bool, string) {
		r := tp.Exec(t, 5*time.Second, nil, nil, "ip", "netns", "exec", tp.h, "ss", "-ltn", "sport = :9000")
		return strings.Contains(r.Stdout, "9000"), r.Output() + ln.Stderr()
	})
	start := time.Now()
	r := tp.Exec(t, limit, nil, []string{"STAPEL_CONTROL=" + tp.Sock}, "sh", "-c",
		fmt.Sprintf("%s nc %s 9000 < %s > %s", stapelBin, hostIP, in, out))
	el := time.Since(start)
	if r.Err != nil {
		t.Fatalf("stapel nc through the routers: %v\n%s", r.Err, r.Output())
	}
	got, m := fileSHA(t, out)
	if got != sum || m != n {
		t.Fatalf("echoed %d bytes sha %s, sent %d sha %s", m, got, n, sum)
	}
	t.Logf("%d MiB each way through the routers in %v: %s per direction", n>>20, el.Round(time.Millisecond), mibps(n, el))
	return el
}

// SPEC: TOOL-TRACERT, ICMP-7 — tracert through two Linux routers lists
// both hops, then the host.
func TestRoutingTracertTwoLinuxRouters(t *testing.T) {
	tp := startTopo(t, 1500, routingConfig("", ""), false, 2*time.Minute)
	r := tp.Tool(t, 90*time.Second, "tracert", "-d", "-w", "1000", hostIP)
	if r.Err != nil {
		t.Fatalf("tracert: %v\n%s", r.Err, r.Output())
	}
	var hops []string
	for _, l := range strings.Split(r.Stdout, "\n") {
		if m := regexp.MustCompile(`^\s*(\d+)\s.*\s(198\.18\.\d+\.\d+)$`).FindStringSubmatch(l); m != nil {
			hops = append(hops, m[2])
		}
	}
	if strings.Join(hops, " ") != r1IP+" "+r2IP+" "+hostIP || !strings.Contains(r.Stdout, "Trace complete.") {
		t.Fatalf("hops %v\n%s", hops, r.Stdout)
	}
	t.Logf("stapel tracert -d %s:%s", hostIP, r.Stdout)
	pp := tp.Tool(t, 90*time.Second, "pathping", "-n", "-q", "5", "-p", "100", hostIP)
	if pp.Err != nil || !strings.Contains(pp.Stdout, "  2  "+r2IP) || !strings.Contains(pp.Stdout, "Trace complete.") {
		t.Fatalf("pathping: %v\n%s", pp.Err, pp.Output())
	}
	t.Logf("stapel pathping -n -q 5 -p 100 %s:%s", hostIP, pp.Stdout)
}

// SPEC: TCP-PMTU-2, TCP-PMTU-3, ICMP-6, TCP-PMTU-6, TOOL-PING — Stapel —
// Linux router (egress MTU 576 or 1280) — Linux router — Linux host:
// ping -f reports the DF error; an echo transfer completes both ways with
// every segment within the path MTU and DF set (tcpdump on the narrow
// link); tracepath from Linux finds the same path MTU.
func TestRoutingPathMTU(t *testing.T) {
	for _, mtu := range []int{576, 1280} {
		t.Run(fmt.Sprint(mtu), func(t *testing.T) {
			tp := startTopo(t, mtu, routingConfig("", ""), false, 6*time.Minute)
			r := tp.Tool(t, 30*time.Second, "ping", "-f", "-l", "1472", "-n", "2", hostIP)
			if strings.Count(r.Stdout, "Packet needs to be fragmented but DF set.") != 2 {
				t.Fatalf("ping -f -l 1472:\n%s", r.Output())
			}
			if r := tp.Tool(t, 30*time.Second, "ping", "-f", "-l", fmt.Sprint(mtu-28), "-n", "1", hostIP); r.Err != nil {
				t.Fatalf("ping -f -l %d: %v\n%s", mtu-28, r.Err, r.Output())
			}
			capt, file := tp.capture(t, tp.Netns, tp.narrow, "tcp")
			tp.echoThrough(t, routingSize(), 300*time.Second)
			capt.Stop()
			// Stapel's segments as they cross the narrow link; H's as they
			// reach Stapel (the daemon's own capture: tcpdump on a veth
			// sees received segments merged by GRO).
			for _, src := range []string{stapelIP, hostIP} {
				f := file
				if src == hostIP {
					f = filepath.Join(tp.PcapDir, "lan0.pcap")
				}
				lens, df := tcpLengths(t, f, src)
				if len(lens) == 0 || maxInt(lens) != mtu {
					t.Fatalf("from %s: %d segments, largest %d, want %d", src, len(lens), maxInt(lens), mtu)
				}
				for i := range df {
					if !df[i] {
						t.Fatalf("from %s: segment of %d bytes without DF", src, lens[i])
					}
				}
				t.Logf("from %s (%s): %d data segments, largest %d, all DF", src, filepath.Base(f), len(lens), maxInt(lens))
			}
			if n := statCounter(t, tp.Env, "pmtuUpdates"); n == 0 {
				t.Fatal("Stapel applied no fragmentation needed")
			}
			tr := tp.Exec(t, 60*time.Second, nil, nil, "ip", "netns", "exec", tp.h, "tracepath", "-n", stapelIP)
			if !strings.Contains(tr.Stdout, fmt.Sprintf("pmtu %d", mtu)) {
				t.Fatalf("tracepath from Linux:\n%s", tr.Output())
			}
			t.Logf("tracepath -n %s from H:\n%s", stapelIP, tr.Stdout)
			rp := tp.Tool(t, 10*time.Second, "route", "print")
			t.Logf("stapel route print:\n%s", rp.Stdout)
		})
	}
}

// SPEC: TCP-PMTU-4, AMB-8 — the same with R1's "fragmentation needed"
// dropped by iptables (a black-hole router): with EnablePMTUBHDetect the
// transfer completes by retrying without DF, then at the smaller size.
func TestRoutingBlackHole(t *testing.T) {
	tp := startTopo(t, 576, routingConfig("EnablePMTUBHDetect = true", ""), false, 6*time.Minute)
	tp.inNS(t, tp.Netns, "iptables", "-A", "OUTPUT", "-p", "icmp", "--icmp-type", "fragmentation-needed", "-j", "DROP")
	capt, file := tp.capture(t, tp.Netns, tp.narrow, "tcp")
	tp.echoThrough(t, routingSize(), 300*time.Second)
	capt.Stop()
	out := tp.inNS(t, tp.Netns, "iptables", "-L", "OUTPUT", "-v", "-n", "-x")
	if m := regexp.MustCompile(`(?m)^\s*(\d+)\s+\d+\s+DROP`).FindStringSubmatch(out); m == nil || m[1] == "0" {
		t.Fatalf("no fragmentation needed was dropped:\n%s", out)
	}
	lens, df := tcpLengths(t, file, stapelIP)
	noDF := 0
	for i := range df {
		if !df[i] {
			noDF++
		}
	}
	if noDF == 0 || maxInt(lens) > 576 {
		t.Fatalf("%d segments without DF, largest %d", noDF, maxInt(lens))
	}
	t.Logf("black hole: %d data segments from Stapel on the 576 link (%d without DF), largest %d; iptables:\n%s",
		len(lens), noDF, maxInt(lens), out)
	logTCPStats(t, tp.Env)
}
