package dhcp

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/wire"
)

func sampleMsg() *Message {
	m := &Message{Op: bootReply, HType: 1, HLen: 6, XID: 0xdeadbeef, Secs: 3, Flags: FlagBroadcast,
		YIAddr: netip.MustParseAddr("198.18.0.100"), SIAddr: netip.MustParseAddr("198.18.0.1"),
		CHAddr: wire.MAC{2, 0, 0, 0, 0, 7}}
	m.Add(OptMessageType, []byte{Offer})
	m.Add(OptServerID, []byte{198, 18, 0, 1})
	m.Add(OptSubnetMask, []byte{255, 255, 255, 0})
	m.Add(OptRouter, []byte{198, 18, 0, 1, 198, 18, 0, 2})
	m.Add(OptLeaseTime, be32(120))
	m.Add(OptDomainName, []byte("example.test"))
	return m
}

// TestMarshalAgainstGopacket checks our encoding with gopacket's decoder
// and our decoder with gopacket's encoding (SPEC DHCP-1: RFC 2131/2132).
func TestMarshalAgainstGopacket(t *testing.T) {
	m := sampleMsg()
	b := m.Marshal()
	var d layers.DHCPv4
	if err := d.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if d.Xid != m.XID || d.Flags != m.Flags || !d.YourClientIP.Equal(net.IP{198, 18, 0, 100}) ||
		!bytes.Equal(d.ClientHWAddr, m.CHAddr[:]) || d.Operation != layers.DHCPOpReply {
		t.Fatalf("gopacket decoded %+v", d)
	}
	var got []byte
	for _, o := range d.Options {
		if o.Type == layers.DHCPOptRouter {
			got = o.Data
		}
	}
	if !bytes.Equal(got, []byte{198, 18, 0, 1, 198, 18, 0, 2}) {
		t.Fatalf("router option %v", got)
	}

	// And the other way round.
	g := &layers.DHCPv4{Operation: layers.DHCPOpReply, HardwareType: layers.LinkTypeEthernet, HardwareLen: 6,
		Xid: 42, YourClientIP: net.IP{198, 18, 0, 120}, ClientIP: net.IPv4zero, RelayAgentIP: net.IPv4zero,
		NextServerIP: net.IPv4zero, ClientHWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 9},
		Options: layers.DHCPOptions{
			layers.NewDHCPOption(layers.DHCPOptMessageType, []byte{byte(layers.DHCPMsgTypeAck)}),
			layers.NewDHCPOption(layers.DHCPOptLeaseTime, be32(3600)),
			layers.NewDHCPOption(layers.DHCPOptDNS, []byte{198, 18, 0, 1}),
			layers.NewDHCPOption(layers.DHCPOptSubnetMask, []byte{255, 255, 255, 0}),
		}}
	buf := gopacket.NewSerializeBuffer()
	if err := g.SerializeTo(buf, gopacket.SerializeOptions{FixLengths: true}); err != nil {
		t.Fatal(err)
	}
	p, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if p.Type() != Ack || p.XID != 42 || p.YIAddr != netip.MustParseAddr("198.18.0.120") {
		t.Fatalf("parsed %+v", p)
	}
	if d, _ := p.Duration(OptLeaseTime); d != time.Hour {
		t.Fatalf("lease %v", d)
	}
	if dns := p.Addrs(OptDNS); len(dns) != 1 || dns[0] != netip.MustParseAddr("198.18.0.1") {
		t.Fatalf("dns %v", dns)
	}
	if mk, _ := p.Addr(OptSubnetMask); maskLen(mk) != 24 {
		t.Fatalf("mask %v", mk)
	}
}

func TestParseMalformed(t *testing.T) {
	good := sampleMsg().Marshal()
	cases := map[string][]byte{
		"short":     good[:100],
		"no cookie": append(append([]byte{}, good[:236]...), 1, 2, 3, 4),
		"overrun":   append(append([]byte{}, good[:240]...), OptRouter, 8, 1, 2),
		"no length": append(append([]byte{}, good[:240]...), OptRouter),
		"bad op":    append([]byte{9}, good[1:]...),
	}
	for name, b := range cases {
		if _, err := Parse(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

// FuzzParseDHCP: malformed input is an error, never a panic, and what
// parses re-encodes to something that parses the same.
func FuzzParseDHCP(f *testing.F) {
	f.Add(sampleMsg().Marshal())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		m.Type()
		m.Addrs(OptRouter)
		m.Duration(OptLeaseTime)
		m2, err := Parse(m.Marshal())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(m2.Options) != len(m.Options) || m2.XID != m.XID || m2.YIAddr != m.YIAddr {
			t.Fatalf("round trip changed the message")
		}
	})
}
