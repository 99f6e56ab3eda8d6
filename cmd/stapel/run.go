package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/daemon"
)

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfgPath := fs.String("c", "", "configuration file (TOML)")
	sock := fs.String("control", "", "control socket path")
	pcapDir := fs.String("pcap", "", "capture each interface to DIR/<Name>.pcap")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	printDefault := fs.Bool("print-default-config", false, "print the default configuration and exit")
	stateDir := fs.String("state-dir", "", "keep persistent routes in DIR/persistent-routes (default "+defaultStateDir+" as root; empty = memory only)")
	var faults multiFlag
	fs.Var(&faults, "faults", "IF:loss=P,reorder=P,dup=P,corrupt=P,delay=D,jitter=D,seed=N (repeatable)")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *printDefault {
		return printDefaultConfig(stdout)
	}
	if *cfgPath == "" {
		return usagef("-c FILE is required")
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", *level)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError{2}
	}
	var specs []daemon.FaultSpec
	for _, f := range faults {
		s, err := daemon.ParseFaults(f)
		if err != nil {
			return usagef("%v", err)
		}
		specs = append(specs, s)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))
	stateSet := false
	fs.Visit(func(f *flag.Flag) { stateSet = stateSet || f.Name == "state-dir" })
	if !stateSet {
		*stateDir = pickStateDir(log)
	}
	ctx, cancel := signalContext()
	defer cancel()
	go func() { // after the first signal, a second one kills at once
		<-ctx.Done()
		cancel()
	}()
	return daemon.Run(ctx, daemon.Options{
		Config:   cfg,
		Control:  *sock,
		PcapDir:  *pcapDir,
		Faults:   specs,
		Logger:   log,
		Seed:     time.Now().UnixNano(),
		StateDir: *stateDir,
	})
}

// defaultStateDir is where a daemon run as root keeps its state when
// --state-dir is not given.
const defaultStateDir = "/var/lib/stapel"

// pickStateDir is the default state directory: defaultStateDir when
// running as root and it exists or can be created, else none.
func pickStateDir(log *slog.Logger) string {
	if os.Geteuid() != 0 {
		return ""
	}
	if err := os.MkdirAll(defaultStateDir, 0o755); err != nil {
		log.Warn("cannot create the default state directory", "dir", defaultStateDir, "err", err)
		return ""
	}
	return defaultStateDir
}

// printDefaultConfig writes the defaults as TOML.
func printDefaultConfig(w io.Writer) error {
	return config.Default().Encode(w)
}
