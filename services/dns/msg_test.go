package dns

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func sampleMessage() *Message {
	return &Message{
		Header:    Header{ID: 0xbeef, Response: true, Authoritative: true, RecursionDesired: true, RecursionAvailable: true},
		Questions: []Question{{Name: "www.example.test", Type: TypeA, Class: ClassIN}},
		Answers: []RR{
			{Name: "www.example.test", Type: TypeCNAME, Class: ClassIN, TTL: 86400, Target: "host.example.test"},
			{Name: "host.example.test", Type: TypeA, Class: ClassIN, TTL: 60, Addr: netip.MustParseAddr("198.51.100.7")},
			{Name: "host.example.test", Type: TypeAAAA, Class: ClassIN, TTL: 60, Addr: netip.MustParseAddr("2001:db8::7")},
			{Name: "example.test", Type: TypeMX, Class: ClassIN, TTL: 60, Pref: 10, Target: "mail.example.test"},
			{Name: "example.test", Type: TypeTXT, Class: ClassIN, TTL: 60, Text: []string{"v=1", ""}},
			{Name: "7.100.51.198.in-addr.arpa", Type: TypePTR, Class: ClassIN, TTL: 60, Target: "host.example.test"},
		},
		Authority: []RR{
			{Name: "example.test", Type: TypeNS, Class: ClassIN, TTL: 60, Target: "ns.example.test"},
			{Name: "example.test", Type: TypeSOA, Class: ClassIN, TTL: 60, SOA: &SOA{MName: "ns.example.test",
				RName: "hostmaster.example.test", Serial: 1, Refresh: 2, Retry: 3, Expire: 4, Minimum: 5}},
		},
		Additional: []RR{{Name: "x.example.test", Type: 99, Class: ClassIN, TTL: 1, Raw: []byte{1, 2, 3}}},
	}
}

func TestPackParseRoundTrip(t *testing.T) {
	m := sampleMessage()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	// Compression: "example.test" is written once, so the message is much
	// shorter than with every name spelled out.
	if len(b) > 330 {
		t.Errorf("packed %d bytes: names not compressed?", len(b))
	}
}

// gopacket decodes what we pack: an independent check of the wire format.
func TestPackAgainstGopacket(t *testing.T) {
	b, err := sampleMessage().Pack()
	if err != nil {
		t.Fatal(err)
	}
	var d layers.DNS
	if err := d.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if d.ID != 0xbeef || !d.QR || !d.AA || !d.RD || !d.RA || len(d.Answers) != 6 || len(d.Authorities) != 2 {
		t.Fatalf("gopacket header %+v", d)
	}
	if string(d.Answers[0].CNAME) != "host.example.test" || d.Answers[1].IP.String() != "198.51.100.7" ||
		d.Answers[3].MX.Preference != 10 || string(d.Answers[3].MX.Name) != "mail.example.test" ||
		string(d.Answers[5].PTR) != "host.example.test" || d.Authorities[1].SOA.Minimum != 5 ||
		string(d.Authorities[1].SOA.RName) != "hostmaster.example.test" {
		t.Fatalf("gopacket answers %+v", d.Answers)
	}
	// And we parse what gopacket packs.
	q := layers.DNS{ID: 7, RD: true, QDCount: 1, Questions: []layers.DNSQuestion{{Name: []byte("a.example.test"),
		Type: layers.DNSTypePTR, Class: layers.DNSClassIN}}}
	buf := gopacket.NewSerializeBuffer()
	if err := q.SerializeTo(buf, gopacket.SerializeOptions{FixLengths: true}); err != nil {
		t.Fatal(err)
	}
	m, err := Parse(buf.Bytes())
	if err != nil || m.ID != 7 || !m.RecursionDesired || m.Questions[0] != (Question{"a.example.test", TypePTR, ClassIN}) {
		t.Fatalf("parse of gopacket's query: %+v %v", m, err)
	}
}

func TestParseMalformed(t *testing.T) {
	hdr := func(qd, an uint16) []byte {
		return []byte{0, 1, 0x81, 0x80, byte(qd >> 8), byte(qd), byte(an >> 8), byte(an), 0, 0, 0, 0}
	}
	cases := map[string][]byte{
		"short":            {1, 2, 3},
		"count too large":  hdr(1000, 0),
		"pointer loop":     append(hdr(1, 0), 0xc0, 12, 0, 1, 0, 1),
		"forward pointer":  append(hdr(1, 0), 0xc0, 20, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0),
		"label past end":   append(hdr(1, 0), 10, 'a', 'b'),
		"bad label type":   append(hdr(1, 0), 0x40, 0, 0, 1, 0, 1),
		"rdata past end":   append(hdr(0, 1), 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 9, 1, 2, 3, 4),
		"A of 3 bytes":     append(hdr(0, 1), 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3),
		"CNAME past rdata": append(hdr(0, 1), 0, 0, 5, 0, 1, 0, 0, 0, 1, 0, 1, 3, 'a', 'b', 'c', 0),
	}
	// A name of 200 two-byte labels is longer than 255 bytes.
	long := hdr(1, 0)
	for i := 0; i < 200; i++ {
		long = append(long, 1, 'a')
	}
	cases["name too long"] = append(long, 0, 0, 1, 0, 1)
	for name, b := range cases {
		if _, err := Parse(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
	}
}

func TestSplitNameLimits(t *testing.T) {
	for _, bad := range []string{"a..b", string(make([]byte, 64)) + ".test", "a\\.b"} {
		if _, err := SplitName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if l, err := SplitName("host.example.test."); err != nil || len(l) != 3 {
		t.Errorf("SplitName: %v %v", l, err)
	}
}

func TestReverseName(t *testing.T) {
	if got := ReverseName(netip.MustParseAddr("198.51.100.7")); got != "7.100.51.198.in-addr.arpa" {
		t.Error(got)
	}
	if got := ReverseName(netip.MustParseAddr("2001:db8::1")); got[:8] != "1.0.0.0." || got[len(got)-8:] != "ip6.arpa" {
		t.Error(got)
	}
}

// FuzzParseMessage: any input either parses or fails with ErrMalformed,
// and whatever parses packs and parses again to the same questions.
func FuzzParseMessage(f *testing.F) {
	b, _ := sampleMessage().Pack()
	f.Add(b)
	f.Add([]byte{0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if p, err := m.Pack(); err == nil {
			if _, err := Parse(p); err != nil {
				t.Fatalf("repack does not parse: %v", err)
			}
		}
	})
}
