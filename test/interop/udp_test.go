package interop

import (
	"bytes"
	crand "crypto/rand"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// socatUDP sends the file's bytes as one datagram from the kernel side to
// Stapel and returns what came back within 2 s.
func (e *Env) socatUDP(t *testing.T, file string, port int) Result {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// stdin is the file itself, so socat reads it in one read: one datagram.
	return e.NSResult(t, 15*time.Second, f, "socat", "-T", "3", "-t", "2", "-b", "65507",
		"STDIO", fmt.Sprintf("UDP4:%s:%d,bind=%s", stapelIP, port, linuxIP))
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := crand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUDPEchoService: Linux socat to Stapel's UDP echo (port 7) gets the
// same bytes back, for datagrams that do and do not need fragments.
// SPEC: UDP-1, IP-20
func TestUDPEchoService(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{})
	for _, n := range []int{1, 100, 1472, 4000, 30000} {
		payload := randomBytes(t, n)
		file := e.writeFile(t, fmt.Sprintf("echo-%d.bin", n), payload)
		r := e.socatUDP(t, file, 7)
		if r.Err != nil {
			t.Errorf("socat to %s:7 with %d bytes: %v\n%s", stapelIP, n, r.Err, r.Stderr)
			continue
		}
		if !bytes.Equal([]byte(r.Stdout), payload) {
			t.Errorf("echo of %d bytes: got %d bytes back, not identical", n, len(r.Stdout))
		}
	}
}

// TestUDPSimpleServices: daytime (13), qotd (17) and chargen (19) answer a
// datagram with one of their own.
func TestUDPSimpleServices(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{})
	file := e.writeFile(t, "nl.txt", []byte("\n"))
	for _, s := range []struct {
		name string
		port int
	}{{"daytime", 13}, {"qotd", 17}, {"chargen", 19}} {
		c := e.StartCapture(t, fmt.Sprintf("udp and src host %s and src port %d", stapelIP, s.port))
		r := e.socatUDP(t, file, s.port)
		pkts := c.Stop(t)
		var answer []byte
		got := false
		for _, p := range pkts {
			if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && int(u.SrcPort) == s.port {
				got = true
				answer = u.Payload
			}
		}
		if !got {
			t.Errorf("%s (udp/%d): no answer from Stapel (socat err=%v)", s.name, s.port, r.Err)
			continue
		}
		if len(answer) > 512 {
			t.Errorf("%s answer is %d bytes; these services answer at most 512", s.name, len(answer))
		}
		if s.name != "chargen" && len(bytes.TrimSpace(answer)) == 0 {
			t.Errorf("%s answered with an empty datagram", s.name)
		}
		for _, b := range answer {
			if (b < 0x20 || b > 0x7e) && b != '\r' && b != '\n' {
				t.Errorf("%s answer has a non-printable byte %#x: %q", s.name, b, answer)
				break
			}
		}
		t.Logf("%s: %q", s.name, truncate(answer, 80))
	}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// resolveLinux makes Stapel learn the kernel side's MAC first: while ARP
// is pending only one datagram is queued (ARP-6), which would drop the
// rest of a UDP burst.
func (e *Env) resolveLinux(t *testing.T) {
	t.Helper()
	e.WaitFor(t, 20*time.Second, "stapel ping "+linuxIP, func() (bool, string) {
		r := e.Tool(t, 10*time.Second, "ping", "-n", "1", "-w", "2000", linuxIP)
		return r.Code == 0, r.Output()
	})
}

// TestStapelNCToLinux: `stapel nc -u` delivers stdin byte for byte to a
// Linux socat listener.
// SPEC: UDP-1
func TestStapelNCToLinux(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{})
	e.resolveLinux(t)
	const port = "9001"
	lis := e.BackgroundNS(t, "socat", "-u", "-b", "65507", "UDP4-RECV:"+port+",bind="+linuxIP, "STDOUT")
	e.WaitFor(t, 10*time.Second, "socat to listen on udp/"+port, func() (bool, string) {
		out, _ := e.NS(t, 5*time.Second, "ss", "-Hlun", "sport", "= :"+port)
		return len(bytes.TrimSpace([]byte(out))) > 0, out
	})
	payload := randomBytes(t, 3000)
	f, err := os.Open(e.writeFile(t, "nc-out.bin", payload))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := e.ToolIn(t, 20*time.Second, f, "nc", "-u", "-q", "0.5", linuxIP, port)
	if r.Err != nil {
		t.Errorf("stapel nc -u %s %s: %v\n%s", linuxIP, port, r.Err, r.Output())
	}
	e.WaitFor(t, 10*time.Second, "the listener to receive all bytes", func() (bool, string) {
		return len(lis.Stdout()) >= len(payload), fmt.Sprintf("%d of %d bytes", len(lis.Stdout()), len(payload))
	})
	lis.Stop()
	if got := lis.Stdout(); !bytes.Equal(got, payload) {
		t.Fatalf("listener got %d bytes, not identical to the %d sent", len(got), len(payload))
	}
}

