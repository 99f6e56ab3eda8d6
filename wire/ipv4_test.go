package wire

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// ipv4Packet builds header+payload with our Put.
func ipv4Packet(h IPv4Header, payload []byte) []byte {
	b := make([]byte, h.HeaderLen()+len(payload))
	h.TotalLen = uint16(len(b))
	n := h.Put(b)
	copy(b[n:], payload)
	return b
}

func TestIPv4ToGopacket(t *testing.T) {
	rr := []byte{IPv4OptRR, 7, 4, 0, 0, 0, 0}
	ra := []byte{IPv4OptRA, 4, 0, 0}
	tests := []struct {
		name string
		h    IPv4Header
	}{
		{"plain", IPv4Header{TOS: 0x10, ID: 0x1234, DF: true, TTL: 128, Protocol: ProtoUDP, Src: addrA, Dst: addrB}},
		{"fragment", IPv4Header{ID: 7, MF: true, FragOff: 1480, TTL: 1, Protocol: ProtoICMP, Src: addrB, Dst: addrC}},
		{"last fragment", IPv4Header{ID: 7, FragOff: 65528, TTL: 255, Protocol: ProtoTCP, Src: addrB, Dst: addrC}},
		{"router alert", IPv4Header{TTL: 1, Protocol: ProtoIGMP, Src: addrA, Dst: netip.MustParseAddr("224.0.0.22"), Options: ra}},
		{"rr padded", IPv4Header{TTL: 64, Protocol: ProtoICMP, Src: addrA, Dst: addrB, Options: rr}},
	}
	for _, tt := range tests {
		payload := []byte("0123456789abcdef")
		b := ipv4Packet(tt.h, payload)
		g := &layers.IPv4{}
		decodeOne(t, g, b)
		h := tt.h
		flags := layers.IPv4Flag(0)
		if h.DF {
			flags |= layers.IPv4DontFragment
		}
		if h.MF {
			flags |= layers.IPv4MoreFragments
		}
		if g.Version != 4 || int(g.IHL)*4 != h.HeaderLen() || g.TOS != h.TOS || int(g.Length) != len(b) ||
			g.Id != h.ID || g.Flags != flags || int(g.FragOffset)*8 != h.FragOff || g.TTL != h.TTL ||
			uint8(g.Protocol) != h.Protocol || fromIP(t, g.SrcIP) != h.Src || fromIP(t, g.DstIP) != h.Dst {
			t.Errorf("%s: gopacket sees %+v", tt.name, g)
		}
		if _, r := g.VerifyChecksum(); !r.Valid {
			t.Errorf("%s: gopacket rejects checksum %+v", tt.name, r)
		}
		if len(h.Options) > 0 && (len(g.Options) == 0 || g.Options[0].OptionType != h.Options[0] ||
			!bytes.Equal(g.Options[0].OptionData, h.Options[2:])) {
			t.Errorf("%s: options %+v", tt.name, g.Options)
		}
		// Round trip through our parser.
		got, pl, err := ParseIPv4(b)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !bytes.Equal(pl, payload) || got.IHL != h.HeaderLen() || got.FragOff != h.FragOff ||
			got.DF != h.DF || got.MF != h.MF || got.Src != h.Src || got.Dst != h.Dst || got.ID != h.ID ||
			got.TTL != h.TTL || got.TOS != h.TOS || got.Protocol != h.Protocol ||
			!bytes.HasPrefix(got.Options, h.Options) {
			t.Errorf("%s: round trip %+v", tt.name, got)
		}
	}
}

