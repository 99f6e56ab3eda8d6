package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dhcpConfig runs the DHCP client on lan0. The retransmission base is cut
// from RFC 2131's 4 s to 500 ms (DhcpRetryBaseMs, a Stapel extension) and
// ArpRetryCount to 1 so the fallback to APIPA (4 DISCOVERs, then a 2 s
// duplicate address check) fits the test's time: about 10 s instead of
// the whitepaper's minute.
const dhcpConfig = `[Tcpip.Parameters]
ArpRetryCount = 1

[[Interface]]
Name = "lan0"
Tap = "stptap0"
EnableDHCP = true
DhcpRetryBaseMs = 500
`

// startDHCPServer runs dnsmasq as a DHCP server (no DNS) on the kernel
// side of the TAP and returns its log's path. T1 is cut to 10 s (dnsmasq's
// shortest lease is 2 minutes) so a renewal happens within the test.
func startDHCPServer(t *testing.T, e *Env, extra ...string) string {
	t.Helper()
	bin := "/usr/sbin/dnsmasq"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("dnsmasq not installed")
	}
	logPath := filepath.Join(e.Dir, "dnsmasq-dhcp.log")
	args := []string{bin, "-k", "--conf-file=/dev/null", "--user=root", "--pid-file=",
		"--dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0,2m",
		"--dhcp-option=option:router," + linuxIP, "--dhcp-option=option:dns-server," + linuxIP,
		"--dhcp-option=option:T1,10", "--dhcp-option=option:T2,100",
		"--interface=" + tapName, "--bind-interfaces",
		"--dhcp-leasefile=" + filepath.Join(e.Dir, "dnsmasq.leases"), "--log-dhcp", "--log-facility=" + logPath}
	if len(extra) == 0 {
		extra = []string{"--port=0"} // no DNS
	}
	p := e.BackgroundNS(t, append(args, extra...)...)
	t.Cleanup(p.Stop)
	e.WaitFor(t, 10*time.Second, "dnsmasq to listen on port 67", func() (bool, string) {
		out, _ := e.NS(t, 5*time.Second, "ss", "-lnu")
		return strings.Contains(out, ":67 "), out + p.Stderr()
	})
	return logPath
}

func fileCount(path, s string) (int, string) {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), s), string(b)
}

var leasedAddr = regexp.MustCompile(`IP Address[. ]*: (198\.18\.0\.1[0-5][0-9])\n`)

// TestDHCPDnsmasq: Stapel gets a lease from dnsmasq, pings the kernel from
// it, renews at T1 and on ipconfig /renew, and gives it back with
// ipconfig /release.
// SPEC: DHCP-1, DHCP-2, DHCP-6, TOOL-IPCONFIG
func TestDHCPDnsmasq(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Config: dhcpConfig, Timeout: 90 * time.Second})
	// dnsmasq also answers DNS here, to show the DHCP-supplied server
	// reaches the resolver.
	logPath := startDHCPServer(t, e, "--port=53", "--no-resolv", "--no-hosts", "--local=/test/",
		"--host-record=host.example.test,198.51.100.7", "--dhcp-option=option:domain-name,example.test")

	var addr string
	e.WaitFor(t, 30*time.Second, "a lease from dnsmasq", func() (bool, string) {
		r := e.Tool(t, 10*time.Second, "ipconfig", "/all")
		m := leasedAddr.FindStringSubmatch(r.Stdout)
		if m != nil {
			addr = m[1]
		}
		return m != nil, r.Output()
	})
	r := e.Tool(t, 10*time.Second, "ipconfig", "/all")
	t.Logf("ipconfig /all:\n%s", r.Stdout)
	for _, want := range []string{"DHCP Enabled. . . . . . . . . . . : Yes", "Subnet Mask . . . . . . . . . . . : 255.255.255.0",
		"Default Gateway . . . . . . . . . : " + linuxIP, "DHCP Server . . . . . . . . . . . : " + linuxIP,
		"DNS Servers . . . . . . . . . . . : " + linuxIP, "Lease Obtained", "Lease Expires"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("ipconfig /all lacks %q:\n%s", want, r.Stdout)
		}
	}
	p := e.Tool(t, 20*time.Second, "ping", "-n", "2", "-w", "2000", linuxIP)
	if !strings.Contains(p.Stdout, "Reply from "+linuxIP) {
		t.Fatalf("ping from the lease:\n%s", p.Output())
	}
	// SPEC DHCP-1: the DHCP DNS server and domain feed the resolver (the
	// unqualified name gets the DHCP domain as its suffix).
	ns := e.Tool(t, 20*time.Second, "nslookup", "host")
	if !strings.Contains(ns.Stdout, "198.51.100.7") {
		t.Errorf("nslookup through the DHCP-supplied server:\n%s", ns.Output())
	}
	// The kernel saw the echo requests from the leased address.
	if out, _ := e.NS(t, 5*time.Second, "ip", "neigh", "show", addr); !strings.Contains(out, addr) {
		t.Errorf("kernel has no neighbour entry for %s: %q", addr, out)
	}

	// SPEC DHCP-2: renewal at T1 (10 s here), unicast to the server.
	e.WaitFor(t, 30*time.Second, "a renewal at T1", func() (bool, string) {
		n, log := fileCount(logPath, "DHCPACK(stptap0) "+addr)
		return n >= 2, log
	})
	n, _ := fileCount(logPath, "DHCPACK(stptap0) "+addr)
	r = e.Tool(t, 20*time.Second, "ipconfig", "/renew")
	if r.Err != nil || !strings.Contains(r.Stdout, "IP Address. . . . . . . . . . . . : "+addr) {
		t.Fatalf("ipconfig /renew: %v\n%s", r.Err, r.Output())
	}
	e.WaitFor(t, 10*time.Second, "the /renew ACK", func() (bool, string) {
		m, log := fileCount(logPath, "DHCPACK(stptap0) "+addr)
		return m > n, log
	})

	r = e.Tool(t, 20*time.Second, "ipconfig", "/release", "lan0")
	if r.Err != nil || !strings.Contains(r.Stdout, "IP Address. . . . . . . . . . . . : 0.0.0.0") {
		t.Fatalf("ipconfig /release: %v\n%s", r.Err, r.Output())
	}
	e.WaitFor(t, 10*time.Second, "DHCPRELEASE in dnsmasq's log", func() (bool, string) {
		n, log := fileCount(logPath, "DHCPRELEASE(stptap0) "+addr)
		return n == 1, log
	})
	b, _ := os.ReadFile(logPath)
	t.Logf("dnsmasq:\n%s", b)
}

