package wire

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// SPEC: MCAST-1 — IGMPLevel 2: RFC 1112 plus IGMPv2 (RFC 2236) messages.
func TestIGMPToGopacket(t *testing.T) {
	group := netip.MustParseAddr("224.1.2.3")
	tests := []struct {
		g       IGMP
		typ     layers.IGMPType
		version uint8
	}{
		{IGMP{Type: IGMPV2Report, Group: group}, layers.IGMPMembershipReportV2, 2},
		{IGMP{Type: IGMPLeaveGroup, Group: group}, layers.IGMPLeaveGroup, 2},
		{IGMP{Type: IGMPV1Report, Group: group}, layers.IGMPMembershipReportV1, 1},
		{IGMP{Type: IGMPMembershipQuery, MaxRespTime: 100}, layers.IGMPMembershipQuery, 2},
		{IGMP{Type: IGMPMembershipQuery}, layers.IGMPMembershipQuery, 1},
	}
	for _, tt := range tests {
		b := make([]byte, IGMPLen)
		tt.g.Put(b)
		p := decode(t, b, layers.LayerTypeIGMP)
		g, ok := p.Layer(layers.LayerTypeIGMP).(*layers.IGMPv1or2)
		if !ok {
			t.Fatalf("%v: gopacket layer %v", tt.typ, p.Layers())
		}
		wantGroup := tt.g.Group
		if !wantGroup.IsValid() {
			wantGroup = netip.IPv4Unspecified()
		}
		if g.Type != tt.typ || g.Version != tt.version || fromIP(t, g.GroupAddress) != wantGroup ||
			g.MaxResponseTime != time.Duration(tt.g.MaxRespTime)*100*time.Millisecond || g.Checksum != tt.g.Checksum {
			t.Errorf("%v: gopacket sees %+v", tt.typ, g)
		}
		if gopacket.FoldChecksum(gopacket.ComputeChecksum(b, 0)) != 0 {
			t.Errorf("%v: gopacket checksum rejects", tt.typ)
		}
		back, err := ParseIGMP(b)
		if err != nil || back.Type != tt.g.Type || back.Group != wantGroup || back.MaxRespTime != tt.g.MaxRespTime {
			t.Errorf("%v: round trip %+v %v", tt.typ, back, err)
		}
	}
}

func TestParseIGMPBytes(t *testing.T) {
	// A v2 general query as a router sends it: max resp 10 s, group 0.
	b := []byte{0x11, 0x64, 0xee, 0x9b, 0, 0, 0, 0}
	g, err := ParseIGMP(b)
	if err != nil || g.Type != IGMPMembershipQuery || g.MaxRespTime != 100 || g.Group != netip.IPv4Unspecified() {
		t.Fatalf("got %+v %v", g, err)
	}
	// An IGMPv3 query (12+ bytes) is read as v2 (RFC 3376 7.1).
	v3 := []byte{0x11, 0x64, 0, 0, 224, 0, 0, 9, 0x02, 0x7d, 0, 0}
	c := Checksum(v3, 0)
	v3[2], v3[3] = byte(c>>8), byte(c)
	if g, err := ParseIGMP(v3); err != nil || g.Group != netip.MustParseAddr("224.0.0.9") {
		t.Errorf("v3 query: %+v %v", g, err)
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want error
	}{
		{"short", b[:7], ErrTruncated},
		{"bad checksum", []byte{0x11, 0x64, 0xee, 0x9c, 0, 0, 0, 0}, ErrBadChecksum},
	} {
		_, err := ParseIGMP(tt.b)
		wantErr(t, tt.name, err, tt.want)
	}
}
