package config

import (
	"bytes"
	"reflect"
	"testing"
)

func TestEncodeDefaultRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := Default().Encode(&buf); err != nil {
		t.Fatal(err)
	}
	c, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	c.set = nil // which keys the text gave is not part of the values
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("round trip differs")
	}
	if !bytes.Contains(buf.Bytes(), []byte("# [[Interface]]\n# Interface name")) {
		t.Errorf("no commented example interface")
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	c, err := Parse([]byte(contractFile + `
[[Interface]]
Name = "wan \"1\" \\ ü"
Tap = "stptap1"
MAC = "02:00:00:00:00:01"
MTU = 1400
IPAddress = ["203.0.113.5", "203.0.113.9"]
SubnetMask = ["255.255.255.0", "255.255.255.128"]
TcpAllowedPorts = []
UdpAllowedPorts = [53, 67]
IPAutoconfigurationEnabled = 0
`))
	if err != nil {
		t.Fatal(err)
	}
	c.Tcpip.Tcp1323Opts = 3
	c.Tcpip.SearchList = []string{"example.test", "other.test"}
	var buf bytes.Buffer
	if err := c.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	c2, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	c.set, c2.set = nil, nil // the encoding gives every key; the source gave a few
	if !reflect.DeepEqual(c, c2) {
		t.Errorf("round trip differs:\n%+v\n%+v", c.Interfaces, c2.Interfaces)
	}
	if c2.Interfaces[1].TcpAllowedPorts == nil || len(c2.Interfaces[1].TcpAllowedPorts) != 0 {
		t.Errorf("empty allow-list not kept: %#v", c2.Interfaces[1].TcpAllowedPorts)
	}
}