func TestIPv4FromGopacket(t *testing.T) {
	g := &layers.IPv4{
		Version: 4, TOS: 0x08, Id: 0xbeef, Flags: layers.IPv4MoreFragments, FragOffset: 185,
		TTL: 32, Protocol: layers.IPProtocolUDP, SrcIP: ip4(addrC), DstIP: ip4(addrA),
		Options: []layers.IPv4Option{{OptionType: IPv4OptLSRR, OptionLength: 7, OptionData: []byte{4, 192, 0, 2, 9}}},
	}
	b := serialize(t, g, rawPayload("payload"))
	b = append(b, 0, 0, 0) // link padding beyond TotalLen
	h, p, err := ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.IHL != 28 || h.TOS != 0x08 || h.ID != 0xbeef || !h.MF || h.DF || h.FragOff != 1480 ||
		h.TTL != 32 || h.Protocol != ProtoUDP || h.Src != addrC || h.Dst != addrA ||
		int(h.TotalLen) != len(b)-3 || string(p) != "payload" {
		t.Errorf("got %+v %q", h, p)
	}
	if !HasSourceRoute(h.Options) {
		t.Error("LSRR not detected")
	}
}

func TestParseIPv4Errors(t *testing.T) {
	good := ipv4Packet(IPv4Header{TTL: 64, Protocol: ProtoTCP, Src: addrA, Dst: addrB}, []byte("data"))
	mut := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	fix := func(b []byte) { // recompute the checksum over a 20-byte header
		b[10], b[11] = 0, 0
		binary.BigEndian.PutUint16(b[10:], Checksum(b[:20], 0))
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"good", good, nil},
		{"empty", nil, ErrTruncated},
		{"19 bytes", good[:19], ErrTruncated},
		{"version 6", mut(func(b []byte) { b[0] = 0x65; fix(b) }), ErrBadVersion},
		{"ihl 16", mut(func(b []byte) { b[0] = 0x44; fix(b) }), ErrBadLength},
		{"ihl past end", mut(func(b []byte) { b[0] = 0x4f }), ErrTruncated},
		{"totallen < ihl", mut(func(b []byte) { b[2], b[3] = 0, 19; fix(b) }), ErrBadLength},
		{"totallen > len", mut(func(b []byte) { b[3]++; fix(b) }), ErrTruncated},
		{"bad checksum", mut(func(b []byte) { b[8]-- }), ErrBadChecksum},
	}
	for _, tt := range tests {
		_, _, err := ParseIPv4(tt.b)
		wantErr(t, tt.name, err, tt.want)
	}
}

func TestParseIPv4Quote(t *testing.T) {
	// An ICMP error quotes the header and 8 bytes of a longer datagram.
	full := ipv4Packet(IPv4Header{TTL: 3, Protocol: ProtoUDP, Src: addrA, Dst: addrB}, make([]byte, 100))
	full[8] = 2 // a router that decremented TTL without fixing the checksum
	q := full[:28]
	if _, _, err := ParseIPv4(q); err == nil {
		t.Fatal("ParseIPv4 accepted a cut datagram")
	}
	h, p, err := ParseIPv4Quote(q)
	if err != nil || h.Dst != addrB || h.Protocol != ProtoUDP || len(p) != 8 || h.TotalLen != 120 {
		t.Errorf("quote = %+v %d %v", h, len(p), err)
	}
	if _, _, err := ParseIPv4Quote(q[:19]); err == nil {
		t.Error("short quote accepted")
	}
}

func TestIPv4PutUpdatesFields(t *testing.T) {
	h := IPv4Header{TotalLen: 40, TTL: 1, Src: addrA, Dst: addrB, Options: []byte{IPv4OptNOP}}
	b := bytes.Repeat([]byte{0xee}, 40)
	if n := h.Put(b); n != 24 || h.IHL != 24 {
		t.Fatalf("Put = %d IHL %d", n, h.IHL)
	}
	if !bytes.Equal(b[20:24], []byte{1, 0, 0, 0}) {
		t.Errorf("padding not zeroed: %x", b[20:24])
	}
	if binary.BigEndian.Uint16(b[10:12]) != h.Checksum {
		t.Error("Checksum field not updated")
	}
}

