package interop

import (
	"io"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/tools"
)

// A SYN to a port nobody listens on is answered with RST both ways: Linux's
// nc -z fails at once (no timeout), the daemon's capture shows the RST,
// and `stapel nc` to a closed Linux port reports the refusal.
// SPEC: TCP-1
func TestTCPClosedPortRST(t *testing.T) {
	e := startTCP(t, 2*time.Minute)
	e.StapelMAC(t) // ARP settled: the timing below is TCP's alone
	start := time.Now()
	r := e.NSResult(t, 20*time.Second, nil, "nc", "-z", "-w", "5", stapelIP, "9999")
	el := time.Since(start)
	if r.Code == 0 {
		t.Fatalf("nc -z to a closed port succeeded: %s", r.Output())
	}
	if el > 2*time.Second {
		t.Fatalf("nc -z took %v: no RST, it waited for its timeout", el)
	}
	pcap := e.PcapDir + "/lan0.pcap"
	e.WaitFor(t, 10*time.Second, "an RST from Stapel's port 9999 in the capture", func() (bool, string) {
		out, _ := exec.Command("tcpdump", "-nn", "-r", pcap, "tcp[tcpflags] & tcp-rst != 0 and src port 9999").CombinedOutput()
		return strings.Contains(string(out), stapelIP+".9999 > "+linuxIP) && strings.Contains(string(out), "Flags [R.]"), string(out)
	})
	r = e.Tool(t, 20*time.Second, "nc", linuxIP, "9999")
	if r.Code == 0 || !strings.Contains(strings.ToLower(r.Stderr), "refused") {
		t.Fatalf("stapel nc to a closed Linux port: exit %d %q", r.Code, r.Output())
	}
	t.Logf("nc -z failed in %v; stapel nc: %s", el.Round(time.Millisecond), strings.TrimSpace(r.Stderr))
}

