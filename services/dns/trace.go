package dns

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// TraceEntry is one message of a traced exchange: the query sent, or the
// answer accepted for it (nslookup's "set debug").
type TraceEntry struct {
	Sent  bool       `json:"sent,omitempty"`
	Peer  netip.Addr `json:"peer"`
	Bytes []byte     `json:"bytes"`
}

type traceKey struct{}

// WithTrace returns a context under which every exchange reports its
// query and accepted answer to fn.
func WithTrace(ctx context.Context, fn func(TraceEntry)) context.Context {
	return context.WithValue(ctx, traceKey{}, fn)
}

func trace(ctx context.Context, sent bool, peer netip.Addr, b []byte) {
	if fn, ok := ctx.Value(traceKey{}).(func(TraceEntry)); ok {
		fn(TraceEntry{Sent: sent, Peer: peer, Bytes: append([]byte(nil), b...)})
	}
}

var rcodeNames = []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"}

func rcodeString(rc uint8) string {
	if int(rc) < len(rcodeNames) {
		return rcodeNames[rc]
	}
	return fmt.Sprintf("RCODE%d", rc)
}

// FormatDebug renders a traced message as nslookup's "set debug" does
// (SPEC §18 TOOL-NSLOOKUP): "SendRequest(), len N" or "Got answer (N
// bytes):", then the HEADER, QUESTIONS and record sections.
func FormatDebug(e TraceEntry) string {
	var b strings.Builder
	b.WriteString("------------\n")
	if e.Sent {
		fmt.Fprintf(&b, "SendRequest(), len %d\n", len(e.Bytes))
	} else {
		fmt.Fprintf(&b, "Got answer (%d bytes):\n", len(e.Bytes))
	}
	m, err := Parse(e.Bytes)
	if err != nil {
		fmt.Fprintf(&b, "    (%v)\n------------\n", err)
		return b.String()
	}
	op := "QUERY"
	if m.Opcode == OpcodeUpdate {
		op = "UPDATE"
	}
	fmt.Fprintf(&b, "    HEADER:\n        opcode = %s, id = %d, rcode = %s\n", op, m.ID, rcodeString(m.RCode))
	var flags []string
	if m.Response {
		flags = append(flags, "response")
	} else {
		flags = append(flags, "query")
	}
	if m.Authoritative {
		flags = append(flags, "auth. answer")
	}
	if m.Truncated {
		flags = append(flags, "truncation")
	}
	if m.RecursionDesired {
		flags = append(flags, "want recursion")
	}
	if m.RecursionAvailable {
		flags = append(flags, "recursion avail.")
	}
	fmt.Fprintf(&b, "        header flags:  %s\n", strings.Join(flags, ", "))
	fmt.Fprintf(&b, "        questions = %d,  answers = %d,  authority records = %d,  additional = %d\n\n",
		len(m.Questions), len(m.Answers), len(m.Authority), len(m.Additional))
	b.WriteString("    QUESTIONS:\n")
	for _, q := range m.Questions {
		fmt.Fprintf(&b, "        %s, type = %s, class = %s\n", q.Name, TypeString(q.Type), classString(q.Class))
	}
	for _, sec := range []struct {
		name string
		rrs  []RR
	}{{"ANSWERS", m.Answers}, {"AUTHORITY RECORDS", m.Authority}, {"ADDITIONAL RECORDS", m.Additional}} {
		if len(sec.rrs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "    %s:\n", sec.name)
		for _, rr := range sec.rrs {
			fmt.Fprintf(&b, "    ->  %s\n        type = %s, class = %s, dlen = %d\n", rr.Name, TypeString(rr.Type),
				classString(rr.Class), rdataLen(rr))
			b.WriteString(debugData(rr))
			fmt.Fprintf(&b, "        ttl = %d (%s)\n", rr.TTL, Duration(rr.TTL))
		}
	}
	b.WriteString("\n------------\n")
	return b.String()
}

func classString(c uint16) string {
	switch c {
	case ClassIN:
		return "IN"
	case ClassNONE:
		return "NONE"
	case ClassANY:
		return "ANY"
	}
	return fmt.Sprintf("CLASS%d", c)
}

// nameLen is a name's uncompressed wire length.
func nameLen(n string) int {
	n = strings.TrimSuffix(n, ".")
	if n == "" {
		return 1
	}
	return len(n) + 2
}

// rdataLen is the record's data length uncompressed, as the whitepaper's
// example shows it ("dlen = 31" for a 29-character canonical name).
func rdataLen(rr RR) int {
	switch rr.Type {
	case TypeA:
		return 4
	case TypeAAAA:
		return 16
	case TypeCNAME, TypePTR, TypeNS:
		return nameLen(rr.Target)
	case TypeMX:
		return 2 + nameLen(rr.Target)
	case TypeSOA:
		if rr.SOA == nil {
			return 0
		}
		return nameLen(rr.SOA.MName) + nameLen(rr.SOA.RName) + 20
	case TypeTXT:
		n := 0
		for _, s := range rr.Text {
			n += 1 + len(s)
		}
		return n
	}
	return len(rr.Raw)
}

func debugData(rr RR) string {
	switch rr.Type {
	case TypeA:
		return fmt.Sprintf("        internet address = %s\n", rr.Addr)
	case TypeAAAA:
		return fmt.Sprintf("        AAAA IPv6 address = %s\n", rr.Addr)
	case TypeCNAME:
		return fmt.Sprintf("        canonical name = %s\n", rr.Target)
	case TypePTR:
		return fmt.Sprintf("        name = %s\n", rr.Target)
	case TypeNS:
		return fmt.Sprintf("        nameserver = %s\n", rr.Target)
	case TypeMX:
		return fmt.Sprintf("        MX preference = %d, mail exchanger = %s\n", rr.Pref, rr.Target)
	case TypeSOA:
		if rr.SOA == nil {
			return ""
		}
		return fmt.Sprintf("        primary name server = %s\n        responsible mail addr = %s\n        serial  = %d\n",
			rr.SOA.MName, rr.SOA.RName, rr.SOA.Serial)
	case TypeTXT:
		return fmt.Sprintf("        text = %q\n", strings.Join(rr.Text, " "))
	}
	return ""
}
