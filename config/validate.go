package config

import (
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"

	"github.com/stapel-net/stapel/wire"
)

// validator collects errors and warnings for one Config.
type validator struct {
	c    *Config
	errs []error
}

func (v *validator) errf(format string, a ...any) {
	if len(v.errs) < maxErrors {
		v.errs = append(v.errs, fmt.Errorf("config: "+format, a...))
	}
}

func (v *validator) warnf(format string, a ...any) {
	v.c.Warnings = append(v.c.Warnings, fmt.Sprintf("config: "+format, a...))
}

func (c *Config) validate() []error {
	v := &validator{c: c}
	// DNSQueryTimeouts is a 0-terminated list in the registry (DNS-3).
	if n := len(c.Tcpip.DNSQueryTimeouts); n > 0 && c.Tcpip.DNSQueryTimeouts[n-1] == 0 {
		c.Tcpip.DNSQueryTimeouts = c.Tcpip.DNSQueryTimeouts[:n-1]
	}
	v.ranges("Tcpip.Parameters", reflect.ValueOf(&c.Tcpip).Elem())
	v.ranges("NetBT.Parameters", reflect.ValueOf(&c.NetBT).Elem())
	v.ranges("AFD.Parameters", reflect.ValueOf(&c.AFD).Elem())
	v.ranges("Dnscache.Parameters", reflect.ValueOf(&c.Dnscache).Elem())
	v.ranges("Services", reflect.ValueOf(&c.Services).Elem())
	v.ranges("Control", reflect.ValueOf(&c.Control).Elem())
	v.tcpip()
	v.netbt()
	v.services()
	v.interfaces()
	return v.errs
}

// ranges checks every integer field of one section against its rule,
// clamping where the rule says so.
func (v *validator) ranges(secName string, s reflect.Value) {
	v.rangesAt(secName, secName, s)
}

func (v *validator) rangesAt(secName, path string, s reflect.Value) {
	for _, e := range sections[secName].entries {
		if !e.rule.numeric {
			continue
		}
		f := s.FieldByIndex(e.index)
		key := path + "." + quoteKey(e.key)
		switch f.Kind() {
		case reflect.Int:
			n := f.Int()
			if e.rule.ok(n) {
				continue
			}
			if e.rule.clamp {
				c := min(max(n, e.rule.min), e.rule.max)
				v.warnf("%s = %d: out of range %s..%s, using %d", key, n, fmtInt(e.rule.min), fmtInt(e.rule.max), c)
				f.SetInt(c)
				continue
			}
			v.errf("%s = %d: %s", key, n, outOf(e.rule))
		case reflect.Slice:
			for i := 0; i < f.Len(); i++ {
				n := f.Index(i).Int()
				if !e.rule.ok(n) {
					v.errf("%s[%d] = %d: %s", key, i, n, outOf(e.rule))
				}
			}
		}
	}
}

func outOf(r rule) string {
	if r.set != nil {
		s := "not " + r.String()
		return s
	}
	if r.pow2 || r.prime {
		return "not " + r.String()
	}
	return "out of range " + r.String()
}

