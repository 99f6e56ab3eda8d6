package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/services/dns"
)

const (
	nslookupUsage = "[-type=A|AAAA|PTR|CNAME|MX|NS|SOA|TXT] [NAME|ADDRESS [SERVER]]"
	nslookupHelp  = "look a name up through the daemon's caching DNS resolver (Windows nslookup output)"
)

// cmdNslookup is the non-interactive form of Windows nslookup (SPEC §18
// TOOL-NSLOOKUP): "nslookup [-type=X] NAME [SERVER]". Without SERVER the
// daemon's caching resolver answers (hosts file, cache, then its name
// servers with the DNS-4 suffixes); with SERVER that server is asked
// directly. An address is looked up in reverse. It exits 1 when the
// name was not found. Without NAME it runs interactively on stdin.
func cmdNslookup(args []string, stdout, stderr io.Writer) error {
	w := &winArgs{args: args}
	var pos []string
	qtype := ""
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
		k, v, _ := strings.Cut(name, "=")
		switch k {
		case "type", "querytype", "q", "ty":
			if _, ok := dns.ParseType(v); !ok {
				return usagef("unknown query type %q", v)
			}
			qtype = strings.ToUpper(v)
		default:
			return usagef("unknown option %q", name)
		}
	}
	if len(pos) > 2 {
		return usagef("want NAME [SERVER], or no argument for interactive mode")
	}
	ctx, cancel := signalContext()
	defer cancel()
	cl := client(w.control)
	if len(pos) == 0 {
		return nslookupInteractive(ctx, cl, qtype, stdin, stdout)
	}
	var srv netip.Addr
	if len(pos) == 2 {
		var err error
		if srv, err = serverAddr(ctx, cl, pos[1]); err != nil {
			return err
		}
	}
	found, err := nslookupOne(ctx, cl, control.NslookupArgs{Name: pos[0], Type: qtype, Server: srv}, stdout)
	if err != nil {
		return err
	}
	if !found {
		return exitError{1}
	}
	return nil
}

// serverAddr is a SERVER argument's address: an address as it is, a
// name resolved through the daemon, as nslookup does.
func serverAddr(ctx context.Context, cl *control.Client, s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, nil
	}
	r, err := cl.Nslookup(ctx, control.NslookupArgs{Name: s})
	if err != nil {
		return netip.Addr{}, err
	}
	for _, rr := range r.Answer.Records {
		if rr.Type == dns.TypeA {
			return rr.Addr, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("can't find server address for '%s'", s)
}

// nslookupOne runs one lookup and prints it (with the debug trace
// first); found is false when the name was not found.
func nslookupOne(ctx context.Context, cl *control.Client, a control.NslookupArgs, stdout io.Writer) (found bool, err error) {
	r, err := cl.Nslookup(ctx, a)
	if err != nil {
		return false, err
	}
	for _, e := range r.Trace {
		io.WriteString(stdout, dns.FormatDebug(e))
	}
	t := dns.TypeA
	if a.Type != "" {
		t, _ = dns.ParseType(a.Type)
	}
	var rev netip.Addr
	if ip, err := netip.ParseAddr(a.Name); err == nil {
		rev = ip
	}
	io.WriteString(stdout, dns.FormatNslookup(r, a.Name, t, rev))
	return r.Error == "", nil
}

const nslookupCommands = `Commands:   (identifiers are shown in uppercase, [] means optional)
NAME            - print info about the host/domain NAME using default server
NAME1 NAME2     - as above, but use NAME2 as server
help or ?       - print info on common commands
set OPTION      - set an option
    [no]debug       - print debugging information
    [no]d2          - print exhaustive debugging information
    type=X          - set query type (ex. A, AAAA, CNAME, MX, NS, PTR, SOA, TXT)
    querytype=X     - same as type
server NAME     - set default server to NAME, using current default server
exit            - exit the program
`

// nslookupInteractive is nslookup without a NAME (SPEC §18): it prints
// the default server, then reads commands after a "> " prompt until
// "exit" or end of input.
func nslookupInteractive(ctx context.Context, cl *control.Client, qtype string, in io.Reader, stdout io.Writer) error {
	info, err := cl.Nslookup(ctx, control.NslookupArgs{})
	if err != nil {
		return err
	}
	var server netip.Addr // invalid = the daemon's resolver and its cache
	banner := func(r dns.NslookupReply) {
		name := r.ServerName
		if name == "" {
			name = dns.UnknownServer
		}
		fmt.Fprintf(stdout, "Default Server:  %s\nAddress:  %s\n\n", name, r.Server)
	}
	banner(info)
	debug := false
	sc := bufio.NewScanner(in)
	for {
		io.WriteString(stdout, "> ")
		if !sc.Scan() {
			io.WriteString(stdout, "\n")
			return sc.Err()
		}
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch cmd := strings.ToLower(f[0]); {
		case cmd == "exit":
			return nil
		case cmd == "?" || cmd == "help":
			io.WriteString(stdout, nslookupCommands)
		case cmd == "server" || cmd == "lserver":
			if len(f) != 2 {
				io.WriteString(stdout, "Usage: server NAME\n")
				continue
			}
			a, err := serverAddr(ctx, cl, f[1])
			if err != nil {
				fmt.Fprintf(stdout, "*** %v\n", err)
				continue
			}
			server = a
			r, err := cl.Nslookup(ctx, control.NslookupArgs{Server: a})
			if err != nil {
				return err
			}
			banner(r)
		case cmd == "set":
			if len(f) != 2 {
				io.WriteString(stdout, "Usage: set OPTION\n")
				continue
			}
			k, v, _ := strings.Cut(strings.ToLower(f[1]), "=")
			switch k {
			case "debug", "d2":
				debug = true
			case "nodebug", "nod2":
				debug = false
			case "type", "querytype", "q", "ty":
				if _, ok := dns.ParseType(v); !ok {
					fmt.Fprintf(stdout, "*** Invalid option: %s\n", f[1])
					continue
				}
				qtype = strings.ToUpper(v)
			default:
				fmt.Fprintf(stdout, "*** Invalid option: %s\n", f[1])
			}
		default:
			a := control.NslookupArgs{Name: f[0], Type: qtype, Server: server, Debug: debug}
			if len(f) > 1 {
				s, err := serverAddr(ctx, cl, f[1])
				if err != nil {
					fmt.Fprintf(stdout, "*** %v\n", err)
					continue
				}
				a.Server = s
			}
			if _, err := nslookupOne(ctx, cl, a, stdout); err != nil {
				fmt.Fprintf(stdout, "*** %v\n", err)
			}
		}
	}
}

// ipconfigDNS runs "ipconfig /displaydns" (the resolver cache, DNS-6) or
// "ipconfig /flushdns".
func ipconfigDNS(w *winArgs, op string, stdout io.Writer) error {
	for { // the rest may only be --control
		name, _, ok, err := w.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		return usagef("unexpected %q after /%s", name, op)
	}
	ctx, cancel := signalContext()
	defer cancel()
	cl := client(w.control)
	if op == "flushdns" {
		if err := cl.FlushDNS(ctx); err != nil {
			return err
		}
		io.WriteString(stdout, "\nWindows IP Configuration\n\nSuccessfully flushed the DNS Resolver Cache.\n")
		return nil
	}
	e, err := cl.DNSCache(ctx)
	if err != nil {
		return err
	}
	io.WriteString(stdout, dns.FormatDisplayDNS(e))
	return nil
}