// TestDHCPAPIPA: with no DHCP server Stapel auto-configures an address in
// 169.254/16 after its DISCOVERs go unanswered.
// SPEC: DHCP-4, TOOL-IPCONFIG
func TestDHCPAPIPA(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Config: dhcpConfig, Timeout: 60 * time.Second})
	re := regexp.MustCompile(`Autoconfiguration IP Address[. ]*: (169\.254\.\d+\.\d+)\n\s*Subnet Mask[. ]*: 255\.255\.0\.0`)
	var addr string
	e.WaitFor(t, 30*time.Second, "an APIPA address", func() (bool, string) {
		r := e.Tool(t, 10*time.Second, "ipconfig", "/all")
		m := re.FindStringSubmatch(r.Stdout)
		if m != nil {
			addr = m[1]
		}
		return m != nil, r.Output()
	})
	r := e.Tool(t, 10*time.Second, "ipconfig", "/all")
	t.Logf("ipconfig /all:\n%s", r.Stdout)
	if !strings.Contains(r.Stdout, "Autoconfiguration Enabled . . . . : Yes") {
		t.Errorf("ipconfig /all:\n%s", r.Stdout)
	}
	// The kernel side reaches it on the link-local subnet.
	e.MustNS(t, "ip", "addr", "add", "169.254.0.1/16", "dev", tapName)
	out, err := e.NS(t, 10*time.Second, "ping", "-c", "1", "-W", "3", addr)
	if err != nil {
		t.Fatalf("kernel ping %s: %v\n%s", addr, err, out)
	}
}

