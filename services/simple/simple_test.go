package simple

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// SPEC: RFC 864 via SPEC §1.2 simple services — 72-char rotating lines.
func TestChargenPattern(t *testing.T) {
	var g Chargen
	buf := make([]byte, 74*96)
	g.Read(buf)
	lines := strings.Split(string(buf), "\r\n")
	if len(lines[0]) != 72 || lines[0][:3] != " !\"" {
		t.Fatalf("line 0 = %q", lines[0])
	}
	if lines[1][0] != '!' || lines[1] != lines[0][1:]+"h" {
		t.Fatalf("line 1 = %q", lines[1])
	}
	if lines[95] != lines[0] {
		t.Fatalf("pattern does not repeat after 95 lines: %q", lines[95])
	}
	// Reading in pieces continues the same stream.
	var g2 Chargen
	var parts bytes.Buffer
	for _, n := range []int{1, 73, 5, 200, 7} {
		p := make([]byte, n)
		g2.Read(p)
		parts.Write(p)
	}
	if !bytes.Equal(parts.Bytes(), buf[:parts.Len()]) {
		t.Fatal("chunked chargen differs")
	}
}

func TestRespond(t *testing.T) {
	now := time.Date(1982, 2, 22, 17, 37, 43, 0, time.FixedZone("PST", -8*3600))
	rng := rand.New(rand.NewPCG(1, 2))
	var g Chargen
	if got := Respond(PortEcho, []byte("hi"), now, nil, &g, rng); string(got) != "hi" {
		t.Fatalf("echo = %q", got)
	}
	if got := Respond(PortDiscard, []byte("hi"), now, nil, &g, rng); got != nil {
		t.Fatalf("discard = %q", got)
	}
	// RFC 867's example.
	if got := string(Respond(PortDaytime, nil, now, nil, &g, rng)); got != "Monday, February 22, 1982 17:37:43-PST\r\n" {
		t.Fatalf("daytime = %q", got)
	}
	long := []string{strings.Repeat("x", 600)}
	if got := Respond(PortQOTD, nil, now, long, &g, rng); len(got) > MaxQuote || !bytes.HasSuffix(got, []byte("\r\n")) {
		t.Fatalf("qotd len %d", len(got))
	}
	for i := 0; i < 200; i++ {
		if got := Respond(PortChargen, nil, now, nil, &g, rng); len(got) > 512 {
			t.Fatalf("chargen datagram of %d bytes", len(got))
		}
	}
}
