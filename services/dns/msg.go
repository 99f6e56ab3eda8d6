// Package dns is Stapel's DNS client (SPEC §13): an RFC 1035 message
// codec, a stub resolver over the stack's UDP (DNS-3, DNS-4, DNS-5), the
// caching resolver service with its hosts file (DNS-1, DNS-2, DNS-6) and
// the nslookup output format (SPEC §18).
package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Record types and the class this package handles.
const (
	TypeA     uint16 = 1
	TypeNS    uint16 = 2
	TypeCNAME uint16 = 5
	TypeSOA   uint16 = 6
	TypePTR   uint16 = 12
	TypeMX    uint16 = 15
	TypeTXT   uint16 = 16
	TypeAAAA  uint16 = 28
	TypeANY   uint16 = 255
	ClassIN   uint16 = 1
	// ClassNONE and ClassANY mark RFC 2136 prerequisites and deletions.
	ClassNONE uint16 = 254
	ClassANY  uint16 = 255
)

// Response codes (RFC 1035 4.1.1).
const (
	RCodeSuccess   = 0
	RCodeFormErr   = 1
	RCodeServFail  = 2
	RCodeNXDomain  = 3
	RCodeNotImp    = 4
	RCodeRefused   = 5
	OpcodeQuery    = 0
	OpcodeUpdate   = 5 // RFC 2136
	maxNameLen     = 255
	maxLabelLen    = 63
	maxMessageSize = 65535
	headerLen      = 12
)

var typeNames = map[uint16]string{TypeA: "A", TypeNS: "NS", TypeCNAME: "CNAME", TypeSOA: "SOA",
	TypePTR: "PTR", TypeMX: "MX", TypeTXT: "TXT", TypeAAAA: "AAAA", TypeANY: "ANY"}

// TypeString names a record type ("A", or "TYPE99" for unknown ones).
func TypeString(t uint16) string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// ParseType is the inverse of TypeString (case-insensitive).
func ParseType(s string) (uint16, bool) {
	s = strings.ToUpper(s)
	for t, n := range typeNames {
		if n == s {
			return t, true
		}
	}
	if v, ok := strings.CutPrefix(s, "TYPE"); ok {
		if n, err := strconv.ParseUint(v, 10, 16); err == nil {
			return uint16(n), true
		}
	}
	return 0, false
}

// Header is the fixed part of a message.
type Header struct {
	ID                 uint16
	Response           bool
	Opcode             uint8
	Authoritative      bool
	Truncated          bool
	RecursionDesired   bool
	RecursionAvailable bool
	RCode              uint8
}

// Question is one entry of the question section.
type Question struct {
	Name  string // presentation form without the trailing dot; "" = root
	Type  uint16
	Class uint16
}

// SOA is the data of an SOA record.
type SOA struct {
	MName, RName                            string
	Serial, Refresh, Retry, Expire, Minimum uint32
}

// RR is a resource record. Which data field is set depends on Type: Addr
// (A, AAAA), Target (CNAME, PTR, NS, MX's exchange), Pref (MX), Text
// (TXT), SOA; any other type keeps its bytes in Raw.
type RR struct {
	Name   string     `json:"name"`
	Type   uint16     `json:"type"`
	Class  uint16     `json:"class"`
	TTL    uint32     `json:"ttl"`
	Addr   netip.Addr `json:"addr,omitzero"`
	Target string     `json:"target,omitempty"`
	Pref   uint16     `json:"pref,omitempty"`
	Text   []string   `json:"text,omitempty"`
	SOA    *SOA       `json:"soa,omitempty"`
	Raw    []byte     `json:"raw,omitempty"`
}

// Message is a whole DNS message.
type Message struct {
	Header
	Questions  []Question
	Answers    []RR
	Authority  []RR
	Additional []RR
}

// Errors of the codec. Malformed input always yields an error wrapping
// ErrMalformed, never a panic (FuzzParseMessage checks this).
var (
	ErrMalformed = errors.New("dns: malformed message")
	ErrName      = errors.New("dns: invalid name")
)

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// EqualNames compares names case-insensitively, ignoring a trailing dot
// (RFC 4343).
func EqualNames(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// CanonicalName lower-cases a name and drops its trailing dot: the cache
// key form.
func CanonicalName(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) }

// ---- parsing ----

