package wire

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParseMAC(t *testing.T) {
	tests := []struct {
		in   string
		want MAC
		ok   bool
	}{
		{"02:00:5e:10:00:01", macA, true},
		{"02-00-5E-10-00-01", macA, true},
		{"ff:ff:ff:ff:ff:ff", BroadcastMAC, true},
		{"02:00:5e:10:00-01", MAC{}, false}, // mixed separators
		{"02:00:5e:10:00:0g", MAC{}, false},
		{"02:00:5e:10:00:1", MAC{}, false},
		{"02.00.5e.10.00.01", MAC{}, false},
		{"", MAC{}, false},
		{"02005e100001xxxxx", MAC{}, false},
	}
	for _, tt := range tests {
		got, err := ParseMAC(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ParseMAC(%q) = %v, %v", tt.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseMAC(%q) error %v not ErrSyntax", tt.in, err)
		}
	}
}

func TestMACStrings(t *testing.T) {
	m := MAC{0x00, 0xa0, 0xc9, 0x1f, 0xe2, 0x3b}
	if s := m.String(); s != "00:a0:c9:1f:e2:3b" {
		t.Errorf("String = %q", s)
	}
	if s := m.Windows(); s != "00-a0-c9-1f-e2-3b" {
		t.Errorf("Windows = %q", s)
	}
	for _, s := range []string{m.String(), m.Windows()} {
		if back, err := ParseMAC(s); err != nil || back != m {
			t.Errorf("round trip %q: %v %v", s, back, err)
		}
	}
}

func TestMACClass(t *testing.T) {
	if !BroadcastMAC.IsBroadcast() || !BroadcastMAC.IsMulticast() {
		t.Error("broadcast misclassified")
	}
	if macA.IsBroadcast() || macA.IsMulticast() {
		t.Error("unicast misclassified")
	}
	mc := MAC{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}
	if mc.IsBroadcast() || !mc.IsMulticast() {
		t.Error("multicast misclassified")
	}
}

func TestMulticastMAC(t *testing.T) {
	tests := []struct {
		group string
		want  MAC
	}{
		{"224.0.0.1", MAC{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}},
		{"224.0.0.22", MAC{0x01, 0x00, 0x5e, 0x00, 0x00, 0x16}},
		// The top bit of the second octet is dropped (RFC 1112 6.4).
		{"239.255.255.250", MAC{0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa}},
		{"224.128.1.2", MAC{0x01, 0x00, 0x5e, 0x00, 0x01, 0x02}},
	}
	for _, tt := range tests {
		if got := MulticastMAC(netip.MustParseAddr(tt.group)); got != tt.want {
			t.Errorf("MulticastMAC(%s) = %v, want %v", tt.group, got, tt.want)
		}
	}
	if got := MulticastMAC(netip.Addr{}); got != (MAC{}) {
		t.Errorf("MulticastMAC(invalid) = %v", got)
	}
	if got := MulticastMAC(netip.MustParseAddr("ff02::1")); got != (MAC{}) {
		t.Errorf("MulticastMAC(v6) = %v", got)
	}
}
