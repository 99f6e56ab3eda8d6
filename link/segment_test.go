package link

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/wire"
)

var (
	segSrcIP = net.IP{198, 18, 0, 1}
	segDstIP = net.IP{198, 18, 0, 2}
)

// superTCP builds an Ethernet/IPv4/TCP frame with timestamps and payload
// of any length, checksums computed as for a single packet.
func superTCP(t testing.TB, payload []byte, flags func(*layers.TCP)) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: macA[:], DstMAC: macB[:], EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: 0xfff0, Flags: layers.IPv4DontFragment,
		Protocol: layers.IPProtocolTCP, SrcIP: segSrcIP, DstIP: segDstIP}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 5001, Seq: 0xfffff000, Ack: 77, ACK: true, Window: 512,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 2}}}}
	if flags != nil {
		flags(tcp)
	}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func randBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// checkSegment decodes one produced frame with gopacket and verifies both
// checksums independently of the segmenter.
func checkSegment(t *testing.T, f []byte) (*layers.IPv4, *layers.TCP) {
	t.Helper()
	p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket: %v", el.Error())
	}
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if ip == nil || tcp == nil {
		t.Fatalf("not IPv4/TCP: %v", p)
	}
	if int(ip.Length) != len(f)-EthernetHeaderLen {
		t.Fatalf("IP length %d, frame %d", ip.Length, len(f))
	}
	if c := wire.Checksum(f[EthernetHeaderLen:EthernetHeaderLen+int(ip.IHL)*4], 0); c != 0 {
		t.Fatalf("IP header checksum does not verify (%#04x)", c)
	}
	seg := f[EthernetHeaderLen+int(ip.IHL)*4:]
	ps := wire.Sum(append(append([]byte{}, ip.SrcIP.To4()...), ip.DstIP.To4()...), protoTCP+uint32(len(seg)))
	if c := wire.Checksum(seg, ps); c != 0 {
		t.Fatalf("TCP checksum does not verify (%#04x)", c)
	}
	// And gopacket verifies it too (its sum over a correct segment is 0).
	tcp2 := *tcp
	tcp2.SetNetworkLayerForChecksum(ip)
	if c, err := tcp2.ComputeChecksum(); err != nil || c != 0 {
		t.Fatalf("gopacket: TCP checksum %#04x does not verify (%#04x, %v)", tcp.Checksum, c, err)
	}
	return ip, tcp
}

// SPEC: LINK-7, TCP-1 (checksum offload done in software when the device cannot)
func TestSegmentTCPAgainstGopacket(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload int
		mss     int
		inPlace bool
	}{
		{"20KB-copy", 20000, 1448, false},
		{"20KB-inplace", 20000, 1448, true},
		{"64KB-inplace", 65535 - 20 - 32, 1448, true},
		{"exact-multiple", 1448 * 4, 1448, false},
		{"odd-mss", 9999, 533, true},
		{"one-segment", 100, 1448, false},
		{"empty", 0, 1448, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := randBytes(tc.payload, int64(tc.payload))
			orig := superTCP(t, payload, func(h *layers.TCP) { h.PSH, h.FIN, h.CWR, h.ECE = true, true, true, true })
			in := append([]byte(nil), orig...)
			var got []byte
			var segs []*layers.TCP
			var ids []uint16
			gso := GSOInfo{Type: GSOTCPv4, SegSize: tc.mss}
			emit := func(f []byte) {
				if len(f) > EthernetHeaderLen+20+32+tc.mss {
					t.Fatalf("segment of %d bytes exceeds the MSS", len(f))
				}
				ip, tcp := checkSegment(t, f)
				got = append(got, tcp.Payload...)
				segs = append(segs, tcp)
				ids = append(ids, ip.Id)
			}
			var n int
			var err error
			if tc.inPlace {
				n, err = SegmentTCPInPlace(in, gso, emit)
			} else {
				n, err = SegmentTCP(in, gso, emit)
				if !bytes.Equal(in, orig) {
					t.Fatal("SegmentTCP modified its input")
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			want := max(1, (tc.payload+tc.mss-1)/tc.mss)
			if n != want || len(segs) != want {
				t.Fatalf("%d segments (reported %d), want %d", len(segs), n, want)
			}
			if !bytes.Equal(got, payload) {
				t.Fatal("payload does not concatenate back to the original")
			}
			off := uint32(0)
			for i, s := range segs {
				last, first := i == len(segs)-1, i == 0
				if s.Seq != 0xfffff000+off { // wraps past 2^32 in the 64 KB case
					t.Fatalf("segment %d seq %#x, want %#x", i, s.Seq, 0xfffff000+off)
				}
				off += uint32(len(s.Payload))
				if s.PSH != last || s.FIN != last || s.CWR != first || !s.ECE || !s.ACK || s.Ack != 77 {
					t.Fatalf("segment %d/%d flags PSH=%v FIN=%v CWR=%v ECE=%v ACK=%v", i, len(segs), s.PSH, s.FIN, s.CWR, s.ECE, s.ACK)
				}
				if len(s.Options) != 3 || s.Window != 512 {
					t.Fatalf("segment %d lost options or window: %v %d", i, s.Options, s.Window)
				}
				if ids[i] != uint16(0xfff0+i) {
					t.Fatalf("segment %d IP ID %#x", i, ids[i])
				}
			}
		})
	}
}

