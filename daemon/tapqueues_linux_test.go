package daemon

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link/tap"
)

// The daemon opens its TAPs with several queues so flows spread over
// reader goroutines, and falls back to one queue where multiqueue is
// refused (here: an existing single-queue TAP).
func TestOpenTAPQueues(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (creates a network namespace and TAP devices)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip command")
	}
	ns := fmt.Sprintf("stpdq%d", os.Getpid()%100000)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	ipn := func(args ...string) string {
		out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	open := func(name string) *tap.Device {
		t.Helper()
		errc := make(chan error, 1)
		var ep any
		go func() { // a thread moved into ns, never unlocked: discarded after
			runtime.LockOSThread()
			f, err := os.Open("/run/netns/" + ns)
			if err != nil {
				errc <- err
				return
			}
			defer f.Close()
			if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				errc <- err
				return
			}
			ep, err = OpenTAP(config.Interface{Name: name}, true, nil)
			errc <- err
		}()
		if err := <-errc; err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		return ep.(*tap.Device)
	}
	dev := open("stpdq0")
	defer dev.Close()
	if want := tapQueues(); dev.Queues() != want {
		t.Fatalf("new TAP: %d queues, want %d", dev.Queues(), want)
	}
	if tapQueues() > 1 && !strings.Contains(ipn("-d", "link", "show", "stpdq0"), "multi_queue") {
		t.Fatalf("new TAP not multiqueue: %s", ipn("-d", "link", "show", "stpdq0"))
	}

	ipn("tuntap", "add", "stpdq1", "mode", "tap") // persistent, single queue
	defer ipn("tuntap", "del", "stpdq1", "mode", "tap")
	single := open("stpdq1")
	defer single.Close()
	if single.Queues() != 1 {
		t.Fatalf("single-queue TAP opened with %d queues", single.Queues())
	}
}
