package dns

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// SPEC: TOOL-NSLOOKUP — the Windows nslookup layouts.
func TestFormatNslookup(t *testing.T) {
	srv := netip.MustParseAddr("198.18.0.1")
	host := []RR{
		{Name: "www.example.test", Type: TypeCNAME, Class: ClassIN, TTL: 60, Target: "host.example.test"},
		aRR("host.example.test", 60, "198.51.100.7"), aRR("host.example.test", 60, "198.51.100.8"),
	}
	cases := []struct {
		name string
		r    NslookupReply
		q    string
		t    uint16
		rev  netip.Addr
		want string
	}{
		{"A", NslookupReply{ServerName: "ns.example.test", Server: srv, Answer: Answer{Records: host[1:2]}}, "host", TypeA, netip.Addr{},
			"Server:  ns.example.test\nAddress:  198.18.0.1\n\nNon-authoritative answer:\nName:    host.example.test\nAddress:  198.51.100.7\n\n"},
		{"aliases", NslookupReply{Server: srv, Answer: Answer{Records: host, Authoritative: true}}, "www", TypeA, netip.Addr{},
			"Server:  UnKnown\nAddress:  198.18.0.1\n\nName:    host.example.test\nAddresses:  198.51.100.7, 198.51.100.8\nAliases:  www.example.test\n\n"},
		{"reverse", NslookupReply{Server: srv, Answer: Answer{Records: []RR{{Name: "7.100.51.198.in-addr.arpa", Type: TypePTR, Target: "host.example.test"}}}},
			"198.51.100.7", TypePTR, netip.MustParseAddr("198.51.100.7"),
			"Server:  UnKnown\nAddress:  198.18.0.1\n\nNon-authoritative answer:\nName:    host.example.test\nAddress:  198.51.100.7\n\n"},
		{"MX", NslookupReply{Server: srv, Answer: Answer{Records: []RR{{Name: "example.test", Type: TypeMX, Pref: 10, Target: "mail.example.test"}}}},
			"example.test", TypeMX, netip.Addr{},
			"Server:  UnKnown\nAddress:  198.18.0.1\n\nNon-authoritative answer:\nexample.test\tMX preference = 10, mail exchanger = mail.example.test\n\n"},
		{"NXDOMAIN", NslookupReply{Server: srv, Error: ErrNXDomain.Error()}, "nosuch.example.test.", TypeA, netip.Addr{},
			"Server:  UnKnown\nAddress:  198.18.0.1\n\n*** UnKnown can't find nosuch.example.test: Non-existent domain\n"},
		{"timeout", NslookupReply{Server: srv, Error: ErrTimeout.Error(), Timeout: 17}, "x", TypeA, netip.Addr{},
			"Server:  UnKnown\nAddress:  198.18.0.1\n\nDNS request timed out.\n    timeout was 17 seconds.\n*** Request to UnKnown timed-out\n"},
	}
	for _, c := range cases {
		if got := FormatNslookup(c.r, c.q, c.t, c.rev); got != c.want {
			t.Errorf("%s:\n%q\nwant\n%q", c.name, got, c.want)
		}
	}
	if Duration(86400) != "1 day" || Duration(3661) != "1 hour 1 min 1 sec" || Duration(0) != "0 secs" {
		t.Error(Duration(86400), Duration(3661))
	}
}

// SPEC: DNS-6 — ipconfig /displaydns lists positive and negative entries.
func TestFormatDisplayDNS(t *testing.T) {
	c := NewCache(DefaultCacheLimits)
	c.PutPositive("host.example.test", TypeA, []RR{aRR("host.example.test", 600, "198.51.100.7")}, t0)
	c.PutNegative("nosuch.example.test", TypeA, RCodeNXDomain, t0)
	got := FormatDisplayDNS(c.Entries(t0.Add(10 * time.Second)))
	want := "\nWindows IP Configuration\n\n" +
		"         host.example.test\n         ----------------------------------------\n" +
		"         Record Name . . . . . : host.example.test\n         Record Type . . . . . : 1\n" +
		"         Time To Live  . . . . : 590\n         Data Length . . . . . : 4\n" +
		"         Section . . . . . . . : Answer\n         A (Host) Record . . . : 198.51.100.7\n\n" +
		"         nosuch.example.test\n         ----------------------------------------\n         Name does not exist.\n\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// SPEC: TOOL-NSLOOKUP — "set debug" shows the request and the answer in
// the whitepaper's layout (its example, with the name under .test).
func TestFormatDebug(t *testing.T) {
	q := &Message{Header: Header{ID: 2, RecursionDesired: true},
		Questions: []Question{{Name: "rain-city.cswatcp.example.test", Type: TypeA, Class: ClassIN}}}
	qb, _ := q.Pack()
	got := FormatDebug(TraceEntry{Sent: true, Bytes: qb})
	want := "------------\nSendRequest(), len 48\n    HEADER:\n        opcode = QUERY, id = 2, rcode = NOERROR\n" +
		"        header flags:  query, want recursion\n" +
		"        questions = 1,  answers = 0,  authority records = 0,  additional = 0\n\n" +
		"    QUESTIONS:\n        rain-city.cswatcp.example.test, type = A, class = IN\n\n------------\n"
	if got != want {
		t.Errorf("request:\n%s\nwant\n%s", got, want)
	}
	a := answer(q, 0, RR{Name: "rain-city.cswatcp.example.test", Type: TypeCNAME, Class: ClassIN, TTL: 86400,
		Target: "seattle.cswatcp.example.test"}, aRR("seattle.cswatcp.example.test", 86400, "198.51.100.3"))
	a.Authoritative = true
	ab, _ := a.Pack()
	got = FormatDebug(TraceEntry{Bytes: ab})
	for _, s := range []string{"Got answer (", "header flags:  response, auth. answer, want recursion, recursion avail.\n",
		"    ANSWERS:\n    ->  rain-city.cswatcp.example.test\n        type = CNAME, class = IN, dlen = 30\n" +
			"        canonical name = seattle.cswatcp.example.test\n        ttl = 86400 (1 day)\n" +
			"    ->  seattle.cswatcp.example.test\n        type = A, class = IN, dlen = 4\n" +
			"        internet address = 198.51.100.3\n        ttl = 86400 (1 day)\n"} {
		if !strings.Contains(got, s) {
			t.Errorf("answer lacks %q:\n%s", s, got)
		}
	}
}
