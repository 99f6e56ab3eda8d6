package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestDefaultsMatchSpec checks defaults against SPEC §22 (and §21 for
// MaxIcmpHostRoutes and the interface MTU), one row per parameter.
func TestDefaultsMatchSpec(t *testing.T) {
	c := Default()
	ifc := DefaultInterface()
	tc, nb, afd, dc := c.Tcpip, c.NetBT, c.AFD, c.Dnscache
	cases := []struct {
		name      string
		got, want any
	}{
		// SPEC §22, Tcpip\Parameters
		{"AllowUserRawAccess", tc.AllowUserRawAccess, false},
		{"ArpCacheLife", tc.ArpCacheLife, 120}, // absent → 120 s unreferenced (ARP-4); equivalent per ARP-5
		{"ArpCacheMinReferencedLife", tc.ArpCacheMinReferencedLife, 600},
		{"ArpRetryCount", tc.ArpRetryCount, 3}, // ARP-7
		{"ArpUseEtherSNAP", tc.ArpUseEtherSNAP, false},
		{"DefaultTTL", tc.DefaultTTL, 128},                        // IP-17
		{"DisableIPSourceRouting", tc.DisableIPSourceRouting, 1},  // IP-18
		{"DisableUserTOSSetting", tc.DisableUserTOSSetting, true}, // IP-19
		{"EnableAddrMaskReply", tc.EnableAddrMaskReply, false},
		{"EnableBcastArpReply", tc.EnableBcastArpReply, true}, // ARP-11
		{"EnableDeadGWDetect", tc.EnableDeadGWDetect, true},
		{"EnableICMPRedirects", tc.EnableICMPRedirects, true}, // AMB-20
		{"EnablePMTUBHDetect", tc.EnablePMTUBHDetect, false},
		{"EnablePMTUDiscovery", tc.EnablePMTUDiscovery, true},
		{"ForwardBufferMemory", tc.ForwardBufferMemory, 74240},
		{"GlobalMaxTcpWindowSize", tc.GlobalMaxTcpWindowSize, Absent},
		{"IPAutoconfigurationMask", tc.IPAutoconfigurationMask, "255.255.0.0"},
		{"IPAutoconfigurationSubnet", tc.IPAutoconfigurationSubnet, "169.254.0.0"},
		{"IGMPLevel", tc.IGMPLevel, 2},
		{"IPEnableRouter", tc.IPEnableRouter, false}, // IP-8
		{"KeepAliveInterval", tc.KeepAliveInterval, 1000},
		{"KeepAliveTime", tc.KeepAliveTime, 7200000},
		{"MaxForwardBufferMemory", tc.MaxForwardBufferMemory, 2097152},
		{"MaxFreeTWTcbs", tc.MaxFreeTWTcbs, 1000},
		{"MaxHashTableSize", tc.MaxHashTableSize, 512},
		{"MaxNumForwardPackets", tc.MaxNumForwardPackets, 0xFFFFFFFF},
		{"MaxUserPort", tc.MaxUserPort, 5000}, // TCP-PORT-1
		{"NumForwardPackets", tc.NumForwardPackets, 50},
		{"NumTcbTablePartitions", tc.NumTcbTablePartitions, 4},
		{"SackOpts", tc.SackOpts, true},
		{"SynAttackProtect", tc.SynAttackProtect, 0},                                         // SEC-2
		{"Tcp1323Opts", tc.Tcp1323Opts, Absent},                                              // AMB-7
		{"TcpMaxConnectResponseRetransmissions", tc.TcpMaxConnectResponseRetransmissions, 2}, // TCP-RTX-3
		{"TcpMaxConnectRetransmissions", tc.TcpMaxConnectRetransmissions, 2},
		{"TcpMaxDataRetransmissions", tc.TcpMaxDataRetransmissions, 5},
		{"TcpMaxDupAcks", tc.TcpMaxDupAcks, 2}, // AMB-11
		{"TcpMaxHalfOpen", tc.TcpMaxHalfOpen, 100},
		{"TcpMaxHalfOpenRetried", tc.TcpMaxHalfOpenRetried, 80},
		{"TcpMaxPortsExhausted", tc.TcpMaxPortsExhausted, 5},
		{"TcpNumConnections", tc.TcpNumConnections, 0xFFFFFE},
		{"TcpTimedWaitDelay", tc.TcpTimedWaitDelay, 240},
		{"TcpUseRFC1122UrgentPointer", tc.TcpUseRFC1122UrgentPointer, false},
		{"EnableSecurityFilters", tc.EnableSecurityFilters, false},      // IP-21
		{"DNSQueryTimeouts", tc.DNSQueryTimeouts, []int{1, 2, 2, 4, 8}}, // DNS-3
		{"DefaultRegistrationTTL", tc.DefaultRegistrationTTL, 1200},
		{"DisjointNameSpace", tc.DisjointNameSpace, true},
		{"UseDomainNameDevolution", tc.UseDomainNameDevolution, true},
		// SPEC §21
		{"MaxIcmpHostRoutes", tc.MaxIcmpHostRoutes, 10000},
		{"Interface.MTU", ifc.MTU, 0xFFFFFFFF},
		// SPEC §22, Tcpip\Parameters\Interfaces\<if>
		{"PerformRouterDiscovery", ifc.PerformRouterDiscovery, 2},
		{"TcpDelAckTicks", ifc.TcpDelAckTicks, 2}, // TCP-ACK-1
		{"TcpInitialRTT", ifc.TcpInitialRTT, 3},   // AMB-19
		{"TypeOfInterface", ifc.TypeOfInterface, 0},
		{"UseZeroBroadcast", ifc.UseZeroBroadcast, false}, // IP-15
		{"EnableDHCP", ifc.EnableDHCP, false},
		{"MaxForwardPending", ifc.MaxForwardPending, 5000},
		{"TcpAllowedPorts", ifc.TcpAllowedPorts == nil, true}, // absent = all (IP-21)
		// NetBT\Parameters
		{"BcastNameQueryCount", nb.BcastNameQueryCount, 3},
		{"BcastQueryTimeout", nb.BcastQueryTimeout, 750},
		{"CacheTimeout", nb.CacheTimeout, 600000},
		{"InitialRefreshT.O.", nb.InitialRefreshTO, 960000},
		{"NameServerPort", nb.NameServerPort, 137}, // AMB-15
		{"NameSrvQueryTimeout", nb.NameSrvQueryTimeout, 1500},
		{"SessionKeepAlive", nb.SessionKeepAlive, 3600000},
		{"RefreshOpCode", nb.RefreshOpCode, 8},
		{"NetbiosOptions", ifc.NetbiosOptions, 1}, // AMB-14
		// AFD\Parameters (large memory class)
		{"DefaultReceiveWindow", afd.DefaultReceiveWindow, 8192},
		{"FastSendDatagramThreshold", afd.FastSendDatagramThreshold, 1024},
		{"MediumBufferSize", afd.MediumBufferSize, 1504},
		{"TransmitWorker", afd.TransmitWorker, 0x10},
		// Dnscache\Parameters
		{"CacheHashTableSize", dc.CacheHashTableSize, 211},
		{"MaxCacheEntryTtlLimit", dc.MaxCacheEntryTtlLimit, 86400},
		{"NegativeCacheTime", dc.NegativeCacheTime, 300},
		{"NetFailureCacheTime", dc.NetFailureCacheTime, 30},
		// Stapel
		{"ArpPendingQueueLen", tc.ArpPendingQueueLen, 1}, // ARP-6
		{"ReassemblyTimeout", tc.ReassemblyTimeout, 60},
		{"SimpleTcpip", c.Services.SimpleTcpip, false},
	}
	for _, tt := range cases {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// TestDefaultsValid: the defaults pass validation without warnings.
func TestDefaultsValid(t *testing.T) {
	c := Default()
	ifc := DefaultInterface()
	ifc.Name = "lan0"
	c.Interfaces = []Interface{ifc}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 0 {
		t.Fatal(c.Warnings)
	}
}

// TestTableCoversFields: every exported field of every section struct has
// exactly one table row, and keys are unique case-insensitively.
func TestTableCoversFields(t *testing.T) {
	for _, so := range sectionOrder {
		s := sections[so.name]
		fields := map[string]bool{}
		for _, e := range s.entries {
			if fields[e.field] {
				t.Errorf("%s.%s: two table rows", so.name, e.field)
			}
			fields[e.field] = true
		}
		if len(s.byKey) != len(s.entries) {
			t.Errorf("%s: keys not unique case-insensitively", so.name)
		}
		for i := 0; i < so.typ.NumField(); i++ {
			if f := so.typ.Field(i); f.IsExported() && !fields[f.Name] {
				t.Errorf("%s.%s: no table row", so.name, f.Name)
			}
		}
	}
}

func TestParametersTable(t *testing.T) {
	ps := Parameters()
	if len(ps) != len(table) {
		t.Fatalf("%d parameters, table has %d", len(ps), len(table))
	}
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p.Key] {
			t.Errorf("duplicate %s", p.Key)
		}
		seen[p.Key] = true
		if p.Doc == "" || p.Scope == "" || p.Type == "" || p.Default == "" {
			t.Errorf("%s: incomplete %+v", p.Key, p)
		}
		switch p.Used {
		case "yes", "no", "later":
		default:
			t.Errorf("%s: Used = %q", p.Key, p.Used)
		}
		if !strings.HasSuffix(p.Doc, ".") {
			t.Errorf("%s: doc should be a sentence: %q", p.Key, p.Doc)
		}
	}
	for _, k := range []string{"Tcpip.Parameters.DefaultTTL", "Interface.MTU", "NetBT.Parameters.InitialRefreshT.O.", "Services.SimpleTcpip", "Control.ControlSocket"} {
		if !seen[k] {
			t.Errorf("missing %s", k)
		}
	}
}
