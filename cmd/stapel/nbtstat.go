package main

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/stapel-net/stapel/control"
)

const (
	nbtstatUsage = "-n | -c | -r | -R | -A IPADDRESS | -a REMOTENAME [--control SOCKET]"
	nbtstatHelp  = "NetBIOS over TCP/IP statistics: local names, remote cache, node status"
)

// cmdNbtstat is Windows nbtstat (SPEC §18 TOOL-NBTSTAT). Its switches are
// case-sensitive (-a/-A, -r/-R), so it does not use winArgs.
func cmdNbtstat(args []string, stdout, stderr io.Writer) error {
	var a control.NbtstatArgs
	var sock string
	set := func(mode string) error {
		if a.Mode != "" {
			return usagef("nbtstat: one of -n, -c, -r, -R, -A, -a")
		}
		a.Mode = mode
		return nil
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		val := func() (string, error) {
			if i+1 >= len(args) {
				return "", usagef("nbtstat: %s needs a value", arg)
			}
			i++
			return args[i], nil
		}
		var err error
		switch {
		case arg == "--control" || arg == "-control":
			sock, err = val()
		case strings.HasPrefix(arg, "--control="):
			sock = strings.TrimPrefix(arg, "--control=")
		case len(arg) == 2 && (arg[0] == '-' || arg[0] == '/'):
			switch arg[1] {
			case 'n', 'c', 'r', 'R':
				err = set(arg[1:])
			case 'A':
				if err = set(control.NbtAdapterIP); err == nil {
					var v string
					if v, err = val(); err == nil {
						if a.IP, err = netip.ParseAddr(v); err != nil || !a.IP.Is4() {
							err = usagef("nbtstat: -A wants an IPv4 address, not %q", v)
						}
					}
				}
			case 'a':
				if err = set(control.NbtAdapterNm); err == nil {
					if a.Name, err = val(); err == nil && (a.Name == "" || len(a.Name) > 15) {
						err = usagef("nbtstat: -a wants a name of 1 to 15 characters")
					}
				}
			case 's', 'S':
				return fmt.Errorf("nbtstat: %s: Stapel has no NetBIOS session service yet", arg)
			default:
				err = usagef("nbtstat: unknown option %s", arg)
			}
		case arg == "-RR" || arg == "/RR":
			return fmt.Errorf("nbtstat: -RR: Stapel has no WINS client yet (B-node only)")
		default:
			err = usagef("nbtstat: unexpected %q (the interval argument is not supported)", arg)
		}
		if err != nil {
			return err
		}
	}
	if a.Mode == "" {
		return usagef("usage: stapel nbtstat %s", nbtstatUsage)
	}
	ctx, cancel := signalContext()
	defer cancel()
	r, err := client(sock).Nbtstat(ctx, a)
	if err != nil {
		return err
	}
	writeNbtstat(stdout, a, r)
	return nil
}

// writeNbtstat prints r as Windows 2000 nbtstat does for mode a.Mode.
func writeNbtstat(w io.Writer, a control.NbtstatArgs, r control.NbtstatReply) {
	switch a.Mode {
	case control.NbtPurge:
		fmt.Fprintf(w, "    Successful purge and preload of the NBT Remote Cache Name Table.\n")
		return
	case control.NbtStats:
		s := r.Stats
		if s == nil {
			s = &control.NbtStatistics{}
		}
		fmt.Fprintf(w, "\n    NetBIOS Names Resolution and Registration Statistics\n")
		fmt.Fprintf(w, "    ----------------------------------------------------\n\n")
		fmt.Fprintf(w, "    Resolved By Broadcast     = %d\n", s.ResolvedByBroadcast)
		fmt.Fprintf(w, "    Resolved By Name Server   = %d\n\n", s.ResolvedByNameServer)
		fmt.Fprintf(w, "    Registered By Broadcast   = %d\n", s.RegisteredByBroadcast)
		fmt.Fprintf(w, "    Registered By Name Server = %d\n", s.RegisteredByNameServer)
		if len(s.Resolved) > 0 {
			fmt.Fprintf(w, "\n    NetBIOS Names Resolved By Broadcast\n")
			fmt.Fprintf(w, "---------------------------------------------\n")
			for _, n := range s.Resolved {
				fmt.Fprintf(w, "           %-15s<%02X>\n", n.Name, n.Suffix)
			}
		}
		return
	}
	if len(r.Adapters) == 0 {
		fmt.Fprintf(w, "\nNetBIOS over TCP/IP is not bound to any interface.\n")
		return
	}
	for _, ad := range r.Adapters {
		fmt.Fprintf(w, "\n%s:\nNode IpAddress: [%s] Scope Id: [%s]\n\n", ad.Interface, ad.Addr, ad.Scope)
		switch a.Mode {
		case control.NbtLocalNames:
			fmt.Fprintf(w, "                NetBIOS Local Name Table\n\n")
			nameTable(w, ad.Local)
		case control.NbtCache:
			if len(ad.Cache) == 0 {
				fmt.Fprintf(w, "    No names in cache\n")
				continue
			}
			fmt.Fprintf(w, "                  NetBIOS Remote Cache Name Table\n\n")
			fmt.Fprintf(w, "        Name              Type       Host Address    Life [sec]\n")
			fmt.Fprintf(w, "    ------------------------------------------------------------\n")
			for _, e := range ad.Cache {
				fmt.Fprintf(w, "    %-15s<%02X>  %-6s  %18s  %11d\n", e.Name, e.Suffix, nbtType(e.Group), e.Addr, e.Life)
			}
			fmt.Fprintln(w)
		case control.NbtAdapterIP, control.NbtAdapterNm:
			if ad.Remote == nil {
				fmt.Fprintf(w, "    Host not found.\n\n")
				continue
			}
			fmt.Fprintf(w, "           NetBIOS Remote Machine Name Table\n\n")
			nameTable(w, ad.Remote.Names)
			fmt.Fprintf(w, "    MAC Address = %s\n\n", ad.Remote.MAC)
		}
	}
}

func nbtType(group bool) string {
	if group {
		return "GROUP"
	}
	return "UNIQUE"
}

// nameTable prints the Name/Type/Status table of -n, -A and -a.
func nameTable(w io.Writer, names []control.NbtName) {
	if len(names) == 0 {
		fmt.Fprintf(w, "    No names in cache\n")
		return
	}
	fmt.Fprintf(w, "       Name               Type         Status\n")
	fmt.Fprintf(w, "    ---------------------------------------------\n")
	for _, n := range names {
		fmt.Fprintf(w, "    %-15s<%02X>  %-10s  %s\n", n.Name, n.Suffix, nbtType(n.Group), n.Status)
	}
	fmt.Fprintln(w)
}
