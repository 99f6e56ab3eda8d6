package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodIf = `[[Interface]]
Name = "lan0"
Tap = "stptap0"
IPAddress = ["198.18.0.2"]
SubnetMask = ["255.255.255.0"]
`

// TestErrors: every kind of problem is reported with the key path, the
// offending value and what is allowed.
func TestErrors(t *testing.T) {
	cases := []struct {
		name, file, want string
	}{
		{"syntax", "[Tcpip.Parameters\n", "config: line "},
		{"unknown key with suggestion", "[Tcpip.Parameters]\nDefaultTTl2 = 1\n",
			"config: unknown key Tcpip.Parameters.DefaultTTl2 (did you mean DefaultTTL?)"},
		{"unknown key", "[AFD.Parameters]\nNoSuchThing = 1\n",
			"config: unknown key AFD.Parameters.NoSuchThing"},
		{"unknown table", "[Tcpipp.Parameters]\nDefaultTTL = 1\n",
			"config: unknown key Tcpipp (did you mean Tcpip?)"},
		{"unknown subtable", "[Tcpip.Params]\nDefaultTTL = 1\n",
			"config: unknown key Tcpip.Params (only [Tcpip.Parameters] is known)"},
		{"unknown interface key", goodIf + "Gateway = \"198.18.0.1\"\n",
			"config: unknown key Interface[0].Gateway"},
		{"duplicate key by case", "[Tcpip.Parameters]\nDefaultTTL = 1\ndefaultttl = 2\n",
			"config: Tcpip.Parameters.defaultttl: same key as DefaultTTL (keys are case-insensitive)"},
		{"out of range", "[Tcpip.Parameters]\nDefaultTTL = 300\n",
			"config: Tcpip.Parameters.DefaultTTL = 300: out of range 0..255"},
		{"out of range hex", "[Tcpip.Parameters]\nMaxNumForwardPackets = 0x100000000\n",
			"config: Tcpip.Parameters.MaxNumForwardPackets = 4294967296: out of range 1..0xFFFFFFFF"},
		{"negative", "[Tcpip.Parameters]\nArpCacheLife = -5\n",
			"config: Tcpip.Parameters.ArpCacheLife = -5: out of range 0..0xFFFFFFFF"},
		{"absent allowed but not -2", "[Tcpip.Parameters]\nTcp1323Opts = -2\n",
			"config: Tcpip.Parameters.Tcp1323Opts = -2: out of range 0..3, or -1 for absent"},
		{"set", "[NetBT.Parameters]\nNodeType = 3\n",
			"config: NetBT.Parameters.NodeType = 3: not one of 1, 2, 4, 8, or -1 for absent"},
		{"quoted key", "[NetBT.Parameters]\n\"InitialRefreshT.O.\" = 5\n",
			`config: NetBT.Parameters."InitialRefreshT.O." = 5: out of range 960000..0xFFFFFFFF`},
		{"prime", "[Dnscache.Parameters]\nCacheHashTableSize = 210\n",
			"config: Dnscache.Parameters.CacheHashTableSize = 210: not a prime in 1..0xFFFFFFFF"},
		{"interface range", goodIf + "TcpDelAckTicks = 7\n",
			"config: Interface[0].TcpDelAckTicks = 7: out of range 0..6"},
		{"list element range", goodIf + "UdpAllowedPorts = [53, 70000]\n",
			"config: Interface[0].UdpAllowedPorts[1] = 70000: out of range 0..65535"},
		{"type int", "[Tcpip.Parameters]\nDefaultTTL = \"128\"\n",
			`config: Tcpip.Parameters.DefaultTTL = "128": want an integer, got a string`},
		{"type bool", goodIf + "UseZeroBroadcast = 2\n",
			"config: Interface[0].UseZeroBroadcast = 2: want true/false or 0/1"},
		{"type string", goodIf + "Domain = 5\n",
			"config: Interface[0].Domain = 5: want a string, got an integer"},
		{"type list element", goodIf + "DefaultGateway = [\"198.18.0.1\", 7]\n",
			"config: Interface[0].DefaultGateway[1] = 7: want a string, got an integer"},
		{"type table", "Tcpip = 5\n", "config: Tcpip = 5: want a table [Tcpip.Parameters]"},
		{"interface not array", "[Interface]\nName = \"lan0\"\n",
			"config: Interface = {...}: want an array of tables [[Interface]]"},
		{"bad address", strings.Replace(goodIf, "198.18.0.2", "198.18.0.300", 1),
			`config: Interface[0].IPAddress[0] = "198.18.0.300": not an IPv4 address`},
		{"ipv6 address", strings.Replace(goodIf, "198.18.0.2", "2001:db8::1", 1),
			`config: Interface[0].IPAddress[0] = "2001:db8::1": not an IPv4 address`},
		{"multicast address", strings.Replace(goodIf, "198.18.0.2", "224.0.0.5", 1),
			`config: Interface[0].IPAddress[0] = "224.0.0.5": not a unicast host address`},
		{"network address", strings.Replace(goodIf, "198.18.0.2", "198.18.0.0", 1),
			`config: Interface[0].IPAddress[0] = "198.18.0.0": is the network address of 198.18.0.0/24`},
		{"broadcast address", strings.Replace(goodIf, "198.18.0.2", "198.18.0.255", 1),
			`config: Interface[0].IPAddress[0] = "198.18.0.255": is the broadcast address of 198.18.0.0/24`},
		{"bad mask", strings.Replace(goodIf, "255.255.255.0", "255.0.255.0", 1),
			`config: Interface[0].SubnetMask[0] = "255.0.255.0": mask bits are not contiguous`},
		{"bad gateway", goodIf + "DefaultGateway = [\"198.18.0.x\"]\n",
			`config: Interface[0].DefaultGateway[0] = "198.18.0.x": not an IPv4 address`},
		{"broadcast gateway", goodIf + "DefaultGateway = [\"255.255.255.255\"]\n",
			`config: Interface[0].DefaultGateway[0] = "255.255.255.255": not a unicast address`},
		{"too many metrics", goodIf + "DefaultGateway = [\"198.18.0.1\"]\nDefaultGatewayMetric = [1, 2]\n",
			"config: Interface[0].DefaultGatewayMetric: 2 metrics for 1 gateways"},
		{"bad name server", goodIf + "NameServer = \"198.51.100.1 bogus\"\n",
			`config: Interface[0].NameServer[1] = "bogus": not an IPv4 address`},
		{"count mismatch", goodIf + "\n", ""}, // placeholder replaced below
		{"zero mixed (IP-21)", goodIf + "TcpAllowedPorts = [\"0\", \"80\"]\n",
			"config: Interface[0].TcpAllowedPorts = [0, 80]: 0 (allow all) cannot be mixed with other values (SPEC IP-21)"},
		{"duplicate name", goodIf + strings.Replace(goodIf, "stptap0", "stptap1", 1),
			`config: Interface[1].Name = "lan0": already used by Interface[0]`},
		{"duplicate tap", goodIf + strings.Replace(goodIf, "lan0", "lan1", 1),
			`config: Interface[1].Tap = "stptap0": already used by Interface[0]`},
		{"missing name", "[[Interface]]\nTap = \"stptap0\"\n",
			"config: Interface[0].Name: missing; every [[Interface]] needs a Name"},
		{"bad tap", strings.Replace(goodIf, "stptap0", "stptap0-far-too-long", 1),
			`config: Interface[0].Tap = "stptap0-far-too-long": not a Linux device name`},
		{"bad mac", goodIf + "MAC = \"02:00:00:00:00\"\n",
			`config: Interface[0].MAC = "02:00:00:00:00": not a MAC address`},
		{"multicast mac", goodIf + "MAC = \"01:00:5e:00:00:01\"\n",
			`config: Interface[0].MAC = "01:00:5e:00:00:01": must be a unicast, non-zero address`},
		{"forward memory", "[Tcpip.Parameters]\nMaxForwardBufferMemory = 1000\n",
			"config: Tcpip.Parameters.MaxForwardBufferMemory = 1000: must be at least ForwardBufferMemory (74240)"},
		{"route", "[Tcpip.Parameters]\nPersistentRoutes = [\"198.51.100.1,255.255.255.0,198.18.0.1,1\"]\n",
			`config: Tcpip.Parameters.PersistentRoutes[0] = "198.51.100.1,255.255.255.0,198.18.0.1,1": destination 198.51.100.1 has bits outside mask 255.255.255.0`},
		{"hostname", "[Tcpip.Parameters]\nHostname = \"bad host\"\n",
			`config: Tcpip.Parameters.Hostname = "bad host": not a valid host name`},
		{"quote", "[Services]\nQuote = \"" + strings.Repeat("x", 600) + "\"\n",
			"config: Services.Quote: 600 bytes, at most 512 (RFC 865)"},
		{"too many interfaces", strings.Repeat("[[Interface]]\n", 65), "config: Interface: 65 interfaces, at most 64 allowed"},
	}
	cases[32].file = goodIf + "IPAddress = [\"198.18.0.2\", \"198.18.1.2\"]\n"
	cases[32].file = strings.Replace(cases[32].file, "IPAddress = [\"198.18.0.2\"]\n", "", 1)
	cases[32].want = "config: Interface[0]: 2 IPAddress entries but 1 SubnetMask entries; they must pair up"
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.file))
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tt.want)
			}
			if c != nil {
				t.Errorf("config returned with error")
			}
		})
	}
}

