package wire

import (
	"math/rand/v2"
	"testing"
)

func benchChecksum(b *testing.B, n int, f func([]byte, uint32) uint16) {
	buf := make([]byte, n)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	var sink uint16
	for b.Loop() {
		sink += f(buf, 0)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	_ = sink
}

func BenchmarkChecksum(b *testing.B) {
	for _, n := range []struct {
		name string
		size int
	}{{"64B", 64}, {"1500B", 1500}, {"64KiB", 65536}} {
		b.Run(n.name, func(b *testing.B) { benchChecksum(b, n.size, Checksum) })
		b.Run(n.name+"/naive", func(b *testing.B) {
			benchChecksum(b, n.size, func(p []byte, s uint32) uint16 { return ^naiveSum(p, s) })
		})
	}
}

var benchTCPOpts = TCPOptions{HasTimestamp: true, TSVal: 12345, TSEcr: 54321, NumSACK: 2,
	SACK: [4]SACKBlock{{1000, 2000}, {3000, 4000}}}

// buildTCPFrame writes Ethernet+IPv4+TCP(options)+payload into f and
// returns the frame length. It is the transmit path the stack runs per
// segment.
func buildTCPFrame(f []byte, payload int) int {
	eh := EthernetHeader{Dst: macB, Src: macA, Type: EtherTypeIPv4}
	n := eh.Put(f)
	ol := benchTCPOpts.Len()
	tl := TCPMinHeaderLen + ol + payload
	ip := IPv4Header{TotalLen: uint16(IPv4MinHeaderLen + tl), ID: 1, DF: true, TTL: 128,
		Protocol: ProtoTCP, Src: addrA, Dst: addrB}
	n += ip.Put(f[n:])
	seg := f[n : n+tl]
	benchTCPOpts.Put(seg[TCPMinHeaderLen:])
	th := TCPHeader{SrcPort: 49152, DstPort: 80, Seq: 1, Ack: 2, Flags: ACK | PSH, Window: 65535,
		Options: seg[TCPMinHeaderLen : TCPMinHeaderLen+ol]}
	th.Put(seg, addrA, addrB)
	return n + tl
}

func buildUDPFrame(f []byte, payload int) int {
	eh := EthernetHeader{Dst: macB, Src: macA, Type: EtherTypeIPv4}
	n := eh.Put(f)
	ul := UDPHeaderLen + payload
	ip := IPv4Header{TotalLen: uint16(IPv4MinHeaderLen + ul), TTL: 128, Protocol: ProtoUDP, Src: addrA, Dst: addrB}
	n += ip.Put(f[n:])
	PutUDP(f[n:n+ul], addrA, addrB, 137, 137)
	return n + ul
}

var sinkErr error

func parseTCPFrame(f []byte) error {
	_, p, err := ParseEthernet(f)
	if err != nil {
		return err
	}
	ih, p, err := ParseIPv4(p)
	if err != nil {
		return err
	}
	th, _, err := ParseTCP(p, ih.Src, ih.Dst)
	if err != nil {
		return err
	}
	_, err = ParseTCPOptions(th.Options)
	return err
}

func parseUDPFrame(f []byte) error {
	_, p, err := ParseEthernet(f)
	if err != nil {
		return err
	}
	ih, p, err := ParseIPv4(p)
	if err != nil {
		return err
	}
	_, _, err = ParseUDP(p, ih.Src, ih.Dst)
	return err
}

// Payload sizes: 0 isolates header cost; 1460 includes the checksum over
// a full-size segment, which dominates.
var benchPayloads = []struct {
	name string
	n    int
}{{"hdr", 0}, {"1460B", 1460}}

func BenchmarkParseTCPFrame(b *testing.B) {
	for _, pl := range benchPayloads {
		b.Run(pl.name, func(b *testing.B) {
			f := make([]byte, 1600)
			f = f[:buildTCPFrame(f, pl.n)]
			b.SetBytes(int64(len(f)))
			b.ReportAllocs()
			for b.Loop() {
				sinkErr = parseTCPFrame(f)
			}
			if sinkErr != nil {
				b.Fatal(sinkErr)
			}
		})
	}
}

func BenchmarkPutTCPFrame(b *testing.B) {
	for _, pl := range benchPayloads {
		b.Run(pl.name, func(b *testing.B) {
			f := make([]byte, 1600)
			b.SetBytes(int64(buildTCPFrame(f, pl.n)))
			b.ReportAllocs()
			for b.Loop() {
				buildTCPFrame(f, pl.n)
			}
		})
	}
}

func BenchmarkParseUDPFrame(b *testing.B) {
	for _, pl := range benchPayloads {
		b.Run(pl.name, func(b *testing.B) {
			f := make([]byte, 1600)
			f = f[:buildUDPFrame(f, pl.n)]
			b.SetBytes(int64(len(f)))
			b.ReportAllocs()
			for b.Loop() {
				sinkErr = parseUDPFrame(f)
			}
			if sinkErr != nil {
				b.Fatal(sinkErr)
			}
		})
	}
}

func BenchmarkPutUDPFrame(b *testing.B) {
	for _, pl := range benchPayloads {
		b.Run(pl.name, func(b *testing.B) {
			f := make([]byte, 1600)
			b.SetBytes(int64(buildUDPFrame(f, pl.n)))
			b.ReportAllocs()
			for b.Loop() {
				buildUDPFrame(f, pl.n)
			}
		})
	}
}

// TestHotPathZeroAllocs pins the 0 allocs/op requirement for the per-packet
// paths, including the error path (junk floods must not create garbage).
func TestHotPathZeroAllocs(t *testing.T) {
	tcp := make([]byte, 1600)
	tcp = tcp[:buildTCPFrame(tcp, 100)]
	udp := make([]byte, 1600)
	udp = udp[:buildUDPFrame(udp, 100)]
	junk := append([]byte(nil), tcp...)
	junk[EthernetHeaderLen+8]-- // breaks the IP checksum
	a := make([]byte, ARPLen)
	(&ARP{Op: ARPRequest, SenderIP: addrA, TargetIP: addrB}).Put(a)
	buf := make([]byte, 1600)
	for name, f := range map[string]func(){
		"parse tcp":   func() { _ = parseTCPFrame(tcp) },
		"parse udp":   func() { _ = parseUDPFrame(udp) },
		"parse junk":  func() { _ = parseTCPFrame(junk) },
		"parse short": func() { _, _, _ = ParseIPv4(junk[:5]) },
		"parse arp":   func() { _, _ = ParseARP(a) },
		"put tcp":     func() { buildTCPFrame(buf, 100) },
		"put udp":     func() { buildUDPFrame(buf, 100) },
		"icmp": func() {
			m := ICMPv4{Type: ICMPEcho, Body: buf[100:164]}
			m.Put(buf)
			_, _ = ParseICMPv4(buf[:72])
		},
		"igmp": func() {
			g := IGMP{Type: IGMPV2Report, Group: addrC}
			g.Put(buf)
			_, _ = ParseIGMP(buf[:8])
		},
		"source route": func() { _ = HasSourceRoute([]byte{7, 3, 4, 0x83, 3, 4}) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocs/op", name, n)
		}
	}
}
