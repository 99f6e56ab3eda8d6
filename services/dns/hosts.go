package dns

import (
	"bufio"
	"io"
	"net/netip"
	"os"
	"strings"
)

// Hosts is a parsed hosts file (DNS-1 step 2, DNS-2 step 1): lines of
// "address name [alias...]", '#' starting a comment.
type Hosts struct {
	byName map[string][]netip.Addr
	byAddr map[netip.Addr]string
}

// maxHostsBytes bounds how much of a hosts file is read.
const maxHostsBytes = 4 << 20

// ParseHosts reads a hosts file; malformed lines are skipped, as the
// Windows resolver does.
func ParseHosts(r io.Reader) *Hosts {
	h := &Hosts{byName: map[string][]netip.Addr{}, byAddr: map[netip.Addr]string{}}
	sc := bufio.NewScanner(io.LimitReader(r, maxHostsBytes))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		a = a.Unmap()
		for _, n := range f[1:] {
			if _, err := SplitName(n); err != nil {
				continue
			}
			k := CanonicalName(n)
			h.byName[k] = append(h.byName[k], a)
		}
		if _, ok := h.byAddr[a]; !ok {
			h.byAddr[a] = strings.TrimSuffix(f[1], ".")
		}
	}
	return h
}

// LoadHosts reads the hosts file at path.
func LoadHosts(path string) (*Hosts, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseHosts(f), nil
}

// Addrs returns the addresses of name (IPv4 for A, IPv6 for AAAA).
func (h *Hosts) Addrs(name string, qtype uint16) []netip.Addr {
	if h == nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range h.byName[CanonicalName(name)] {
		if a.Is4() == (qtype == TypeA) {
			out = append(out, a)
		}
	}
	return out
}

// Name returns the first name listed for a.
func (h *Hosts) Name(a netip.Addr) (string, bool) {
	if h == nil {
		return "", false
	}
	n, ok := h.byAddr[a.Unmap()]
	return n, ok
}
