package tools

import (
	"fmt"
	"sort"
	"strings"
)

type statRow struct{ label, name string }

var ipRows = []statRow{
	{"Packets Received", "ipInReceives"},
	{"Received Header Errors", "ipInHdrErrors"},
	{"Received Address Errors", "ipInAddrErrors"},
	{"Datagrams Forwarded", "ipForwDatagrams"},
	{"Unknown Protocols Received", "ipInUnknownProtos"},
	{"Received Packets Discarded", "ipInDiscards"},
	{"Received Packets Delivered", "ipInDelivers"},
	{"Output Requests", "ipOutRequests"},
	{"Routing Discards", "ipRoutingDiscards"},
	{"Discarded Output Packets", "ipOutDiscards"},
	{"Output Packet No Route", "ipOutNoRoutes"},
	{"Reassembly Required", "ipReasmReqds"},
	{"Reassembly Successful", "ipReasmOKs"},
	{"Reassembly Failures", "ipReasmFails"},
	{"Datagrams Successfully Fragmented", "ipFragOKs"},
	{"Datagrams Failing Fragmentation", "ipFragFails"},
	{"Fragments Created", "ipFragCreates"},
}

// ICMP rows: label and the MIB suffix after icmpIn / icmpOut.
var icmpRows = []statRow{
	{"Messages", "Msgs"},
	{"Errors", "Errors"},
	{"Destination Unreachable", "DestUnreachs"},
	{"Time Exceeded", "TimeExcds"},
	{"Parameter Problems", "ParmProbs"},
	{"Source Quenches", "SrcQuenchs"},
	{"Redirects", "Redirects"},
	{"Echos", "Echos"},
	{"Echo Replies", "EchoReps"},
	{"Timestamps", "Timestamps"},
	{"Timestamp Replies", "TimestampReps"},
	{"Address Masks", "AddrMasks"},
	{"Address Mask Replies", "AddrMaskReps"},
}

var tcpRows = []statRow{
	{"Active Opens", "tcpActiveOpens"},
	{"Passive Opens", "tcpPassiveOpens"},
	{"Failed Connection Attempts", "tcpAttemptFails"},
	{"Reset Connections", "tcpEstabResets"},
	{"Current Connections", "tcpCurrEstab"},
	{"Segments Received", "tcpInSegs"},
	{"Segments Sent", "tcpOutSegs"},
	{"Segments Retransmitted", "tcpRetransSegs"},
}

var udpRows = []statRow{
	{"Datagrams Received", "udpInDatagrams"},
	{"No Ports", "udpNoPorts"},
	{"Receive Errors", "udpInErrors"},
	{"Datagrams Sent", "udpOutDatagrams"},
}

// FormatStats renders counters like `netstat -s`, then any other non-zero
// Stapel counters by name. TCP appears once the stack reports it.
func FormatStats(m map[string]uint64) string {
	var b strings.Builder
	used := map[string]bool{}
	block := func(title string, rows []statRow) {
		fmt.Fprintf(&b, "\n%s\n\n", title)
		for _, r := range rows {
			used[r.name] = true
			fmt.Fprintf(&b, "  %-35s= %d\n", r.label, m[r.name])
		}
	}
	block("IP Statistics", ipRows)
	fmt.Fprintf(&b, "\nICMP Statistics\n\n  %-26s%-12s%s\n", "", "Received", "Sent")
	for _, r := range icmpRows {
		in, out := "icmpIn"+r.name, "icmpOut"+r.name
		used[in], used[out] = true, true
		fmt.Fprintf(&b, "  %-26s%-12d%d\n", r.label, m[in], m[out])
	}
	if _, ok := m["tcpActiveOpens"]; ok {
		block("TCP Statistics", tcpRows)
	}
	block("UDP Statistics", udpRows)
	var rest []string
	for k, v := range m {
		if !used[k] && v != 0 {
			rest = append(rest, k)
		}
	}
	if len(rest) > 0 {
		sort.Strings(rest)
		b.WriteString("\nStapel Counters\n\n")
		for _, k := range rest {
			fmt.Fprintf(&b, "  %-35s= %d\n", k, m[k])
		}
	}
	return b.String()
}
