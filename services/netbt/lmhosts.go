package netbt

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// LmhostsEntry is one LMHOSTS line "address name [#PRE] [#DOM:domain]".
type LmhostsEntry struct {
	Addr netip.Addr
	// Name is the user part; Suffix is set (Exact) only when the line
	// spells the 16th byte as "\0xNN" in a quoted 16-character name.
	Name   string
	Suffix byte
	Exact  bool
	Pre    bool
}

// names are the names the entry answers for: the exact one, or the
// computer's workstation, messenger and server names, as Windows
// preloads a plain LMHOSTS name.
func (e LmhostsEntry) names(scope string) []Name {
	suffixes := []byte{SuffixWorkstation, SuffixMessenger, SuffixServer}
	if e.Exact {
		suffixes = []byte{e.Suffix}
	}
	out := make([]Name, 0, len(suffixes))
	for _, s := range suffixes {
		nm, err := NewName(e.Name, s)
		if err == nil {
			out = append(out, nm.WithScope(scope))
		}
	}
	return out
}

// maxLmhostsLines bounds what ParseLmhosts reads.
const maxLmhostsLines = 100000

// ParseLmhosts reads an LMHOSTS file (SPEC NBT-3). '#' starts a comment
// except for the keywords #PRE and #DOM:; #INCLUDE and the alternate
// blocks are not supported and skipped. Bad lines are returned as
// warnings, not errors.
func ParseLmhosts(r io.Reader) (entries []LmhostsEntry, warnings []string) {
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() && line < maxLmhostsLines {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		e, err := parseLmhostsLine(s)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("lmhosts line %d: %v", line, err))
			continue
		}
		entries = append(entries, e)
	}
	return entries, warnings
}

func parseLmhostsLine(s string) (LmhostsEntry, error) {
	var e LmhostsEntry
	f := strings.Fields(s)
	a, err := netip.ParseAddr(f[0])
	if err != nil || !a.Is4() {
		return e, fmt.Errorf("bad address %q", f[0])
	}
	e.Addr = a
	rest := strings.TrimSpace(s[len(f[0]):])
	if rest == "" {
		return e, fmt.Errorf("no name")
	}
	var name string
	if rest[0] == '"' {
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			return e, fmt.Errorf("unterminated quoted name")
		}
		name, rest = rest[1:1+end], rest[2+end:]
		if i := strings.Index(name, `\0x`); i >= 0 && i+5 == len(name) {
			v, err := strconv.ParseUint(name[i+3:], 16, 8)
			if err != nil {
				return e, fmt.Errorf("bad suffix in %q", name)
			}
			e.Suffix, e.Exact = byte(v), true
			name = strings.TrimRight(name[:i], " ")
		}
	} else {
		g := strings.Fields(rest)
		name, rest = g[0], strings.TrimSpace(rest[len(g[0]):])
	}
	if name == "" || len(name) > MaxNameLen {
		return e, fmt.Errorf("name %q: want 1 to %d characters", name, MaxNameLen)
	}
	e.Name = strings.ToUpper(name)
	for _, k := range strings.Fields(rest) {
		if strings.EqualFold(k, "#PRE") {
			e.Pre = true
		}
		// #DOM: and anything after a plain '#' is a comment for a B-node.
	}
	return e, nil
}
