package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
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
	ctx, cancel := signalContext()
	defer cancel()
	go func() { // after the first signal, a second one kills at once
		<-ctx.Done()
		cancel()
	}()
	return daemon.Run(ctx, daemon.Options{
		Config:  cfg,
		Control: *sock,
		PcapDir: *pcapDir,
		Faults:  specs,
		Logger:  log,
		Seed:    time.Now().UnixNano(),
	})
}

// printDefaultConfig writes the defaults as TOML.
func printDefaultConfig(w io.Writer) error {
	return config.Default().Encode(w)
}
