package dns

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// UnknownServer is nslookup's name for a server whose address has no PTR
// record.
const UnknownServer = "UnKnown"

// NslookupReply is what the daemon returns for one nslookup query.
type NslookupReply struct {
	ServerName string     `json:"serverName"`
	Server     netip.Addr `json:"server"`
	Answer     Answer     `json:"answer"`
	// Error is empty on success, else one of the Err* messages (ErrorOf
	// maps it back).
	Error string `json:"error,omitempty"`
	// Timeout is the last per-try timeout in seconds, for the
	// "timeout was N seconds" line.
	Timeout int `json:"timeout,omitempty"`
	// Trace holds the messages exchanged, with NslookupArgs.Debug.
	Trace []TraceEntry `json:"trace,omitempty"`
}

// ErrorOf maps an NslookupReply.Error back to the package's error value.
func ErrorOf(msg string) error {
	for _, e := range []error{ErrNXDomain, ErrNoData, ErrTimeout, ErrServerFailure, ErrNetFailure, ErrNoServers} {
		if msg == e.Error() {
			return e
		}
	}
	if msg == "" {
		return nil
	}
	return errors.New(msg)
}

// FormatNslookup renders a reply as Windows nslookup prints it (SPEC §18
// TOOL-NSLOOKUP): the "Server:/Address:" header, "Non-authoritative
// answer:" when the answer is not from the zone's server, "Name:" and
// "Address:"/"Addresses:" (and "Aliases:") for host lookups, one line per
// record for other types, and "*** SERVER can't find NAME: REASON" on
// failure. query is what the user typed; rev is the address of a
// reverse lookup ("nslookup 198.51.100.7").
func FormatNslookup(r NslookupReply, query string, qtype uint16, rev netip.Addr) string {
	var b strings.Builder
	name := r.ServerName
	if name == "" {
		name = UnknownServer
	}
	fmt.Fprintf(&b, "Server:  %s\nAddress:  %s\n\n", name, r.Server)
	if r.Error != "" {
		err := ErrorOf(r.Error)
		switch {
		case errors.Is(err, ErrTimeout), errors.Is(err, ErrNetFailure):
			// A cached network failure (DNS-6) reads as the timeout it
			// stands for.
			fmt.Fprintf(&b, "DNS request timed out.\n    timeout was %d seconds.\n*** Request to %s timed-out\n", r.Timeout, name)
		case errors.Is(err, ErrNoData) && !rev.IsValid():
			fmt.Fprintf(&b, "*** No %s records available for %s\n", nslookupType(qtype), strings.TrimSuffix(query, "."))
		default:
			what := strings.TrimSuffix(query, ".")
			if rev.IsValid() {
				what = rev.String()
			}
			fmt.Fprintf(&b, "*** %s can't find %s: %s\n", name, what, r.Error)
		}
		return b.String()
	}
	a := r.Answer
	if !a.Authoritative {
		b.WriteString("Non-authoritative answer:\n")
	}
	switch {
	case rev.IsValid():
		for _, rr := range a.Records {
			if rr.Type == TypePTR {
				fmt.Fprintf(&b, "Name:    %s\nAddress:  %s\n", rr.Target, rev)
				break
			}
		}
	case qtype == TypeA:
		var addrs, aliases []string
		final := a.Name
		for _, rr := range a.Records {
			switch rr.Type {
			case TypeA, TypeAAAA:
				addrs = append(addrs, rr.Addr.String())
				final = rr.Name
			case TypeCNAME:
				aliases = append(aliases, rr.Name)
			}
		}
		fmt.Fprintf(&b, "Name:    %s\n", final)
		if len(addrs) == 1 {
			fmt.Fprintf(&b, "Address:  %s\n", addrs[0])
		} else {
			fmt.Fprintf(&b, "Addresses:  %s\n", strings.Join(addrs, ", "))
		}
		if len(aliases) > 0 {
			fmt.Fprintf(&b, "Aliases:  %s\n", strings.Join(aliases, ", "))
		}
	default:
		for _, rr := range a.Records {
			b.WriteString(FormatRecord(rr))
		}
	}
	b.WriteString("\n")
	return b.String()
}

func nslookupType(t uint16) string {
	if t == TypeA {
		return "internet address"
	}
	return TypeString(t)
}