func (v *validator) tcpip() {
	t := &v.c.Tcpip
	const p = "Tcpip.Parameters."
	if t.DefaultTTL == 0 {
		v.warnf("%sDefaultTTL = 0: allowed by the whitepaper, but the first router discards such datagrams", p)
	}
	if t.MaxHashTableSize >= 64 && t.MaxHashTableSize&(t.MaxHashTableSize-1) != 0 {
		n := 64
		for n < t.MaxHashTableSize {
			n <<= 1
		}
		v.warnf("%sMaxHashTableSize = %d: not a power of two, rounded up to %d", p, t.MaxHashTableSize, n)
		t.MaxHashTableSize = n
	}
	if t.MaxForwardBufferMemory < t.ForwardBufferMemory {
		v.errf("%sMaxForwardBufferMemory = %d: must be at least ForwardBufferMemory (%d)", p, t.MaxForwardBufferMemory, t.ForwardBufferMemory)
	}
	if t.MaxNumForwardPackets < t.NumForwardPackets {
		v.errf("%sMaxNumForwardPackets = %d: must be at least NumForwardPackets (%d)", p, t.MaxNumForwardPackets, t.NumForwardPackets)
	}
	if t.DNSQueryTimeouts != nil && len(t.DNSQueryTimeouts) == 0 {
		v.errf("%sDNSQueryTimeouts = []: at least one timeout is needed", p)
	}
	v.checkMask(p+"IPAutoconfigurationMask", t.IPAutoconfigurationMask)
	v.checkAddr(p+"IPAutoconfigurationSubnet", t.IPAutoconfigurationSubnet)
	switch strings.ToLower(t.CongestionControl) {
	case "reno", "cubic":
	default:
		v.errf("%sCongestionControl = %q: want \"reno\" or \"cubic\"", p, t.CongestionControl)
	}
	switch strings.ToLower(t.SecurityProfile) { // hardened.go
	case "", "default", "hardened":
	default:
		v.errf("%sSecurityProfile = %q: want \"default\" or \"hardened\"", p, t.SecurityProfile)
	}
	switch strings.ToLower(t.TcpProfile) {
	case "whitepaper", "modern":
	default:
		v.errf("%sTcpProfile = %q: want \"whitepaper\" or \"modern\"", p, t.TcpProfile)
	}
	if t.Hostname != "" && !validHostLabel(t.Hostname) {
		v.errf("%sHostname = %q: not a valid host name (letters, digits and '-', at most 63)", p, t.Hostname)
	}
	for i, s := range t.SearchList {
		if !validDomain(s) {
			v.errf("%sSearchList[%d] = %q: not a valid DNS domain", p, i, s)
		}
	}
	for i, s := range t.PersistentRoutes {
		if err := checkRoute(s); err != nil {
			v.errf("%sPersistentRoutes[%d] = %q: %v", p, i, s, err)
		}
	}
}

func (v *validator) netbt() {
	n := &v.c.NetBT
	if n.ScopeId != "" && n.ScopeId != "*" && !validDomain(n.ScopeId) {
		v.errf("NetBT.Parameters.ScopeId = %q: want a dotted name or \"*\"", n.ScopeId)
	}
	if len(n.Workgroup) > 15 || strings.ContainsAny(n.Workgroup, "\x00.*") {
		v.errf("NetBT.Parameters.Workgroup = %q: want at most 15 characters, no '.' or '*'", n.Workgroup)
	}
}

func (v *validator) services() {
	// RFC 865: a quote should be limited to 512 characters.
	if len(v.c.Services.Quote) > 512 {
		v.errf("Services.Quote: %d bytes, at most 512 (RFC 865)", len(v.c.Services.Quote))
	}
	s := v.c.Control.ControlSocket
	switch {
	case s == "":
		v.errf("Control.ControlSocket = \"\": a socket path is required")
	case len(s) > 107:
		v.errf("Control.ControlSocket = %q: longer than the 107 bytes a Unix socket path may have", s)
	}
}

func (v *validator) interfaces() {
	names := map[string]int{}
	taps := map[string]int{}
	addrs := map[netip.Addr]int{}
	for i := range v.c.Interfaces {
		ifc := &v.c.Interfaces[i]
		p := fmt.Sprintf("Interface[%d]", i)
		v.rangesAt("Interface", p, reflect.ValueOf(ifc).Elem())
		v.iface(p, ifc)
		if ifc.Name != "" {
			if j, dup := names[strings.ToLower(ifc.Name)]; dup {
				v.errf("%s.Name = %q: already used by Interface[%d]", p, ifc.Name, j)
			} else {
				names[strings.ToLower(ifc.Name)] = i
			}
		}
		if t := ifc.TapName(); t != "" {
			if j, dup := taps[t]; dup {
				v.errf("%s.Tap = %q: already used by Interface[%d]", p, t, j)
			} else {
				taps[t] = i
			}
		}
		for _, s := range ifc.IPAddress {
			if a, err := parseAddr(s); err == nil && !a.IsUnspecified() {
				if j, dup := addrs[a]; dup && j != i {
					v.warnf("%s.IPAddress %s is also on Interface[%d]", p, a, j)
				}
				addrs[a] = i
			}
		}
	}
}

