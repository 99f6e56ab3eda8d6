package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/tools"
)

// signalContext ends on Ctrl-C or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// winArgs walks Windows-style arguments: switches start with - or /, may
// appear anywhere, and some take a value.
type winArgs struct {
	args    []string
	i       int
	control string
}

// next returns the next switch name (without prefix) or, with sw=false,
// a positional argument; ok=false at the end. --control is handled here.
func (w *winArgs) next() (name string, sw bool, ok bool, err error) {
	for w.i < len(w.args) {
		a := w.args[w.i]
		w.i++
		if a == "--control" || a == "-control" {
			v, err := w.value(a)
			if err != nil {
				return "", false, false, err
			}
			w.control = v
			continue
		}
		if v, found := strings.CutPrefix(a, "--control="); found {
			w.control = v
			continue
		}
		if len(a) > 1 && (a[0] == '-' || a[0] == '/') {
			return strings.ToLower(a[1:]), true, true, nil
		}
		return a, false, true, nil
	}
	return "", false, false, nil
}

// parse walks the arguments: each switch goes to onSwitch (which reads its
// value with w.value or w.intValue), and the one positional argument, the
// target host, is returned. A second positional argument is an error, as
// in the Windows tools.
func (w *winArgs) parse(onSwitch func(name string) error) (host string, err error) {
	for {
		name, sw, ok, err := w.next()
		if err != nil || !ok {
			return host, err
		}
		if !sw {
			if host != "" {
				return "", usagef("Bad parameter %s.", name)
			}
			host = name
			continue
		}
		if err := onSwitch(name); err != nil {
			return "", err
		}
	}
}

func (w *winArgs) value(sw string) (string, error) {
	if w.i >= len(w.args) {
		return "", usagef("Value must be supplied for option %s.", sw)
	}
	v := w.args[w.i]
	w.i++
	return v, nil
}

func (w *winArgs) intValue(sw string, lo, hi int64) (int64, error) {
	v, err := w.value("-" + sw)
	if err != nil {
		return 0, err
	}
	n, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil || n < lo || n > hi {
		return 0, usagef("Bad value for option -%s, valid range is from %d to %d.", sw, lo, hi)
	}
	return n, nil
}

// stdin is nc's input (a variable so tests can replace it).
var stdin io.Reader = os.Stdin

func client(sock string) *control.Client {
	return &control.Client{Path: control.SocketPath(sock)}
}

func cmdPing(args []string, stdout, stderr io.Writer) error {
	w := &winArgs{args: args}
	var o tools.PingOptions
	o.Size = tools.DefaultPingSize
	host, err := w.parse(func(name string) (err error) {
		var n int64
		switch name {
		case "t":
			o.Continuous = true
		case "f":
			o.DF = true
		case "n":
			n, err = w.intValue(name, 1, 4294967295)
			o.Count = int(n)
		case "l":
			n, err = w.intValue(name, 0, tools.MaxPingSize)
			o.Size = int(n)
		case "i":
			n, err = w.intValue(name, 1, 255)
			o.TTL = int(n)
		case "v":
			n, err = w.intValue(name, 0, 255)
			o.TOS = int(n)
		case "w":
			n, err = w.intValue(name, 1, 4294967295)
			o.Timeout = time.Duration(n) * time.Millisecond
		case "?", "h", "help", "-help":
			return usagef("help")
		default:
			return usagef("Bad option -%s.", name)
		}
		return err
	})
	if err != nil {
		return err
	}
	if host == "" {
		return usagef("IP address must be specified.")
	}
	ctx, cancel := signalContext()
	defer cancel()
	cl := client(w.control)
	// A name is resolved by the daemon; failing that (no daemon
	// included), ping says what Windows says about an unknown host.
	dst, name, err := resolveHost(ctx, cl, host)
	if err != nil {
		fmt.Fprintf(stdout, "Ping request could not find host %s. Please check the name and try again.\n", host)
		return exitError{1}
	}
	o.Name = name
	if err := cl.Check(ctx); err != nil {
		return err
	}
	st, err := tools.RunPing(ctx, cl, dst, o, stdout)
	if err != nil {
		return err
	}
	if st.Received == 0 {
		return exitError{1}
	}
	return nil
}

