package config

import (
	"net/netip"
	"reflect"
	"testing"
)

// contractFile is the file other packages' tests rely on (CONTRACTS.md).
const contractFile = `[Tcpip.Parameters]
DefaultTTL = 128

[[Interface]]
Name = "lan0"
Tap = "stptap0"
IPAddress = ["198.18.0.2"]
SubnetMask = ["255.255.255.0"]
DefaultGateway = ["198.18.0.1"]

[Services]
SimpleTcpip = true
`

func TestContractFile(t *testing.T) {
	c, err := Parse([]byte(contractFile))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tcpip.DefaultTTL != 128 {
		t.Errorf("DefaultTTL = %d", c.Tcpip.DefaultTTL)
	}
	if !c.Services.SimpleTcpip {
		t.Error("SimpleTcpip not set")
	}
	if len(c.Interfaces) != 1 {
		t.Fatalf("%d interfaces", len(c.Interfaces))
	}
	ifc := c.Interfaces[0]
	if ifc.Name != "lan0" || ifc.Tap != "stptap0" || ifc.TapName() != "stptap0" {
		t.Errorf("Name %q Tap %q", ifc.Name, ifc.Tap)
	}
	pre, err := ifc.Prefixes()
	if err != nil || len(pre) != 1 || pre[0] != netip.MustParsePrefix("198.18.0.2/24") {
		t.Errorf("Prefixes = %v, %v", pre, err)
	}
	gw, err := ifc.Gateways()
	if err != nil || len(gw) != 1 || gw[0] != netip.MustParseAddr("198.18.0.1") {
		t.Errorf("Gateways = %v, %v", gw, err)
	}
	if m := ifc.GatewayMetrics(); len(m) != 1 || m[0] != 1 {
		t.Errorf("GatewayMetrics = %v", m)
	}
	if _, ok, err := ifc.MACAddr(); ok || err != nil {
		t.Errorf("MACAddr ok=%v err=%v, want unset", ok, err)
	}
	if ifc.EffectiveMTU(1500) != 1500 || ifc.DHCP() || ifc.UseZeroBroadcast {
		t.Errorf("EffectiveMTU %d DHCP %v UseZeroBroadcast %v", ifc.EffectiveMTU(1500), ifc.DHCP(), ifc.UseZeroBroadcast)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", c.Warnings)
	}
	// Everything not in the file keeps its default.
	want := Default()
	if !reflect.DeepEqual(c.Tcpip, want.Tcpip) {
		t.Errorf("Tcpip differs from defaults:\n%+v\n%+v", c.Tcpip, want.Tcpip)
	}
}
