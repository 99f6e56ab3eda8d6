package daemon

import (
	"testing"

	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/tcp"
)

func parseCfg(t *testing.T, s string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The Stapel keys CongestionControl and InitialCongestionWindow reach
// tcp.Params under the whitepaper profile; defaults are reno and IW2
// (SPEC TCP-CC-1).
func TestTCPParamsCongestionKeys(t *testing.T) {
	def := TCPParams(config.Default())
	if def != tcp.DefaultParams() {
		t.Errorf("default config:\n%+v\nwant tcp.DefaultParams:\n%+v", def, tcp.DefaultParams())
	}
	p := TCPParams(parseCfg(t, `
[Tcpip.Parameters]
CongestionControl = "Cubic"
InitialCongestionWindow = 10
`))
	if p.CongestionControl != tcp.CCCubic || p.InitialWindow != 10 {
		t.Errorf("cubic/IW10: got %q, %d", p.CongestionControl, p.InitialWindow)
	}
	p = TCPParams(parseCfg(t, "[Tcpip.Parameters]\nInitialCongestionWindow = 1\n"))
	if p.CongestionControl != tcp.CCReno || p.InitialWindow != 1 {
		t.Errorf("reno/IW1: got %q, %d", p.CongestionControl, p.InitialWindow)
	}
}

// TcpProfile = "modern" is tcp.ModernParams except for the keys the file
// gives: those win, even when given with their whitepaper default.
func TestTCPParamsModernProfile(t *testing.T) {
	const iface = `
[[Interface]]
Name = "lan"
IPAddress = ["198.51.100.10"]
SubnetMask = ["255.255.255.0"]
`
	p := TCPParams(parseCfg(t, "[Tcpip.Parameters]\nTcpProfile = \"modern\"\n"+iface))
	if want := tcp.ModernParams(); p != want {
		t.Errorf("modern with defaults:\n%+v\nwant tcp.ModernParams:\n%+v", p, want)
	}
	p = TCPParams(parseCfg(t, `
[Tcpip.Parameters]
TcpProfile = "modern"
Tcp1323Opts = 1
TcpWindowSize = 65535
TcpMaxDataRetransmissions = 8
InitialCongestionWindow = 4
CongestionControl = "reno"
`+iface+"TcpDelAckTicks = 0\n"))
	want := tcp.ModernParams()
	want.Tcp1323Opts = 1
	want.TcpWindowSize = 65535
	want.TcpMaxDataRetransmissions = 8
	want.InitialWindow = 4
	want.TcpDelAckTicks = 0
	want.CongestionControl = "reno" // the key's default, but given explicitly
	if p != want {
		t.Errorf("modern with overrides:\n%+v\nwant\n%+v", p, want)
	}
	// Whitepaper profile, spelled out, is the default mapping.
	if p := TCPParams(parseCfg(t, "[Tcpip.Parameters]\nTcpProfile = \"whitepaper\"\n")); p != tcp.DefaultParams() {
		t.Errorf("whitepaper profile: %+v", p)
	}
}