// Parse decodes a message. It checks every length against the buffer,
// accepts only compression pointers that point backwards (so they cannot
// loop) and bounds names at 255 bytes.
func Parse(b []byte) (*Message, error) {
	if len(b) < headerLen {
		return nil, malformed("%d bytes, shorter than a header", len(b))
	}
	if len(b) > maxMessageSize {
		return nil, malformed("%d bytes, longer than a message", len(b))
	}
	m := &Message{}
	m.ID = binary.BigEndian.Uint16(b)
	f := binary.BigEndian.Uint16(b[2:])
	m.Response = f&0x8000 != 0
	m.Opcode = uint8(f>>11) & 0xf
	m.Authoritative = f&0x0400 != 0
	m.Truncated = f&0x0200 != 0
	m.RecursionDesired = f&0x0100 != 0
	m.RecursionAvailable = f&0x0080 != 0
	m.RCode = uint8(f & 0xf)
	qd := int(binary.BigEndian.Uint16(b[4:]))
	counts := [3]int{int(binary.BigEndian.Uint16(b[6:])), int(binary.BigEndian.Uint16(b[8:])),
		int(binary.BigEndian.Uint16(b[10:]))}
	off := headerLen
	// Every entry takes at least 5 (question) or 11 (record) bytes, so a
	// count the buffer cannot hold is refused before allocating for it.
	if qd*5 > len(b)-off {
		return nil, malformed("question count %d exceeds the message", qd)
	}
	for i := 0; i < qd; i++ {
		name, n, err := parseName(b, off)
		if err != nil {
			return nil, err
		}
		off = n
		if off+4 > len(b) {
			return nil, malformed("question truncated")
		}
		m.Questions = append(m.Questions, Question{Name: name, Type: binary.BigEndian.Uint16(b[off:]),
			Class: binary.BigEndian.Uint16(b[off+2:])})
		off += 4
	}
	secs := [3]*[]RR{&m.Answers, &m.Authority, &m.Additional}
	for s, cnt := range counts {
		if cnt*11 > len(b)-off {
			return nil, malformed("record count %d exceeds the message", cnt)
		}
		for i := 0; i < cnt; i++ {
			rr, n, err := parseRR(b, off)
			if err != nil {
				return nil, err
			}
			off = n
			*secs[s] = append(*secs[s], rr)
		}
	}
	return m, nil
}

// parseName reads a possibly compressed name at off and returns it with
// the offset just past its in-place part.
func parseName(b []byte, off int) (string, int, error) {
	var sb strings.Builder
	end := -1    // offset after the name where it started, set at the first pointer
	limit := off // pointers must point strictly before this: no loops
	wire := 1    // encoded length including the root byte
	for {
		if off >= len(b) {
			return "", 0, malformed("name runs past the message")
		}
		l := int(b[off])
		switch l & 0xc0 {
		case 0x00:
			if l == 0 {
				if end < 0 {
					end = off + 1
				}
				return sb.String(), end, nil
			}
			if off+1+l > len(b) {
				return "", 0, malformed("label runs past the message")
			}
			if wire += l + 1; wire > maxNameLen {
				return "", 0, malformed("name longer than %d bytes", maxNameLen)
			}
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			writeLabel(&sb, b[off+1:off+1+l])
			off += 1 + l
		case 0xc0:
			if off+2 > len(b) {
				return "", 0, malformed("compression pointer truncated")
			}
			p := int(binary.BigEndian.Uint16(b[off:]) & 0x3fff)
			if end < 0 {
				end = off + 2
			}
			if p >= limit {
				return "", 0, malformed("compression pointer %d does not point backwards", p)
			}
			limit, off = p, p
		default:
			return "", 0, malformed("label type %#x", l&0xc0)
		}
	}
}

// writeLabel writes a label in presentation form: characters that would
// be ambiguous ('.', '\\') or unprintable become \DDD (RFC 1035 5.1).
func writeLabel(sb *strings.Builder, l []byte) {
	for _, c := range l {
		switch {
		case c == '.' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c < 0x21 || c > 0x7e:
			fmt.Fprintf(sb, "\\%03d", c)
		default:
			sb.WriteByte(c)
		}
	}
}

