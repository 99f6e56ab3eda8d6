package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// The demo's routing section shows the PMTU shrink, black-hole detection
// and gateway failover, with route print before and after.
func TestDemoRoutingSection(t *testing.T) {
	code, out, errs := run("demo", "--pcap", filepath.Join(t.TempDir(), "d.pcap"))
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errs)
	}
	i := strings.Index(out, "Routing (issue 5)")
	if i < 0 {
		t.Fatalf("no routing section:\n%s", out)
	}
	sec := out[i:]
	for _, want := range []string{
		"Default Gateway:        198.18.0.1\n",
		"hostc's path MTU to the server is now 576, its MSS 536",
		"largest datagram gw1 forwarded onto the 576 link: 576 bytes, fragments: 0",
		"learned host routes: 1",
		"resent without DF (EnablePMTUBHDetect)",
		"gw1 is switched off",
		"the host's default gateway is now 198.18.0.2",
		"Default Gateway:        198.18.0.2\n",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("routing section lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(sec)
	}
}
