package tools

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// NetConn is one row of netstat's Active Connections.
type NetConn struct {
	Proto  string         `json:"proto"` // "TCP" or "UDP"
	Local  netip.AddrPort `json:"local"`
	Remote netip.AddrPort `json:"remote,omitzero"` // zero for unconnected UDP sockets
	State  string         `json:"state,omitempty"` // LISTENING, ESTABLISHED, TIME_WAIT, ...
}

// IfCounters are one interface's counters for netstat -e.
type IfCounters struct {
	Name                                                   string `json:"name"`
	RxBytes, RxUnicast, RxNonUnicast, RxDiscards, RxErrors uint64
	RxUnknownProtos                                        uint64
	TxBytes, TxUnicast, TxNonUnicast, TxDiscards, TxErrors uint64
}

// NetstatInfo is what netstat shows besides the protocol counters.
type NetstatInfo struct {
	HostName   string       `json:"hostName"`
	Conns      []NetConn    `json:"conns"`
	Interfaces []IfCounters `json:"interfaces"`
}

// NetstatHost is implemented by hosts that can list their sockets.
type NetstatHost interface {
	Netstat(ctx context.Context) (NetstatInfo, error)
}

// NetstatOptions are netstat's switches that shape the connection list.
type NetstatOptions struct {
	All     bool   // -a: listeners too
	Numeric bool   // -n: no names
	Proto   string // -p: "TCP", "UDP" or "" for both
}

// wellKnown names ports as the services file does (SPEC TOOL-NETSTAT
// without -n).
var wellKnown = map[uint16]string{
	7: "echo", 9: "discard", 13: "daytime", 17: "qotd", 19: "chargen",
	21: "ftp", 23: "telnet", 25: "smtp", 53: "domain", 80: "http", 110: "pop3",
	135: "epmap", 137: "netbios-ns", 138: "netbios-dgm", 139: "netbios-ssn", 443: "https", 445: "microsoft-ds",
}

var stateOrder = map[string]int{"LISTENING": 0}

// FormatConnections renders "Active Connections" like W2K's netstat
// (SPEC TOOL-NETSTAT): without -a listeners are hidden; listeners show
// 0.0.0.0:port 0.0.0.0:0 and UDP rows *:* (a connected UDP socket shows
// its peer) with no state. Rows are sorted by protocol, local then
// foreign address, as Windows does.
func FormatConnections(info NetstatInfo, o NetstatOptions) string {
	var rows []NetConn
	for _, c := range info.Conns {
		if o.Proto != "" && !strings.EqualFold(c.Proto, o.Proto) {
			continue
		}
		if !o.All && (c.State == "LISTENING" || c.Proto == "UDP") {
			continue
		}
		rows = append(rows, c)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		if c := a.Local.Addr().Compare(b.Local.Addr()); c != 0 {
			return c < 0
		}
		if a.Local.Port() != b.Local.Port() {
			return a.Local.Port() < b.Local.Port()
		}
		if c := a.Remote.Compare(b.Remote); c != 0 {
			return c < 0
		}
		return stateOrder[a.State] < stateOrder[b.State]
	})
	var b strings.Builder
	b.WriteString("\nActive Connections\n\n")
	fmt.Fprintf(&b, "  %-7s%-23s%-23s%s\n", "Proto", "Local Address", "Foreign Address", "State")
	for _, c := range rows {
		local := endpointName(c.Local, info.HostName, o.Numeric, true)
		remote := "*:*"
		if c.Proto != "UDP" || c.Remote.IsValid() {
			remote = endpointName(c.Remote, info.HostName, o.Numeric, false)
		}
		line := fmt.Sprintf("  %-7s%-23s%-23s%s", c.Proto, local, remote, c.State)
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}

// endpointName is ADDR:PORT with -n; otherwise the local host's own
// addresses become its name and well-known ports their service names.
// Stapel has no resolver yet, so foreign addresses stay numeric.
func endpointName(ap netip.AddrPort, host string, numeric, local bool) string {
	if !ap.IsValid() {
		ap = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	}
	addr := ap.Addr().String()
	port := strconv.Itoa(int(ap.Port()))
	if numeric {
		return addr + ":" + port
	}
	if local && host != "" {
		addr = host
	}
	if name, ok := wellKnown[ap.Port()]; ok {
		port = name
	} else if ap.Port() == 0 && ap.Addr().IsUnspecified() {
		port = "0"
	}
	return addr + ":" + port
}

// FormatInterfaceStats renders netstat -e ("Interface Statistics"), the
// sum over all interfaces.
func FormatInterfaceStats(ifs []IfCounters) string {
	var s IfCounters
	for _, i := range ifs {
		s.RxBytes += i.RxBytes
		s.RxUnicast += i.RxUnicast
		s.RxNonUnicast += i.RxNonUnicast
		s.RxDiscards += i.RxDiscards
		s.RxErrors += i.RxErrors
		s.RxUnknownProtos += i.RxUnknownProtos
		s.TxBytes += i.TxBytes
		s.TxUnicast += i.TxUnicast
		s.TxNonUnicast += i.TxNonUnicast
		s.TxDiscards += i.TxDiscards
		s.TxErrors += i.TxErrors
	}
	var b strings.Builder
	b.WriteString("Interface Statistics\n\n")
	fmt.Fprintf(&b, "%-27s%-20s%s\n\n", "", "Received", "Sent")
	row := func(label string, rx, tx uint64) {
		fmt.Fprintf(&b, "%-27s%-20d%d\n", label, rx, tx)
	}
	row("Bytes", s.RxBytes, s.TxBytes)
	row("Unicast packets", s.RxUnicast, s.TxUnicast)
	row("Non-unicast packets", s.RxNonUnicast, s.TxNonUnicast)
	row("Discards", s.RxDiscards, s.TxDiscards)
	row("Errors", s.RxErrors, s.TxErrors)
	fmt.Fprintf(&b, "%-27s%d\n", "Unknown protocols", s.RxUnknownProtos)
	return b.String()
}

// FormatStatsProto is netstat -s -p PROTO: only that protocol's block of
// FormatStats (PROTO is IP, ICMP, TCP or UDP; "" = all blocks).
func FormatStatsProto(m map[string]uint64, proto string) (string, error) {
	full := FormatStats(m)
	if proto == "" {
		return full, nil
	}
	want := strings.ToUpper(proto) + " Statistics"
	switch strings.ToUpper(proto) {
	case "IP", "ICMP", "TCP", "UDP":
	default:
		return "", fmt.Errorf("netstat -p %s: protocol must be TCP, UDP, IP or ICMP", proto)
	}
	var b strings.Builder
	in := false
	for _, line := range strings.SplitAfter(full, "\n") {
		t := strings.TrimRight(line, "\n")
		if t != "" && !strings.HasPrefix(t, " ") { // a block title
			in = t == want
			if in {
				b.WriteString("\n")
			}
		}
		if in {
			b.WriteString(line)
		}
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("netstat -s -p %s: the host reports no %s statistics", proto, strings.ToUpper(proto))
	}
	return strings.TrimRight(b.String(), "\n") + "\n", nil
}
