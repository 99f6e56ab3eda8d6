package config

import (
	"fmt"
	"strings"
)

// applySecurityProfile gives the keys of the "hardened" profile (SPEC
// SEC-1, SEC-4: the whitepaper's Appendix D recommendations, and
// Appendix A's EnableICMPRedirects = 0) the recommended values, except
// keys the file set itself (set, from the decoder): an explicit value
// always wins. TcpMaxHalfOpen and TcpMaxHalfOpenRetried stay at their
// defaults, as Appendix D recommends. Only Parse applies it: a Config
// built in code gets what its fields say.
func applySecurityProfile(c *Config, set map[string]bool) {
	if !strings.EqualFold(c.Tcpip.SecurityProfile, "hardened") {
		return
	}
	tp := func(k string) bool { return !set["Tcpip.Parameters."+k] }
	if tp("SynAttackProtect") {
		c.Tcpip.SynAttackProtect = 2
	}
	if tp("EnablePMTUDiscovery") {
		c.Tcpip.EnablePMTUDiscovery = false
	}
	if tp("EnableDeadGWDetect") {
		c.Tcpip.EnableDeadGWDetect = false
	}
	if tp("KeepAliveTime") {
		c.Tcpip.KeepAliveTime = 300000
	}
	if tp("EnableICMPRedirects") {
		c.Tcpip.EnableICMPRedirects = false
	}
	if !set["NetBT.Parameters.NoNameReleaseOnDemand"] {
		c.NetBT.NoNameReleaseOnDemand = true
	}
	for i := range c.Interfaces {
		if !set[fmt.Sprintf("Interface[%d].PerformRouterDiscovery", i)] {
			c.Interfaces[i].PerformRouterDiscovery = 0
		}
	}
}
