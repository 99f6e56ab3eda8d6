package tools

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// SPEC: TOOL-IPCONFIG, DHCP-1, DHCP-4 — ipconfig /all shows the DHCP
// server and lease times of a leased adapter, and labels an APIPA address
// "Autoconfiguration IP Address".
func TestFormatIPConfigDHCP(t *testing.T) {
	got := time.Date(2026, 11, 22, 3, 20, 54, 0, time.Local)
	leased := Adapter{Name: "lan0", MAC: "02:00:00:00:00:01", DHCP: true, AutoconfOn: true, Up: true,
		Addrs: []netip.Prefix{netip.MustParsePrefix("198.18.0.117/24")}, Gateways: []netip.Addr{netip.MustParseAddr("198.18.0.1")},
		DNSServers: []string{"198.18.0.1"}, DHCPServer: netip.MustParseAddr("198.18.0.1"),
		LeaseObtained: got, LeaseExpires: got.Add(2 * time.Minute)}
	out := FormatIPConfig(HostInfo{Adapters: []Adapter{leased}}, true)
	for _, want := range []string{
		"        DHCP Enabled. . . . . . . . . . . : Yes\n        Autoconfiguration Enabled . . . . : Yes\n        IP Address. . . . . . . . . . . . : 198.18.0.117\n",
		"        Default Gateway . . . . . . . . . : 198.18.0.1\n        DHCP Server . . . . . . . . . . . : 198.18.0.1\n        DNS Servers . . . . . . . . . . . : 198.18.0.1\n",
		"        Lease Obtained. . . . . . . . . . : Sunday, November 22, 2026 3:20:54 AM\n        Lease Expires . . . . . . . . . . : Sunday, November 22, 2026 3:22:54 AM\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ipconfig /all lacks\n%s\nin\n%s", want, out)
		}
	}
	auto := Adapter{Name: "lan0", DHCP: true, AutoconfOn: true, Autoconf: true, Up: true,
		Addrs: []netip.Prefix{netip.MustParsePrefix("169.254.16.230/16")}}
	out = FormatIPConfig(HostInfo{Adapters: []Adapter{auto}}, false)
	if !strings.Contains(out, "        Autoconfiguration IP Address. . . : 169.254.16.230\n        Subnet Mask . . . . . . . . . . . : 255.255.0.0\n") {
		t.Errorf("ipconfig:\n%s", out)
	}
}
