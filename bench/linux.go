package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/link/tap"
)

// linuxContender is the Linux kernel's TCP: each host is a network
// namespace, its sockets made by a thread that entered it (setns). A clean
// path is a veth pair; an impaired one is two TAP devices bridged in this
// process through the harness's impaired path (impair.go), since the
// kernel here has no netem.
type linuxContender struct{}

func (linuxContender) Name() string { return "Linux" }

func (linuxContender) TAP(string, string, int, netip.Prefix) (Host, func(), error) {
	return nil, nil, errNotApplicable
}

// Memory is the kernel's socket-related slab in use plus this process's Go
// heap and stacks: sockets live in the slab, the Go side holds the
// net.Conns. Other processes on the machine add some noise.
func (linuxContender) Memory() (uint64, error) {
	slab, err := slabBytes()
	if err != nil {
		return 0, err
	}
	return slab + goMemory(), nil
}

// socketCaches are the slab caches a kernel TCP socket and its file use;
// other caches (task_struct, maple_node, ...) move with whatever else the
// shared machine runs, so they are left out. kmalloc-* caches count too.
var socketCaches = map[string]bool{
	"TCP": true, "request_sock_TCP": true, "tw_sock_TCP": true,
	"tcp_bind_bucket": true, "tcp_bind2_bucket": true, "inet_peer_cache": true,
	"sock_inode_cache": true, "dentry": true, "filp": true,
	"eventpoll_epi": true, "eventpoll_pwq": true, "ep_head": true,
	"lsm_inode_cache": true, "lsm_file_cache": true,
	"skbuff_head_cache": true, "skbuff_fclone_cache": true,
}

// slabBytes sums active objects × object size over the socket-related
// caches of /proc/slabinfo.
func slabBytes() (uint64, error) {
	f, err := os.Open("/proc/slabinfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 || !(socketCaches[fs[0]] || strings.HasPrefix(fs[0], "kmalloc-")) {
			continue
		}
		active, err1 := strconv.ParseUint(fs[1], 10, 64)
		size, err2 := strconv.ParseUint(fs[3], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		total += active * size
	}
	return total, sc.Err()
}

func (linuxContender) Pair(p Path) (*Pair, error) {
	for _, ns := range []string{nsA, nsB} {
		if err := newNetns(ns); err != nil {
			return nil, err
		}
	}
	pair := &Pair{}
	var closers []func()
	pair.Close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		_ = run("ip", "netns", "del", nsA)
		_ = run("ip", "netns", "del", nsB)
	}
	fail := func(err error) (*Pair, error) { pair.Close(); return nil, err }

	devA, devB := vethA, vethB
	if p.Delay == 0 && p.Loss == 0 {
		if err := run("ip", "link", "add", vethA, "netns", nsA, "type", "veth", "peer", "name", vethB, "netns", nsB); err != nil {
			return fail(err)
		}
	} else {
		devA, devB = relayA, relayB
		stop, err := relay(p)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, stop)
	}
	for _, c := range []struct {
		ns, dev string
		addr    netip.Prefix
	}{{nsA, devA, addrA}, {nsB, devB, addrB}} {
		if err := run("ip", "-n", c.ns, "link", "set", c.dev, "mtu", strconv.Itoa(p.MTU), "up"); err != nil {
			return fail(err)
		}
		if err := run("ip", "-n", c.ns, "addr", "add", c.addr.String(), "dev", c.dev); err != nil {
			return fail(err)
		}
	}
	a, err := newKernelHost(nsA, addrA.Addr())
	if err != nil {
		return fail(err)
	}
	closers = append(closers, a.t.stop)
	b, err := newKernelHost(nsB, addrB.Addr())
	if err != nil {
		return fail(err)
	}
	closers = append(closers, b.t.stop)
	pair.A, pair.B = a, b
	return pair, nil
}

// relay opens a TAP in each namespace and bridges them through the
// harness's impaired path (impair.go): the path's delay and loss each way.
func relay(p Path) (func(), error) {
	var ta, tb *tap.Device
	open := func(ns, name string, d **tap.Device) error {
		return inNetns(ns, func() error {
			dev, err := tap.Open(name, p.MTU)
			*d = dev
			return err
		})
	}
	if err := open(nsA, relayA, &ta); err != nil {
		return nil, err
	}
	if err := open(nsB, relayB, &tb); err != nil {
		ta.Close()
		return nil, err
	}
	fa := newImpaired(ta, p)
	fa.Attach(bridge{tb})
	tb.Attach(bridge{fa})
	return func() { fa.Close(); tb.Close() }, nil
}

// bridge forwards every frame one endpoint receives out of another.
type bridge struct{ to link.Endpoint }

func (b bridge) DeliverFrame(f []byte) { _ = b.to.WriteFrame(f) }
func (b bridge) LinkStateChanged(bool) {}

// kernelHost makes kernel sockets inside one namespace.
type kernelHost struct {
	addr netip.Addr
	t    *nsThread
}

func newKernelHost(ns string, addr netip.Addr) (*kernelHost, error) {
	t, err := newNSThread(ns)
	if err != nil {
		return nil, err
	}
	return &kernelHost{addr: addr, t: t}, nil
}

func (h *kernelHost) Addr() netip.Addr { return h.addr }

func (h *kernelHost) Listen(port uint16) (ln net.Listener, err error) {
	h.t.do(func() {
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(h.addr, port).String())
	})
	return ln, err
}

func (h *kernelHost) Dial(ctx context.Context, dst netip.AddrPort) (c net.Conn, err error) {
	h.t.do(func() {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: h.addr.AsSlice()}}
		c, err = d.DialContext(ctx, "tcp4", dst.String())
	})
	if err != nil {
		err = fmt.Errorf("kernel dial %v: %w", dst, err)
	}
	return c, err
}
