package wire

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

// Fuzz targets: parsers must never panic, and whatever they accept must
// survive parse -> put -> parse unchanged.

func seedFrames() [][]byte {
	arp := make([]byte, ARPLen)
	(&ARP{Op: ARPRequest, SenderMAC: macA, SenderIP: addrA, TargetIP: addrB}).Put(arp)
	dix := make([]byte, EthernetHeaderLen+len(arp))
	EthernetHeader{Dst: BroadcastMAC, Src: macA, Type: EtherTypeARP}.Put(dix)
	copy(dix[EthernetHeaderLen:], arp)
	snap := make([]byte, SNAPHeaderLen+len(arp)+10)
	EthernetHeader{Dst: BroadcastMAC, Src: macA, Type: EtherTypeARP, SNAP: true}.Put(snap)
	copy(snap[SNAPHeaderLen:], arp)
	PutSNAPLength(snap, len(arp))
	return [][]byte{dix, snap, arp, {}, make([]byte, 14)}
}

func FuzzParseEthernet(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, p, err := ParseEthernet(b)
		if err != nil {
			return
		}
		out := make([]byte, h.Len()+len(p))
		n := h.Put(out)
		copy(out[n:], p)
		if h.SNAP {
			PutSNAPLength(out, len(p))
		}
		h2, p2, err := ParseEthernet(out)
		if err != nil || h2 != h || !bytes.Equal(p2, p) {
			t.Fatalf("round trip: %+v %q -> %+v %q %v", h, p, h2, p2, err)
		}
	})
}

func FuzzParseARP(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseARP(b)
		if err != nil {
			return
		}
		out := make([]byte, ARPLen)
		a.Put(out)
		if !bytes.Equal(out, b[:ARPLen]) {
			t.Fatalf("round trip %x -> %x", b[:ARPLen], out)
		}
	})
}

func seedIPv4() [][]byte {
	return [][]byte{
		ipv4Packet(IPv4Header{TTL: 64, Protocol: ProtoTCP, Src: addrA, Dst: addrB}, []byte("data")),
		ipv4Packet(IPv4Header{TTL: 1, MF: true, FragOff: 8, Protocol: ProtoUDP, Src: addrA, Dst: addrB,
			Options: []byte{IPv4OptLSRR, 7, 4, 192, 0, 2, 9}}, make([]byte, 8)),
		ipv4Packet(IPv4Header{TTL: 1, Protocol: ProtoIGMP, Src: addrA, Dst: addrB,
			Options: []byte{IPv4OptRA, 4, 0, 0}}, make([]byte, 8)),
	}
}

func FuzzParseIPv4(f *testing.F) {
	for _, s := range seedIPv4() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = ParseIPv4Quote(b)
		checkIPv4(t, b)
		// Random bytes almost never carry a valid checksum; fix it in a
		// copy so the fuzzer also explores everything after that check.
		if len(b) >= IPv4MinHeaderLen {
			if ihl := int(b[0]&0xf) * 4; ihl >= IPv4MinHeaderLen && ihl <= len(b) {
				w := append([]byte(nil), b...)
				w[10], w[11] = 0, 0
				binary.BigEndian.PutUint16(w[10:], Checksum(w[:ihl], 0))
				checkIPv4(t, w)
			}
		}
	})
}

func checkIPv4(t *testing.T, b []byte) {
	h, p, err := ParseIPv4(b)
	if err != nil {
		return
	}
	if len(h.Options) != h.IHL-20 || len(p) != int(h.TotalLen)-h.IHL {
		t.Fatalf("lengths: %+v payload %d", h, len(p))
	}
	out := make([]byte, h.HeaderLen())
	h2 := h
	h2.Put(out)
	got, _, err := ParseIPv4Quote(out)
	if err != nil || Checksum(out, 0) != 0 {
		t.Fatalf("reparse: %v", err)
	}
	if ipv4Fields(got) != ipv4Fields(h) {
		t.Fatalf("round trip %+v -> %+v", h, got)
	}
	if b[6]&0x80 == 0 && !sameExceptChecksum(out, b[:len(out)], 10) {
		t.Fatalf("bytes %x -> %x", b[:len(out)], out)
	}
}