// Ethernet padding after the IP datagram is not payload.
func TestSegmentTCPIgnoresPadding(t *testing.T) {
	f := superTCP(t, []byte("abc"), nil)
	f = append(f, 0, 0, 0, 0, 0, 0, 0)
	var got []byte
	if _, err := SegmentTCP(f, GSOInfo{Type: GSOTCPv4, SegSize: 1}, func(s []byte) {
		_, tcp := checkSegment(t, s)
		got = append(got, tcp.Payload...)
	}); err != nil || string(got) != "abc" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestSegmentTCPRejects(t *testing.T) {
	good := superTCP(t, make([]byte, 3000), nil)
	frag := append([]byte(nil), good...)
	frag[EthernetHeaderLen+6] |= 0x20 // MF
	udp := append([]byte(nil), good...)
	udp[EthernetHeaderLen+9] = protoUDP
	badDoff := append([]byte(nil), good...)
	badDoff[EthernetHeaderLen+20+12] = 0x40 // 16-byte TCP header
	for _, tc := range []struct {
		name  string
		frame []byte
		gso   GSOInfo
	}{
		{"zero-mss", good, GSOInfo{Type: GSOTCPv4}},
		{"too-many-segments", good, GSOInfo{Type: GSOTCPv4, SegSize: 2}},
		{"not-gso", good, GSOInfo{SegSize: 1000}},
		{"runt", good[:40], GSOInfo{Type: GSOTCPv4, SegSize: 1000}},
		{"fragment", frag, GSOInfo{Type: GSOTCPv4, SegSize: 1000}},
		{"udp", udp, GSOInfo{Type: GSOTCPv4, SegSize: 1000}},
		{"bad-data-offset", badDoff, GSOInfo{Type: GSOTCPv4, SegSize: 1000}},
		{"truncated-options", good[:EthernetHeaderLen+20+25], GSOInfo{Type: GSOTCPv4, SegSize: 1000}},
	} {
		n, err := SegmentTCP(tc.frame, tc.gso, func([]byte) { t.Fatalf("%s: emitted", tc.name) })
		if err == nil || n != 0 {
			t.Errorf("%s: n=%d err=%v, want an error", tc.name, n, err)
		}
	}
}

// Arbitrary bytes and metadata never panic and never emit a frame that
// reaches past the input.
func TestSegmentTCPRandomInput(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	base := superTCP(t, make([]byte, 4000), nil)
	for i := 0; i < 20000; i++ {
		f := append([]byte(nil), base[:r.Intn(len(base)+1)]...)
		for j := r.Intn(4); j > 0 && len(f) > 0; j-- {
			f[r.Intn(min(len(f), 80))] = byte(r.Intn(256))
		}
		gso := GSOInfo{Type: GSOType(r.Intn(3)), SegSize: r.Intn(3000) - 10, NeedsCsum: r.Intn(2) == 0,
			CsumStart: r.Intn(100) - 5, CsumOffset: r.Intn(30) - 5}
		SegmentTCP(f, gso, func(s []byte) {
			if len(s) > len(f) {
				t.Fatalf("emitted %d bytes from %d", len(s), len(f))
			}
		})
		Dispatch(&nopDispatcher{}, f, gso)
		CompleteChecksum(f, gso)
	}
}

// SPEC: LINK-7, TCP-1 (checksum offload done in software when the device cannot)
func TestPartialThenCompleteChecksum(t *testing.T) {
	f := superTCP(t, randBytes(1001, 3), nil)
	want := binary.BigEndian.Uint16(f[EthernetHeaderLen+20+16:])
	gso, err := PartialChecksum(f)
	if err != nil || !gso.NeedsCsum || gso.CsumStart != 34 || gso.CsumOffset != 16 {
		t.Fatalf("%+v %v", gso, err)
	}
	if err := CompleteChecksum(f, gso); err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint16(f[EthernetHeaderLen+20+16:]); got != want {
		t.Fatalf("completed checksum %#04x, gopacket's %#04x", got, want)
	}
	checkSegment(t, f)
	if CompleteChecksum(f, GSOInfo{NeedsCsum: true, CsumStart: len(f) - 1, CsumOffset: 0}) == nil {
		t.Fatal("accepted a checksum field past the end")
	}
}

type gsoRecorder struct {
	recorder
	gso []GSOInfo
}

func (r *gsoRecorder) DeliverGSO(f []byte, g GSOInfo) {
	r.recorder.DeliverFrame(f)
	r.gso = append(r.gso, g)
}

func one(t *testing.T, payload []byte) []byte { return superTCP(t, payload[:100], nil) }

func TestDispatch(t *testing.T) {
	payload := randBytes(5000, 5)
	super := superTCP(t, payload, nil)
	gso := GSOInfo{Type: GSOTCPv4, SegSize: 1460, HdrLen: 999}

	plain := newRecorder()
	n, err := Dispatch(plain, append([]byte(nil), super...), gso)
	if err != nil || n != 4 || len(plain.Frames()) != 4 {
		t.Fatalf("plain dispatcher: n=%d err=%v frames=%d", n, err, len(plain.Frames()))
	}
	var got []byte
	for _, f := range plain.Frames() {
		_, tcp := checkSegment(t, f)
		got = append(got, tcp.Payload...)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("segmented payload differs")
	}

	g := &gsoRecorder{recorder: *newRecorder()}
	if n, err := Dispatch(g, append([]byte(nil), super...), gso); err != nil || n != 1 {
		t.Fatalf("gso dispatcher: %d %v", n, err)
	}
	if len(g.gso) != 1 || g.gso[0].HdrLen != 14+20+32 || !bytes.Equal(g.Frames()[0], super) {
		t.Fatalf("gso dispatcher got %+v", g.gso)
	}

	// A frame the device verified: the flag reaches a GSO receiver only.
	if Dispatch(g, one(t, payload), GSOInfo{CsumValid: true}); len(g.gso) != 2 || !g.gso[1].CsumValid {
		t.Fatalf("CsumValid not passed on: %+v", g.gso)
	}

	// Checksum pending on a single packet: completed for a plain receiver.
	single := one(t, payload)
	pending := append([]byte(nil), single...)
	cs, _ := PartialChecksum(pending)
	plain = newRecorder()
	if _, err := Dispatch(plain, pending, cs); err != nil || !bytes.Equal(plain.Frames()[0], single) {
		t.Fatalf("checksum not completed: %v", err)
	}
	if n, err := Dispatch(plain, single, GSOInfo{CsumValid: true}); n != 1 || err != nil || len(plain.Frames()) != 2 {
		t.Fatalf("CsumValid frame to a plain receiver: %d %v", n, err)
	}
}

// offloadPipe is a Pipe end that claims offloads and records WriteGSO.
type offloadPipe struct {
	*Pipe
	of  Offloads
	gso []GSOInfo
}

func (o *offloadPipe) Offloads() Offloads { return o.of }
func (o *offloadPipe) WriteGSO(f []byte, g GSOInfo) error {
	o.gso = append(o.gso, g)
	return nil
}

func TestWriteOffloaded(t *testing.T) {
	clk := clock.NewVirtual(t0)
	a, b := NewPipe(clk, 1500, macA, macB)
	r := newRecorder()
	b.Attach(r)
	payload := randBytes(20000, 9)
	super := superTCP(t, payload, func(h *layers.TCP) { h.PSH = true })
	gso := GSOInfo{Type: GSOTCPv4, SegSize: 1448}

	// No offload: software segmentation into MTU-sized frames.
	if err := WriteOffloaded(a, super, gso); err != nil {
		t.Fatal(err)
	}
	clk.Advance(0)
	var got []byte
	for _, f := range r.Frames() {
		if len(f) > 1514 {
			t.Fatalf("frame of %d bytes on a 1500 MTU pipe", len(f))
		}
		_, tcp := checkSegment(t, f)
		got = append(got, tcp.Payload...)
	}
	if len(r.Frames()) != 14 || !bytes.Equal(got, payload) {
		t.Fatalf("%d frames, payload intact %v", len(r.Frames()), bytes.Equal(got, payload))
	}

	// With TSO the frame goes down whole; too big for MaxGSOSize, it is cut.
	o := &offloadPipe{Pipe: a, of: Offloads{TSO: true, TxChecksum: true, MaxGSOSize: 65535}}
	if err := WriteOffloaded(o, super, gso); err != nil || len(o.gso) != 1 {
		t.Fatalf("TSO path: %v, %d WriteGSO calls", err, len(o.gso))
	}
	o.of.MaxGSOSize = 10000
	if err := WriteOffloaded(o, super, gso); err != nil || len(o.gso) != 1 {
		t.Fatalf("oversize path: %v, %d WriteGSO calls", err, len(o.gso))
	}
	clk.Advance(0)
	if len(r.Frames()) != 28 {
		t.Fatalf("oversize GSO frame cut into %d frames, want 14", len(r.Frames())-14)
	}
	// Checksum offload only: a pending checksum goes down as is...
	one := superTCP(t, payload[:500], nil)
	pend := append([]byte(nil), one...)
	cs, _ := PartialChecksum(pend)
	if err := WriteOffloaded(o, pend, cs); err != nil || len(o.gso) != 2 {
		t.Fatalf("csum path: %v", err)
	}
	// ...and is completed in software without it.
	o.of.TxChecksum = false
	n := len(r.Frames())
	if err := WriteOffloaded(o, pend, cs); err != nil {
		t.Fatal(err)
	}
	clk.Advance(0)
	if fr := r.Frames(); len(fr) != n+1 || !bytes.Equal(fr[n], one) {
		t.Fatal("software checksum completion differs from gopacket's")
	}
}

func BenchmarkSegmentTCP64K(b *testing.B) {
	super := superTCP(b, randBytes(65000, 1), nil)
	gso := GSOInfo{Type: GSOTCPv4, SegSize: 1448}
	b.SetBytes(int64(len(super)))
	b.ReportAllocs()
	emit := func([]byte) {}
	for b.Loop() {
		SegmentTCP(super, gso, emit)
	}
}

func BenchmarkSegmentTCPInPlace64K(b *testing.B) {
	super := superTCP(b, randBytes(65000, 1), nil)
	buf := make([]byte, len(super))
	gso := GSOInfo{Type: GSOTCPv4, SegSize: 1448}
	b.SetBytes(int64(len(super)))
	b.ReportAllocs()
	emit := func([]byte) {}
	for b.Loop() {
		copy(buf, super)
		SegmentTCPInPlace(buf, gso, emit)
	}
}
