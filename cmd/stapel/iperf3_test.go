package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "100": 100, "4K": 4096, "8M": 8 << 20, "1g": 1 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "-1", "K", "99999999999G"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

func TestIperf3Usage(t *testing.T) {
	for _, args := range [][]string{
		{},                                 // neither -s nor -c
		{"-s", "-c", "198.51.100.1"},       // both
		{"-c", "host.example"},             // no resolver
		{"-c", "198.51.100.1", "-P", "17"}, // too many streams
		{"-c", "198.51.100.1", "-t", "5", "-n", "1M"}, // two end conditions
		{"-s", "-p", "70000"},
	} {
		var out, errb bytes.Buffer
		if code := realMain(append([]string{"iperf3"}, args...), &out, &errb); code != 2 {
			t.Errorf("stapel iperf3 %v: exit %d, want 2 (usage)\n%s", args, code, errb.String())
		} else if !strings.Contains(errb.String(), "usage: stapel iperf3") {
			t.Errorf("stapel iperf3 %v: %s", args, errb.String())
		}
	}
}