// TestDHCPRebootKeepsLease: the lease is stored in the state directory;
// after a restart with no DHCP server the client's INIT-REBOOT goes
// unanswered, the lease's default gateway (the kernel) answers a ping, and
// the lease stays in use.
// SPEC: DHCP-1, DHCP-3
func TestDHCPRebootKeepsLease(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Config: dhcpConfig, Timeout: 90 * time.Second, PreTap: func(t *testing.T, e *Env) {
		e.MustNS(t, "ip", "addr", "add", linuxCIDR, "dev", tapName)
		e.MustNS(t, "ip", "link", "set", tapName, "up")
	}})
	logPath := startDHCPServer(t, e)
	var addr string
	e.WaitFor(t, 30*time.Second, "a lease from dnsmasq", func() (bool, string) {
		r := e.Tool(t, 10*time.Second, "ipconfig")
		m := leasedAddr.FindStringSubmatch(r.Stdout)
		if m != nil {
			addr = m[1]
		}
		return m != nil, r.Output()
	})
	state := filepath.Join(e.Dir, "state", "dhcp-leases.json")
	if b, err := os.ReadFile(state); err != nil || !strings.Contains(string(b), addr) {
		t.Fatalf("lease file: %q %v", b, err)
	}
	// No server any more: stop dnsmasq (its Proc is the last one started).
	e.mu.Lock()
	srv := e.procs[len(e.procs)-1]
	e.mu.Unlock()
	srv.Stop()
	n, _ := fileCount(logPath, "DHCPREQUEST")

	restartDHCPDaemon(t, e)
	e.WaitFor(t, 30*time.Second, "the stored lease back after INIT-REBOOT and the gateway ping", func() (bool, string) {
		r := e.Tool(t, 10*time.Second, "ipconfig", "/all")
		return strings.Contains(r.Stdout, "IP Address. . . . . . . . . . . . : "+addr) &&
			strings.Contains(r.Stdout, "Lease Obtained"), r.Output()
	})
	if m, _ := fileCount(logPath, "DHCPREQUEST"); m != n {
		t.Errorf("dnsmasq saw requests after it stopped")
	}
	p := e.Tool(t, 20*time.Second, "ping", "-n", "1", "-w", "2000", linuxIP)
	if !strings.Contains(p.Stdout, "Reply from "+linuxIP) {
		t.Fatalf("ping from the kept lease:\n%s", p.Output())
	}
}

// TestDHCPMediaSense: pulling the cable (the kernel side down) withdraws
// the lease's address after the damping time; plugging it back makes the
// client confirm its lease with INIT-REBOOT.
// SPEC: DHCP-7, LINK-8
func TestDHCPMediaSense(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Config: dhcpConfig, Timeout: 90 * time.Second})
	logPath := startDHCPServer(t, e)
	var addr string
	e.WaitFor(t, 30*time.Second, "a lease from dnsmasq", func() (bool, string) {
		r := e.Tool(t, 10*time.Second, "ipconfig")
		m := leasedAddr.FindStringSubmatch(r.Stdout)
		if m != nil {
			addr = m[1]
		}
		return m != nil, r.Output()
	})
	n, _ := fileCount(logPath, "DHCPACK(stptap0) "+addr)
	discovers, _ := fileCount(logPath, "DHCPDISCOVER")
	e.MustNS(t, "ip", "link", "set", tapName, "down")
	e.WaitFor(t, 20*time.Second, "ipconfig to show the cable disconnected", func() (bool, string) {
		r := e.Tool(t, 10*time.Second, "ipconfig")
		return strings.Contains(r.Stdout, "Cable Disconnected"), r.Stdout
	})
	e.MustNS(t, "ip", "link", "set", tapName, "up")
	e.WaitFor(t, 30*time.Second, "the lease confirmed after the reconnect", func() (bool, string) {
		m, log := fileCount(logPath, "DHCPACK(stptap0) "+addr)
		r := e.Tool(t, 10*time.Second, "ipconfig")
		return m > n && strings.Contains(r.Stdout, "IP Address. . . . . . . . . . . . : "+addr), log + r.Stdout
	})
	if d, _ := fileCount(logPath, "DHCPDISCOVER"); d != discovers {
		t.Errorf("%d DISCOVERs after the reconnect: it should use INIT-REBOOT", d-discovers)
	}
}

// restartDHCPDaemon is restartDaemon (tcp_harness_test.go) without its
// wait for the static address 198.18.0.2 to answer.
func restartDHCPDaemon(t *testing.T, e *Env) {
	t.Helper()
	pgid := e.daemon.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-e.daemonDone:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-e.daemonDone
	}
	os.Remove(e.Sock)
	logf, err := os.OpenFile(e.LogPath, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"netns", "exec", e.Netns, stapelBin, "run", "-c", filepath.Join(e.Dir, "stapel.toml"),
		"--control", e.Sock, "--state-dir", filepath.Join(e.Dir, "state"), "--pcap", e.PcapDir}
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	e.logf("$ ip %s", strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("restarting daemon: %v", err)
	}
	e.daemon = cmd
	e.daemonDone = make(chan struct{})
	done := e.daemonDone
	go func() {
		e.daemonErr = cmd.Wait()
		logf.Close()
		close(done)
	}()
	e.WaitFor(t, 15*time.Second, "daemon's control socket "+e.Sock, func() (bool, string) {
		_, err := os.Stat(e.Sock)
		return err == nil, fmt.Sprint(err)
	})
	e.NS(t, 10*time.Second, "ip", "link", "set", tapName, "up")
}