func parseRR(b []byte, off int) (RR, int, error) {
	var rr RR
	name, off, err := parseName(b, off)
	if err != nil {
		return rr, 0, err
	}
	if off+10 > len(b) {
		return rr, 0, malformed("record header truncated")
	}
	rr.Name = name
	rr.Type = binary.BigEndian.Uint16(b[off:])
	rr.Class = binary.BigEndian.Uint16(b[off+2:])
	rr.TTL = binary.BigEndian.Uint32(b[off+4:])
	rdlen := int(binary.BigEndian.Uint16(b[off+8:]))
	off += 10
	end := off + rdlen
	if end > len(b) {
		return rr, 0, malformed("record data runs past the message")
	}
	// Names inside the data may point anywhere before them, but their
	// in-place part must stay inside the data.
	if rdlen == 0 && (rr.Class == ClassANY || rr.Class == ClassNONE) {
		return rr, end, nil // an RFC 2136 prerequisite or deletion: no data
	}
	rdName := func(at int) (string, int, error) {
		s, n, err := parseName(b[:end], at)
		if err != nil {
			return "", 0, err
		}
		return s, n, nil
	}
	switch rr.Type {
	case TypeA, TypeAAAA:
		want := 4
		if rr.Type == TypeAAAA {
			want = 16
		}
		if rdlen != want {
			return rr, 0, malformed("%s data of %d bytes", TypeString(rr.Type), rdlen)
		}
		rr.Addr, _ = netip.AddrFromSlice(b[off:end])
	case TypeCNAME, TypePTR, TypeNS:
		s, n, err := rdName(off)
		if err != nil {
			return rr, 0, err
		}
		if n != end {
			return rr, 0, malformed("%s data length mismatch", TypeString(rr.Type))
		}
		rr.Target = s
	case TypeMX:
		if rdlen < 3 {
			return rr, 0, malformed("MX data of %d bytes", rdlen)
		}
		rr.Pref = binary.BigEndian.Uint16(b[off:])
		s, n, err := rdName(off + 2)
		if err != nil {
			return rr, 0, err
		}
		if n != end {
			return rr, 0, malformed("MX data length mismatch")
		}
		rr.Target = s
	case TypeSOA:
		var soa SOA
		var n int
		if soa.MName, n, err = rdName(off); err != nil {
			return rr, 0, err
		}
		if soa.RName, n, err = rdName(n); err != nil {
			return rr, 0, err
		}
		if n+20 != end {
			return rr, 0, malformed("SOA data length mismatch")
		}
		v := b[n:end]
		soa.Serial, soa.Refresh, soa.Retry = binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:]), binary.BigEndian.Uint32(v[8:])
		soa.Expire, soa.Minimum = binary.BigEndian.Uint32(v[12:]), binary.BigEndian.Uint32(v[16:])
		rr.SOA = &soa
	case TypeTXT:
		for p := off; p < end; {
			l := int(b[p])
			if p+1+l > end {
				return rr, 0, malformed("TXT string runs past the data")
			}
			rr.Text = append(rr.Text, string(b[p+1:p+1+l]))
			p += 1 + l
		}
	default:
		rr.Raw = append([]byte(nil), b[off:end]...)
	}
	return rr, end, nil
}

// ---- packing ----

// Pack encodes m, compressing names (RFC 1035 4.1.4).
func (m *Message) Pack() ([]byte, error) {
	p := packer{b: make([]byte, headerLen, 512), names: map[string]int{}}
	binary.BigEndian.PutUint16(p.b, m.ID)
	var f uint16
	if m.Response {
		f |= 0x8000
	}
	f |= uint16(m.Opcode&0xf) << 11
	if m.Authoritative {
		f |= 0x0400
	}
	if m.Truncated {
		f |= 0x0200
	}
	if m.RecursionDesired {
		f |= 0x0100
	}
	if m.RecursionAvailable {
		f |= 0x0080
	}
	f |= uint16(m.RCode & 0xf)
	binary.BigEndian.PutUint16(p.b[2:], f)
	for i, n := range []int{len(m.Questions), len(m.Answers), len(m.Authority), len(m.Additional)} {
		if n > 0xffff {
			return nil, errors.New("dns: too many records")
		}
		binary.BigEndian.PutUint16(p.b[4+2*i:], uint16(n))
	}
	for _, q := range m.Questions {
		if err := p.name(q.Name); err != nil {
			return nil, err
		}
		p.u16(q.Type)
		p.u16(q.Class)
	}
	for _, sec := range [][]RR{m.Answers, m.Authority, m.Additional} {
		for i := range sec {
			if err := p.rr(&sec[i]); err != nil {
				return nil, err
			}
		}
	}
	if len(p.b) > maxMessageSize {
		return nil, errors.New("dns: message too long")
	}
	return p.b, nil
}

type packer struct {
	b     []byte
	names map[string]int // lower-cased suffix -> offset, for compression
}

