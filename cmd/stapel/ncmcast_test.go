package main

import (
	"flag"
	"io"
	"net/netip"
	"testing"
)

// SPEC: MCAST-5 — nc's --join and --ttl become the daemon's socket options.
func TestNCMulticastFlags(t *testing.T) {
	parse := func(args ...string) (*ncMulticast, error) {
		fs := flag.NewFlagSet("nc", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var m ncMulticast
		m.register(fs)
		return &m, fs.Parse(args)
	}
	m, err := parse("--join", "239.1.2.3", "--join", "224.0.1.9", "--ttl", "4")
	if err != nil {
		t.Fatal(err)
	}
	o, ok, err := m.options(netip.MustParseAddr("198.18.0.2"))
	if err != nil || !ok || len(o.Join) != 2 || o.Join[1] != netip.MustParseAddr("224.0.1.9") || o.TTL == nil || *o.TTL != 4 ||
		o.IfAddr != netip.MustParseAddr("198.18.0.2") {
		t.Fatalf("%+v %v %v", o, ok, err)
	}
	if m, _ := parse(); true {
		if _, ok, _ := m.options(netip.IPv4Unspecified()); ok {
			t.Error("multicast options without flags")
		}
	}
	if _, err := parse("--join", "198.18.0.1"); err == nil {
		t.Error("unicast group accepted")
	}
	m, _ = parse("--ttl", "256")
	if _, _, err := m.options(netip.Addr{}); err == nil {
		t.Error("TTL 256 accepted")
	}
}
