package stack

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// tsoEP is an endpoint with checksum offload and TSO that records what
// the stack writes; the test delivers frames to the stack itself.
type tsoEP struct {
	mu     sync.Mutex
	d      link.Dispatcher
	frames [][]byte
	gso    []link.GSOInfo // per frame; Type none for WriteFrame
	tso    bool
}

var tsoMAC = wire.MAC{0x02, 0, 0x5e, 0, 1, 1}

func (e *tsoEP) Name() string             { return "stptso0" }
func (e *tsoEP) MTU() int                 { return 1500 }
func (e *tsoEP) MAC() wire.MAC            { return tsoMAC }
func (e *tsoEP) Attach(d link.Dispatcher) { e.d = d }
func (e *tsoEP) Close() error             { return nil }
func (e *tsoEP) WriteFrame(f []byte) error {
	return e.WriteGSO(f, link.GSOInfo{})
}
func (e *tsoEP) Offloads() link.Offloads {
	return link.Offloads{TxChecksum: true, RxChecksumValid: true, TSO: e.tso, MaxGSOSize: 65535}
}
func (e *tsoEP) WriteGSO(f []byte, g link.GSOInfo) error {
	if len(f) < 14 || f[12] != 0x08 || f[13] != 0x00 {
		return nil // ARP (duplicate address probes): not under test
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.frames = append(e.frames, append([]byte(nil), f...))
	e.gso = append(e.gso, g)
	return nil
}

var (
	offA    = netip.MustParseAddr("198.18.5.1")
	offPeer = netip.MustParseAddr("198.18.5.2")
	peerMAC = wire.MAC{0x02, 0, 0x5e, 0, 1, 2}
)

func newOffloadHost(t *testing.T, tso bool) (*Stack, *tsoEP) {
	t.Helper()
	ep := &tsoEP{tso: tso}
	s := New(Options{Clock: clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), Seed: 1})
	t.Cleanup(func() { s.Close() })
	ic := InterfaceConfig{Name: "eth0", Addrs: []netip.Prefix{netip.PrefixFrom(offA, 24)},
		StaticARP: []StaticARP{{IP: offPeer, MAC: peerMAC}}}
	if _, err := s.AddInterface(ic, ep); err != nil {
		t.Fatal(err)
	}
	return s, ep
}

// tcpSeg builds a TCP segment (checksum complete) with n payload bytes.
func tcpSeg(src, dst netip.Addr, seq uint32, n int) []byte {
	b := make([]byte, wire.TCPMinHeaderLen+n)
	for i := range n {
		b[wire.TCPMinHeaderLen+i] = byte(i * 7)
	}
	h := wire.TCPHeader{SrcPort: 4000, DstPort: 80, Seq: seq, Flags: wire.TCPFlags(0x18), Window: 1000}
	h.Put(b, src, dst)
	return b
}

// WriteIPBuf sends the segment in place: the frame equals WriteIP's.
func TestWriteIPBufSameFrame(t *testing.T) {
	s, ep := newOffloadHost(t, false)
	seg := tcpSeg(offA, offPeer, 1, 100)
	p := OutboundPacket{Dst: offPeer, Proto: wire.ProtoTCP, Payload: seg}
	if err := s.WriteIP(p); err != nil {
		t.Fatal(err)
	}
	buf := append(make([]byte, TxHeadroom), seg...)
	p.Payload = nil
	if err := s.WriteIPBuf(p, buf); err != nil {
		t.Fatal(err)
	}
	if len(ep.frames) != 2 {
		t.Fatalf("%d frames", len(ep.frames))
	}
	a, b := ep.frames[0], ep.frames[1]
	binary.BigEndian.PutUint16(b[14+4:], binary.BigEndian.Uint16(a[14+4:])) // IP IDs differ
	b[14+10], b[14+11] = a[14+10], a[14+11]
	if !bytes.Equal(a, b) {
		t.Fatalf("frames differ:\n%x\n%x", a, b)
	}
	if err := s.WriteIPBuf(p, make([]byte, TxHeadroom-1)); err == nil {
		t.Fatal("a buffer without headroom was accepted")
	}
}

