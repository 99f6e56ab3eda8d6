package tools

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// RouteHost is implemented by hosts whose routing table the route tool
// can read and change (the daemon over its socket, a stack in process).
type RouteHost interface {
	RouteTable(ctx context.Context) (RouteTable, error)
	// ChangeRoutes applies one route add, delete or change.
	ChangeRoutes(ctx context.Context, spec RouteSpec) error
}

// RouteTable is what route print shows (SPEC TOOL-ROUTE).
type RouteTable struct {
	Interfaces []RouteInterface `json:"interfaces"`
	Active     []RouteEntry     `json:"active"`
	// DefaultGateway is the active default gateway (invalid = none).
	DefaultGateway netip.Addr   `json:"defaultGateway,omitzero"`
	Persistent     []RouteEntry `json:"persistent"`
}

// RouteInterface is one line of the Interface List.
type RouteInterface struct {
	Index       int    `json:"index"`
	MAC         string `json:"mac"` // colon form; empty for the loopback
	Description string `json:"description"`
}

// RouteEntry is one route.
type RouteEntry struct {
	Dst       netip.Prefix `json:"dst"`
	Gateway   netip.Addr   `json:"gateway"`
	Interface netip.Addr   `json:"interface,omitzero"`
	Metric    int          `json:"metric"`
	Kind      string       `json:"kind,omitempty"`
}

// Route commands.
const (
	RouteAdd    = "add"
	RouteDelete = "delete"
	RouteChange = "change"
)

// RouteSpec is a parsed route add/delete/change.
type RouteSpec struct {
	Command    string       `json:"command"`
	Dst        netip.Prefix `json:"dst"`
	Gateway    netip.Addr   `json:"gateway,omitzero"`
	Metric     int          `json:"metric,omitempty"`
	IfIndex    int          `json:"ifIndex,omitempty"`
	Persistent bool         `json:"persistent,omitempty"`
}

// ParseRouteSpec parses Windows route arguments after the command:
// "DEST [MASK m] [GW] [METRIC n] [IF i]" ("-p" is handled by the caller).
// A missing MASK means 255.255.255.255 (a host route), as on Windows.
func ParseRouteSpec(command string, args []string) (RouteSpec, error) {
	sp := RouteSpec{Command: command}
	var dst, mask, gw string
	for i := 0; i < len(args); i++ {
		a := args[i]
		kw := strings.ToUpper(a)
		if kw == "MASK" || kw == "METRIC" || kw == "IF" {
			if i+1 >= len(args) {
				return sp, fmt.Errorf("route: %s needs a value", kw)
			}
			v := args[i+1]
			i++
			switch kw {
			case "MASK":
				mask = v
			case "METRIC":
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 9999 {
					return sp, fmt.Errorf("route: bad metric %q (1 to 9999)", v)
				}
				sp.Metric = n
			case "IF":
				n, err := strconv.ParseInt(v, 0, 32)
				if err != nil || n < 1 {
					return sp, fmt.Errorf("route: bad interface %q", v)
				}
				sp.IfIndex = int(n)
			}
			continue
		}
		switch {
		case dst == "":
			dst = a
		case gw == "":
			gw = a
		default:
			return sp, fmt.Errorf("route: unexpected argument %q", a)
		}
	}
	if dst == "" {
		return sp, errors.New("route: destination missing")
	}
	d, err := netip.ParseAddr(dst)
	if err != nil || !d.Is4() {
		return sp, fmt.Errorf("route: bad destination %q", dst)
	}
	bits := 32
	if mask != "" {
		m, err := netip.ParseAddr(mask)
		if err != nil || !m.Is4() {
			return sp, fmt.Errorf("route: bad mask %q", mask)
		}
		var ok bool
		if bits, ok = maskBits(m); !ok {
			return sp, fmt.Errorf("route: mask %s is not contiguous", mask)
		}
		if netip.PrefixFrom(d, bits).Masked().Addr() != d {
			return sp, fmt.Errorf("The route addition failed: the destination %s has bits outside mask %s.", dst, mask)
		}
	}
	sp.Dst = netip.PrefixFrom(d, bits)
	if gw != "" {
		g, err := netip.ParseAddr(gw)
		if err != nil || !g.Is4() {
			return sp, fmt.Errorf("route: bad gateway %q", gw)
		}
		sp.Gateway = g
	}
	if (command == RouteAdd || command == RouteChange) && !sp.Gateway.IsValid() {
		return sp, fmt.Errorf("route %s: gateway missing", command)
	}
	return sp, nil
}

func maskBits(m netip.Addr) (int, bool) {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	return n, v == 0
}

// Mask renders a prefix length as a dotted netmask.
func Mask(bits int) netip.Addr {
	var m [4]byte
	for i := 0; i < bits; i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(m)
}

const routeRule = "===========================================================================\n"

// FormatRoutePrint renders route print as Windows 2000 does (SPEC
// TOOL-ROUTE): the interface list, the active routes, the active default
// gateway, then the persistent routes.
func FormatRoutePrint(rt RouteTable) string {
	var b strings.Builder
	b.WriteString(routeRule)
	b.WriteString("Interface List\n")
	for _, ifc := range rt.Interfaces {
		if ifc.MAC == "" {
			fmt.Fprintf(&b, "0x%x ........................... %s\n", ifc.Index, ifc.Description)
			continue
		}
		mac := strings.ReplaceAll(ifc.MAC, ":", " ")
		fmt.Fprintf(&b, "0x%x ...%s ...... %s\n", ifc.Index, mac, ifc.Description)
	}
	b.WriteString(routeRule)
	b.WriteString(routeRule)
	b.WriteString("Active Routes:\n")
	b.WriteString("Network Destination        Netmask          Gateway       Interface  Metric\n")
	for _, r := range rt.Active {
		fmt.Fprintf(&b, "%17s%17s%17s%15s%8d\n", r.Dst.Addr(), Mask(r.Dst.Bits()), r.Gateway, r.Interface, r.Metric)
	}
	if rt.DefaultGateway.IsValid() {
		fmt.Fprintf(&b, "Default Gateway:%18s\n", rt.DefaultGateway)
	}
	b.WriteString(routeRule)
	b.WriteString("Persistent Routes:\n")
	if len(rt.Persistent) == 0 {
		b.WriteString("  None\n")
		return b.String()
	}
	b.WriteString("  Network Address          Netmask  Gateway Address  Metric\n")
	for _, r := range rt.Persistent {
		fmt.Fprintf(&b, "%17s%17s%17s%8d\n", r.Dst.Addr(), Mask(r.Dst.Bits()), r.Gateway, r.Metric)
	}
	return b.String()
}
