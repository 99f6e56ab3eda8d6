package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

type options struct {
	bytes      int64
	lossyBytes int64
	limit      time.Duration
	cpsMax     int
	cpsTime    time.Duration
	idle       int
	tapMTU     int
	seed       int64
	runs       int
	only       map[string]bool // scenario keys; empty = all
	skipLinux  bool
	window     int
	verbose    bool
}

func main() {
	var o options
	var only, contenders string
	flag.Int64Var(&o.bytes, "bytes", 64<<20, "bytes per bulk transfer (1073741824 = the issue's 1 GiB)")
	flag.Int64Var(&o.lossyBytes, "lossy-bytes", 4<<20, "bytes for the lossy long path (time-capped by -time)")
	flag.DurationVar(&o.limit, "time", 10*time.Second, "time limit of one transfer (goodput is then what arrived)")
	flag.IntVar(&o.cpsMax, "cps-conns", 2000, "most connections in the conn/s run")
	flag.DurationVar(&o.cpsTime, "cps-time", 3*time.Second, "time limit of the conn/s run")
	flag.IntVar(&o.idle, "idle", 1000, "idle connections held for the memory figure")
	flag.IntVar(&o.tapMTU, "tap-mtu", 1500, "MTU of the TAP runs")
	flag.Int64Var(&o.seed, "seed", 1, "seed of the loss pattern")
	flag.IntVar(&o.runs, "runs", 1, "runs per figure; the table shows the median")
	flag.StringVar(&only, "only", "", "comma-separated scenarios to run: "+strings.Join(scenarioKeys(), ","))
	flag.StringVar(&contenders, "contenders", "stapel,gvisor,linux", "comma-separated contenders")
	flag.IntVar(&o.window, "stapel-window", 0, "Stapel's TcpWindowSize in bytes (0 = whitepaper default, about 17520 on Ethernet)")
	flag.BoolVar(&o.verbose, "v", false, "log each measurement as it finishes")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	o.only = set(only)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}

	var cs []Contender
	want := set(contenders)
	if want["stapel"] {
		profiles := []string{*stapelProfile}
		if *stapelProfile == "both" {
			profiles = []string{"default", "modern"}
		}
		for _, p := range profiles {
			if _, err := profileParams(p); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(2)
			}
			cs = append(cs, stapelContender{profile: p, window: o.window})
		}
	}
	if want["gvisor"] {
		cs = append(cs, gvisorContender{})
	}
	linuxOK := want["linux"] || needsKernel(o)
	if linuxOK {
		if os.Geteuid() != 0 {
			fmt.Fprintln(os.Stderr, "bench: not root: Linux and TAP figures are skipped")
			o.skipLinux = true
		} else if want["linux"] {
			cs = append(cs, linuxContender{})
		}
	}
	cleanupNetns()
	defer cleanupNetns()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; cleanupNetns(); os.Exit(130) }()

	fmt.Printf("bench: bulk %s, lossy %s, limit %v per transfer, conn/s ≤%d or %v, %d idle conns, median of %d run(s), GOMAXPROCS=%d\n",
		size(o.bytes), size(o.lossyBytes), o.limit, o.cpsMax, o.cpsTime, o.idle, max(o.runs, 1), gomaxprocs())
	if o.window > 0 {
		fmt.Printf("bench: Stapel TcpWindowSize = %d\n", o.window)
	}
	rows := runAll(cs, o)
	printTable(os.Stdout, cs, rows)
	if n := tapOffloadNote(cs, o); n != "" {
		fmt.Println(n)
	}
}

// needsKernel: the TAP scenarios need namespaces even without the Linux column.
func needsKernel(o options) bool {
	return len(o.only) == 0 || o.only["tap"] || o.only["tapin"] || o.only["tapout"]
}

func set(s string) map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(strings.ToLower(f)); f != "" {
			m[f] = true
		}
	}
	return m
}

func size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d B", n)
	}
}