func FuzzParseIPv4Options(f *testing.F) {
	f.Add([]byte{IPv4OptLSRR, 7, 4, 192, 0, 2, 9, IPv4OptNOP, IPv4OptRR, 3, 4})
	f.Add([]byte{IPv4OptRA, 4, 0, 0})
	f.Add([]byte{IPv4OptSecurity, 3, 1, IPv4OptTimestamp, 4, 5, 0, IPv4OptEOL})
	f.Fuzz(func(t *testing.T, opts []byte) {
		var types []uint8
		sr := false
		_ = ParseIPv4Options(opts, func(o IPv4Option) bool {
			if o.Offset < 0 || o.Offset+2+len(o.Data) > len(opts) || opts[o.Offset] != o.Type {
				t.Fatalf("option out of bounds: %+v", o)
			}
			if o.Type == IPv4OptLSRR || o.Type == IPv4OptSSRR {
				sr = true
			}
			if o.Copied() {
				types = append(types, o.Type)
			}
			return true
		})
		if HasSourceRoute(opts) != sr {
			t.Fatal("HasSourceRoute disagrees with the walk")
		}
		dst := make([]byte, len(opts))
		n := FragmentOptions(opts, dst)
		var got []uint8
		if err := ParseIPv4Options(dst[:n], func(o IPv4Option) bool {
			got = append(got, o.Type)
			return true
		}); err != nil || !bytes.Equal(got, types) {
			t.Fatalf("fragment options %x -> %x (%v), want types %x", opts, dst[:n], err, types)
		}
	})
}

func FuzzParseICMPv4(f *testing.F) {
	m := ICMPv4{Type: ICMPEcho, Body: []byte("ping")}
	m.SetIDSeq(1, 2)
	echo := make([]byte, m.Len())
	m.Put(echo)
	f.Add(echo)
	ra := make([]byte, RouterAdvertisementLen(1))
	PutRouterAdvertisement(ra, &RouterAdvertisement{Lifetime: 30, Entries: []RouterAddr{{addrA, 1}}})
	f.Add(ra)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkICMP(t, b)
		if len(b) >= ICMPv4HeaderLen {
			w := append([]byte(nil), b...)
			w[2], w[3] = 0, 0
			binary.BigEndian.PutUint16(w[2:], Checksum(w, 0))
			checkICMP(t, w)
		}
	})
}

func checkICMP(t *testing.T, b []byte) {
	m, err := ParseICMPv4(b)
	if err != nil {
		return
	}
	_, _, _ = ParseIPv4Quote(m.Body)
	_, _ = m.Timestamps()
	_, _ = m.AddressMask()
	_, _ = ParseRouterAdvertisement(m)
	out := make([]byte, m.Len())
	m.Put(out)
	if !sameExceptChecksum(out, b, 2) {
		t.Fatalf("round trip %x -> %x", b, out)
	}
}

func FuzzParseRouterAdvertisement(f *testing.F) {
	ra := make([]byte, RouterAdvertisementLen(2))
	PutRouterAdvertisement(ra, &RouterAdvertisement{Lifetime: 1800,
		Entries: []RouterAddr{{addrA, 1}, {addrB, RouterAdvertisementNever}}})
	f.Add(ra)
	f.Add([]byte{9, 0, 0, 0, 1, 3, 0, 10, 192, 0, 2, 1, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		// The checksum is ParseICMPv4's job; build the message directly so
		// the fuzzer reaches the advertisement checks.
		if len(b) < ICMPv4HeaderLen {
			return
		}
		m := ICMPv4{Type: b[0], Code: b[1], Rest: [4]byte(b[4:8]), Body: b[8:]}
		ra, err := ParseRouterAdvertisement(m)
		if err != nil {
			return
		}
		out := make([]byte, RouterAdvertisementLen(len(ra.Entries)))
		PutRouterAdvertisement(out, &ra)
		m2, err := ParseICMPv4(out)
		if err != nil {
			t.Fatal(err)
		}
		ra2, err := ParseRouterAdvertisement(m2)
		if err != nil || ra2.Lifetime != ra.Lifetime || len(ra2.Entries) != len(ra.Entries) {
			t.Fatalf("round trip %+v -> %+v %v", ra, ra2, err)
		}
		for i := range ra.Entries {
			if ra.Entries[i] != ra2.Entries[i] {
				t.Fatalf("entry %d: %+v -> %+v", i, ra.Entries[i], ra2.Entries[i])
			}
		}
	})
}

func FuzzParseIGMP(f *testing.F) {
	b := make([]byte, IGMPLen)
	(&IGMP{Type: IGMPV2Report, Group: netip.MustParseAddr("224.0.0.251")}).Put(b)
	f.Add(b)
	f.Add([]byte{0x11, 0x64, 0xee, 0x9b, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkIGMP(t, b)
		if len(b) >= IGMPLen {
			w := append([]byte(nil), b...)
			w[2], w[3] = 0, 0
			binary.BigEndian.PutUint16(w[2:], Checksum(w, 0))
			checkIGMP(t, w)
		}
	})
}

func checkIGMP(t *testing.T, b []byte) {
	g, err := ParseIGMP(b)
	if err != nil {
		return
	}
	out := make([]byte, IGMPLen)
	g2 := g
	g2.Put(out)
	back, err := ParseIGMP(out)
	if err != nil || back.Type != g.Type || back.MaxRespTime != g.MaxRespTime || back.Group != g.Group {
		t.Fatalf("round trip %+v -> %+v %v", g, back, err)
	}
	if len(b) == IGMPLen && !sameExceptChecksum(out, b, 2) {
		t.Fatalf("bytes %x -> %x", b, out)
	}
}

