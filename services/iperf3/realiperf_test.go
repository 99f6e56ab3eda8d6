package iperf3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Against the real iperf3 (when installed and running as root): both
// live in a private network namespace whose loopback holds 198.18.0.1,
// so nothing leaves it. Our sockets are made on a thread inside it.

const nsAddr = "198.18.0.1"

type netns struct {
	name string
	reqs chan func()
}

func newNetns(t *testing.T) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	if _, err := exec.LookPath("iperf3"); err != nil {
		t.Skip("iperf3 is not installed")
	}
	b := make([]byte, 4)
	rand.Read(b)
	ns := &netns{name: "stp" + hex.EncodeToString(b), reqs: make(chan func())}
	run := func(args ...string) {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	run("ip", "netns", "add", ns.name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns.name).Run() })
	run("ip", "-n", ns.name, "link", "set", "lo", "up")
	run("ip", "-n", ns.name, "addr", "add", nsAddr+"/32", "dev", "lo")
	f, err := os.Open("/run/netns/" + ns.name)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
		if err != nil {
			ready <- err
			return
		}
		ready <- nil
		for fn := range ns.reqs {
			fn()
		}
	}()
	if err := <-ready; err != nil {
		t.Skipf("setns: %v", err)
	}
	t.Cleanup(func() { close(ns.reqs) })
	return ns
}

func (ns *netns) do(fn func()) {
	done := make(chan struct{})
	ns.reqs <- func() { fn(); close(done) }
	<-done
}

func (ns *netns) listen(t *testing.T, port int) net.Listener {
	var ln net.Listener
	var err error
	ns.do(func() { ln, err = net.Listen("tcp4", fmt.Sprintf("%s:%d", nsAddr, port)) })
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func (ns *netns) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	var err error
	ns.do(func() { c, err = (&net.Dialer{}).DialContext(ctx, network, addr) })
	return c, err
}

// iperf3JSON is the part of iperf3 -J's output the tests read.
type iperf3JSON struct {
	End struct {
		SumSent struct {
			Bytes         int64
			BitsPerSecond float64 `json:"bits_per_second"`
			Seconds       float64
		} `json:"sum_sent"`
		SumReceived struct {
			Bytes         int64
			BitsPerSecond float64 `json:"bits_per_second"`
			Seconds       float64
		} `json:"sum_received"`
	} `json:"end"`
	Error string `json:"error"`
}

func (ns *netns) iperf3(t *testing.T, timeout time.Duration, args ...string) (iperf3JSON, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.name, "iperf3", "-J"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var j iperf3JSON
	if jerr := json.Unmarshal(out.Bytes(), &j); jerr != nil {
		t.Fatalf("iperf3 %v: %v (%v)\n%s\n%s", args, err, jerr, out.String(), errb.String())
	}
	if err != nil || j.Error != "" {
		t.Fatalf("iperf3 %v: %v: %s\n%s", args, err, j.Error, errb.String())
	}
	return j, out.String()
}

func TestRealIperf3ClientAgainstOurServer(t *testing.T) {
	ns := newNetns(t)
	for _, rev := range []bool{false, true} {
		t.Run(fmt.Sprintf("reverse=%v", rev), func(t *testing.T) {
			ln := ns.listen(t, 5301)
			reports := make(chan Report, 1)
			srv := &Server{Listener: ln, OneOff: true, OnReport: func(r Report) { reports <- r },
				OnError: func(err error) { t.Errorf("server: %v", err) }}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(context.Background()) }()
			args := []string{"-c", nsAddr, "-p", "5301", "-t", "1", "-P", "3"}
			if rev {
				args = append(args, "-R")
			}
			j, _ := ns.iperf3(t, 20*time.Second, args...)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			r := <-reports
			t.Logf("iperf3 says sent %d B (%.0f Mbit/s), received %d B (%.0f Mbit/s); we say sent %d received %d",
				j.End.SumSent.Bytes, j.End.SumSent.BitsPerSecond/1e6, j.End.SumReceived.Bytes, j.End.SumReceived.BitsPerSecond/1e6, r.SentBytes, r.ReceivedBytes)
			if j.End.SumReceived.Bytes == 0 || j.End.SumSent.Bytes < j.End.SumReceived.Bytes {
				t.Errorf("implausible totals %+v", j.End)
			}
			if r.SentBytes != j.End.SumSent.Bytes || r.ReceivedBytes != j.End.SumReceived.Bytes {
				t.Errorf("our report %+v disagrees with iperf3's %+v", r, j.End)
			}
		})
	}
}

func TestOurClientAgainstRealIperf3Server(t *testing.T) {
	ns := newNetns(t)
	for _, tc := range []struct {
		rev   bool
		bytes int64
	}{{false, 0}, {true, 0}, {false, 50 << 20}, {true, 50 << 20}} {
		t.Run(fmt.Sprintf("reverse=%v,bytes=%d", tc.rev, tc.bytes), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			srvOut := make(chan string, 1)
			go func() {
				cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns.name, "iperf3", "-s", "-1", "-J", "-B", nsAddr, "-p", "5302")
				out, _ := cmd.CombinedOutput()
				srvOut <- string(out)
			}()
			var rep Report
			var err error
			for i := 0; i < 50; i++ { // until the server listens
				cl := &Client{Dialer: ns, Addr: nsAddr + ":5302", Time: time.Second, Bytes: tc.bytes, Reverse: tc.rev, Parallel: 2}
				rep, err = cl.Run(ctx)
				if err == nil || !strings.Contains(err.Error(), "refused") {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			out := <-srvOut
			if err != nil {
				t.Fatalf("client: %v\nserver:\n%s", err, out)
			}
			var j iperf3JSON
			if err := json.Unmarshal([]byte(out), &j); err != nil || j.Error != "" {
				t.Fatalf("server output: %v %s\n%s", err, j.Error, out)
			}
			t.Logf("we: %+v (%.0f / %.0f Mbit/s); iperf3 server: %+v", rep, rep.SenderBitsPerSecond()/1e6, rep.ReceiverBitsPerSecond()/1e6, j.End)
			if rep.ReceivedBytes == 0 || rep.SentBytes < rep.ReceivedBytes {
				t.Errorf("implausible report %+v", rep)
			}
			if tc.bytes > 0 && rep.SentBytes < tc.bytes {
				t.Errorf("sent %d of %d bytes", rep.SentBytes, tc.bytes)
			}
		})
	}
}
