package netbt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

// SPEC: NBT-2 — RFC 1001 §14.1's own example: "FRED" padded with spaces
// (suffix 0x20 here) encodes as EGFCEFEE followed by CA pairs.
func TestFirstLevelEncodingRFCExample(t *testing.T) {
	b, err := appendName(nil, MustName("fred", 0x20))
	if err != nil {
		t.Fatal(err)
	}
	want := "\x20EGFCEFEECACACACACACACACACACACACA\x00"
	if string(b) != want {
		t.Fatalf("encoded %q, want %q", b, want)
	}
	n, end, err := readName(b, 0)
	if err != nil || end != len(b) || n.Base() != "FRED" || n.Suffix() != 0x20 {
		t.Fatalf("decoded %v end %d err %v", n, end, err)
	}
}

// SPEC: NBT-2 — the optional scope ID follows the encoded name as labels.
func TestScopeRoundTrip(t *testing.T) {
	p := &Packet{ID: 7, Opcode: OpQuery, B: true, RD: true,
		Questions: []Question{{Name: MustName("STAPELHOST", 0).WithScope("corp.example"), Type: TypeNB, Class: ClassIN}}}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParseNameServicePacket(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", q, p)
	}
	if got := q.Questions[0].Name.String(); got != "STAPELHOST<00>.corp.example" {
		t.Fatalf("String() = %q", got)
	}
}

// A registration request as Windows sends it: the additional record's
// name is a compression pointer to the question (0xC00C). Bytes written
// out by hand from RFC 1002 §4.2.2.
func TestParseRegistrationWithPointer(t *testing.T) {
	enc := "FDFEEBFAEFEMEIEPFDFECACACACACAAA" // "STAPELHOST     " + 0x00
	raw := "0001" + "2910" + "0001" + "0000" + "0000" + "0001" +
		"20" + hex.EncodeToString([]byte(enc)) + "00" + "0020" + "0001" +
		"c00c" + "0020" + "0001" + "000493e0" + "0006" + "0000" + "c6120002"
	b, _ := hex.DecodeString(raw)
	p, err := ParseNameServicePacket(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Opcode != OpRegistration || !p.B || !p.RD || p.Response {
		t.Fatalf("header %+v", p)
	}
	if p.Questions[0].Name.Base() != "STAPELHOST" || !p.Additional[0].Name.Equal(p.Questions[0].Name) {
		t.Fatalf("names %v / %v", p.Questions[0].Name, p.Additional[0].Name)
	}
	es, err := p.Additional[0].NBEntries()
	if err != nil || len(es) != 1 || es[0].Addr != netip.MustParseAddr("198.18.0.2") || es[0].Group() {
		t.Fatalf("NB %v %v", es, err)
	}
	if p.Additional[0].TTL != 300000 {
		t.Fatalf("TTL %d", p.Additional[0].TTL)
	}
}

func TestNodeStatusRoundTrip(t *testing.T) {
	st := NodeStatus{Names: []NodeName{
		{Name: MustName("STAPELHOST", 0).Raw, Flags: FlagActive},
		{Name: MustName("STAPELGRP", 0).Raw, Flags: FlagActive | FlagGroup},
	}, UnitID: [6]byte{2, 0, 0x5e, 1, 2, 3}}
	rd, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(rd) != 1+2*18+46 {
		t.Fatalf("RDATA %d bytes", len(rd))
	}
	got, err := Resource{Type: TypeNBSTAT, RData: rd}.NodeStatus()
	if err != nil || !reflect.DeepEqual(got, st) {
		t.Fatalf("got %+v %v", got, err)
	}
}

// Malformed input is an error, never a panic.
func TestParseMalformed(t *testing.T) {
	good, _ := (&Packet{Questions: []Question{{Name: MustName("A", 0), Type: TypeNB, Class: ClassIN}}}).Marshal()
	cases := map[string][]byte{
		"short":          good[:5],
		"truncated name": good[:20],
		"no qtype":       good[:len(good)-3],
		"forward ptr":    append(append([]byte{}, good[:12]...), 0xc0, 0x20, 0, 0x20, 0, 1),
		"self ptr":       append(append([]byte{}, good[:12]...), 0xc0, 0x0c, 0, 0x20, 0, 1),
		"bad letters":    bytes.Replace(good, []byte("CA"), []byte("ZZ"), 1),
		"label type 01":  append(append([]byte{}, good[:12]...), 0x40, 0),
		"empty name":     append(append([]byte{}, good[:12]...), 0, 0, 0x20, 0, 1),
		"huge count":     append([]byte{0, 1, 0, 0, 0xff, 0xff}, good[6:]...),
	}
	for name, b := range cases {
		if _, err := ParseNameServicePacket(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if _, err := (Resource{Type: TypeNBSTAT, RData: []byte{3, 1, 2}}).NodeStatus(); err == nil {
		t.Error("short node status accepted")
	}
	if _, err := (Resource{Type: TypeNB, RData: []byte{1, 2, 3}}).NBEntries(); err == nil {
		t.Error("short NB accepted")
	}
}

func FuzzParseNameServicePacket(f *testing.F) {
	q, _ := (&Packet{ID: 1, B: true, Questions: []Question{{Name: MustName("STAPELHOST", 0x20).WithScope("a.b"), Type: TypeNB, Class: ClassIN}}}).Marshal()
	f.Add(q)
	rd, _ := NodeStatus{Names: []NodeName{{Name: MustName("X", 0).Raw}}}.Marshal()
	r, _ := (&Packet{Response: true, Answers: []Resource{{Name: MustName("*", 0), Type: TypeNBSTAT, Class: ClassIN, RData: rd}}}).Marshal()
	f.Add(r)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseNameServicePacket(b)
		if err != nil {
			return
		}
		for _, sec := range [][]Resource{p.Answers, p.Authority, p.Additional} {
			for _, r := range sec {
				r.NBEntries()
				r.NodeStatus()
			}
		}
		// What parsed must re-encode and parse to the same packet.
		out, err := p.Marshal()
		if err != nil {
			return // e.g. a scope label with a dot in it
		}
		p2, err := ParseNameServicePacket(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(normalize(p), normalize(p2)) {
			t.Fatalf("round trip differs:\n%+v\n%+v", p, p2)
		}
	})
}

// normalize makes empty RDATA comparable.
func normalize(p *Packet) *Packet {
	for _, sec := range [][]Resource{p.Answers, p.Authority, p.Additional} {
		for i := range sec {
			if len(sec[i].RData) == 0 {
				sec[i].RData = nil
			}
		}
	}
	return p
}
