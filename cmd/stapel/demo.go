package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/services/simple"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tools"
	"github.com/stapel-net/stapel/tools/stackhost"
)

var (
	demoA  = netip.MustParsePrefix("198.51.100.10/24")
	demoRA = netip.MustParsePrefix("198.51.100.1/24")
	demoRB = netip.MustParsePrefix("203.0.113.1/24")
	demoB  = netip.MustParsePrefix("203.0.113.20/24")
)

// demo is one run of the simulated internetwork.
type demo struct {
	out   io.Writer
	n     *sim.Network
	pw    *link.PcapWriter
	frags int

	a, r, b    *stack.Stack
	ha, hr, hb *stackhost.Host
	svc        *simple.Server
}

func cmdDemo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pcapPath := fs.String("pcap", "stapel-demo.pcap", "capture file")
	seed := fs.Int64("seed", 1, "simulation seed")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	f, err := os.Create(*pcapPath)
	if err != nil {
		return err
	}
	defer f.Close()
	d := &demo{out: stdout, n: sim.NewNetwork(*seed), pw: link.NewPcapWriter(f)}
	if err := d.run(*seed); err != nil {
		return err
	}
	if err := d.pw.Err(); err != nil {
		return fmt.Errorf("writing %s: %w", *pcapPath, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nWrote %d frames of net-a and net-b (merged; routed packets appear once per segment) to %s\n(tcpdump -r %s, or open it in Wireshark).\n",
		d.pw.Records(), *pcapPath, *pcapPath)
	return nil
}

// say narrates one event with its virtual timestamp.
func (d *demo) say(format string, a ...any) {
	el := d.n.Elapsed()
	fmt.Fprintf(d.out, "[%3d.%06ds] %s\n", el/time.Second, (el%time.Second)/time.Microsecond, fmt.Sprintf(format, a...))
}

func (d *demo) prompt(host, cmd string) {
	fmt.Fprintf(d.out, "\n")
	d.say("%s> %s", host, cmd)
}

func (d *demo) newStack(name string, seed int64, router bool) *stack.Stack {
	p := config.Default().Tcpip
	p.IPEnableRouter = router
	return stack.New(stack.Options{Clock: d.n.Clock(), Params: p, Seed: seed,
		HostName: name, Logger: slog.New(slog.DiscardHandler)})
}

func (d *demo) attach(s *stack.Stack, seg *sim.Segment, mac int, name string, addr netip.Prefix, gw netip.Addr, quiet bool) error {
	w := &wireWatch{Endpoint: seg.NewPort(sim.MAC(mac)), seg: seg.Name(), clk: d.n.Clock(), say: d.say, quiet: quiet}
	if !quiet {
		w.pw = d.pw
	}
	if name == "net-a" && !quiet {
		w.frags = &d.frags // count fragments on net-a only
	}
	ic := stack.InterfaceConfig{Name: name, Addrs: []netip.Prefix{addr}}
	if gw.IsValid() {
		ic.Gateways = []netip.Addr{gw}
	}
	_, err := s.AddInterface(ic, w)
	return err
}

func (d *demo) build(seed int64) error {
	// A little propagation delay per segment makes round trips visible.
	segA := d.n.NewSegment("net-a", 1500, link.FaultConfig{Delay: 400 * time.Microsecond})
	segB := d.n.NewSegment("net-b", 1500, link.FaultConfig{Delay: 300 * time.Microsecond})
	d.a = d.newStack("hosta", seed*10+1, false)
	d.r = d.newStack("router", seed*10+2, true)
	d.b = d.newStack("hostb", seed*10+3, false)
	for _, err := range []error{
		d.attach(d.a, segA, 1, "net-a", demoA, demoRA.Addr(), false),
		d.attach(d.r, segA, 2, "net-a", demoRA, netip.Addr{}, true),
		d.attach(d.r, segB, 3, "net-b", demoRB, netip.Addr{}, true),
		d.attach(d.b, segB, 4, "net-b", demoB, demoRB.Addr(), false),
	} {
		if err != nil {
			return err
		}
	}
	d.ha = stackhost.New(d.a, stackhost.Options{Runner: d.n})
	d.hr = stackhost.New(d.r, stackhost.Options{Runner: d.n, IPRouting: true})
	d.hb = stackhost.New(d.b, stackhost.Options{Runner: d.n})
	var err error
	d.svc, err = simple.Start(d.hb, nil, simple.Config{Now: d.n.Clock().Now, Seed: uint64(seed)})
	return err
}

