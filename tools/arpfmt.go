package tools

import (
	"fmt"
	"strings"

	"github.com/stapel-net/stapel/wire"
)

// FormatARP renders `arp -a`: one block per interface that has entries.
func FormatARP(tables []ARPTable) string {
	var b strings.Builder
	n := 0
	for _, t := range tables {
		if len(t.Entries) == 0 {
			continue
		}
		n++
		fmt.Fprintf(&b, "\nInterface: %s --- 0x%x\n", t.IfAddr, t.IfIndex)
		fmt.Fprintf(&b, "  %-22s%-22s%s\n", "Internet Address", "Physical Address", "Type")
		for _, e := range t.Entries {
			typ := "dynamic"
			if e.Static {
				typ = "static"
			} else if e.Incomplete {
				typ = "invalid"
			}
			fmt.Fprintf(&b, "  %-22s%-22s%s\n", e.IP, WindowsMAC(e.MAC, false), typ)
		}
	}
	if n == 0 {
		return "No ARP Entries Found\n"
	}
	return b.String()
}

// WindowsMAC turns "aa:bb:.." into "aa-bb-.." (upper case for ipconfig).
// An empty or unparsable MAC prints as Windows shows an incomplete entry.
func WindowsMAC(s string, upper bool) string {
	m, err := wire.ParseMAC(s)
	if err != nil {
		return "00-00-00-00-00-00"
	}
	w := m.Windows()
	if upper {
		w = strings.ToUpper(w)
	}
	return w
}