func (p *packer) u16(v uint16) { p.b = binary.BigEndian.AppendUint16(p.b, v) }
func (p *packer) u32(v uint32) { p.b = binary.BigEndian.AppendUint32(p.b, v) }

// SplitName splits a presentation name into labels, checking RFC 1035's
// limits. Escapes are not accepted: Stapel's names come from users and
// configuration, which use plain host names.
func SplitName(name string) ([]string, error) {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return nil, nil
	}
	if strings.ContainsRune(name, '\\') {
		return nil, fmt.Errorf("%w: %q: escapes are not supported", ErrName, name)
	}
	labels := strings.Split(name, ".")
	total := 1
	for _, l := range labels {
		if l == "" || len(l) > maxLabelLen {
			return nil, fmt.Errorf("%w: %q: empty or over-long label", ErrName, name)
		}
		total += len(l) + 1
	}
	if total > maxNameLen {
		return nil, fmt.Errorf("%w: %q: longer than %d bytes", ErrName, name, maxNameLen)
	}
	return labels, nil
}

func (p *packer) name(name string) error {
	labels, err := SplitName(name)
	if err != nil {
		return err
	}
	for i := range labels {
		suffix := strings.ToLower(strings.Join(labels[i:], "."))
		if at, ok := p.names[suffix]; ok {
			p.u16(0xc000 | uint16(at))
			return nil
		}
		if len(p.b) < 0x3fff {
			p.names[suffix] = len(p.b)
		}
		p.b = append(p.b, byte(len(labels[i])))
		p.b = append(p.b, labels[i]...)
	}
	p.b = append(p.b, 0)
	return nil
}

func (p *packer) rr(rr *RR) error {
	if err := p.name(rr.Name); err != nil {
		return err
	}
	p.u16(rr.Type)
	p.u16(rr.Class)
	p.u32(rr.TTL)
	lenAt := len(p.b)
	p.u16(0)
	if rr.Class == ClassANY || (rr.Class == ClassNONE && rr.empty()) {
		return nil // RFC 2136 meta record: RDLENGTH 0
	}
	switch rr.Type {
	case TypeA:
		if !rr.Addr.Is4() {
			return errors.New("dns: A record without an IPv4 address")
		}
		a := rr.Addr.As4()
		p.b = append(p.b, a[:]...)
	case TypeAAAA:
		if !rr.Addr.Is6() {
			return errors.New("dns: AAAA record without an IPv6 address")
		}
		a := rr.Addr.As16()
		p.b = append(p.b, a[:]...)
	case TypeCNAME, TypePTR, TypeNS:
		if err := p.name(rr.Target); err != nil {
			return err
		}
	case TypeMX:
		p.u16(rr.Pref)
		if err := p.name(rr.Target); err != nil {
			return err
		}
	case TypeSOA:
		if rr.SOA == nil {
			return errors.New("dns: SOA record without data")
		}
		if err := p.name(rr.SOA.MName); err != nil {
			return err
		}
		if err := p.name(rr.SOA.RName); err != nil {
			return err
		}
		for _, v := range []uint32{rr.SOA.Serial, rr.SOA.Refresh, rr.SOA.Retry, rr.SOA.Expire, rr.SOA.Minimum} {
			p.u32(v)
		}
	case TypeTXT:
		for _, s := range rr.Text {
			if len(s) > 255 {
				return errors.New("dns: TXT string longer than 255 bytes")
			}
			p.b = append(p.b, byte(len(s)))
			p.b = append(p.b, s...)
		}
	default:
		p.b = append(p.b, rr.Raw...)
	}
	n := len(p.b) - lenAt - 2
	if n > 0xffff {
		return errors.New("dns: record data too long")
	}
	binary.BigEndian.PutUint16(p.b[lenAt:], uint16(n))
	return nil
}

func (rr *RR) empty() bool {
	return !rr.Addr.IsValid() && rr.Target == "" && rr.Text == nil && rr.SOA == nil && rr.Raw == nil
}

// ReverseName is the in-addr.arpa (or ip6.arpa) name of a (DNS-2).
func ReverseName(a netip.Addr) string {
	if a.Is4() || a.Is4In6() {
		b := a.Unmap().As4()
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa", b[3], b[2], b[1], b[0])
	}
	b := a.As16()
	var sb strings.Builder
	for i := 15; i >= 0; i-- {
		fmt.Fprintf(&sb, "%x.%x.", b[i]&0xf, b[i]>>4)
	}
	sb.WriteString("ip6.arpa")
	return sb.String()
}