func (v *validator) iface(p string, ifc *Interface) {
	if ifc.Name == "" {
		v.errf("%s.Name: missing; every [[Interface]] needs a Name", p)
	} else if bad := strings.IndexFunc(ifc.Name, func(r rune) bool { return r < ' ' || r == 0x7f }); bad >= 0 || len(ifc.Name) > 256 {
		v.errf("%s.Name = %q: control characters or longer than 256 bytes", p, ifc.Name)
	}
	// Linux limits device names to 15 bytes (IFNAMSIZ-1).
	if t := ifc.TapName(); t != "" && (len(t) > 15 || strings.ContainsAny(t, "/ \t\n:") || t == "." || t == "..") {
		v.errf("%s.Tap = %q: not a Linux device name (at most 15 bytes, no '/', ':' or spaces)", p, t)
	}
	if ifc.MAC != "" {
		m, err := wire.ParseMAC(ifc.MAC)
		switch {
		case err != nil:
			v.errf("%s.MAC = %q: not a MAC address (want aa:bb:cc:dd:ee:ff)", p, ifc.MAC)
		case m.IsMulticast() || m == wire.MAC{}:
			v.errf("%s.MAC = %q: must be a unicast, non-zero address", p, ifc.MAC)
		}
	}
	if ifc.MTU < MTUFloor {
		v.warnf("%s.MTU = %d: below %d, using %d (SPEC AMB-2)", p, ifc.MTU, MTUFloor, MTUFloor)
		ifc.MTU = MTUFloor
	}
	v.ifAddrs(p, ifc)
	for k, s := range ifc.DefaultGateway {
		a, err := parseAddr(s)
		if err != nil {
			v.errf("%s.DefaultGateway[%d] = %q: %v", p, k, s, err)
		} else if !unicast(a) {
			v.errf("%s.DefaultGateway[%d] = %q: not a unicast address", p, k, s)
		}
	}
	if len(ifc.DefaultGatewayMetric) > len(ifc.DefaultGateway) {
		v.errf("%s.DefaultGatewayMetric: %d metrics for %d gateways", p, len(ifc.DefaultGatewayMetric), len(ifc.DefaultGateway))
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"NameServer", ifc.NameServer}, {"NameServerList", ifc.NameServerList}} {
		for k, s := range l.list {
			if _, err := parseAddr(s); err != nil {
				v.errf("%s.%s[%d] = %q: %v", p, l.key, k, s, err)
			}
		}
	}
	// IP-21: "0" together with other values is undefined; reject it.
	for _, l := range []struct {
		key  string
		list []int
	}{{"TcpAllowedPorts", ifc.TcpAllowedPorts}, {"UdpAllowedPorts", ifc.UdpAllowedPorts}, {"RawIpAllowedProtocols", ifc.RawIpAllowedProtocols}} {
		if len(l.list) > 1 {
			for _, x := range l.list {
				if x == 0 {
					v.errf("%s.%s = %s: 0 (allow all) cannot be mixed with other values (SPEC IP-21)", p, l.key, intsText(l.list))
					break
				}
			}
		}
	}
	if ifc.Domain != "" && !validDomain(ifc.Domain) {
		v.errf("%s.Domain = %q: not a valid DNS domain", p, ifc.Domain)
	}
	if ifc.IPAutoconfigurationMask != "" {
		v.checkMask(p+".IPAutoconfigurationMask", ifc.IPAutoconfigurationMask)
	}
	if ifc.IPAutoconfigurationSubnet != "" {
		v.checkAddr(p+".IPAutoconfigurationSubnet", ifc.IPAutoconfigurationSubnet)
	}
}