func (d *demo) run(seed int64) error {
	fmt.Fprintf(d.out, "Stapel demo: a simulated internetwork in one process (virtual time, seed %d)\n\n", seed)
	fmt.Fprintf(d.out, "  hosta %s --[net-a]-- %s router %s --[net-b, MTU 1500]-- %s hostb\n\n",
		demoA, demoRA.Addr(), demoRB.Addr(), demoB)
	d.say("interfaces up; each announces its address with gratuitous ARPs (duplicate address detection)")
	if err := d.build(seed); err != nil {
		return err
	}
	defer d.close()
	ctx := context.Background()
	d.n.Run(3 * time.Second)

	d.prompt("hosta", "ping 203.0.113.20")
	d.say("hosta has no ARP entry for its gateway yet: it asks on net-a, the router asks for hostb on net-b")
	if err := d.ping(ctx, tools.PingOptions{Size: tools.DefaultPingSize}, true); err != nil {
		return err
	}

	d.prompt("hosta", "ping -n 2 -l 4000 203.0.113.20")
	d.say("4028-byte datagrams exceed the 1500-byte MTU: hosta fragments, hostb reassembles and answers in fragments")
	d.frags = 0
	fa, rb := d.a.StatsMap()["ipFragCreates"], d.b.StatsMap()["ipReasmOKs"]
	if err := d.ping(ctx, tools.PingOptions{Count: 2, Size: 4000}, true); err != nil {
		return err
	}
	d.say("fragments seen on net-a: %d; hosta created %d, hostb reassembled %d datagrams",
		d.frags, d.a.StatsMap()["ipFragCreates"]-fa, d.b.StatsMap()["ipReasmOKs"]-rb)

	d.prompt("hosta", "ping -n 1 -f -l 4000 203.0.113.20")
	if err := d.ping(ctx, tools.PingOptions{Count: 1, Size: 4000, DF: true}, false); err != nil {
		return err
	}

	d.prompt("hosta", "ping -n 1 -i 1 203.0.113.20")
	d.say("TTL 1: the router may not forward it and answers ICMP time exceeded")
	if err := d.ping(ctx, tools.PingOptions{Count: 1, Size: tools.DefaultPingSize, TTL: 1}, false); err != nil {
		return err
	}

	for _, x := range []struct {
		port uint16
		msg  string
	}{{simple.PortEcho, "hello from hosta\n"}, {simple.PortDaytime, "\n"}} {
		d.prompt("hosta", fmt.Sprintf("nc -u 203.0.113.20 %d", x.port))
		if err := d.udp(ctx, x.port, x.msg); err != nil {
			return err
		}
	}

	for _, h := range []struct {
		name string
		h    *stackhost.Host
	}{{"hosta", d.ha}, {"hostb", d.hb}} {
		d.prompt(h.name, "arp -a")
		t, err := h.h.ARPTables(ctx)
		if err != nil {
			return err
		}
		io.WriteString(d.out, tools.FormatARP(t))
	}
	d.prompt("all", "stats (non-zero counters)")
	d.statsTable()
	if err := d.tcpDemo(ctx, seed); err != nil { // demo_tcp.go
		return err
	}
	return d.routing(ctx, seed) // demo_routing.go
}

// ping runs the tool's own loop and output against hosta.
func (d *demo) ping(ctx context.Context, o tools.PingOptions, wantReply bool) error {
	st, err := tools.RunPing(ctx, d.ha, demoB.Addr(), o, d.out)
	if err != nil {
		return err
	}
	if wantReply && st.Received == 0 {
		return fmt.Errorf("demo: no reply from hostb")
	}
	return nil
}

// udp sends one datagram from hosta to hostb's service and prints the
// answer. It waits for hostb's service goroutine (real time) while the
// virtual clock stands still, so the run replays exactly.
func (d *demo) udp(ctx context.Context, port uint16, msg string) error {
	c, err := d.ha.OpenUDP(ctx, netip.AddrPort{}, netip.AddrPortFrom(demoB.Addr(), port))
	if err != nil {
		return err
	}
	defer c.Close()
	inB := func() uint64 { return d.b.StatsMap()["udpInDatagrams"] }
	inA := func() uint64 { return d.a.StatsMap()["udpInDatagrams"] }
	b0, a0, s0 := inB(), inA(), d.svc.Served()
	d.say("hosta %s -> %s: %q", c.LocalAddr(), netip.AddrPortFrom(demoB.Addr(), port), msg)
	if _, err := c.WriteTo([]byte(msg), netip.AddrPort{}); err != nil {
		return err
	}
	if !d.n.RunUntil(func() bool { return inB() > b0 }, 5*time.Second) {
		return fmt.Errorf("demo: hostb did not receive the datagram")
	}
	for deadline := time.Now().Add(10 * time.Second); d.svc.Served() == s0; {
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: hostb's service did not answer")
		}
		time.Sleep(time.Millisecond)
	}
	if !d.n.RunUntil(func() bool { return inA() > a0 }, 5*time.Second) {
		return fmt.Errorf("demo: no answer reached hosta")
	}
	buf := make([]byte, tools.MaxDatagram)
	n, from, err := c.ReadFrom(buf)
	if err != nil {
		return err
	}
	d.say("hosta <- %s: %q", from, buf[:n])
	return nil
}

// statsTable prints the counters that are non-zero anywhere.
func (d *demo) statsTable() {
	ms := []map[string]uint64{d.a.StatsMap(), d.r.StatsMap(), d.b.StatsMap()}
	var names []string
	seen := map[string]bool{}
	for _, n := range stack.StatNames() {
		for _, m := range ms {
			if m[n] != 0 && !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return
	}
	fmt.Fprintf(d.out, "  %-22s%10s%10s%10s\n", "counter", "hosta", "router", "hostb")
	fmt.Fprintf(d.out, "  %s\n", strings.Repeat("-", 52))
	for _, n := range names {
		fmt.Fprintf(d.out, "  %-22s%10d%10d%10d\n", n, ms[0][n], ms[1][n], ms[2][n])
	}
}

func (d *demo) close() {
	if d.svc != nil {
		d.svc.Close()
	}
	for _, s := range []*stack.Stack{d.a, d.r, d.b} {
		if s != nil {
			s.Close()
		}
	}
}