func cmdARP(args []string, stdout, stderr io.Writer) error {
	w := &winArgs{args: args}
	mode := ""
	var pos []string
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
		case "a", "g", "s", "d":
			if mode != "" {
				return usagef("only one of -a, -s, -d")
			}
			mode = name
		default:
			return usagef("Bad option -%s.", name)
		}
	}
	ctx, cancel := signalContext()
	defer cancel()
	h := client(w.control)
	switch mode {
	case "a", "g":
		if len(pos) > 1 {
			return usagef("too many arguments")
		}
		tables, err := h.ARPTables(ctx)
		if err != nil {
			return err
		}
		if len(pos) == 1 {
			ip, err := netip.ParseAddr(pos[0])
			if err != nil {
				return usagef("bad address %q", pos[0])
			}
			tables = filterARP(tables, ip)
		}
		io.WriteString(stdout, tools.FormatARP(tables))
		return nil
	case "s":
		if len(pos) < 2 || len(pos) > 3 {
			return usagef("-s needs IP MAC [IFADDR]")
		}
		ip, err := netip.ParseAddr(pos[0])
		if err != nil || !ip.Is4() {
			return usagef("bad IP address %q", pos[0])
		}
		var ifAddr netip.Addr
		if len(pos) == 3 {
			if ifAddr, err = netip.ParseAddr(pos[2]); err != nil {
				return usagef("bad interface address %q", pos[2])
			}
		}
		if err := h.AddStaticARP(ctx, ip, pos[1], ifAddr); err != nil {
			fmt.Fprintf(stderr, "The ARP entry addition failed: %v\n", err)
			return exitError{1}
		}
		return nil
	case "d":
		if len(pos) != 1 {
			return usagef("-d needs IP (or *)")
		}
		if pos[0] == "*" { // delete every entry, as Windows' arp -d *
			tables, err := h.ARPTables(ctx)
			if err != nil {
				return err
			}
			for _, t := range tables {
				for _, e := range t.Entries {
					if err := h.DeleteARP(ctx, e.IP); err != nil {
						fmt.Fprintf(stderr, "The ARP entry deletion failed: %v\n", err)
					}
				}
			}
			return nil
		}
		ip, err := netip.ParseAddr(pos[0])
		if err != nil {
			return usagef("bad IP address %q", pos[0])
		}
		if err := h.DeleteARP(ctx, ip); err != nil {
			fmt.Fprintf(stderr, "The specified entry was not found: %v\n", err)
			return exitError{1}
		}
		return nil
	}
	return usagef("one of -a, -s or -d is required")
}

func filterARP(tables []tools.ARPTable, ip netip.Addr) []tools.ARPTable {
	var out []tools.ARPTable
	for _, t := range tables {
		var es []tools.ARPEntry
		for _, e := range t.Entries {
			if e.IP == ip {
				es = append(es, e)
			}
		}
		t.Entries = es
		out = append(out, t)
	}
	return out
}

func cmdIPConfig(args []string, stdout, stderr io.Writer) error {
	w := &winArgs{args: args}
	all := false
	for {
		name, sw, ok, err := w.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if sw && (name == "all" || name == "-all") {
			all = true
			continue
		}
		if sw && (name == "displaydns" || name == "flushdns") {
			return ipconfigDNS(w, name, stdout) // nslookup.go
		}
		if sw && (name == "release" || name == "renew") {
			return ipconfigDHCP(w, name, stdout) // ipconfigdhcp.go
		}
		return usagef("unknown option %q", name)
	}
	ctx, cancel := signalContext()
	defer cancel()
	info, err := client(w.control).Info(ctx)
	if err != nil {
		return err
	}
	io.WriteString(stdout, tools.FormatIPConfig(info, all))
	return nil
}

