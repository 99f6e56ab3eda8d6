package interop

import (
	"strings"
	"testing"
	"time"
)

// ipconfigFields reads "Label . . . : value" lines into label -> values.
func ipconfigFields(out string) map[string][]string {
	m := map[string][]string{}
	for _, l := range strings.Split(out, "\n") {
		label, value, ok := strings.Cut(l, ": ")
		if !ok {
			continue
		}
		label = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(label), ". "))
		m[label] = append(m[label], strings.TrimSpace(value))
	}
	return m
}

func has(vals []string, want string) bool {
	for _, v := range vals {
		if strings.EqualFold(v, want) {
			return true
		}
	}
	return false
}

// TestIPConfigAll: ipconfig /all shows the configured address, mask and
// gateway, and the MAC the kernel side sees Stapel use.
// SPEC: TOOL-IPCONFIG
func TestIPConfigAll(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{})
	mac := e.StapelMAC(t)
	r := e.Tool(t, 10*time.Second, "ipconfig", "/all")
	if r.Code != 0 {
		t.Fatalf("stapel ipconfig /all: exit %d\n%s", r.Code, r.Output())
	}
	f := ipconfigFields(r.Stdout)
	for _, c := range []struct{ label, want string }{
		{"IP Address", stapelIP},
		{"Subnet Mask", "255.255.255.0"},
		{"Default Gateway", linuxIP},
		{"Physical Address", strings.ReplaceAll(mac, ":", "-")}, // 02-53-.. (Windows format)
	} {
		if !has(f[c.label], c.want) {
			t.Errorf("ipconfig /all: %s should be %s, got %q", c.label, c.want, f[c.label])
		}
	}
	if !strings.Contains(r.Stdout, "Ethernet adapter lan0:") {
		t.Errorf("ipconfig /all should name the adapter lan0:\n%s", r.Stdout)
	}
	if !has(f["DHCP Enabled"], "No") {
		t.Errorf("DHCP Enabled should be No for a static address, got %q", f["DHCP Enabled"])
	}
	if t.Failed() {
		t.Logf("ipconfig /all output:\n%s", r.Stdout)
	}
}
