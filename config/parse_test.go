package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestRegistryStyle: values copied from a registry export are accepted:
// 0/1 flags, hex DWORDs, REG_SZ space-separated lists, REG_MULTI_SZ numbers
// as strings, and any key capitalisation.
func TestRegistryStyle(t *testing.T) {
	c, err := Parse([]byte(`
[tcpip.parameters]
EnableICMPRedirects = 0
IPEnableRouter = 1
MaxNumForwardPackets = 0xFFFFFFFF
defaultttl = 0x40
SearchList = "example.test  sub.example.test"
DNSQueryTimeouts = "1 2 4 0"

[[Interface]]
name = "lan0"
TAP = "stptap0"
EnableDhcp = 1
IPAddress = "0.0.0.0"
SubnetMask = "0.0.0.0"
NameServer = "198.51.100.1 198.51.100.2"
UdpAllowedPorts = ["53", "0x44"]
RawIpAllowedProtocols = "0"
IPAutoconfigurationEnabled = false

[NetBT.Parameters]
"InitialRefreshT.O." = 0xEA600
"size/small/medium/large" = 3
`))
	if err != nil {
		t.Fatal(err)
	}
	tc := c.Tcpip
	if tc.EnableICMPRedirects || !tc.IPEnableRouter || tc.MaxNumForwardPackets != 0xFFFFFFFF || tc.DefaultTTL != 64 {
		t.Errorf("Tcpip: %+v", tc)
	}
	if !reflect.DeepEqual(tc.SearchList, []string{"example.test", "sub.example.test"}) {
		t.Errorf("SearchList = %q", tc.SearchList)
	}
	// SPEC DNS-3: the list is 0-terminated in the registry.
	if !reflect.DeepEqual(tc.DNSQueryTimeouts, []int{1, 2, 4}) {
		t.Errorf("DNSQueryTimeouts = %v", tc.DNSQueryTimeouts)
	}
	i := c.Interfaces[0]
	if !i.EnableDHCP || !i.DHCP() {
		t.Error("EnableDhcp = 1 not taken as EnableDHCP")
	}
	if p, err := i.Prefixes(); err != nil || len(p) != 0 {
		t.Errorf("DHCP placeholder gave prefixes %v, %v", p, err)
	}
	ns, err := i.NameServers()
	if err != nil || len(ns) != 2 || ns[1].String() != "198.51.100.2" {
		t.Errorf("NameServers = %v, %v", ns, err)
	}
	if !reflect.DeepEqual(i.UdpAllowedPorts, []int{53, 68}) {
		t.Errorf("UdpAllowedPorts = %v", i.UdpAllowedPorts)
	}
	if i.IPAutoconfigurationEnabled == nil || *i.IPAutoconfigurationEnabled {
		t.Errorf("IPAutoconfigurationEnabled = %v", i.IPAutoconfigurationEnabled)
	}
	if c.NetBT.InitialRefreshTO != 960000 || c.NetBT.Size != 3 {
		t.Errorf("NetBT: %+v", c.NetBT)
	}
}

// TestSecurityFilterLists: SPEC IP-21 semantics of the allow-lists.
func TestSecurityFilterLists(t *testing.T) {
	c, err := Parse([]byte(goodIf + "TcpAllowedPorts = []\nUdpAllowedPorts = [0]\nRawIpAllowedProtocols = [1, 47]\n"))
	if err != nil {
		t.Fatal(err)
	}
	i := c.Interfaces[0]
	if i.AllowsTCPPort(80) { // empty list = none
		t.Error("empty TcpAllowedPorts allows 80")
	}
	if !i.AllowsUDPPort(53) || !i.AllowsUDPPort(9) { // "0" = all
		t.Error("UdpAllowedPorts [0] does not allow all")
	}
	if !i.AllowsRawProtocol(47) || i.AllowsRawProtocol(2) {
		t.Error("RawIpAllowedProtocols [1, 47] wrong")
	}
	d := DefaultInterface() // absent = all
	if !d.AllowsTCPPort(80) || !d.AllowsUDPPort(1) || !d.AllowsRawProtocol(2) {
		t.Error("absent lists must allow all")
	}
}

func TestMultihomedInterface(t *testing.T) {
	c, err := Parse([]byte(`
[[Interface]]
Name = "lan0"
Tap = "stptap0"
MAC = "02-00-5e-10-00-01"
MTU = 9000
IPAddress = ["198.18.0.2", "198.51.100.7"]
SubnetMask = ["255.255.254.0", "255.255.255.255"]
DefaultGateway = ["198.18.0.1", "198.18.0.254"]
DefaultGatewayMetric = [5]
`))
	if err != nil {
		t.Fatal(err)
	}
	i := c.Interfaces[0]
	p, err := i.Prefixes()
	if err != nil || len(p) != 2 || p[0].String() != "198.18.0.2/23" || p[1].String() != "198.51.100.7/32" {
		t.Errorf("Prefixes = %v, %v", p, err)
	}
	if m := i.GatewayMetrics(); !reflect.DeepEqual(m, []int{5, 1}) {
		t.Errorf("GatewayMetrics = %v", m)
	}
	mac, ok, err := i.MACAddr()
	if err != nil || !ok || mac.String() != "02:00:5e:10:00:01" {
		t.Errorf("MACAddr = %v %v %v", mac, ok, err)
	}
	// SPEC §21: MTU above the link MTU uses the link MTU.
	if got := i.EffectiveMTU(1500); got != 1500 {
		t.Errorf("EffectiveMTU(1500) = %d", got)
	}
	if i.TapName() != "stptap0" {
		t.Error(i.TapName())
	}
	if _, ok := c.Interface("lan0"); !ok {
		t.Error("Interface(lan0) not found")
	}
}

func TestEmptyFile(t *testing.T) {
	c, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Error("empty file differs from Default()")
	}
}

// TestValidateInCode: configs built in Go get the same checks as files.
func TestValidateInCode(t *testing.T) {
	c := Default()
	c.Tcpip.DefaultTTL = 300
	ifc := DefaultInterface()
	ifc.Name = "lan0"
	ifc.IPAddress = []string{"198.18.0.2"}
	c.Interfaces = append(c.Interfaces, ifc)
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "config: Tcpip.Parameters.DefaultTTL = 300: out of range 0..255") ||
		!strings.Contains(err.Error(), "1 IPAddress entries but 0 SubnetMask entries") {
		t.Errorf("Validate = %v", err)
	}
}

// IsSet names the keys the file gave, with their default value or not.
func TestIsSet(t *testing.T) {
	c, err := Parse([]byte("[Tcpip.Parameters]\ncongestioncontrol = \"reno\"\n\n[[Interface]]\nName = \"lan0\"\nIPAddress = [\"192.0.2.1\"]\nSubnetMask = [\"255.255.255.0\"]\nTcpWindowSize = 65535\n"))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{
		"Tcpip.Parameters.CongestionControl": true, "Tcpip.Parameters.DefaultTTL": false,
		"Interface[0].TcpWindowSize": true, "Interface[0].MTU": false,
	} {
		if got := c.IsSet(key); got != want {
			t.Errorf("IsSet(%q) = %v, want %v", key, got, want)
		}
	}
	if Default().IsSet("Tcpip.Parameters.CongestionControl") {
		t.Error("a Config built in code reports a key as set")
	}
}
