package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Names of everything this harness creates in the kernel: all start with
// "stpb" so cleanup can remove them by name and nothing else.
const (
	nsA     = "stpbA"  // Linux pair: host A
	nsB     = "stpbB"  // Linux pair: host B
	nsK     = "stpbK"  // kernel peer of the TAP runs
	vethA   = "stpbva" // veth end in nsA
	vethB   = "stpbvb" // veth end in nsB
	relayA  = "stpbra" // TAP in nsA for the impaired Linux pair
	relayB  = "stpbrb" // TAP in nsB for the impaired Linux pair
	tapName = "stpbt0" // TAP in nsK for the stack-vs-kernel runs
)

var allNamespaces = []string{nsA, nsB, nsK, nsG}

// run runs a command (ip, tc) and returns its error with its output.
func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// cleanupNetns deletes our namespaces (and with them their devices) by name.
func cleanupNetns() {
	for _, ns := range allNamespaces {
		if _, err := os.Stat("/var/run/netns/" + ns); err == nil {
			_ = run("ip", "netns", "del", ns)
		}
	}
}

// newNetns (re)creates a namespace with its loopback up.
func newNetns(ns string) error {
	if _, err := os.Stat("/var/run/netns/" + ns); err == nil {
		_ = run("ip", "netns", "del", ns)
	}
	if err := run("ip", "netns", "add", ns); err != nil {
		return err
	}
	return run("ip", "-n", ns, "link", "set", "lo", "up")
}

// nsThread is a goroutine locked to an OS thread that has entered a network
// namespace: sockets created by functions it runs belong to that namespace
// and keep working from any goroutine afterwards.
type nsThread struct {
	reqs chan func()
}

func newNSThread(ns string) (*nsThread, error) {
	t := &nsThread{reqs: make(chan func())}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread dies with the goroutine, so no other
		// goroutine ever runs in the namespace by accident.
		runtime.LockOSThread()
		f, err := os.Open("/var/run/netns/" + ns)
		if err == nil {
			err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
			f.Close()
		}
		errc <- err
		if err != nil {
			return
		}
		for fn := range t.reqs {
			fn()
		}
	}()
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("setns %s: %w", ns, err)
	}
	return t, nil
}

// do runs fn inside the namespace and waits for it.
func (t *nsThread) do(fn func()) {
	done := make(chan struct{})
	t.reqs <- func() { fn(); close(done) }
	<-done
}

// stop ends the thread.
func (t *nsThread) stop() { close(t.reqs) }

// inNetns runs fn once on a fresh thread inside ns.
func inNetns(ns string, fn func() error) error {
	t, err := newNSThread(ns)
	if err != nil {
		return err
	}
	defer t.stop()
	t.do(func() { err = fn() })
	return err
}
