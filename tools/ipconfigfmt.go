package tools

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// leader renders a dotted-leader label: "IP Address. . . . . : ". Dots sit
// on even columns up to column 34, as in Windows 2000's ipconfig.
func leader(label string) string {
	const colon = 34
	b := []byte(label)
	if strings.HasSuffix(label, "Suffix") {
		b = append(b, ' ', ' ')
	}
	for len(b) < colon {
		if len(b)%2 == 0 {
			b = append(b, '.')
		} else {
			b = append(b, ' ')
		}
	}
	return string(b) + ": "
}

const indent = "        "

func line(b *strings.Builder, label, value string) {
	b.WriteString(strings.TrimRight(indent+leader(label)+value, " ") + "\n")
}

// more continues a multi-valued field on the next line under its value.
func more(b *strings.Builder, value string) {
	b.WriteString(indent + strings.Repeat(" ", 36) + value + "\n")
}

func yesNo(v bool) string {
	if v {
		return "Yes"
	}
	return "No"
}

// FormatIPConfig renders `ipconfig` or, with all, `ipconfig /all`.
func FormatIPConfig(h HostInfo, all bool) string {
	var b strings.Builder
	b.WriteString("\nStapel IP Configuration\n\n")
	if all {
		line(&b, "Host Name", h.HostName)
		line(&b, "Primary DNS Suffix", h.DNSSuffix)
		line(&b, "Node Type", h.NodeType)
		line(&b, "IP Routing Enabled", yesNo(h.IPRouting))
		line(&b, "WINS Proxy Enabled", yesNo(h.WINSProxy))
		b.WriteString("\n")
	}
	for i, a := range h.Adapters {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Ethernet adapter %s:\n\n", a.Name)
		if !a.Up {
			line(&b, "Media State", "Cable Disconnected")
		}
		if all {
			line(&b, "Connection-specific DNS Suffix", a.DNSSuffix)
			line(&b, "Description", a.Description)
			line(&b, "Physical Address", WindowsMAC(a.MAC, true))
			line(&b, "DHCP Enabled", yesNo(a.DHCP))
			if a.DHCP {
				line(&b, "Autoconfiguration Enabled", yesNo(a.AutoconfOn))
			}
		} else if a.Up {
			line(&b, "Connection-specific DNS Suffix", a.DNSSuffix)
		}
		if !a.Up {
			continue
		}
		addrs := a.Addrs
		if len(addrs) == 0 {
			addrs = []netip.Prefix{netip.PrefixFrom(netip.IPv4Unspecified(), 0)}
		}
		for i, p := range addrs {
			label := "IP Address"
			if i == 0 && a.Autoconf { // SPEC DHCP-4
				label = "Autoconfiguration IP Address"
			}
			line(&b, label, p.Addr().String())
			line(&b, "Subnet Mask", MaskString(p.Bits()))
		}
		gw := ""
		if len(a.Gateways) > 0 {
			gw = a.Gateways[0].String()
		}
		line(&b, "Default Gateway", gw)
		for _, g := range a.Gateways[min(1, len(a.Gateways)):] {
			more(&b, g.String())
		}
		if all && a.DHCP && a.DHCPServer.IsValid() {
			line(&b, "DHCP Server", a.DHCPServer.String())
		}
		if all && len(a.DNSServers) > 0 {
			line(&b, "DNS Servers", a.DNSServers[0])
			for _, s := range a.DNSServers[1:] {
				more(&b, s)
			}
		}
		if all && a.DHCP && !a.LeaseObtained.IsZero() {
			line(&b, "Lease Obtained", leaseTime(a.LeaseObtained))
			line(&b, "Lease Expires", leaseTime(a.LeaseExpires))
		}
	}
	return b.String()
}

// leaseTime is ipconfig /all's lease time: "Sunday, November 22, 2026
// 3:20:54 AM" in local time.
func leaseTime(t time.Time) string { return t.Local().Format("Monday, January 2, 2006 3:04:05 PM") }

// MaskString renders a prefix length as a dotted netmask.
func MaskString(bits int) string {
	if bits < 0 || bits > 32 {
		bits = 0
	}
	m := uint32(0)
	if bits > 0 {
		m = ^uint32(0) << (32 - bits)
	}
	return fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&0xff, m>>8&0xff, m&0xff)
}
