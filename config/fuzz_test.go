package config

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// FuzzParse: no input makes Parse panic, and whatever parses also encodes
// and parses again to the same configuration.
func FuzzParse(f *testing.F) {
	f.Add([]byte(contractFile))
	f.Add([]byte(goodIf + "MTU = 10\nTcpAllowedPorts = [0, 80]\nMAC = \"02:00:00:00:00:01\"\n"))
	f.Add([]byte("[Tcpip.Parameters]\nDefaultTTL = 0xFF\nSearchList = \"a.test b.test\"\n"))
	f.Add([]byte("Interface = [{Name = \"x\"}, 5]\n"))
	f.Add([]byte("[NetBT.Parameters]\n\"InitialRefreshT.O.\" = 960000\nNodeType = 8\n"))
	f.Add([]byte("[[Interface]]\n[[Interface]]\n[Tcpip]\nParameters = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := c.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		c2, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("re-parse of encoded config: %v\n%s", err, buf.String())
		}
		var buf2 bytes.Buffer
		c2.Encode(&buf2)
		if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
			t.Fatalf("encode not stable")
		}
	})
}

// TestManyUnknownKeys: a file full of junk keys is rejected quickly with a
// bounded error list.
func TestManyUnknownKeys(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("[Tcpip.Parameters]\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "K%05d%s = 1\n", i, strings.Repeat("x", 50))
	}
	_, err := Parse(b.Bytes())
	if err == nil {
		t.Fatal("no error")
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != maxErrors {
		t.Errorf("%d errors, want %d", n, maxErrors)
	}
}
