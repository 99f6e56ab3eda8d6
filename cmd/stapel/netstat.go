package main

import (
	"io"
	"strings"

	"github.com/stapel-net/stapel/tools"
)

// Registered here (after main.go's init, files initialise in name order)
// so the TCP tools live in their own files.
func init() {
	commands = append(commands[:len(commands)-1:len(commands)-1],
		command{"netstat", "[-a] [-n] [-e] [-s] [-r] [-p TCP|UDP|IP|ICMP] [--control SOCKET]", "show connections, protocol and interface statistics", cmdNetstat},
		command{"httpd", "[--control SOCKET] [-f FILE|DIR] PORT", "serve HTTP with Go's net/http over Stapel TCP (test aid)", cmdHTTPD},
		command{"http-get", "[--control SOCKET] [-o FILE] [-i] URL", "fetch URL with Go's net/http client over Stapel TCP", cmdHTTPGet},
		commands[len(commands)-1])
}

// cmdNetstat parses W2K-style switches, which may be combined (-an) and
// written with / (/a).
func cmdNetstat(args []string, stdout, stderr io.Writer) error {
	var (
		o      tools.NetstatOptions
		sock   string
		stats  bool
		ether  bool
		routes bool
	)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--control" || a == "-control" {
			if i+1 >= len(args) {
				return usagef("--control needs a socket path")
			}
			i++
			sock = args[i]
			continue
		}
		if len(a) < 2 || (a[0] != '-' && a[0] != '/') {
			return usagef("unexpected argument %q (intervals are not supported)", a)
		}
		for _, ch := range strings.ToLower(a[1:]) {
			switch ch {
			case 'a':
				o.All = true
			case 'n':
				o.Numeric = true
			case 's':
				stats = true
			case 'e':
				ether = true
			case 'p':
				if i+1 >= len(args) {
					return usagef("-p needs a protocol (TCP, UDP, IP or ICMP)")
				}
				i++
				o.Proto = strings.ToUpper(args[i])
			case 'r':
				routes = true
			default:
				return usagef("unknown switch -%c", ch)
			}
		}
	}
	switch o.Proto {
	case "", "TCP", "UDP":
	case "IP", "ICMP":
		if !stats {
			return usagef("-p %s is only valid with -s", o.Proto)
		}
	default:
		return usagef("-p %s: protocol must be TCP, UDP, IP or ICMP", o.Proto)
	}
	ctx, cancel := signalContext()
	defer cancel()
	cl := client(sock)
	if routes {
		if err := netstatRoutes(ctx, sock, stdout); err != nil {
			return err
		}
		if !stats && !ether {
			// -r also lists the active connections (W2K).
			info, err := cl.Netstat(ctx)
			if err != nil {
				return err
			}
			io.WriteString(stdout, tools.FormatConnections(info, o))
			return nil
		}
	}
	if ether || !stats {
		info, err := cl.Netstat(ctx)
		if err != nil {
			return err
		}
		if ether {
			io.WriteString(stdout, tools.FormatInterfaceStats(info.Interfaces))
		} else {
			io.WriteString(stdout, tools.FormatConnections(info, o))
		}
	}
	if stats {
		m, err := cl.Stats(ctx)
		if err != nil {
			return err
		}
		s, err := tools.FormatStatsProto(m, o.Proto)
		if err != nil {
			return err
		}
		io.WriteString(stdout, s)
	}
	return nil
}
