package main

import (
	"os"
	"testing"
	"time"
)

// TestStapelDiag runs one Stapel bulk transfer and logs both TCPs'
// counters (retransmissions, recoveries, timeouts) to explain a figure.
// Opt-in: STAPEL_DIAG=modern|default go test -run StapelDiag -v
// (STAPEL_DIAG_SMALL=1 / STAPEL_DIAG_BIG=1: only 1 GiB at MTU 1500 / 65535).
func TestStapelDiag(t *testing.T) {
	prof := os.Getenv("STAPEL_DIAG")
	if prof == "" {
		t.Skip("set STAPEL_DIAG=default or modern")
	}
	paths := []Path{{MTU: 1500}, {MTU: 65535}, {MTU: 1500, Delay: 25 * time.Millisecond}, {MTU: 1500, Delay: 25 * time.Millisecond, Loss: 0.01, Seed: 1}}
	if os.Getenv("STAPEL_DIAG_BIG") != "" {
		paths = paths[1:2]
	}
	if os.Getenv("STAPEL_DIAG_SMALL") != "" {
		paths = paths[0:1]
	}
	for _, p := range paths {
		c := stapelContender{profile: prof}
		pair, err := c.Pair(p)
		if err != nil {
			t.Fatal(err)
		}
		n := int64(64 << 20)
		if os.Getenv("STAPEL_DIAG_BIG") != "" || os.Getenv("STAPEL_DIAG_SMALL") != "" {
			n = 1 << 30
		}
		if p.Delay > 0 {
			n = 4 << 20
		}
		r, err := bulk(pair.A, pair.B, n, 10*time.Second)
		a, b := pair.A.(*stapelHost), pair.B.(*stapelHost)
		t.Logf("%+v: %.1f Mbit/s capped=%v err=%v", p, r.Mbps(), r.Capped, err)
		t.Logf("  sender   %+v", a.tcp.Stats())
		t.Logf("  receiver %+v", b.tcp.Stats())
		pair.Close()
	}
}
