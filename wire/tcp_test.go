package wire

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// tcpSegment builds a segment with our Put: options, then payload.
func tcpSegment(h TCPHeader, o *TCPOptions, payload []byte) []byte {
	ol := 0
	if o != nil {
		ol = o.Len()
	}
	b := make([]byte, TCPMinHeaderLen+ol+len(payload))
	if o != nil {
		o.Put(b[TCPMinHeaderLen:])
		h.Options = b[TCPMinHeaderLen : TCPMinHeaderLen+ol]
	}
	copy(b[TCPMinHeaderLen+ol:], payload)
	h.Put(b, addrA, addrB)
	return b
}

func gopacketTCP(t *testing.T, b []byte) *layers.TCP {
	t.Helper()
	g := &layers.TCP{}
	decodeOne(t, g, b)
	ip := &layers.IPv4{SrcIP: ip4(addrA), DstIP: ip4(addrB), Protocol: layers.IPProtocolTCP}
	if err := g.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	if _, r := g.VerifyChecksum(); !r.Valid {
		t.Errorf("gopacket rejects TCP checksum %+v", r)
	}
	return g
}

func TestTCPToGopacket(t *testing.T) {
	syn := TCPOptions{MSS: 1460, HasMSS: true, WScale: 2, HasWScale: true, SACKPermitted: true,
		TSVal: 0x01020304, TSEcr: 0, HasTimestamp: true}
	ack := TCPOptions{TSVal: 77, TSEcr: 66, HasTimestamp: true, NumSACK: 2,
		SACK: [4]SACKBlock{{1000, 2000}, {3000, 4000}}}
	h := TCPHeader{SrcPort: 49152, DstPort: 80, Seq: 0xfffffff0, Ack: 5, Flags: SYN | ACK | ECE,
		Window: 65535, Urgent: 0}
	for _, tt := range []struct {
		name string
		o    *TCPOptions
		data []byte
	}{
		{"bare", nil, nil},
		{"syn options", &syn, nil},
		{"sack with data", &ack, []byte("GET / HTTP/1.0\r\n\r\n")},
		{"odd data", &TCPOptions{HasMSS: true, MSS: 536}, []byte("x")},
	} {
		b := tcpSegment(h, tt.o, tt.data)
		g := gopacketTCP(t, b)
		if g.SrcPort != 49152 || g.DstPort != 80 || g.Seq != h.Seq || g.Ack != 5 || !g.SYN || !g.ACK ||
			!g.ECE || g.FIN || g.RST || g.PSH || g.URG || g.CWR || g.Window != 65535 ||
			int(g.DataOffset)*4 != len(b)-len(tt.data) || !bytes.Equal(g.Payload, tt.data) {
			t.Errorf("%s: gopacket sees %+v", tt.name, g)
		}
		if tt.o == nil {
			continue
		}
		// Rebuild TCPOptions from gopacket's option list.
		var o TCPOptions
		for _, op := range g.Options {
			switch op.OptionType {
			case layers.TCPOptionKindMSS:
				o.MSS, o.HasMSS = binary.BigEndian.Uint16(op.OptionData), true
			case layers.TCPOptionKindWindowScale:
				o.WScale, o.HasWScale = op.OptionData[0], true
			case layers.TCPOptionKindSACKPermitted:
				o.SACKPermitted = true
			case layers.TCPOptionKindTimestamps:
				o.TSVal = binary.BigEndian.Uint32(op.OptionData)
				o.TSEcr = binary.BigEndian.Uint32(op.OptionData[4:])
				o.HasTimestamp = true
			case layers.TCPOptionKindSACK:
				for i := 0; i+8 <= len(op.OptionData); i += 8 {
					o.SACK[o.NumSACK] = SACKBlock{binary.BigEndian.Uint32(op.OptionData[i:]),
						binary.BigEndian.Uint32(op.OptionData[i+4:])}
					o.NumSACK++
				}
			case layers.TCPOptionKindNop, layers.TCPOptionKindEndList:
			default:
				t.Errorf("%s: unexpected option %v", tt.name, op)
			}
		}
		if o != *tt.o {
			t.Errorf("%s: gopacket options %+v, want %+v", tt.name, o, *tt.o)
		}
	}
}