// TestLinuxToStapelNCListen: Linux socat sends to `stapel nc -u -l`, which
// writes the bytes to stdout unchanged.
// SPEC: UDP-1
func TestLinuxToStapelNCListen(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{})
	const port = 9002
	lis := e.Background(t, nil, []string{"STAPEL_CONTROL=" + e.Sock}, stapelBin, "nc", "-u", "-l", fmt.Sprint(port))
	// The listener's readiness is not visible from outside; send a probe
	// until it shows up, then the payload.
	probe := e.writeFile(t, "probe.txt", []byte("probe\n"))
	e.WaitFor(t, 20*time.Second, "stapel nc -l to receive a probe", func() (bool, string) {
		if lis.Exited() {
			t.Fatalf("stapel nc -u -l exited: %s", lis.Stderr())
		}
		e.sendUDP(t, probe, port)
		time.Sleep(200 * time.Millisecond)
		return bytes.Contains(lis.Stdout(), []byte("probe\n")), string(lis.Stdout())
	})
	before := len(lis.Stdout())
	payload := randomBytes(t, 1400)
	e.sendUDP(t, e.writeFile(t, "payload.bin", payload), port)
	e.WaitFor(t, 10*time.Second, "the payload at stapel nc -l", func() (bool, string) {
		return len(lis.Stdout()) >= before+len(payload), fmt.Sprintf("%d bytes after the probes", len(lis.Stdout())-before)
	})
	lis.Stop()
	got := lis.Stdout()[before:]
	// Late probes may still trail in; the payload must be intact first.
	if len(got) < len(payload) || !bytes.Equal(got[:len(payload)], payload) {
		t.Fatalf("stapel nc -l wrote %d bytes after the probes, not the %d sent", len(got), len(payload))
	}
}

// sendUDP sends a file as one datagram from the kernel side, no reply read.
func (e *Env) sendUDP(t *testing.T, file string, port int) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := e.NSResult(t, 10*time.Second, f, "socat", "-u", "-b", "65507", "STDIN",
		fmt.Sprintf("UDP4-SENDTO:%s:%d,bind=%s", stapelIP, port, linuxIP))
	if r.Err != nil {
		t.Fatalf("socat send to udp/%d: %v\n%s", port, r.Err, r.Output())
	}
}

// TestUDPClosedPort: a datagram to a port nobody listens on draws an ICMP
// port unreachable that quotes the datagram's IP header and first 8 bytes.
// SPEC: ICMP-1, UDP-4
func TestUDPClosedPort(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{})
	e.StapelMAC(t)
	c := e.StartCapture(t, "icmp or udp")
	e.sendUDP(t, e.writeFile(t, "closed.txt", []byte("anyone there?\n")), 9999)
	time.Sleep(500 * time.Millisecond)
	pkts := c.Stop(t)
	var icmp *layers.ICMPv4
	for _, p := range pkts {
		if ip := ipv4(p); ip != nil && ip.SrcIP.String() == stapelIP {
			if l, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
				icmp = l
			}
		}
	}
	if icmp == nil {
		t.Fatalf("no ICMP from Stapel after a datagram to udp/9999")
	}
	if icmp.TypeCode.Type() != layers.ICMPv4TypeDestinationUnreachable || icmp.TypeCode.Code() != layers.ICMPv4CodePort {
		t.Fatalf("got ICMP %v, want destination unreachable / port unreachable", icmp.TypeCode)
	}
	// The quote: the original IP header (20 bytes) and UDP header (8).
	q := icmp.Payload
	if len(q) < 28 || q[9] != 17 || !bytes.Equal(q[12:16], []byte{198, 18, 0, 1}) || q[22] != 0x27 || q[23] != 0x0f {
		t.Errorf("ICMP error does not quote the original datagram (proto 17, src %s, dst port 9999): % x", linuxIP, truncate(q, 28))
	}
}
