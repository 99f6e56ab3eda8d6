package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// netbtConfig is baseConfig with the NetBIOS names of the tests.
const netbtConfig = `[Tcpip.Parameters]
DefaultTTL = 128
Hostname = "stapelhost"

[NetBT.Parameters]
Workgroup = "STAPELGRP"

[[Interface]]
Name = "lan0"
Tap = "stptap0"
IPAddress = ["198.18.0.2"]
SubnetMask = ["255.255.255.0"]
DefaultGateway = ["198.18.0.1"]
`

const linuxBcast = "198.18.0.255"

func requireNmblookup(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nmblookup"); err != nil {
		if os.Getenv(envRequired) == "1" {
			t.Fatalf("%s=1 but nmblookup is missing (Debian package samba-common-bin)", envRequired)
		}
		t.Skip("nmblookup missing (Debian package samba-common-bin)")
	}
}

// nmblookup runs Samba's nmblookup in the namespace with an empty
// smb.conf (the machine's own must not matter).
func (e *Env) nmblookup(t *testing.T, args ...string) Result {
	t.Helper()
	return e.NSResult(t, 20*time.Second, nil, append([]string{"nmblookup", "-s", "/dev/null"}, args...)...)
}

// startResponder runs testdata/stp_nbns_responder.py in the namespace: it
// owns LINUXPEER at the kernel side's address (there is no nmbd on the
// test machines).
func (e *Env) startResponder(t *testing.T, extra ...string) *Proc {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "stp_nbns_responder.py"))
	if err != nil {
		t.Fatal(err)
	}
	p := e.BackgroundNS(t, append([]string{scapyPython, script, "LINUXPEER", linuxIP}, extra...)...)
	e.WaitFor(t, 10*time.Second, "the NBNS responder", func() (bool, string) {
		return strings.Contains(string(p.Stdout()), "ready"), p.Stderr()
	})
	return p
}

// kernelSideUp configures the kernel side of a TAP made before the daemon.
func kernelSideUp(t *testing.T, e *Env) {
	e.MustNS(t, "ip", "addr", "add", linuxCIDR, "dev", tapName)
	e.MustNS(t, "ip", "link", "set", tapName, "up")
}

// waitRegistered polls nbtstat -n until Stapel's three names are
// registered (three broadcasts 250 ms apart, SPEC NBT-4).
func (e *Env) waitRegistered(t *testing.T, want int) string {
	t.Helper()
	var out string
	e.WaitFor(t, 15*time.Second, "the names registered", func() (bool, string) {
		r := e.Tool(t, 10*time.Second, "nbtstat", "-n")
		out = r.Output()
		return r.Code == 0 && strings.Count(out, "Registered") == want, out
	})
	return out
}