func TestTCPFromGopacket(t *testing.T) {
	ip := &layers.IPv4{Version: 4, TTL: 128, Protocol: layers.IPProtocolTCP, SrcIP: ip4(addrA), DstIP: ip4(addrB)}
	g := &layers.TCP{SrcPort: 1025, DstPort: 139, Seq: 100, Ack: 200, FIN: true, PSH: true, ACK: true, URG: true,
		CWR: true, Window: 17520, Urgent: 3, Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{14}},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
			{OptionType: 30, OptionLength: 6, OptionData: []byte{1, 2, 3, 4}}, // unknown: skipped
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 9, 0, 0, 0, 8}},
			{OptionType: layers.TCPOptionKindSACK, OptionLength: 10, OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 2}},
		}}
	if err := g.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	b := serialize(t, ip, g, rawPayload("data!"))
	ih, p, err := ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	h, pl, err := ParseTCP(p, ih.Src, ih.Dst)
	if err != nil {
		t.Fatal(err)
	}
	if h.SrcPort != 1025 || h.DstPort != 139 || h.Seq != 100 || h.Ack != 200 || h.Window != 17520 ||
		h.Urgent != 3 || h.Flags != FIN|PSH|ACK|URG|CWR || string(pl) != "data!" || h.DataOff != 20+len(h.Options) {
		t.Errorf("got %+v %q", h, pl)
	}
	o, err := ParseTCPOptions(h.Options)
	want := TCPOptions{MSS: 1460, HasMSS: true, WScale: 14, HasWScale: true, SACKPermitted: true,
		TSVal: 9, TSEcr: 8, HasTimestamp: true, NumSACK: 1, SACK: [4]SACKBlock{{1, 2}}}
	if err != nil || o != want {
		t.Errorf("options %+v %v", o, err)
	}
	if _, _, err := ParseTCP(p, ih.Src, addrC); err == nil {
		t.Error("checksum ignored the pseudo header")
	}
}

func TestParseTCPErrors(t *testing.T) {
	good := tcpSegment(TCPHeader{SrcPort: 1, DstPort: 2, Flags: ACK}, &TCPOptions{HasMSS: true, MSS: 1}, []byte("p"))
	mut := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want error
	}{
		{"good", good, nil},
		{"short", good[:19], ErrTruncated},
		{"data offset 16", mut(func(b []byte) { b[12] = 4 << 4 }), ErrBadLength},
		{"data offset past end", mut(func(b []byte) { b[12] = 15 << 4 }), ErrTruncated},
		{"bad checksum", mut(func(b []byte) { b[24] ^= 0x80 }), ErrBadChecksum},
	} {
		_, _, err := ParseTCP(tt.b, addrA, addrB)
		wantErr(t, tt.name, err, tt.want)
	}
	// Without the checksum a corrupted payload still parses.
	bad := mut(func(b []byte) { b[24] ^= 0x80 })
	if _, p, err := ParseTCPNoChecksum(bad); err != nil || len(p) != 1 {
		t.Errorf("NoChecksum: %v", err)
	}
}

func TestTCPPutUpdatesFields(t *testing.T) {
	h := TCPHeader{Flags: RST, Options: []byte{TCPOptNOP}}
	b := bytes.Repeat([]byte{0xee}, 24)
	if n := h.Put(b, addrA, addrB); n != 24 || h.DataOff != 24 {
		t.Fatalf("Put = %d DataOff %d", n, h.DataOff)
	}
	if !bytes.Equal(b[20:24], []byte{1, 0, 0, 0}) || b[12] != 6<<4 {
		t.Errorf("header %x", b)
	}
	if binary.BigEndian.Uint16(b[16:]) != h.Checksum {
		t.Error("Checksum not updated")
	}
}

func TestTCPFlagsString(t *testing.T) {
	for f, want := range map[TCPFlags]string{
		0: "none", SYN: "SYN", SYN | ACK: "SYN|ACK", FIN | PSH | ACK: "FIN|PSH|ACK",
		0xff: "FIN|SYN|RST|PSH|ACK|URG|ECE|CWR", RST | ACK: "RST|ACK",
	} {
		if got := f.String(); got != want {
			t.Errorf("%#x.String() = %q, want %q", uint8(f), got, want)
		}
	}
}

func TestParseTCPOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
		want TCPOptions
		err  error
	}{
		{"empty", nil, TCPOptions{}, nil},
		{"mss", []byte{2, 4, 0x05, 0xb4}, TCPOptions{MSS: 1460, HasMSS: true}, nil},
		{"eol stops", []byte{2, 4, 0, 1, 0, 2, 4, 9, 9}, TCPOptions{MSS: 1, HasMSS: true}, nil},
		{"nop ws", []byte{1, 3, 3, 7}, TCPOptions{WScale: 7, HasWScale: true}, nil},
		{"ws above 14 kept raw", []byte{3, 3, 15, 0}, TCPOptions{WScale: 15, HasWScale: true}, nil},
		{"unknown skipped", []byte{254, 4, 0xf9, 0x89, 4, 2}, TCPOptions{SACKPermitted: true}, nil},
		{"sack 4", append([]byte{5, 34}, make([]byte, 32)...), TCPOptions{NumSACK: 4}, nil},
		{"ts", []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}, TCPOptions{TSVal: 1, TSEcr: 2, HasTimestamp: true}, nil},
		{"missing length", []byte{1, 2}, TCPOptions{}, ErrBadOption},
		{"length 1", []byte{30, 1}, TCPOptions{}, ErrBadOption},
		{"length past end", []byte{30, 5, 0}, TCPOptions{}, ErrBadOption},
		{"mss length 3", []byte{2, 3, 0, 0}, TCPOptions{}, ErrBadOption},
		{"ws length 4", []byte{3, 4, 0, 0}, TCPOptions{}, ErrBadOption},
		{"sackok length 3", []byte{4, 3, 0, 0}, TCPOptions{}, ErrBadOption},
		{"sack empty", []byte{5, 2}, TCPOptions{}, ErrBadOption},
		{"sack ragged", []byte{5, 6, 0, 0, 0, 0}, TCPOptions{}, ErrBadOption},
		{"sack 5 blocks", append([]byte{5, 42}, make([]byte, 40)...), TCPOptions{}, ErrBadOption},
		{"ts length 8", []byte{8, 8, 0, 0, 0, 0, 0, 0}, TCPOptions{}, ErrBadOption},
		{"good then bad", []byte{2, 4, 0, 9, 8, 1}, TCPOptions{MSS: 9, HasMSS: true}, ErrBadOption},
	} {
		got, err := ParseTCPOptions(tt.in)
		wantErr(t, tt.name, err, tt.err)
		if got != tt.want {
			t.Errorf("%s: got %+v want %+v", tt.name, got, tt.want)
		}
	}
}

func TestTCPOptionsPutLayout(t *testing.T) {
	blocks := [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}
	for _, tt := range []struct {
		name string
		o    TCPOptions
		want []byte
	}{
		{"none", TCPOptions{}, nil},
		{"mss", TCPOptions{HasMSS: true, MSS: 1460}, []byte{2, 4, 5, 0xb4}},
		{"sackok alone", TCPOptions{SACKPermitted: true}, []byte{1, 1, 4, 2}},
		{"ws", TCPOptions{HasWScale: true, WScale: 3}, []byte{1, 3, 3, 3}},
		{"ts", TCPOptions{HasTimestamp: true, TSVal: 1, TSEcr: 2}, []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}},
		// SPEC: TCP-SACK-1 — "options MSS 1460, NOP, WS = 5, NOP, NOP, TS, NOP, NOP, SACK-Permitted".
		{"w2k syn", TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamp: true, TSVal: 1, HasWScale: true, WScale: 5},
			[]byte{2, 4, 5, 0xb4, 1, 3, 3, 5, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 4, 2}},
		{"sack 1", TCPOptions{NumSACK: 1, SACK: blocks}, []byte{1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2}},
		// SPEC: TCP-SACK-1 — "ack ... with SACK block ...; options NOP, NOP, TS, NOP, NOP, SACK".
		{"w2k ack with sack", TCPOptions{HasTimestamp: true, TSVal: 3, TSEcr: 4, NumSACK: 1,
			SACK: [4]SACKBlock{{54858789, 54861685}}},
			[]byte{1, 1, 8, 10, 0, 0, 0, 3, 0, 0, 0, 4, 1, 1, 5, 10, 0x03, 0x45, 0x14, 0x25, 0x03, 0x45, 0x1f, 0x75}},
	} {
		if n := tt.o.Len(); n != len(tt.want) {
			t.Errorf("%s: Len %d want %d", tt.name, n, len(tt.want))
		}
		b := make([]byte, 40)
		n := tt.o.Put(b)
		if !bytes.Equal(b[:n], tt.want) {
			t.Errorf("%s: Put %x want %x", tt.name, b[:n], tt.want)
		}
	}
	// SACK blocks are clipped to fit 40 bytes: 4 alone, 3 with timestamps
	// (RFC 2018 section 3), and NumSACK out of range is tolerated.
	for _, tt := range []struct {
		o     TCPOptions
		nsack int
	}{
		{TCPOptions{NumSACK: 4}, 4},
		{TCPOptions{NumSACK: 4, HasTimestamp: true}, 3},
		{TCPOptions{NumSACK: 9, HasTimestamp: true, HasMSS: true, HasWScale: true, SACKPermitted: true}, 1},
		{TCPOptions{NumSACK: -1}, 0},
	} {
		tt.o.SACK = blocks
		b := make([]byte, 40)
		n := tt.o.Put(b)
		if n != tt.o.Len() || n > 40 || n%4 != 0 {
			t.Errorf("%+v: Put %d Len %d", tt.o, n, tt.o.Len())
		}
		got, err := ParseTCPOptions(b[:n])
		if err != nil || got.NumSACK != tt.nsack {
			t.Errorf("%+v: parsed %d blocks, %v", tt.o, got.NumSACK, err)
		}
	}
}
