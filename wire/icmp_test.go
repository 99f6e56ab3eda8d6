package wire

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// gopacketICMP decodes b with gopacket and checks gopacket accepts the checksum.
func gopacketICMP(t *testing.T, b []byte) *layers.ICMPv4 {
	t.Helper()
	g := &layers.ICMPv4{}
	decodeOne(t, g, b)
	if _, r := g.VerifyChecksum(); !r.Valid {
		t.Errorf("gopacket rejects ICMP checksum %+v", r)
	}
	return g
}

func TestICMPEchoToGopacket(t *testing.T) {
	m := ICMPv4{Type: ICMPEcho, Body: []byte("abcdefghijklmnopqrstuvwabcdefghi")}
	m.SetIDSeq(0x0200, 0x1234)
	b := make([]byte, m.Len())
	if n := m.Put(b); n != 40 {
		t.Fatalf("Put = %d", n)
	}
	g := gopacketICMP(t, b)
	if g.TypeCode != layers.CreateICMPv4TypeCode(8, 0) || g.Id != 0x0200 || g.Seq != 0x1234 ||
		!bytes.Equal(g.Payload, m.Body) || g.Checksum != m.Checksum {
		t.Errorf("gopacket sees %+v", g)
	}
}

func TestICMPFromGopacket(t *testing.T) {
	tests := []struct {
		name      string
		g         *layers.ICMPv4
		check     func(m *ICMPv4) bool
		typ, code uint8
		body      string
	}{
		{"echo reply", &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(0, 0), Id: 7, Seq: 9},
			func(m *ICMPv4) bool { return m.ID() == 7 && m.Seq() == 9 }, ICMPEchoReply, 0, "ping data"},
		{"frag needed", &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 4), Seq: 1006},
			func(m *ICMPv4) bool { return m.NextHopMTU() == 1006 }, ICMPDestUnreachable, ICMPFragmentationNeeded, "quoted"},
		{"old router frag needed", &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 4)},
			func(m *ICMPv4) bool { return m.NextHopMTU() == 0 }, ICMPDestUnreachable, ICMPFragmentationNeeded, "quoted"},
		{"host redirect", &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(5, 1), Id: 0xcb00, Seq: 0x71fe},
			func(m *ICMPv4) bool { return m.Gateway() == addrC }, ICMPRedirect, ICMPRedirectHost, "quoted"},
		{"param problem", &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(12, 0), Id: 20 << 8},
			func(m *ICMPv4) bool { return m.Pointer() == 20 }, ICMPParameterProblem, ICMPPointerIndicatesError, "quoted"},
		{"ttl exceeded", &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(11, 0)},
			func(m *ICMPv4) bool { return m.IsError() }, ICMPTimeExceeded, ICMPTTLExceeded, "quoted"},
		{"reassembly exceeded", &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(11, 1)},
			func(m *ICMPv4) bool { return m.IsError() }, ICMPTimeExceeded, ICMPReassemblyTimeExceeded, "quoted"},
	}
	for _, tt := range tests {
		b := serialize(t, tt.g, rawPayload(tt.body))
		m, err := ParseICMPv4(b)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if m.Type != tt.typ || m.Code != tt.code || string(m.Body) != tt.body || !tt.check(&m) {
			t.Errorf("%s: got %+v", tt.name, m)
		}
	}
}

// SPEC: ICMP-6 — Fragmentation Needed carries the next-hop MTU and quotes
// the original header, which the stack must be able to read.
func TestICMPFragNeededBuild(t *testing.T) {
	orig := ipv4Packet(IPv4Header{DF: true, TTL: 64, Protocol: ProtoTCP, Src: addrA, Dst: addrB}, make([]byte, 1480))
	m := ICMPv4{Type: ICMPDestUnreachable, Code: ICMPFragmentationNeeded, Body: orig[:28]}
	m.SetNextHopMTU(1006)
	b := make([]byte, m.Len())
	m.Put(b)
	g := gopacketICMP(t, b)
	if g.TypeCode != layers.CreateICMPv4TypeCode(3, 4) || g.Seq != 1006 || g.Id != 0 {
		t.Errorf("gopacket sees %+v", g)
	}
	back, err := ParseICMPv4(b)
	if err != nil || back.NextHopMTU() != 1006 {
		t.Fatalf("parse %+v %v", back, err)
	}
	q, p, err := ParseIPv4Quote(back.Body)
	if err != nil || q.Dst != addrB || !q.DF || len(p) != 8 {
		t.Errorf("quote %+v %v", q, err)
	}
}

func TestICMPSetters(t *testing.T) {
	var m ICMPv4
	m.SetGateway(addrC)
	if m.Gateway() != addrC {
		t.Error("gateway")
	}
	m.SetPointer(33)
	if m.Pointer() != 33 || m.Rest != [4]byte{33} {
		t.Error("pointer")
	}
	m.SetIDSeq(1, 2)
	if m.ID() != 1 || m.Seq() != 2 {
		t.Error("id/seq")
	}
	for typ, want := range map[uint8]bool{0: false, 3: true, 4: true, 5: true, 8: false, 9: false, 11: true, 12: true, 13: false} {
		if m := (ICMPv4{Type: typ}); m.IsError() != want {
			t.Errorf("IsError(%d) = %v", typ, !want)
		}
	}
}

func TestParseICMPv4Errors(t *testing.T) {
	m := ICMPv4{Type: ICMPEcho, Body: []byte{1, 2, 3}}
	b := make([]byte, m.Len())
	m.Put(b)
	bad := append([]byte(nil), b...)
	bad[9] ^= 0x40
	for _, tt := range []struct {
		name string
		b    []byte
		want error
	}{
		{"good odd length", b, nil},
		{"short", b[:7], ErrTruncated},
		{"cut body", b[:10], ErrBadChecksum},
		{"flipped bit", bad, ErrBadChecksum},
	} {
		_, err := ParseICMPv4(tt.b)
		wantErr(t, tt.name, err, tt.want)
	}
}

