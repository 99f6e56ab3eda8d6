package main

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"

	"github.com/stapel-net/stapel/control"
)

const (
	qosUsage = "[add SERVICE [-p tcp|udp] [-l ADDR:PORT] [-r ADDR:PORT] [-rate BYTES/S] [-bucket BYTES] | delete ID]"
	qosHelp  = "list, add or delete QoS flows: DiffServ/802.1p marking and shaping of the traffic a filter selects (SPEC §16)"
)

// cmdQoS is the Traffic Control API's role for the command line (SPEC
// QOS-5: flows and filters for applications that do not ask for QoS
// themselves). SERVICE is best-effort, controlled-load, guaranteed,
// network-control or qualitative; the filter's unset parts match
// anything; -l is the local (source) and -r the remote (destination)
// address and port, where 0.0.0.0 or port 0 match anything.
func cmdQoS(args []string, stdout, stderr io.Writer) error {
	w := &winArgs{args: args}
	var pos []string
	var a control.QoSFlowArgs
	for {
		name, sw, ok, err := w.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if !sw {
			pos = append(pos, name)
			continue
		}
		switch name {
		case "p":
			a.Proto, err = w.value("-p")
		case "l", "r":
			var v string
			if v, err = w.value("-" + name); err == nil {
				ap, perr := netip.ParseAddrPort(v)
				if perr != nil {
					return usagef("Bad address %q for -%s: want ADDR:PORT.", v, name)
				}
				if name == "l" {
					a.Local = ap
				} else {
					a.Remote = ap
				}
			}
		case "rate":
			a.TokenRate, err = w.intValue(name, 0, 1<<40)
		case "bucket":
			var n int64
			n, err = w.intValue(name, 0, 1<<30)
			a.BucketSize = int(n)
		default:
			return usagef("unknown option %q", name)
		}
		if err != nil {
			return err
		}
	}
	ctx, cancel := signalContext()
	defer cancel()
	cl := client(w.control)
	switch {
	case len(pos) == 0:
		flows, err := cl.QoSFlows(ctx)
		if err != nil {
			return err
		}
		if len(flows) == 0 {
			fmt.Fprintln(stdout, "No QoS flows.")
			return nil
		}
		fmt.Fprintf(stdout, "%-4s %-16s %-5s %-22s %-22s %-5s %-4s %10s %10s %10s %10s\n",
			"ID", "Service", "Proto", "Local", "Remote", "DSCP", "Prio", "Rate", "Sent", "Delayed", "Dropped")
		for _, f := range flows {
			fmt.Fprintf(stdout, "%-4d %-16s %-5s %-22s %-22s %-5d %-4d %10d %10d %10d %10d\n",
				f.ID, f.Service, orAny(f.Proto), addrOrAny(f.Local), addrOrAny(f.Remote), f.DSCP, f.Priority,
				f.TokenRate, f.Sent, f.Delayed, f.Dropped)
		}
		return nil
	case pos[0] == "add" && len(pos) == 2:
		a.Service = pos[1]
		f, err := cl.AddQoSFlow(ctx, a)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "QoS flow %d added: %s, DSCP %d, 802.1p priority %d.\n", f.ID, f.Service, f.DSCP, f.Priority)
		return nil
	case pos[0] == "delete" && len(pos) == 2:
		id, err := strconv.Atoi(pos[1])
		if err != nil {
			return usagef("Bad flow ID %q.", pos[1])
		}
		return cl.DeleteQoSFlow(ctx, id)
	}
	return usagef("want no argument, add SERVICE or delete ID")
}

func orAny(s string) string {
	if s == "" {
		return "any"
	}
	return s
}

func addrOrAny(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return "any"
	}
	return ap.String()
}