// ifAddrs checks IPAddress and SubnetMask pairwise.
func (v *validator) ifAddrs(p string, ifc *Interface) {
	if len(ifc.IPAddress) != len(ifc.SubnetMask) {
		v.errf("%s: %d IPAddress entries but %d SubnetMask entries; they must pair up", p, len(ifc.IPAddress), len(ifc.SubnetMask))
	}
	for k, s := range ifc.IPAddress {
		a, err := parseAddr(s)
		if err != nil {
			v.errf("%s.IPAddress[%d] = %q: %v", p, k, s, err)
			continue
		}
		if a.IsUnspecified() {
			if k != 0 {
				v.errf("%s.IPAddress[%d] = %q: only the first address may be 0.0.0.0 (DHCP)", p, k, s)
			}
			continue
		}
		if !unicast(a) {
			v.errf("%s.IPAddress[%d] = %q: not a unicast host address", p, k, s)
			continue
		}
		if k >= len(ifc.SubnetMask) {
			continue
		}
		m := ifc.SubnetMask[k]
		bits, err := maskBits(m)
		if err != nil {
			v.errf("%s.SubnetMask[%d] = %q: %v", p, k, m, err)
			continue
		}
		if bits == 0 {
			v.errf("%s.SubnetMask[%d] = %q: a host address needs a non-zero mask", p, k, m)
			continue
		}
		// With /31 and /32 there are no network or broadcast addresses.
		if bits <= 30 {
			pre := netip.PrefixFrom(a, bits).Masked()
			if a == pre.Addr() {
				v.errf("%s.IPAddress[%d] = %q: is the network address of %s", p, k, s, pre)
			} else if a == broadcast(pre) {
				v.errf("%s.IPAddress[%d] = %q: is the broadcast address of %s", p, k, s, pre)
			}
		}
	}
	for k := len(ifc.IPAddress); k < len(ifc.SubnetMask); k++ {
		if _, err := maskBits(ifc.SubnetMask[k]); err != nil {
			v.errf("%s.SubnetMask[%d] = %q: %v", p, k, ifc.SubnetMask[k], err)
		}
	}
}

func (v *validator) checkMask(key, s string) {
	if _, err := maskBits(s); err != nil {
		v.errf("%s = %q: %v", key, s, err)
	}
}

func (v *validator) checkAddr(key, s string) {
	if _, err := parseAddr(s); err != nil {
		v.errf("%s = %q: %v", key, s, err)
	}
}

// unicast rejects addresses a host cannot own or route to.
func unicast(a netip.Addr) bool {
	return a.Is4() && !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast() &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 255}) && a.As4()[0] < 240
}

func broadcast(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// checkRoute validates a PersistentRoutes entry "dest,mask,gateway,metric".
func checkRoute(s string) error {
	f := strings.Split(s, ",")
	if len(f) != 4 {
		return fmt.Errorf(`want "dest,mask,gateway,metric"`)
	}
	dst, err := parseAddr(f[0])
	if err != nil {
		return fmt.Errorf("destination %q: %v", f[0], err)
	}
	bits, err := maskBits(f[1])
	if err != nil {
		return fmt.Errorf("mask %q: %v", f[1], err)
	}
	if netip.PrefixFrom(dst, bits).Masked().Addr() != dst {
		return fmt.Errorf("destination %s has bits outside mask %s", dst, f[1])
	}
	if _, err := parseAddr(f[2]); err != nil {
		return fmt.Errorf("gateway %q: %v", f[2], err)
	}
	m, err := strconv.Atoi(f[3])
	if err != nil || m < 1 || m > 9999 {
		return fmt.Errorf("metric %q: want 1..9999", f[3])
	}
	return nil
}

func validHostLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func validDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !validHostLabel(l) {
			return false
		}
	}
	return true
}

func intsText(l []int) string {
	parts := make([]string, len(l))
	for i, x := range l {
		parts[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