func TestParseIPv4Options(t *testing.T) {
	type opt struct {
		typ  uint8
		data string
		off  int
	}
	tests := []struct {
		name string
		in   []byte
		want []opt
		err  error
	}{
		{"empty", nil, nil, nil},
		{"nops and eol", []byte{1, 1, 0, 0x44, 0xff}, nil, nil},
		{"rr", []byte{7, 7, 4, 1, 2, 3, 4, 0}, []opt{{7, "\x04\x01\x02\x03\x04", 0}}, nil},
		{"nop then ra", []byte{1, 0x94, 4, 0, 0}, []opt{{0x94, "\x00\x00", 1}}, nil},
		{"two", []byte{0x83, 3, 4, 0x89, 2}, []opt{{0x83, "\x04", 0}, {0x89, "", 3}}, nil},
		{"missing length", []byte{7}, nil, ErrBadOption},
		{"length 1", []byte{7, 1, 0, 0}, nil, ErrBadOption},
		{"length 0", []byte{0x44, 0}, nil, ErrBadOption},
		{"length past end", []byte{7, 7, 4, 0}, nil, ErrBadOption},
		{"good then bad", []byte{0x94, 4, 0, 0, 7, 9}, []opt{{0x94, "\x00\x00", 0}}, ErrBadOption},
	}
	for _, tt := range tests {
		var got []opt
		err := ParseIPv4Options(tt.in, func(o IPv4Option) bool {
			got = append(got, opt{o.Type, string(o.Data), o.Offset})
			return true
		})
		wantErr(t, tt.name, err, tt.err)
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got %v want %v", tt.name, got, tt.want)
			}
		}
	}
	// fn returning false stops the walk.
	n := 0
	_ = ParseIPv4Options([]byte{7, 3, 4, 7, 3, 4}, func(IPv4Option) bool { n++; return false })
	if n != 1 {
		t.Errorf("stop ignored: %d calls", n)
	}
}

// SPEC: IP-18 — source-routed datagrams must be recognised (DisableIPSourceRouting).
func TestHasSourceRoute(t *testing.T) {
	tests := []struct {
		in   []byte
		want bool
	}{
		{nil, false},
		{[]byte{IPv4OptLSRR, 7, 4, 192, 0, 2, 1}, true},
		{[]byte{IPv4OptNOP, IPv4OptSSRR, 7, 4, 192, 0, 2, 1}, true},
		{[]byte{IPv4OptRR, 7, 4, 0, 0, 0, 0, IPv4OptLSRR, 3, 4}, true},
		{[]byte{IPv4OptRR, 7, 4, 0, 0, 0, 0}, false},
		{[]byte{IPv4OptEOL, IPv4OptLSRR, 3, 4}, false}, // after EOL is padding
		{[]byte{IPv4OptLSRR}, false},                   // malformed, no route to follow
	}
	for _, tt := range tests {
		if got := HasSourceRoute(tt.in); got != tt.want {
			t.Errorf("HasSourceRoute(%x) = %v", tt.in, got)
		}
	}
}

func TestFragmentOptions(t *testing.T) {
	// RR (not copied), LSRR (copied), NOP, security (copied), timestamp (not).
	opts := []byte{
		IPv4OptRR, 3, 4,
		IPv4OptLSRR, 7, 4, 192, 0, 2, 1,
		IPv4OptNOP,
		IPv4OptSecurity, 3, 0xab,
		IPv4OptTimestamp, 4, 5, 0,
	}
	dst := make([]byte, 40)
	n := FragmentOptions(opts, dst)
	want := []byte{IPv4OptLSRR, 7, 4, 192, 0, 2, 1, IPv4OptSecurity, 3, 0xab}
	if !bytes.Equal(dst[:n], want) {
		t.Errorf("FragmentOptions = %x, want %x", dst[:n], want)
	}
	if n := FragmentOptions([]byte{IPv4OptRR, 3, 4, IPv4OptLSRR}, dst); n != 0 {
		t.Errorf("malformed tail copied %d bytes", n)
	}
}