// TestAllErrorsAtOnce: one Parse reports every problem, not just the first.
func TestAllErrorsAtOnce(t *testing.T) {
	_, err := Parse([]byte("[Tcpip.Parameters]\nDefaultTTL = 300\nArpRetryCount = 9\nBogus = 1\n"))
	if err == nil {
		t.Fatal("no error")
	}
	// Unknown keys and types are found while decoding; ranges are checked
	// only once the file decoded, so fix-one-at-a-time needs two rounds.
	for _, want := range []string{"unknown key Tcpip.Parameters.Bogus"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	_, err = Parse([]byte("[Tcpip.Parameters]\nDefaultTTL = 300\nArpRetryCount = 9\n"))
	for _, want := range []string{"DefaultTTL = 300", "ArpRetryCount = 9: out of range 1..3"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func TestWarnings(t *testing.T) {
	c, err := Parse([]byte(goodIf + "MTU = 40\n[Tcpip.Parameters]\nMaxUserPort = 70000\nDefaultTTL = 0\nMaxHashTableSize = 100\n"))
	if err != nil {
		t.Fatal(err)
	}
	// SPEC AMB-2: MTU below 68 is raised to 68.
	if c.Interfaces[0].MTU != 68 || c.Interfaces[0].EffectiveMTU(1500) != 68 {
		t.Errorf("MTU = %d", c.Interfaces[0].MTU)
	}
	// SPEC TCP-PORT-1: MaxUserPort clamps to the nearest bound.
	if c.Tcpip.MaxUserPort != 65534 {
		t.Errorf("MaxUserPort = %d", c.Tcpip.MaxUserPort)
	}
	if c.Tcpip.MaxHashTableSize != 128 {
		t.Errorf("MaxHashTableSize = %d", c.Tcpip.MaxHashTableSize)
	}
	want := []string{
		"config: Tcpip.Parameters.MaxUserPort = 70000: out of range 5000..65534, using 65534",
		"config: Tcpip.Parameters.DefaultTTL = 0: allowed by the whitepaper, but the first router discards such datagrams",
		"config: Tcpip.Parameters.MaxHashTableSize = 100: not a power of two, rounded up to 128",
		"config: Interface[0].MTU = 40: below 68, using 68 (SPEC AMB-2)",
	}
	got := strings.Join(c.Warnings, "\n")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("warnings:\n%s\nmissing:\n%s", got, w)
		}
	}
	if len(c.Warnings) != len(want) {
		t.Errorf("%d warnings, want %d", len(c.Warnings), len(want))
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "stapel.toml")
	if err := os.WriteFile(p, []byte(contractFile), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil || len(c.Interfaces) != 1 {
		t.Fatalf("Load: %v", err)
	}
	if err := os.WriteFile(p, []byte("[Tcpip.Parameters]\nDefaultTTL = 300\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(p)
	if err == nil || !strings.Contains(err.Error(), "DefaultTTL = 300") || !strings.Contains(err.Error(), p) {
		t.Errorf("Load error %v does not name key and file", err)
	}
	_, err = Load(filepath.Join(dir, "missing.toml"))
	if err == nil || !strings.Contains(err.Error(), "missing.toml") {
		t.Errorf("Load of missing file: %v", err)
	}
}
