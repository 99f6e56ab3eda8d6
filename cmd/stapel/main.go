// Command stapel is the Stapel daemon (run), its diagnostic tools (ping,
// arp, ipconfig, nc, stats) talking to the daemon over its control socket,
// and a self-contained simulated demo (demo).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// usageError makes main exit 2 after printing the message.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// exitError carries a specific exit code (ping's 1 without replies).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

type command struct {
	name, args, help string
	run              func(args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"run", "-c FILE [--control SOCKET] [--pcap DIR] [--state-dir DIR] [--log-level LEVEL] [--faults IF:SPEC]... | --print-default-config", "run the stack daemon on the TAP devices of FILE", cmdRun},
		{"demo", "[--pcap FILE] [--seed N]", "simulate a small internetwork in-process and narrate it (no root)", cmdDemo},
		{"ping", "[-t] [-n count] [-l size] [-f] [-i TTL] [-v TOS] [-w timeout] HOST", "send ICMP echo requests", cmdPing},
		{"arp", "-a [IP] | -s IP MAC [IFADDR] | -d IP|*", "show or change the ARP cache", cmdARP},
		{"ipconfig", "[/all | /release [IF] | /renew [IF] | /displaydns | /flushdns]", "show the IP configuration", cmdIPConfig},
		{"nc", "[-u] [-q SECS] [-p PORT] [-s ADDR] [--ttl N] HOST PORT | [-u] -l [-q SECS] [--join GROUP] PORT", "TCP stream (or -u UDP datagrams) between stdin/stdout and a peer", cmdNC},
		{"stats", "", "show protocol statistics (netstat -s style)", cmdStats},
		{"help", "", "show this help", nil},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Stapel, a userspace TCP/IP stack.\n\nUsage: stapel COMMAND [options]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.help)
		if c.args != "" {
			fmt.Fprintf(w, "            stapel %s %s\n", c.name, c.args)
		}
	}
	fmt.Fprintf(w, "\nThe tools reach the daemon at --control SOCKET, else $STAPEL_CONTROL, else /run/stapel/stapel.sock.\n")
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help", "-help", "/?", "-?":
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name != name || c.run == nil {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		var ue usageError
		var ee exitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.code
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "stapel %s: %s\nusage: stapel %s %s\n", name, ue.msg, c.name, c.args)
			return 2
		default:
			fmt.Fprintf(stderr, "stapel %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "stapel: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}