func FuzzParseUDP(f *testing.F) {
	b := make([]byte, UDPHeaderLen+5)
	PutUDP(b, addrA, addrB, 53, 40000)
	f.Add(b)
	f.Add([]byte{0, 1, 0, 2, 0, 8, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = ParseUDP(b, addrA, addrB)
		if len(b) < UDPHeaderLen || len(b) > 0xffff {
			return
		}
		// Make it valid, then everything must survive a round trip.
		sport, dport := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
		w := append([]byte(nil), b...)
		PutUDP(w, addrA, addrB, sport, dport)
		h, p, err := ParseUDP(w, addrA, addrB)
		if err != nil || h.SrcPort != sport || h.DstPort != dport || int(h.Length) != len(b) ||
			!bytes.Equal(p, b[UDPHeaderLen:]) {
			t.Fatalf("valid datagram: %+v %v", h, err)
		}
	})
}

func FuzzParseTCP(f *testing.F) {
	syn := TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamp: true, HasWScale: true}
	f.Add(tcpSegment(TCPHeader{SrcPort: 1, DstPort: 2, Flags: SYN}, &syn, nil))
	f.Add(tcpSegment(TCPHeader{SrcPort: 1, DstPort: 2, Flags: ACK | PSH}, nil, []byte("data")))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = ParseTCP(b, addrA, addrB)
		h, p, err := ParseTCPNoChecksum(b)
		if err != nil {
			return
		}
		_, _ = ParseTCPOptions(h.Options)
		w := make([]byte, len(b))
		copy(w[h.DataOff:], p)
		h2 := h
		h2.Put(w, addrA, addrB)
		got, gp, err := ParseTCP(w, addrA, addrB)
		if err != nil || !bytes.Equal(gp, p) || !bytes.Equal(got.Options, h.Options) {
			t.Fatalf("round trip: %+v %v", got, err)
		}
		if tcpFields(got) != tcpFields(h) {
			t.Fatalf("round trip %+v -> %+v", h, got)
		}
	})
}

func FuzzParseTCPOptions(f *testing.F) {
	for _, o := range []TCPOptions{
		{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamp: true, TSVal: 5, HasWScale: true, WScale: 2},
		{HasTimestamp: true, NumSACK: 3, SACK: [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}}},
		{NumSACK: 4},
	} {
		b := make([]byte, 40)
		f.Add(b[:o.Put(b)])
	}
	f.Add([]byte{254, 4, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, opts []byte) {
		o, err := ParseTCPOptions(opts)
		if err != nil {
			return
		}
		// Put may drop SACK blocks that no longer fit in 40 bytes.
		want := o
		want.NumSACK = o.sackBlocks()
		for i := want.NumSACK; i < len(want.SACK); i++ {
			want.SACK[i] = SACKBlock{}
		}
		b := make([]byte, 40)
		n := o.Put(b)
		if n != o.Len() || n%4 != 0 || n > 40 {
			t.Fatalf("Put %d, Len %d", n, o.Len())
		}
		got, err := ParseTCPOptions(b[:n])
		if err != nil || got != want {
			t.Fatalf("round trip %+v -> %+v %v", want, got, err)
		}
	})
}

// ipv4Fields is the comparable part of a header, without the checksum
// (Put recomputes it) and the options (compared as bytes).
func ipv4Fields(h IPv4Header) any {
	type k struct {
		IHL, FragOff    int
		TOS, TTL, Proto uint8
		TotalLen, ID    uint16
		DF, MF          bool
		Src, Dst        netip.Addr
	}
	return k{h.IHL, h.FragOff, h.TOS, h.TTL, h.Protocol, h.TotalLen, h.ID, h.DF, h.MF, h.Src, h.Dst}
}

func tcpFields(h TCPHeader) any {
	h.Options = nil
	h.Checksum = 0
	type k struct {
		SrcPort, DstPort, Window, Urgent uint16
		Seq, Ack                         uint32
		DataOff                          int
		Flags                            TCPFlags
	}
	return k{h.SrcPort, h.DstPort, h.Window, h.Urgent, h.Seq, h.Ack, h.DataOff, h.Flags}
}

// sameExceptChecksum compares two encodings whose checksum field is at
// off. The checksums may differ only as 0x0000 vs 0xffff: both are zero in
// one's complement and receivers accept either (RFC 1624).
func sameExceptChecksum(a, b []byte, off int) bool {
	if len(a) != len(b) || !bytes.Equal(a[:off], b[:off]) || !bytes.Equal(a[off+2:], b[off+2:]) {
		return false
	}
	x := binary.BigEndian.Uint16(a[off:])
	y := binary.BigEndian.Uint16(b[off:])
	return x == y || x^y == 0xffff && (x == 0 || y == 0)
}
