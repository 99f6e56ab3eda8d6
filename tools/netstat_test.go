package tools

import (
	"net/netip"
	"strings"
	"testing"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

var netstatSample = NetstatInfo{
	HostName: "stapel1",
	Conns: []NetConn{
		{Proto: "TCP", Local: ap("198.18.0.2:1025"), Remote: ap("198.18.0.1:80"), State: "ESTABLISHED"},
		{Proto: "TCP", Local: ap("0.0.0.0:7"), Remote: ap("0.0.0.0:0"), State: "LISTENING"},
		{Proto: "TCP", Local: ap("198.18.0.2:7"), Remote: ap("198.18.0.1:40000"), State: "TIME_WAIT"},
		{Proto: "TCP", Local: ap("0.0.0.0:19"), Remote: ap("0.0.0.0:0"), State: "LISTENING"},
		{Proto: "UDP", Local: ap("0.0.0.0:7")},
		{Proto: "UDP", Local: ap("198.18.0.2:1026"), Remote: ap("198.18.0.1:53")},
		{Proto: "UDP", Local: ap("0.0.0.0:19")},
		{Proto: "UDP", Local: ap("198.18.0.2:137")},
	},
	Interfaces: []IfCounters{
		{Name: "lan0", RxBytes: 143090206, RxUnicast: 220367, RxNonUnicast: 1802, RxUnknownProtos: 1,
			TxBytes: 44998789, TxUnicast: 222023, TxNonUnicast: 1049},
		{Name: "lan1", RxBytes: 4, TxBytes: 1, RxDiscards: 2, TxErrors: 3},
	},
}

// SPEC: TOOL-NETSTAT (-an: Proto/Local/Foreign/State columns, listeners
// as 0.0.0.0:port 0.0.0.0:0, UDP rows *:* with no state, sorted by local
// address; a connected UDP socket shows its peer)
func TestFormatConnectionsGolden(t *testing.T) {
	got := FormatConnections(netstatSample, NetstatOptions{All: true, Numeric: true})
	want := `
Active Connections

  Proto  Local Address          Foreign Address        State
  TCP    0.0.0.0:7              0.0.0.0:0              LISTENING
  TCP    0.0.0.0:19             0.0.0.0:0              LISTENING
  TCP    198.18.0.2:7           198.18.0.1:40000       TIME_WAIT
  TCP    198.18.0.2:1025        198.18.0.1:80          ESTABLISHED
  UDP    0.0.0.0:7              *:*
  UDP    0.0.0.0:19             *:*
  UDP    198.18.0.2:137         *:*
  UDP    198.18.0.2:1026        198.18.0.1:53
`
	if got != want {
		t.Errorf("netstat -an:\n%s\nwant:\n%s", got, want)
	}
	// -a without -n: UDP ports by service name, foreign still *:*.
	got = FormatConnections(netstatSample, NetstatOptions{All: true, Proto: "UDP"})
	want = `
Active Connections

  Proto  Local Address          Foreign Address        State
  UDP    stapel1:echo           *:*
  UDP    stapel1:chargen        *:*
  UDP    stapel1:netbios-ns     *:*
  UDP    stapel1:1026           198.18.0.1:domain
`
	if got != want {
		t.Errorf("netstat -a -p UDP:\n%s\nwant:\n%s", got, want)
	}
	// Without -a listeners (and UDP) are hidden; without -n local
	// addresses are the host name and well-known ports are names.
	got = FormatConnections(netstatSample, NetstatOptions{})
	want = `
Active Connections

  Proto  Local Address          Foreign Address        State
  TCP    stapel1:echo           198.18.0.1:40000       TIME_WAIT
  TCP    stapel1:1025           198.18.0.1:http        ESTABLISHED
`
	if got != want {
		t.Errorf("netstat:\n%s\nwant:\n%s", got, want)
	}
	got = FormatConnections(netstatSample, NetstatOptions{All: true, Numeric: true, Proto: "udp"})
	if strings.Contains(got, "TCP") || !strings.Contains(got, "UDP    0.0.0.0:7  ") {
		t.Errorf("netstat -an -p udp:\n%s", got)
	}
}

// SPEC: TOOL-NETSTAT (-e: Received/Sent columns; Unknown protocols
// received only)
func TestFormatInterfaceStatsGolden(t *testing.T) {
	got := FormatInterfaceStats(netstatSample.Interfaces)
	want := `Interface Statistics

                           Received            Sent

Bytes                      143090210           44998790
Unicast packets            220367              222023
Non-unicast packets        1802                1049
Discards                   2                   0
Errors                     0                   3
Unknown protocols          1
`
	if got != want {
		t.Errorf("netstat -e:\n%s\nwant:\n%s", got, want)
	}
}

// SPEC: TOOL-NETSTAT (-s -p TCP: the whitepaper's TCP labels only)
func TestFormatStatsProto(t *testing.T) {
	m := map[string]uint64{"tcpActiveOpens": 3, "tcpPassiveOpens": 4, "tcpAttemptFails": 1, "tcpEstabResets": 2,
		"tcpCurrEstab": 1, "tcpInSegs": 100, "tcpOutSegs": 90, "tcpRetransSegs": 5, "udpInDatagrams": 9}
	got, err := FormatStatsProto(m, "tcp")
	if err != nil {
		t.Fatal(err)
	}
	want := `
TCP Statistics

  Active Opens                       = 3
  Passive Opens                      = 4
  Failed Connection Attempts         = 1
  Reset Connections                  = 2
  Current Connections                = 1
  Segments Received                  = 100
  Segments Sent                      = 90
  Segments Retransmitted             = 5
`
	if got != want {
		t.Errorf("netstat -s -p tcp:\n%q\nwant:\n%q", got, want)
	}
	if s, _ := FormatStatsProto(m, "udp"); !strings.Contains(s, "Datagrams Received                 = 9") || strings.Contains(s, "TCP") {
		t.Errorf("-p udp:\n%s", s)
	}
	if _, err := FormatStatsProto(m, "sctp"); err == nil {
		t.Error("-p sctp accepted")
	}
	delete(m, "tcpActiveOpens")
	if _, err := FormatStatsProto(m, "tcp"); err == nil {
		t.Error("-s -p tcp without TCP counters: no error")
	}
}
