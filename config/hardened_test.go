package config

import "testing"

// SPEC: SEC-1, SEC-4 — SecurityProfile = "hardened" applies the Appendix D
// values to the keys the file leaves out; explicit keys win.
func TestSecurityProfileHardened(t *testing.T) {
	c, err := Parse([]byte(`
[Tcpip.Parameters]
SecurityProfile = "hardened"
KeepAliveTime = 600000
EnablePMTUDiscovery = 1

[[Interface]]
Name = "a"
IPAddress = ["192.0.2.1"]
SubnetMask = ["255.255.255.0"]

[[Interface]]
Name = "b"
IPAddress = ["198.51.100.1"]
SubnetMask = ["255.255.255.0"]
PerformRouterDiscovery = 1
`))
	if err != nil {
		t.Fatal(err)
	}
	tc := c.Tcpip
	if tc.SynAttackProtect != 2 || tc.EnableDeadGWDetect || tc.EnableICMPRedirects || !c.NetBT.NoNameReleaseOnDemand {
		t.Fatalf("profile not applied: %+v %+v", tc, c.NetBT)
	}
	if tc.KeepAliveTime != 600000 || !tc.EnablePMTUDiscovery {
		t.Fatalf("explicit keys overridden: KeepAliveTime %d PMTU %v", tc.KeepAliveTime, tc.EnablePMTUDiscovery)
	}
	if c.Interfaces[0].PerformRouterDiscovery != 0 || c.Interfaces[1].PerformRouterDiscovery != 1 {
		t.Fatalf("router discovery %d %d", c.Interfaces[0].PerformRouterDiscovery, c.Interfaces[1].PerformRouterDiscovery)
	}
	// Without the profile, the defaults stay.
	d, err := Parse([]byte("[Tcpip.Parameters]\nKeepAliveTime = 600000\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Tcpip.SynAttackProtect != 0 || !d.Tcpip.EnablePMTUDiscovery || d.Tcpip.KeepAliveTime != 600000 {
		t.Fatalf("%+v", d.Tcpip)
	}
	if _, err := Parse([]byte("[Tcpip.Parameters]\nSecurityProfile = \"paranoid\"\n")); err == nil {
		t.Fatal("unknown profile accepted")
	}
}