// Linux half-closes first: it sends a request and FIN; Stapel's socket
// sits in CLOSE_WAIT (netstat), still sends its reply, then closes;
// Linux receives the reply on its half-closed connection.
// SPEC: TCP-1, TOOL-NETSTAT
func TestTCPHalfCloseLinuxFirst(t *testing.T) {
	e := startTCP(t, 2*time.Minute)
	// The Stapel side through the control socket directly: `stapel nc`
	// ends at the peer's EOF, this keeps the half-closed socket open.
	cl := &control.Client{Path: e.Sock}
	type res struct {
		c   tools.StreamConn
		err error
	}
	acc := make(chan res, 1)
	go func() {
		c, err := cl.AcceptTCP(e.Ctx, netip.MustParseAddrPort("0.0.0.0:7100"))
		acc <- res{c, err}
	}()
	waitNetstat(t, e, "the daemon to listen on 7100", `0\.0\.0\.0:7100\s+0\.0\.0\.0:0\s+LISTENING`)
	cli := e.BackgroundNS(t, "sh", "-c", "printf request | socat -t 30 - TCP:"+stapelIP+":7100")
	var r res
	select {
	case r = <-acc:
	case <-time.After(20 * time.Second):
		t.Fatal("no connection accepted")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.c.Close()
	got, err := io.ReadAll(r.c)
	if err != nil || string(got) != "request" {
		t.Fatalf("Stapel read %q, %v", got, err)
	}
	waitNetstat(t, e, "Stapel's side in CLOSE_WAIT", stapelIP+`:7100\s+`+linuxIP+`:\d+\s+CLOSE_WAIT`)
	if cli.Exited() {
		t.Fatalf("socat exited before the reply: %q", cli.Stderr())
	}
	if _, err := io.WriteString(r.c, "reply after your FIN\n"); err != nil {
		t.Fatal(err)
	}
	r.c.Close()
	e.WaitFor(t, 20*time.Second, "socat to receive the reply and exit", func() (bool, string) {
		return cli.Exited(), string(cli.Stdout())
	})
	if got := string(cli.Stdout()); got != "reply after your FIN\n" {
		t.Fatalf("Linux received %q on its half-closed connection (stderr %q)", got, cli.Stderr())
	}
}

// Stapel half-closes first (`stapel nc` at stdin EOF): its socket waits
// in FIN_WAIT_2 while Linux reads to EOF, then Linux replies and closes;
// Stapel receives the reply, and its socket then stays in TIME_WAIT for
// TcpTimedWaitDelay (30 s in this config) before it disappears.
// SPEC: TCP-1, TCP-TW-1, TOOL-NETSTAT
func TestTCPHalfCloseStapelFirstAndTimeWait(t *testing.T) {
	e := startTCP(t, 3*time.Minute)
	srv := e.BackgroundNS(t, "/usr/bin/python3", "-c", pyReplyAfterEOF, linuxIP, "7200")
	e.WaitFor(t, 20*time.Second, "the Linux server to listen", func() (bool, string) {
		o, _ := e.NS(t, 5*time.Second, "ss", "-ltn", "sport = :7200")
		return strings.Contains(o, "7200"), o + srv.Stderr()
	})
	cli := e.Background(t, strings.NewReader("request"), []string{"STAPEL_CONTROL=" + e.Sock}, stapelBin, "nc", linuxIP, "7200")
	waitNetstat(t, e, "Stapel's side in FIN_WAIT_2", stapelIP+`:\d+\s+`+linuxIP+`:7200\s+FIN_WAIT_2`)
	e.WaitFor(t, 30*time.Second, "stapel nc to receive the reply and exit", func() (bool, string) {
		return cli.Exited(), string(cli.Stdout())
	})
	if got := string(cli.Stdout()); got != "got 7 bytes, then your FIN\n" {
		t.Fatalf("stapel nc received %q (stderr %q)", got, cli.Stderr())
	}
	tw := regexp.MustCompile(stapelIP + `:\d+\s+` + linuxIP + `:7200\s+TIME_WAIT`)
	waitNetstat(t, e, "Stapel's side in TIME_WAIT", tw.String())
	entered := time.Now()
	var last string
	gone := e.Poll(t, 60*time.Second, func() (bool, string) {
		r := e.Tool(t, 10*time.Second, "netstat", "-an")
		last = r.Stdout
		return r.Err == nil && !tw.MatchString(r.Stdout), r.Output()
	})
	held := time.Since(entered)
	if !gone {
		t.Fatalf("TIME_WAIT entry still there after %v:\n%s", held, last)
	}
	// Seen within ~1 s of entering, gone 30 s after: allow polling slack.
	if held < 27*time.Second || held > 35*time.Second {
		t.Fatalf("TIME_WAIT lasted ~%v, want TcpTimedWaitDelay = 30 s", held.Round(100*time.Millisecond))
	}
	t.Logf("TIME_WAIT lasted ~%v (TcpTimedWaitDelay = 30 s)", held.Round(100*time.Millisecond))
}

// pyReplyAfterEOF reads to EOF, waits 2 s (so FIN_WAIT_2 is visible),
// answers how much it got, and closes.
const pyReplyAfterEOF = `
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
c, _ = s.accept()
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
time.sleep(2)
c.sendall(b"got %d bytes, then your FIN\n" % n)
c.close()
`

// waitNetstat polls `stapel netstat -an` until a line matches re.
func waitNetstat(t *testing.T, e *Env, what, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	e.WaitFor(t, 20*time.Second, what, func() (bool, string) {
		r := e.Tool(t, 10*time.Second, "netstat", "-an")
		return rx.MatchString(r.Stdout), r.Output()
	})
}

// The netstat tool against a live daemon: listeners of the simple
// services, interface counters that move with traffic, TCP statistics
// with the whitepaper's labels, and -r's route table.
// SPEC: TOOL-NETSTAT
func TestTCPNetstatTool(t *testing.T) {
	e := startTCP(t, 2*time.Minute)
	e.StapelMAC(t)
	r := e.NSResult(t, 20*time.Second, nil, "sh", "-c", "printf hi | socat -t 5 - TCP:"+stapelIP+":7")
	if r.Err != nil || r.Stdout != "hi" {
		t.Fatalf("echo: %v %q", r.Err, r.Output())
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"netstat", "-an"}, []string{"Active Connections", "  Proto  Local Address          Foreign Address        State",
			"  TCP    0.0.0.0:7              0.0.0.0:0              LISTENING"}},
		{[]string{"netstat", "-a"}, []string{":echo ", ":chargen "}},
		{[]string{"netstat", "-e"}, []string{"Interface Statistics", "Bytes  ", "Unicast packets", "Unknown protocols"}},
		{[]string{"netstat", "-s"}, []string{"IP Statistics", "ICMP Statistics", "TCP Statistics", "UDP Statistics",
			"  Passive Opens                      = 1"}},
		{[]string{"netstat", "-s", "-p", "tcp"}, []string{"TCP Statistics", "Segments Retransmitted"}},
		{[]string{"netstat", "-rn"}, []string{"Active Connections", stapelIP}},
	} {
		r := e.Tool(t, 10*time.Second, c.args...)
		if r.Err != nil {
			t.Errorf("stapel %v: %v\n%s", c.args, r.Err, r.Output())
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(r.Stdout, w) {
				t.Errorf("stapel %v lacks %q:\n%s", c.args, w, r.Stdout)
			}
		}
	}
	if r := e.Tool(t, 10*time.Second, "netstat", "-s", "-p", "tcp"); strings.Contains(r.Stdout, "UDP") {
		t.Errorf("-s -p tcp shows other protocols:\n%s", r.Stdout)
	}
}