func cmdStats(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sock := fs.String("control", "", "control socket")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usagef("%v", errOr(err, "unexpected arguments"))
	}
	ctx, cancel := signalContext()
	defer cancel()
	m, err := client(*sock).Stats(ctx)
	if err != nil {
		return err
	}
	io.WriteString(stdout, tools.FormatStats(m))
	return nil
}

func errOr(err error, msg string) string {
	if err != nil {
		return err.Error()
	}
	return msg
}

func cmdNC(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("nc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	udp := fs.Bool("u", false, "UDP")
	listen := fs.Bool("l", false, "listen")
	quit := fs.Float64("q", -1, "seconds to linger after stdin EOF")
	lport := fs.Uint("p", 0, "local port")
	src := fs.String("s", "", "local address")
	sock := fs.String("control", "", "control socket")
	var mc ncMulticast // ncmcast.go
	mc.register(fs)
	var expanded []string
	for _, a := range args { // allow -ul / -lu
		if a == "-ul" || a == "-lu" {
			expanded = append(expanded, "-u", "-l")
			continue
		}
		expanded = append(expanded, a)
	}
	if err := fs.Parse(expanded); err != nil {
		return usagef("%v", err)
	}
	if *lport > 65535 {
		return usagef("bad port %d", *lport)
	}
	local := netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(*lport))
	if *src != "" {
		a, err := netip.ParseAddr(*src)
		if err != nil {
			return usagef("bad source address %q", *src)
		}
		local = netip.AddrPortFrom(a, local.Port())
	}
	var remote netip.AddrPort
	o := tools.NetcatOptions{Listen: *listen, Stderr: stderr, Linger: -1}
	if *listen {
		if fs.NArg() != 1 {
			return usagef("-l needs PORT")
		}
		p, err := strconv.ParseUint(fs.Arg(0), 10, 16)
		if err != nil || p == 0 {
			return usagef("bad port %q", fs.Arg(0))
		}
		local = netip.AddrPortFrom(local.Addr(), uint16(p))
	} else {
		if fs.NArg() != 2 {
			return usagef("needs HOST PORT")
		}
		p, err := strconv.ParseUint(fs.Arg(1), 10, 16)
		if err != nil || p == 0 {
			return usagef("bad port %q", fs.Arg(1))
		}
		remote = netip.AddrPortFrom(netip.Addr{}, uint16(p)) // the host is resolved below
		if *udp {
			o.Linger = time.Second
		}
	}
	if *quit >= 0 {
		o.Linger = time.Duration(*quit * float64(time.Second))
	}
	ctx, cancel := signalContext()
	defer cancel()
	if !*listen {
		a, _, err := resolveHost(ctx, client(*sock), fs.Arg(0))
		if err != nil {
			return fmt.Errorf("%s: forward host lookup failed: %w", fs.Arg(0), err)
		}
		remote = netip.AddrPortFrom(a, remote.Port())
	}
	if !*udp {
		cl := client(*sock)
		var (
			c   tools.StreamConn
			err error
		)
		if *listen {
			c, err = cl.AcceptTCP(ctx, local)
		} else {
			c, err = cl.DialTCP(ctx, local, remote)
		}
		if err != nil {
			return err
		}
		return tools.NetcatTCP(ctx, c, stdin, stdout, o)
	}
	mo, multicast, err := mc.options(local.Addr())
	if err != nil {
		return err
	}
	var c tools.DatagramConn
	if multicast {
		c, err = client(*sock).OpenUDPMulticast(ctx, local, remote, mo)
	} else {
		c, err = client(*sock).OpenUDP(ctx, local, remote)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	return tools.NetcatUDP(ctx, c, stdin, stdout, o)
}