// FormatRecord is one record in nslookup's "set type=X" layout.
func FormatRecord(rr RR) string {
	n := rr.Name
	switch rr.Type {
	case TypeA:
		return fmt.Sprintf("%s\tinternet address = %s\n", n, rr.Addr)
	case TypeAAAA:
		return fmt.Sprintf("%s\tAAAA IPv6 address = %s\n", n, rr.Addr)
	case TypePTR:
		return fmt.Sprintf("%s\tname = %s\n", n, rr.Target)
	case TypeCNAME:
		return fmt.Sprintf("%s\tcanonical name = %s\n", n, rr.Target)
	case TypeNS:
		return fmt.Sprintf("%s\tnameserver = %s\n", n, rr.Target)
	case TypeMX:
		return fmt.Sprintf("%s\tMX preference = %d, mail exchanger = %s\n", n, rr.Pref, rr.Target)
	case TypeTXT:
		var b strings.Builder
		fmt.Fprintf(&b, "%s\ttext =\n\n", n)
		for _, s := range rr.Text {
			fmt.Fprintf(&b, "\t%q\n", s)
		}
		return b.String()
	case TypeSOA:
		s := rr.SOA
		return fmt.Sprintf("%s\n\tprimary name server = %s\n\tresponsible mail addr = %s\n\tserial  = %d\n"+
			"\trefresh = %d (%s)\n\tretry   = %d (%s)\n\texpire  = %d (%s)\n\tdefault TTL = %d (%s)\n",
			n, s.MName, s.RName, s.Serial, s.Refresh, Duration(s.Refresh), s.Retry, Duration(s.Retry),
			s.Expire, Duration(s.Expire), s.Minimum, Duration(s.Minimum))
	}
	return fmt.Sprintf("%s\trdata_%d = %d bytes\n", n, rr.Type, len(rr.Raw))
}

// Duration is nslookup's rendering of seconds: "1 day", "2 hours",
// "30 mins", "5 secs".
func Duration(s uint32) string {
	var parts []string
	for _, u := range []struct {
		n    uint32
		name string
	}{{86400, "day"}, {3600, "hour"}, {60, "min"}, {1, "sec"}} {
		if v := s / u.n; v > 0 {
			p := fmt.Sprintf("%d %s", v, u.name)
			if v > 1 {
				p += "s"
			}
			parts = append(parts, p)
			s %= u.n
		}
	}
	if len(parts) == 0 {
		return "0 secs"
	}
	return strings.Join(parts, " ")
}

// FormatDisplayDNS renders the cache as Windows 2000's
// "ipconfig /displaydns".
func FormatDisplayDNS(entries []CacheEntry) string {
	var b strings.Builder
	b.WriteString("\nWindows IP Configuration\n\n")
	const ind = "         "
	for _, e := range entries {
		fmt.Fprintf(&b, "%s%s\n%s%s\n", ind, e.Name, ind, strings.Repeat("-", 40))
		if e.Negative {
			if e.RCode == RCodeNXDomain {
				b.WriteString(ind + "Name does not exist.\n\n")
			} else {
				fmt.Fprintf(&b, "%sNo records of type %s\n\n", ind, TypeString(e.Type))
			}
			continue
		}
		for _, rr := range e.Records {
			ttl := min(rr.TTL, e.TTL)
			fmt.Fprintf(&b, "%sRecord Name . . . . . : %s\n", ind, rr.Name)
			fmt.Fprintf(&b, "%sRecord Type . . . . . : %d\n", ind, rr.Type)
			fmt.Fprintf(&b, "%sTime To Live  . . . . : %d\n", ind, ttl)
			fmt.Fprintf(&b, "%sData Length . . . . . : %d\n", ind, dataLen(rr))
			fmt.Fprintf(&b, "%sSection . . . . . . . : Answer\n", ind)
			label, val := recordLabel(rr)
			fmt.Fprintf(&b, "%s%s: %s\n\n", ind, label, val)
		}
	}
	return b.String()
}

// dataLen is the size of the record's data as Windows shows it: the
// address size, else the pointer size of its in-memory record (4).
func dataLen(rr RR) int {
	switch rr.Type {
	case TypeA:
		return 4
	case TypeAAAA:
		return 16
	}
	return 4
}

func recordLabel(rr RR) (string, string) {
	switch rr.Type {
	case TypeA:
		return "A (Host) Record . . . ", rr.Addr.String()
	case TypeAAAA:
		return "AAAA Record . . . . . ", rr.Addr.String()
	case TypePTR:
		return "PTR Record  . . . . . ", rr.Target
	case TypeCNAME:
		return "CNAME Record  . . . . ", rr.Target
	case TypeNS:
		return "NS Record . . . . . . ", rr.Target
	case TypeMX:
		return "MX Record . . . . . . ", fmt.Sprintf("%d %s", rr.Pref, rr.Target)
	case TypeSOA:
		return "SOA Record  . . . . . ", rr.SOA.MName
	case TypeTXT:
		return "TXT Record  . . . . . ", strings.Join(rr.Text, " ")
	}
	return fmt.Sprintf("%-22s", TypeString(rr.Type)+" Record"), fmt.Sprintf("%d bytes", len(rr.Raw))
}
