package config

import (
	"fmt"
	"net/netip"

	"github.com/stapel-net/stapel/wire"
)

// MTUFloor is the smallest interface MTU accepted; smaller values are
// raised to it (SPEC AMB-2: the KB's 68, the IPv4 minimum).
const MTUFloor = 68

// DHCP reports whether the first address comes from DHCP: EnableDHCP is set
// or the first IPAddress is 0.0.0.0 (DHCP-1).
func (i Interface) DHCP() bool {
	return i.EnableDHCP || len(i.IPAddress) > 0 && i.IPAddress[0] == "0.0.0.0"
}

// Prefixes returns the static addresses with their masks. A DHCP
// placeholder 0.0.0.0 is left out.
func (i Interface) Prefixes() ([]netip.Prefix, error) {
	if len(i.IPAddress) != len(i.SubnetMask) {
		return nil, fmt.Errorf("config: interface %q: %d IPAddress entries but %d SubnetMask entries", i.Name, len(i.IPAddress), len(i.SubnetMask))
	}
	var out []netip.Prefix
	for k, s := range i.IPAddress {
		a, err := parseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("config: interface %q: IPAddress[%d] = %q: %v", i.Name, k, s, err)
		}
		bits, err := maskBits(i.SubnetMask[k])
		if err != nil {
			return nil, fmt.Errorf("config: interface %q: SubnetMask[%d] = %q: %v", i.Name, k, i.SubnetMask[k], err)
		}
		if a.IsUnspecified() {
			continue
		}
		out = append(out, netip.PrefixFrom(a, bits))
	}
	return out, nil
}

// Gateways returns DefaultGateway as addresses, in order of preference.
func (i Interface) Gateways() ([]netip.Addr, error) {
	return parseAddrs(i.Name, "DefaultGateway", i.DefaultGateway)
}

// GatewayMetrics returns one metric per DefaultGateway entry: the
// configured DefaultGatewayMetric, or 1 where none is given (IP-6).
func (i Interface) GatewayMetrics() []int {
	out := make([]int, len(i.DefaultGateway))
	for k := range out {
		out[k] = 1
		if k < len(i.DefaultGatewayMetric) {
			out[k] = i.DefaultGatewayMetric[k]
		}
	}
	return out
}

// NameServers returns the DNS servers of the interface.
func (i Interface) NameServers() ([]netip.Addr, error) {
	return parseAddrs(i.Name, "NameServer", i.NameServer)
}

// WINSServers returns the NetBT NameServerList of the interface.
func (i Interface) WINSServers() ([]netip.Addr, error) {
	return parseAddrs(i.Name, "NameServerList", i.NameServerList)
}

// MACAddr returns the configured MAC; ok is false when MAC is empty (use
// the device's own address).
func (i Interface) MACAddr() (mac wire.MAC, ok bool, err error) {
	if i.MAC == "" {
		return mac, false, nil
	}
	mac, err = wire.ParseMAC(i.MAC)
	if err != nil {
		return mac, false, fmt.Errorf("config: interface %q: MAC = %q: %v", i.Name, i.MAC, err)
	}
	return mac, true, nil
}

// EffectiveMTU is the IP MTU to use on a link whose device MTU is linkMTU:
// the MTU override capped at the link MTU and raised to MTUFloor (AMB-2).
// MTU 0 (a Go zero value, never produced by Parse) and 0xFFFFFFFF mean the
// link MTU.
func (i Interface) EffectiveMTU(linkMTU int) int {
	m := i.MTU
	if m == 0 || m > linkMTU {
		m = linkMTU
	}
	return max(m, MTUFloor)
}

// TapName is the TAP device to open: Tap, or Name when Tap is empty.
func (i Interface) TapName() string {
	if i.Tap != "" {
		return i.Tap
	}
	return i.Name
}

// AllowsTCPPort applies TcpAllowedPorts (IP-21; only meaningful when
// Tcpip.Parameters.EnableSecurityFilters is on).
func (i Interface) AllowsTCPPort(p uint16) bool { return allows(i.TcpAllowedPorts, int(p)) }

// AllowsUDPPort applies UdpAllowedPorts (IP-21).
func (i Interface) AllowsUDPPort(p uint16) bool { return allows(i.UdpAllowedPorts, int(p)) }

// AllowsRawProtocol applies RawIpAllowedProtocols (IP-21).
func (i Interface) AllowsRawProtocol(p uint8) bool { return allows(i.RawIpAllowedProtocols, int(p)) }

// allows: absent list = all, empty = none, single 0 = all (IP-21).
func allows(list []int, v int) bool {
	if list == nil {
		return true
	}
	for _, x := range list {
		if x == 0 || x == v {
			return true
		}
	}
	return false
}

func parseAddrs(ifName, key string, list []string) ([]netip.Addr, error) {
	out := make([]netip.Addr, 0, len(list))
	for k, s := range list {
		a, err := parseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("config: interface %q: %s[%d] = %q: %v", ifName, key, k, s, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// parseAddr accepts dotted-quad IPv4 only.
func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("not an IPv4 address")
	}
	return a, nil
}

// maskBits parses a dotted mask and returns its prefix length; the mask
// must be contiguous.
func maskBits(s string) (int, error) {
	a, err := parseAddr(s)
	if err != nil {
		return 0, fmt.Errorf("not an IPv4 mask")
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	if m != 0 && ^m&(^m+1) != 0 {
		return 0, fmt.Errorf("mask bits are not contiguous")
	}
	bits := 0
	for ; m != 0; m <<= 1 {
		bits++
	}
	return bits, nil
}
