package config

import (
	"strings"
	"testing"
)

// The Stapel TCP extensions reject values they do not know, naming key and value.
func TestTCPExtensionKeys(t *testing.T) {
	c, err := Parse([]byte("[Tcpip.Parameters]\nCongestionControl = \"cubic\"\nInitialCongestionWindow = 10\nTcpProfile = \"modern\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tcpip.CongestionControl != "cubic" || c.Tcpip.InitialCongestionWindow != 10 || c.Tcpip.TcpProfile != "modern" {
		t.Fatalf("got %+v", c.Tcpip)
	}
	for in, want := range map[string]string{
		"CongestionControl = \"vegas\"": `Tcpip.Parameters.CongestionControl = "vegas": want "reno" or "cubic"`,
		"InitialCongestionWindow = 11":  "Tcpip.Parameters.InitialCongestionWindow = 11: out of range 1..10",
		"TcpProfile = \"fast\"":         `Tcpip.Parameters.TcpProfile = "fast": want "whitepaper" or "modern"`,
	} {
		_, err := Parse([]byte("[Tcpip.Parameters]\n" + in + "\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", in, err, want)
		}
	}
}
