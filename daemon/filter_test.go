package daemon

import (
	"slices"
	"testing"

	"github.com/stapel-net/stapel/config"
)

// SPEC: IP-21, SEC-5 — the interface's filter keys reach the stack.
func TestStackInterfaceFilters(t *testing.T) {
	c, err := config.Parse([]byte(`
[Tcpip.Parameters]
EnableSecurityFilters = 1

[[Interface]]
Name = "lan0"
IPAddress = ["198.18.0.2"]
SubnetMask = ["255.255.255.0"]
TcpAllowedPorts = ["7", "80"]
UdpAllowedPorts = []
PPTPFiltering = 1
`))
	if err != nil {
		t.Fatal(err)
	}
	ic, err := StackInterface(c.Interfaces[0], 1500)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ic.TCPAllowedPorts, []int{7, 80}) || ic.UDPAllowedPorts == nil || len(ic.UDPAllowedPorts) != 0 ||
		ic.RawAllowedProtocols != nil || !ic.PPTPFiltering {
		t.Fatalf("%+v", ic)
	}
}

// SPEC: SEC-4 — the hardened profile reaches TCP, also on top of the
// modern TCP profile, and an explicit key still wins.
func TestHardenedProfileTCPParams(t *testing.T) {
	for _, prof := range []string{"whitepaper", "modern"} {
		c, err := config.Parse([]byte(`
[Tcpip.Parameters]
SecurityProfile = "hardened"
TcpProfile = "` + prof + `"
EnableDeadGWDetect = 1
`))
		if err != nil {
			t.Fatal(err)
		}
		p := TCPParams(c)
		if p.SynAttackProtect != 2 || p.KeepAliveTime.Milliseconds() != 300000 || p.EnablePMTUDiscovery || !p.EnableDeadGWDetect {
			t.Errorf("%s: SynAttackProtect %d KeepAliveTime %v PMTU %v DeadGW %v", prof, p.SynAttackProtect, p.KeepAliveTime,
				p.EnablePMTUDiscovery, p.EnableDeadGWDetect)
		}
	}
}