// Over a TSO device a TCP super-segment leaves as one GSO frame (the
// device cuts it), the route advertises GSOMax, and the pieces' IP IDs are
// reserved: the next datagram's ID comes after them. Without TSO the
// route offers none.
func TestWriteIPBufGSO(t *testing.T) {
	s, ep := newOffloadHost(t, true)
	ri, err := s.Route(offPeer)
	if err != nil || ri.GSOMax != 65535 {
		t.Fatalf("route %+v %v, want GSOMax 65535", ri, err)
	}
	const mss = 1460
	seg := tcpSeg(offA, offPeer, 1000, 10*mss+5)
	buf := append(make([]byte, TxHeadroom), seg...)
	if err := s.WriteIPBuf(OutboundPacket{Dst: offPeer, Proto: wire.ProtoTCP, GSOSize: mss}, buf); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteIP(OutboundPacket{Dst: offPeer, Proto: wire.ProtoTCP, Payload: tcpSeg(offA, offPeer, 1, 10)}); err != nil {
		t.Fatal(err)
	}
	if len(ep.frames) != 2 || ep.gso[0].Type != link.GSOTCPv4 || ep.gso[0].SegSize != mss {
		t.Fatalf("frames %d, gso %+v", len(ep.frames), ep.gso)
	}
	var pieces [][]byte
	if _, err := link.SegmentTCP(ep.frames[0], ep.gso[0], func(f []byte) { pieces = append(pieces, append([]byte(nil), f...)) }); err != nil {
		t.Fatal(err)
	}
	if len(pieces) != 11 {
		t.Fatalf("%d pieces, want 11", len(pieces))
	}
	var got []byte
	var firstID uint16
	for i, f := range pieces {
		pkt := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
		ip4, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tc, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip4 == nil || tc == nil || len(f) > 14+1500 {
			t.Fatalf("piece %d undecodable or too long (%d)", i, len(f))
		}
		if i == 0 {
			firstID = ip4.Id
		}
		if ip4.Id != firstID+uint16(i) {
			t.Fatalf("piece %d ID %d, first %d", i, ip4.Id, firstID)
		}
		got = append(got, tc.Payload...)
	}
	if !bytes.Equal(got, seg[wire.TCPMinHeaderLen:]) {
		t.Fatal("payload differs after segmentation")
	}
	next := gopacket.NewPacket(ep.frames[1], layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if next.Id != firstID+11 {
		t.Fatalf("next datagram ID %d, want %d", next.Id, firstID+11)
	}

	plain, _ := newOffloadHost(t, false)
	if ri, _ := plain.Route(offPeer); ri.GSOMax != 0 {
		t.Fatalf("no TSO, but GSOMax %d", ri.GSOMax)
	}
}

// offTransport records what TCP would receive.
type offTransport struct {
	accept bool
	pkts   []InboundPacket
	data   [][]byte
}

func (o *offTransport) HandlePacket(p *InboundPacket) {
	o.pkts = append(o.pkts, *p)
	o.data = append(o.data, append([]byte(nil), p.Payload...))
}
func (o *offTransport) HandleError(*ControlError) {}
func (o *offTransport) AcceptsOffload() bool      { return o.accept }

// gsoFrame is a received TCP super-frame as an offloading TAP hands it
// over: checksum pending (only the pseudo-header sum in the field).
func gsoFrame(dst netip.Addr, payload int) []byte {
	seg := tcpSeg(offPeer, dst, 5000, payload)
	seg[16], seg[17] = 0x12, 0x34 // not a valid checksum
	h := wire.IPv4Header{TotalLen: uint16(20 + len(seg)), ID: 9, TTL: 64, Protocol: wire.ProtoTCP, Src: offPeer, Dst: dst}
	f := make([]byte, 14+20+len(seg))
	wire.EthernetHeader{Dst: tsoMAC, Src: peerMAC, Type: wire.EtherTypeIPv4}.Put(f)
	h.Put(f[14:34])
	copy(f[34:], seg)
	return f
}

// A super-frame for us goes whole, once, to a TCP that accepts offload,
// with its checksum trusted; to one that does not, it is cut and
// completed in software, so that TCP sees ordinary valid segments.
func TestDeliverGSO(t *testing.T) {
	const mss = 1000
	for _, accept := range []bool{true, false} {
		s, ep := newOffloadHost(t, true)
		tr := &offTransport{accept: accept}
		s.RegisterTransport(wire.ProtoTCP, tr)
		gd, ok := ep.d.(link.GSODispatcher)
		if !ok {
			t.Fatal("the stack's dispatcher is not a GSODispatcher")
		}
		f := gsoFrame(offA, 5*mss)
		binary.BigEndian.PutUint16(f[14+20+16:], 0) // pseudo-header sum irrelevant to the test
		if _, err := link.Dispatch(gd, f, link.GSOInfo{Type: link.GSOTCPv4, SegSize: mss, NeedsCsum: true, CsumStart: 34, CsumOffset: 16}); err != nil {
			t.Fatal(err)
		}
		if accept {
			if len(tr.pkts) != 1 || !tr.pkts[0].ChecksumValid || tr.pkts[0].GSOSize != mss || len(tr.data[0]) != 20+5*mss {
				t.Fatalf("accepting TCP got %d packets: %+v", len(tr.pkts), tr.pkts)
			}
			continue
		}
		if len(tr.pkts) != 5 {
			t.Fatalf("plain TCP got %d packets, want 5", len(tr.pkts))
		}
		for i, p := range tr.pkts {
			if p.ChecksumValid || p.GSOSize != 0 {
				t.Fatalf("packet %d marked offloaded: %+v", i, p)
			}
			if _, _, err := wire.ParseTCP(tr.data[i], p.Src, p.Dst); err != nil {
				t.Fatalf("packet %d: %v", i, err)
			}
		}
	}
	// A super-frame not for one of our addresses is never forwarded whole.
	s, ep := newOffloadHost(t, true)
	tr := &offTransport{accept: true}
	s.RegisterTransport(wire.ProtoTCP, tr)
	f := gsoFrame(netip.MustParseAddr("198.18.5.77"), 3*mss)
	ep.d.(link.GSODispatcher).DeliverGSO(f, link.GSOInfo{Type: link.GSOTCPv4, SegSize: mss, HdrLen: 54})
	if len(tr.pkts) != 0 || len(ep.frames) != 0 {
		t.Fatalf("foreign super-frame: %d delivered, %d sent", len(tr.pkts), len(ep.frames))
	}
}