func TestICMPTimestamp(t *testing.T) {
	ts := ICMPTimestampBody{Originate: 1, Receive: 36_000_000, Transmit: 86_399_999}
	m := ICMPv4{Type: ICMPTimestampReply, Body: make([]byte, ICMPTimestampLen)}
	m.SetIDSeq(5, 6)
	ts.Put(m.Body)
	b := make([]byte, m.Len())
	m.Put(b)
	g := gopacketICMP(t, b)
	if g.TypeCode.Type() != layers.ICMPv4TypeTimestampReply || g.Id != 5 || g.Seq != 6 ||
		binary.BigEndian.Uint32(g.Payload[4:]) != 36_000_000 {
		t.Errorf("gopacket sees %+v", g)
	}
	back, err := ParseICMPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := back.Timestamps()
	if err != nil || got != ts {
		t.Errorf("Timestamps = %+v %v", got, err)
	}
	short := ICMPv4{Body: make([]byte, 11)}
	if _, err := short.Timestamps(); err == nil {
		t.Error("short timestamp accepted")
	}
}

// SPEC: ICMP-4 — address mask reply carries the mask in a 4-byte body.
func TestICMPAddressMask(t *testing.T) {
	mask := netip.MustParseAddr("255.255.255.0")
	m := ICMPv4{Type: ICMPAddressMaskReply, Body: make([]byte, ICMPAddressMaskLen)}
	m.SetIDSeq(0x1111, 2)
	PutAddressMask(m.Body, mask)
	b := make([]byte, m.Len())
	m.Put(b)
	g := gopacketICMP(t, b)
	if g.TypeCode.Type() != layers.ICMPv4TypeAddressMaskReply || !bytes.Equal(g.Payload, ip4(mask)) {
		t.Errorf("gopacket sees %+v", g)
	}
	back, _ := ParseICMPv4(b)
	if got, err := back.AddressMask(); err != nil || got != mask || back.ID() != 0x1111 {
		t.Errorf("AddressMask = %v %v", got, err)
	}
	if _, err := (&ICMPv4{Body: []byte{1}}).AddressMask(); err == nil {
		t.Error("short mask accepted")
	}
}

// SPEC: ICMP-2 — router discovery messages (RFC 1256).
func TestRouterAdvertisement(t *testing.T) {
	ra := RouterAdvertisement{Lifetime: 1800, Entries: []RouterAddr{
		{addrA, 0}, {addrB, -5}, {addrC, RouterAdvertisementNever},
	}}
	b := make([]byte, RouterAdvertisementLen(3))
	if n := PutRouterAdvertisement(b, &ra); n != 32 {
		t.Fatalf("Put = %d", n)
	}
	g := gopacketICMP(t, b)
	if g.TypeCode != layers.CreateICMPv4TypeCode(9, 0) || g.Id != 3<<8|2 || g.Seq != 1800 {
		t.Errorf("gopacket sees %+v", g)
	}
	m, err := ParseICMPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseRouterAdvertisement(m)
	if err != nil || got.Lifetime != 1800 || len(got.Entries) != 3 {
		t.Fatalf("parse %+v %v", got, err)
	}
	for i := range got.Entries {
		if got.Entries[i] != ra.Entries[i] {
			t.Errorf("entry %d = %+v", i, got.Entries[i])
		}
	}
	// Entries larger than 2 words (future extensions) are read by stride.
	wide := ICMPv4{Type: ICMPRouterAdvertisement, Rest: [4]byte{2, 3, 0, 30}, Body: []byte{
		192, 0, 2, 1, 0, 0, 0, 1, 9, 9, 9, 9,
		192, 0, 2, 2, 0, 0, 0, 2, 9, 9, 9, 9,
	}}
	if w, err := ParseRouterAdvertisement(wide); err != nil || w.Entries[1].Addr != netip.MustParseAddr("192.0.2.2") ||
		w.Entries[1].Preference != 2 || w.Lifetime != 30 {
		t.Errorf("wide entries %+v %v", w, err)
	}
	for _, tt := range []struct {
		name string
		m    ICMPv4
		want error
	}{
		{"code 16", ICMPv4{Type: 9, Code: 16, Rest: [4]byte{1, 2}, Body: make([]byte, 8)}, ErrUnsupported},
		{"solicitation", ICMPv4{Type: 10}, ErrUnsupported},
		{"no addrs", ICMPv4{Type: 9, Rest: [4]byte{0, 2}}, ErrBadLength},
		{"entry size 1", ICMPv4{Type: 9, Rest: [4]byte{1, 1}, Body: make([]byte, 8)}, ErrBadLength},
		{"short body", ICMPv4{Type: 9, Rest: [4]byte{2, 2}, Body: make([]byte, 15)}, ErrTruncated},
	} {
		_, err := ParseRouterAdvertisement(tt.m)
		wantErr(t, tt.name, err, tt.want)
	}
}

func TestRouterSolicitation(t *testing.T) {
	b := bytes.Repeat([]byte{0xff}, 8)
	if n := PutRouterSolicitation(b); n != 8 {
		t.Fatalf("Put = %d", n)
	}
	g := gopacketICMP(t, b)
	if g.TypeCode != layers.CreateICMPv4TypeCode(10, 0) || g.Id != 0 || g.Seq != 0 {
		t.Errorf("gopacket sees %+v", g)
	}
}
