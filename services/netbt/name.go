// Package netbt is Stapel's NetBIOS over TCP/IP name service (RFC 1001 and
// 1002, SPEC §11): the name service packet codec and a B-node that
// registers, defends, releases and resolves names by broadcast on UDP 137.
package netbt

import (
	"errors"
	"fmt"
	"strings"
)

// Name is a 16-byte NetBIOS name (SPEC NBT-2): 15 user bytes padded with
// spaces and a 16th resource-type byte, plus an optional scope ID.
type Name struct {
	Raw   [16]byte
	Scope string // dotted scope ID, "" = none
}

// Well-known suffixes (SPEC NBT-2).
const (
	SuffixWorkstation = 0x00
	SuffixMessenger   = 0x03
	SuffixServer      = 0x20
)

// MaxNameLen is the longest user part of a name.
const MaxNameLen = 15

// NewName builds name[suffix], upper-cased and space padded. "*" is the
// wildcard used by node status requests: it is padded with zero bytes.
func NewName(name string, suffix byte) (Name, error) {
	var n Name
	if name == "" || len(name) > MaxNameLen {
		return n, fmt.Errorf("netbt: name %q: want 1 to %d characters", name, MaxNameLen)
	}
	pad := byte(' ')
	if name == "*" {
		pad = 0
	}
	for i := range 15 {
		n.Raw[i] = pad
	}
	copy(n.Raw[:], strings.ToUpper(name))
	n.Raw[15] = suffix
	return n, nil
}

// MustName is NewName for constant names.
func MustName(name string, suffix byte) Name {
	n, err := NewName(name, suffix)
	if err != nil {
		panic(err)
	}
	return n
}

// WithScope returns n in scope (dotted; "" or "*" = none).
func (n Name) WithScope(scope string) Name {
	if scope == "*" {
		scope = ""
	}
	n.Scope = scope
	return n
}

// Base is the user part without padding.
func (n Name) Base() string {
	return strings.TrimRight(string(n.Raw[:15]), " \x00")
}

// Suffix is the 16th byte.
func (n Name) Suffix() byte { return n.Raw[15] }

// String is the nbtstat form "NAME<1C>" (with ".scope" if any).
func (n Name) String() string {
	s := fmt.Sprintf("%s<%02X>", n.Base(), n.Suffix())
	if n.Scope != "" {
		s += "." + n.Scope
	}
	return s
}

// Equal compares names case-insensitively in scope (the raw bytes are
// upper-cased on the wire, but peers may send lower case).
func (n Name) Equal(m Name) bool {
	return strings.EqualFold(string(n.Raw[:]), string(m.Raw[:])) && strings.EqualFold(n.Scope, m.Scope)
}

// key is a map key for n.
func (n Name) key() string {
	return strings.ToUpper(string(n.Raw[:])) + "." + strings.ToUpper(n.Scope)
}

// Limits from RFC 1002 §4.1 / RFC 1035.
const (
	maxLabel     = 63
	maxNameBytes = 255
	maxPointers  = 16
)

var errName = errors.New("netbt: malformed name")

// appendName writes the first-level encoded name (RFC 1001 §14.1: each
// byte as two letters 'A'+nibble) and the scope labels, uncompressed.
func appendName(b []byte, n Name) ([]byte, error) {
	b = append(b, 32)
	for _, c := range n.Raw {
		b = append(b, 'A'+c>>4, 'A'+c&0x0f)
	}
	if n.Scope != "" {
		total := 34
		for l := range strings.SplitSeq(n.Scope, ".") {
			if l == "" || len(l) > maxLabel {
				return nil, fmt.Errorf("netbt: bad scope %q", n.Scope)
			}
			total += 1 + len(l)
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
		if total > maxNameBytes {
			return nil, fmt.Errorf("netbt: scope %q too long", n.Scope)
		}
	}
	return append(b, 0), nil
}

// readName decodes the name at off in msg, following compression
// pointers (only backwards, at most maxPointers). It returns the name and
// the offset after it in the original position.
func readName(msg []byte, off int) (Name, int, error) {
	var n Name
	var labels []string
	end := -1
	total := 0
	for jumps := 0; ; {
		if off >= len(msg) {
			return n, 0, errName
		}
		l := int(msg[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			if len(labels) == 0 {
				return n, 0, errName // no NetBIOS label at all
			}
			if err := decodeFirst(&n, labels[0]); err != nil {
				return n, 0, err
			}
			n.Scope = strings.Join(labels[1:], ".")
			return n, end, nil
		case l&0xc0 == 0xc0:
			if off+1 >= len(msg) {
				return n, 0, errName
			}
			ptr := (l&0x3f)<<8 | int(msg[off+1])
			if ptr >= off || jumps >= maxPointers {
				return n, 0, errName // forward or looping pointer
			}
			if end < 0 {
				end = off + 2
			}
			jumps++
			off = ptr
		case l&0xc0 != 0:
			return n, 0, errName // reserved label types
		default:
			if off+1+l > len(msg) {
				return n, 0, errName
			}
			total += 1 + l
			if total+1 > maxNameBytes {
				return n, 0, errName
			}
			labels = append(labels, string(msg[off+1:off+1+l]))
			off += 1 + l
		}
	}
}

// decodeFirst undoes the first-level encoding of the 32-letter label.
func decodeFirst(n *Name, s string) error {
	if len(s) != 32 {
		return errName
	}
	for i := range 16 {
		hi, lo := s[2*i]-'A', s[2*i+1]-'A'
		if hi > 15 || lo > 15 {
			// Peers upper-case the letters; lower case is a malformed name.
			return errName
		}
		n.Raw[i] = hi<<4 | lo
	}
	return nil
}
