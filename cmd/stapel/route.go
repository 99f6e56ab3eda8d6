package main

import (
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/stapel-net/stapel/tools"
)

// The routing tools (issue 5), registered after main.go's init like
// netstat.go's.
func init() {
	commands = append(commands[:len(commands)-1:len(commands)-1],
		command{"route", "[-p] print | add DEST [MASK m] GW [METRIC n] [IF i] | delete DEST [GW] | change DEST [MASK m] GW [METRIC n] [IF i]", "show or change the routing table (-p: persistent)", cmdRoute},
		command{"tracert", "[-d] [-h maximum_hops] [-w timeout] HOST", "trace the route to HOST", cmdTracert},
		command{"pathping", "[-n] [-h maximum_hops] [-q num_queries] [-p period] [-w timeout] HOST", "trace the route, then measure loss per hop and link", cmdPathping},
		commands[len(commands)-1])
}

func cmdRoute(args []string, stdout, stderr io.Writer) error {
	var rest []string
	persistent := false
	sock := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-p" || a == "/p" || a == "-P" || a == "/P":
			persistent = true
		case a == "--control" || a == "-control":
			if i+1 >= len(args) {
				return usagef("Value must be supplied for option %s.", a)
			}
			sock = args[i+1]
			i++
		case strings.HasPrefix(a, "--control="):
			sock = strings.TrimPrefix(a, "--control=")
		default:
			rest = append(rest, a)
		}
	}
	if len(rest) == 0 {
		return usagef("a command is required: print, add, delete or change")
	}
	ctx, cancel := signalContext()
	defer cancel()
	cl := client(sock)
	cmd := strings.ToLower(rest[0])
	switch cmd {
	case "print":
		rt, err := cl.RouteTable(ctx)
		if err != nil {
			return err
		}
		io.WriteString(stdout, tools.FormatRoutePrint(rt))
		return nil
	case tools.RouteAdd, tools.RouteDelete, tools.RouteChange:
		sp, err := tools.ParseRouteSpec(cmd, rest[1:])
		if err != nil {
			return usagef("%v", err)
		}
		sp.Persistent = persistent && cmd == tools.RouteAdd
		return cl.ChangeRoutes(ctx, sp)
	}
	return usagef("Bad command %s.", rest[0])
}

func cmdTracert(args []string, stdout, stderr io.Writer) error {
	w := &winArgs{args: args}
	var o tools.TracertOptions
	host, err := w.parse(func(name string) (err error) {
		var n int64
		switch name {
		case "d":
			o.NoDNS = true
		case "h":
			n, err = w.intValue(name, 1, 255)
			o.MaxHops = int(n)
		case "w":
			n, err = w.intValue(name, 1, 4294967295)
			o.Timeout = time.Duration(n) * time.Millisecond
		default:
			return usagef("Bad option -%s.", name)
		}
		return err
	})
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	cl := client(w.control)
	if err := cl.Check(ctx); err != nil {
		return err
	}
	dst, name, err := resolveHost(ctx, cl, host)
	if err != nil {
		return usagef("Unable to resolve target system name %s.", host)
	}
	o.Name = name
	_, err = tools.RunTracert(ctx, cl, dst, o, stdout)
	return err
}

func cmdPathping(args []string, stdout, stderr io.Writer) error {
	w := &winArgs{args: args}
	var o tools.PathpingOptions
	host, err := w.parse(func(name string) (err error) {
		var n int64
		switch name {
		case "n":
			o.NoDNS = true
		case "h":
			n, err = w.intValue(name, 1, 255)
			o.MaxHops = int(n)
		case "q":
			n, err = w.intValue(name, 1, 10000)
			o.Queries = int(n)
		case "p":
			n, err = w.intValue(name, 1, 60000)
			o.Period = time.Duration(n) * time.Millisecond
		case "w":
			n, err = w.intValue(name, 1, 4294967295)
			o.Timeout = time.Duration(n) * time.Millisecond
		default:
			return usagef("Bad option -%s.", name)
		}
		return err
	})
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	cl := client(w.control)
	info, err := cl.Info(ctx)
	if err != nil {
		return err
	}
	dst, name, err := resolveHost(ctx, cl, host)
	if err != nil {
		return usagef("Unable to resolve target system name %s.", host)
	}
	o.Name = name
	local := localFor(info, dst)
	_, err = tools.RunPathping(ctx, cl, local, dst, o, stdout)
	return err
}

// localFor picks the address pathping shows as hop 0: the one on dst's
// subnet, else the first one.
func localFor(info tools.HostInfo, dst netip.Addr) netip.Addr {
	var first netip.Addr
	for _, a := range info.Adapters {
		for _, p := range a.Addrs {
			if p.Contains(dst) {
				return p.Addr()
			}
			if !first.IsValid() {
				first = p.Addr()
			}
		}
	}
	return first
}
