package wire

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Test addresses come from the documentation/benchmark ranges only.
var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("198.51.100.7")
	addrC = netip.MustParseAddr("203.0.113.254")
	macA  = MAC{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}
	macB  = MAC{0x02, 0x00, 0x5e, 0x10, 0x00, 0x02}
)

// decode runs gopacket over b starting at layer first and fails the test on
// any decoding error, so gopacket acts as an independent oracle.
func decode(t *testing.T, b []byte, first gopacket.Decoder) gopacket.Packet {
	t.Helper()
	p := gopacket.NewPacket(b, first, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket decode error: %v", el.Error())
	}
	return p
}

// serialize builds bytes with gopacket, fixing lengths and checksums.
func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatalf("gopacket serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func wantErr(t *testing.T, name string, got, want error) {
	t.Helper()
	if want == nil {
		if got != nil {
			t.Errorf("%s: unexpected error %v", name, got)
		}
		return
	}
	if !errors.Is(got, want) {
		t.Errorf("%s: error %v, want %v", name, got, want)
	}
}

func ip4(a netip.Addr) []byte { v := a.As4(); return v[:] }

func fromIP(t *testing.T, b []byte) netip.Addr {
	t.Helper()
	a, ok := netip.AddrFromSlice(b)
	if !ok {
		t.Fatalf("bad IP %v", b)
	}
	return a.Unmap()
}

var _ = layers.LayerTypeEthernet

type (
	gopacketBuffer    = gopacket.SerializeBuffer
	gopacketOpts      = gopacket.SerializeOptions
	gopacketLayerType = gopacket.LayerType
)

// decodeOne decodes just one layer with gopacket, for payloads gopacket
// would otherwise try (and fail) to interpret.
func decodeOne(t *testing.T, l gopacket.DecodingLayer, b []byte) {
	t.Helper()
	if err := l.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("gopacket %T: %v", l, err)
	}
}