// TestNetBTNmblookup: Samba's nmblookup on the kernel side finds Stapel's
// name by broadcast and by a unicast query, and lists Stapel's name table
// by node status; Stapel resolves a Linux-side name by broadcast into its
// remote cache (nbtstat -a, -c, -r, -R).
// SPEC: NBT-1, NBT-2, NBT-4, NBT-5, NBT-6, NBT-7
func TestNetBTNmblookup(t *testing.T) {
	t.Parallel()
	requireNmblookup(t)
	// The TAP is made before the daemon so that it outlives the restart
	// at the end.
	e := Start(t, Options{Config: netbtConfig, PreTap: kernelSideUp})
	out := e.waitRegistered(t, 3)
	for _, l := range []string{
		"Node IpAddress: [198.18.0.2] Scope Id: []",
		"    STAPELHOST     <00>  UNIQUE      Registered",
		"    STAPELHOST     <20>  UNIQUE      Registered",
		"    STAPELGRP      <00>  GROUP       Registered",
	} {
		if !strings.Contains(out, l+"\n") {
			t.Errorf("nbtstat -n lacks %q:\n%s", l, out)
		}
	}

	// SPEC: NBT-4, NBT-6 — a broadcast query is answered with our address.
	r := e.nmblookup(t, "-B", linuxBcast, "STAPELHOST")
	if r.Code != 0 || !strings.Contains(r.Stdout, stapelIP+" STAPELHOST<00>") {
		t.Errorf("nmblookup -B %s STAPELHOST: exit %d\n%s", linuxBcast, r.Code, r.Output())
	}
	r = e.nmblookup(t, "-B", linuxBcast, "STAPELHOST#20")
	if r.Code != 0 || !strings.Contains(r.Stdout, stapelIP+" STAPELHOST<20>") {
		t.Errorf("nmblookup STAPELHOST#20: exit %d\n%s", r.Code, r.Output())
	}
	// The workgroup is a group name.
	r = e.nmblookup(t, "-B", linuxBcast, "STAPELGRP")
	if r.Code != 0 || !strings.Contains(r.Stdout, stapelIP+" STAPELGRP<00>") {
		t.Errorf("nmblookup STAPELGRP: exit %d\n%s", r.Code, r.Output())
	}
	// A unicast (recursion desired) query.
	r = e.nmblookup(t, "-U", stapelIP, "--recursion", "STAPELHOST")
	if r.Code != 0 || !strings.Contains(r.Stdout, stapelIP+" STAPELHOST<00>") {
		t.Errorf("nmblookup -U %s --recursion STAPELHOST: exit %d\n%s", stapelIP, r.Code, r.Output())
	}
	// A name Stapel does not own gets no positive answer.
	r = e.nmblookup(t, "-U", stapelIP, "--recursion", "NOSUCHNAME")
	if r.Code == 0 || strings.Contains(r.Stdout, stapelIP+" NOSUCHNAME<00>") {
		t.Errorf("nmblookup NOSUCHNAME answered:\n%s", r.Output())
	}

	// Node status: nmblookup -A lists the name table and the MAC.
	r = e.nmblookup(t, "-A", stapelIP)
	for _, re := range []string{
		`STAPELHOST\s+<00> -\s+B <ACTIVE>`,
		`STAPELHOST\s+<20> -\s+B <ACTIVE>`,
		`STAPELGRP\s+<00> - <GROUP> B <ACTIVE>`,
	} {
		if !regexp.MustCompile(re).MatchString(r.Stdout) {
			t.Errorf("nmblookup -A %s: no %q (exit %d)\n%s", stapelIP, re, r.Code, r.Output())
		}
	}
	if m := regexp.MustCompile(`MAC Address = (\S+)`).FindStringSubmatch(r.Stdout); m == nil || normMAC(m[1]) != normMAC(e.StapelMAC(t)) {
		t.Errorf("nmblookup -A %s: want MAC %s\n%s", stapelIP, e.StapelMAC(t), r.Stdout)
	}

	// The reverse: Stapel resolves a Linux-side name by broadcast.
	// SPEC: NBT-5, NBT-7
	resp := e.startResponder(t)
	r = e.Tool(t, 20*time.Second, "nbtstat", "-a", "LINUXPEER")
	if r.Code != 0 || !strings.Contains(r.Stdout, "    LINUXPEER      <20>  UNIQUE      Registered\n") ||
		!strings.Contains(r.Stdout, "    MAC Address = 02-00-00-00-11-22\n") {
		t.Errorf("nbtstat -a LINUXPEER: exit %d\n%s\nresponder:\n%s", r.Code, r.Output(), resp.Stdout())
	}
	r = e.Tool(t, 10*time.Second, "nbtstat", "-c")
	re := regexp.MustCompile(`(?m)^    LINUXPEER      <00>  UNIQUE          198\.18\.0\.1 +(\d+)$`)
	if m := re.FindStringSubmatch(r.Stdout); r.Code != 0 || m == nil || m[1] < "590" || m[1] > "600" {
		t.Errorf("nbtstat -c: exit %d\n%s", r.Code, r.Output())
	}
	if !strings.Contains(string(resp.Stdout()), "request op=0 LINUXPEER<00> type=0x20 from "+stapelIP) {
		t.Errorf("the responder saw no broadcast query from Stapel:\n%s", resp.Stdout())
	}
	r = e.Tool(t, 10*time.Second, "nbtstat", "-A", linuxIP)
	if r.Code != 0 || !strings.Contains(r.Stdout, "    LINUXPEER      <00>  UNIQUE      Registered\n") {
		t.Errorf("nbtstat -A %s: exit %d\n%s", linuxIP, r.Code, r.Output())
	}
	r = e.Tool(t, 10*time.Second, "nbtstat", "-r")
	if r.Code != 0 || !strings.Contains(r.Stdout, "    Resolved By Broadcast     = 1\n") ||
		!strings.Contains(r.Stdout, "    Registered By Broadcast   = 3\n") ||
		!strings.Contains(r.Stdout, "           LINUXPEER      <00>\n") {
		t.Errorf("nbtstat -r: exit %d\n%s", r.Code, r.Output())
	}
	r = e.Tool(t, 10*time.Second, "nbtstat", "-R")
	if r.Code != 0 || !strings.Contains(r.Stdout, "Successful purge and preload") {
		t.Errorf("nbtstat -R: exit %d\n%s", r.Code, r.Output())
	}
	r = e.Tool(t, 10*time.Second, "nbtstat", "-c")
	if r.Code != 0 || strings.Contains(r.Stdout, "LINUXPEER") || !strings.Contains(r.Stdout, "No names in cache") {
		t.Errorf("nbtstat -c after -R: exit %d\n%s", r.Code, r.Output())
	}

	// A stopping daemon releases its names by broadcast; the new one
	// registers them again.
	// SPEC: NBT-2, NBT-4
	e.restartDaemon(t, nil)
	e.WaitFor(t, 15*time.Second, "release and re-registration broadcasts", func() (bool, string) {
		out := string(resp.Stdout())
		for _, n := range []string{"STAPELHOST<00>", "STAPELHOST<20>", "STAPELGRP<00>"} {
			for _, op := range []string{"op=6", "op=5"} {
				if !strings.Contains(out, "request "+op+" "+n+" type=0x20 from "+stapelIP) {
					return false, out
				}
			}
		}
		return true, out
	})
	e.waitRegistered(t, 3)
}

// TestNetBTRegistrationConflict: a Linux-side owner of STAPELHOST
// answers Stapel's registration broadcasts negatively; Stapel logs the
// conflict, marks both unique names Conflict and keeps the group name.
// SPEC: NBT-2, NBT-4
func TestNetBTRegistrationConflict(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Config: netbtConfig, PreTap: func(t *testing.T, e *Env) {
		kernelSideUp(t, e)
		e.startResponder(t, "--defend", "STAPELHOST")
	}})
	var out string
	e.WaitFor(t, 15*time.Second, "the conflict", func() (bool, string) {
		r := e.Tool(t, 10*time.Second, "nbtstat", "-n")
		out = r.Output()
		return strings.Count(out, "Conflict") == 2 && strings.Count(out, "Registered") == 1, out
	})
	if !strings.Contains(out, "    STAPELGRP      <00>  GROUP       Registered\n") {
		t.Errorf("nbtstat -n:\n%s", out)
	}
	if !strings.Contains(e.DaemonLog(), "name conflict") {
		t.Errorf("no conflict in the daemon log:\n%s", tail(e.DaemonLog(), 20))
	}
}
