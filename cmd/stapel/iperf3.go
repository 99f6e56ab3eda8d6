package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/services/iperf3"
)

const (
	iperf3Usage = "-s [-p PORT] [-1] [-J] | -c HOST [-p PORT] [-t SECS | -n BYTES[KMG]] [-R] [-P N] [-l LEN] [-J] [--control SOCKET]"
	iperf3Help  = "iperf3-compatible server or client running in the daemon over Stapel TCP"
)

// cmdIperf3 runs the daemon's iperf3 server (until interrupted) or one
// client test, printing iperf3-style lines (or JSON with -J).
func cmdIperf3(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("iperf3", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sock := fs.String("control", "", "control socket")
	server := fs.Bool("s", false, "server")
	host := fs.String("c", "", "client: server address")
	port := fs.Uint("p", iperf3.DefaultPort, "port")
	secs := fs.Int("t", 0, "seconds")
	nbytes := fs.String("n", "", "bytes")
	reverse := fs.Bool("R", false, "reverse")
	parallel := fs.Int("P", 1, "streams")
	blk := fs.String("l", "", "write size")
	oneOff := fs.Bool("1", false, "one test")
	jsonOut := fs.Bool("J", false, "JSON output")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if fs.NArg() != 0 {
		return usagef("unexpected %q", fs.Arg(0))
	}
	if *server == (*host != "") {
		return usagef("want -s or -c HOST")
	}
	if *port == 0 || *port > 65535 {
		return usagef("bad port %d", *port)
	}
	a := control.Iperf3Args{Server: *server, Port: uint16(*port), Seconds: *secs, Reverse: *reverse,
		Parallel: *parallel, OneOff: *oneOff}
	var err error
	if a.Bytes, err = parseSize(*nbytes); err != nil {
		return usagef("-n: %v", err)
	}
	l, err := parseSize(*blk)
	if err != nil || l > iperf3.MaxBlock {
		return usagef("-l: want up to %d bytes", iperf3.MaxBlock)
	}
	a.Len = int(l)
	if *secs < 0 || *secs > iperf3.MaxDuration || (*secs > 0 && a.Bytes > 0) {
		return usagef("-t: want 1..%d seconds, and not with -n", iperf3.MaxDuration)
	}
	if *parallel < 1 || *parallel > iperf3.MaxStreams {
		return usagef("-P: want 1..%d", iperf3.MaxStreams)
	}
	if !*server {
		if a.Host, err = netip.ParseAddr(*host); err != nil || !a.Host.Is4() {
			return usagef("-c: want an IPv4 address (Stapel has no resolver), not %q", *host)
		}
		if !*jsonOut {
			fmt.Fprintf(stdout, "Connecting to host %s, port %d (Stapel TCP)\n", a.Host, a.Port)
		}
	}
	ctx, cancel := signalContext()
	defer cancel()
	enc := json.NewEncoder(stdout)
	rep, err := client(*sock).Iperf3(ctx, a, func(ev control.Iperf3Event) {
		switch {
		case *jsonOut && ev.Report != nil:
			enc.Encode(ev.Report)
		case *jsonOut && ev.Error != "":
			enc.Encode(ev)
		case *jsonOut:
		case ev.Kind == "listening":
			fmt.Fprintf(stdout, "-----------------------------------------------------------\nServer listening on %d (Stapel TCP, %s)\n-----------------------------------------------------------\n", ev.Local.Port(), ev.Local)
		case ev.Interval != nil:
			iperf3.PrintInterval(stdout, *ev.Interval)
		case ev.Report != nil:
			if *server {
				fmt.Fprintf(stdout, "Accepted connection from %s (reverse=%v, %d stream(s))\n", ev.Report.Remote, ev.Report.Reverse, ev.Report.Parallel)
			}
			iperf3.PrintReport(stdout, *ev.Report)
			if *server {
				fmt.Fprintf(stdout, "-----------------------------------------------------------\n")
			}
		case ev.Error != "":
			fmt.Fprintf(stderr, "iperf3: %s\n", ev.Error)
		}
	})
	if err != nil {
		return err
	}
	if rep != nil && !*jsonOut {
		fmt.Fprintf(stdout, "\niperf Done.\n")
	}
	return nil
}

// parseSize reads iperf3's sizes: a number with an optional K, M or G
// (binary multiples).
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<50)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}
