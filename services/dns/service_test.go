package dns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// zone is a tiny authoritative server for the service tests.
type zone struct {
	records map[string][]RR // lower-cased "name TYPE"
	asked   map[string]int
}

func newZone(rrs ...RR) *zone {
	z := &zone{records: map[string][]RR{}, asked: map[string]int{}}
	for _, r := range rrs {
		k := CanonicalName(r.Name) + " " + TypeString(r.Type)
		z.records[k] = append(z.records[k], r)
	}
	return z
}

func (z *zone) serve(s netip.Addr, q *Message) []fakeReply {
	qn := CanonicalName(q.Questions[0].Name)
	z.asked[qn+" "+TypeString(q.Questions[0].Type)]++
	from := netip.AddrPortFrom(s, Port)
	if rrs, ok := z.records[qn+" "+TypeString(q.Questions[0].Type)]; ok {
		return []fakeReply{{from, answer(q, 0, rrs...)}}
	}
	for k := range z.records {
		if strings.HasPrefix(k, qn+" ") {
			return []fakeReply{{from, answer(q, 0)}} // NODATA
		}
	}
	return []fakeReply{{from, answer(q, RCodeNXDomain)}}
}

func newService(z *zone, mod func(*Config)) (*fakeNet, *Service) {
	f, c := newFake()
	if z != nil {
		f.serve = z.serve
	}
	cfg := Config{Client: c, Servers: []netip.Addr{srv1}, Limits: DefaultCacheLimits,
		NetFailureTime: 30 * time.Second, Suffixes: Suffixes{Primary: "example.test", Devolution: true}}
	if mod != nil {
		mod(&cfg)
	}
	return f, NewService(cfg)
}

func lookup(t *testing.T, f *fakeNet, s *Service, name string, qt uint16) (Answer, error) {
	t.Helper()
	type r struct {
		a   Answer
		err error
	}
	x := run(t, f.clk, func() r { a, err := s.Lookup(context.Background(), name, qt); return r{a, err} })
	return x.a, x.err
}

// SPEC: DNS-6 — a positive answer is served from the cache for its TTL,
// capped at MaxCacheEntryTtlLimit; after that the server is asked again.
func TestCachePositiveTTL(t *testing.T) {
	z := newZone(aRR("host.example.test", 100000, "198.51.100.7"), aRR("short.example.test", 10, "198.51.100.8"))
	f, s := newService(z, nil)
	for i := 0; i < 3; i++ {
		a, err := lookup(t, f, s, "host", TypeA)
		if err != nil || a.Records[0].Addr.String() != "198.51.100.7" || a.Name != "host.example.test" {
			t.Fatalf("lookup %d: %+v %v", i, a, err)
		}
		if want := []string{SourceDNS, SourceCache, SourceCache}[i]; a.Source != want {
			t.Errorf("lookup %d from %s, want %s", i, a.Source, want)
		}
	}
	if z.asked["host.example.test A"] != 1 {
		t.Fatalf("server asked %d times", z.asked["host.example.test A"])
	}
	e, _ := s.Cache().Get("host.example.test", TypeA, f.clk.Now())
	if e.TTL != 86400 {
		t.Errorf("cached TTL %d, want the 86400 s cap", e.TTL)
	}
	f.clk.Advance(86399 * time.Second)
	if a, _ := lookup(t, f, s, "host.example.test", TypeA); a.Source != SourceCache || a.Records[0].TTL != 1 {
		t.Errorf("before expiry: %+v", a)
	}
	f.clk.Advance(time.Second)
	lookup(t, f, s, "host.example.test", TypeA)
	if z.asked["host.example.test A"] != 2 {
		t.Errorf("after the cap the server was asked %d times in all, want 2", z.asked["host.example.test A"])
	}
	// A short TTL is kept as is.
	lookup(t, f, s, "short.example.test", TypeA)
	f.clk.Advance(10 * time.Second)
	lookup(t, f, s, "short.example.test", TypeA)
	if z.asked["short.example.test A"] != 2 {
		t.Errorf("10 s TTL: asked %d times", z.asked["short.example.test A"])
	}
}

// SPEC: DNS-6 — SOA answers are capped at MaxSOACacheEntryTtlLimit (120 s).
func TestCacheSOACap(t *testing.T) {
	soa := RR{Name: "example.test", Type: TypeSOA, Class: ClassIN, TTL: 3600,
		SOA: &SOA{MName: "ns.example.test", RName: "hostmaster.example.test", Serial: 1, Minimum: 60}}
	z := newZone(soa)
	f, s := newService(z, nil)
	lookup(t, f, s, "example.test", TypeSOA)
	f.clk.Advance(119 * time.Second)
	lookup(t, f, s, "example.test", TypeSOA)
	f.clk.Advance(time.Second)
	lookup(t, f, s, "example.test", TypeSOA)
	if z.asked["example.test SOA"] != 2 {
		t.Errorf("asked %d times, want 2 (cached 120 s)", z.asked["example.test SOA"])
	}
}

// SPEC: DNS-6 — a name error is cached for NegativeCacheTime (300 s), a
// negative SOA answer for NegativeSOACacheTime (120 s).
func TestCacheNegative(t *testing.T) {
	z := newZone(aRR("host.example.test", 60, "198.51.100.7"))
	f, s := newService(z, nil)
	for i := 0; i < 2; i++ {
		if _, err := lookup(t, f, s, "nosuch.example.test.", TypeA); !errors.Is(err, ErrNXDomain) {
			t.Fatalf("err %v", err)
		}
	}
	f.clk.Advance(299 * time.Second)
	lookup(t, f, s, "nosuch.example.test.", TypeA)
	if z.asked["nosuch.example.test A"] != 1 {
		t.Fatalf("asked %d times within 300 s", z.asked["nosuch.example.test A"])
	}
	f.clk.Advance(time.Second)
	lookup(t, f, s, "nosuch.example.test.", TypeA)
	if z.asked["nosuch.example.test A"] != 2 {
		t.Fatalf("asked %d times after 300 s", z.asked["nosuch.example.test A"])
	}
	// No data of the type: cached too, and reported as such.
	if _, err := lookup(t, f, s, "host.example.test.", TypeMX); !errors.Is(err, ErrNoData) {
		t.Fatalf("MX of a host: %v", err)
	}
	lookup(t, f, s, "nosuch.example.test.", TypeSOA)
	f.clk.Advance(120 * time.Second)
	lookup(t, f, s, "nosuch.example.test.", TypeSOA)
	if z.asked["nosuch.example.test SOA"] != 2 {
		t.Fatalf("negative SOA asked %d times, want 2 (120 s)", z.asked["nosuch.example.test SOA"])
	}
	e := s.CacheEntries()
	if len(e) == 0 || !e[0].Negative {
		t.Errorf("entries %+v", e)
	}
	s.Flush()
	if n := len(s.CacheEntries()); n != 0 {
		t.Errorf("%d entries after Flush", n)
	}
}

// SPEC: DNS-6 — after every server timed out, queries fail at once for
// NetFailureCacheTime (30 s), without sending anything.
func TestNetFailureCache(t *testing.T) {
	f, s := newService(nil, nil)
	if _, err := lookup(t, f, s, "host.example.test.", TypeA); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v", err)
	}
	n := len(f.sends())
	start := f.clk.Now()
	if _, err := lookup(t, f, s, "other.example.test.", TypeA); !errors.Is(err, ErrNetFailure) || len(f.sends()) != n || f.clk.Now() != start {
		t.Fatalf("within 30 s: err %v, %d new sends", err, len(f.sends())-n)
	}
	f.clk.Advance(30 * time.Second)
	f.serve = newZone(aRR("host.example.test", 60, "198.51.100.7")).serve
	if _, err := lookup(t, f, s, "host.example.test.", TypeA); err != nil {
		t.Fatalf("after 30 s: %v", err)
	}
}

// SPEC: DNS-6 — the cache is a 211 × 10 table: it evicts instead of
// growing.
func TestCacheBounded(t *testing.T) {
	c := NewCache(CacheLimits{MaxTTL: 86400, Buckets: 211, BucketSize: 10})
	now := t0
	for i := 0; i < 5000; i++ {
		c.PutPositive(fmt.Sprintf("h%d.example.test", i), TypeA, []RR{aRR("x", uint32(60+i), "198.51.100.1")}, now)
	}
	if n := c.Len(); n > 2110 || n < 2000 {
		t.Fatalf("%d entries, want at most 2110 (and most rows full)", n)
	}
	// The newest entry is always kept.
	if _, ok := c.Get("h4999.example.test", TypeA, now); !ok {
		t.Error("newest entry evicted")
	}
}

// SPEC: DNS-4 — an NXDOMAIN for one suffix moves on to the next; the
// per-candidate answers are cached, so a repeat asks nothing.
func TestLookupSearchList(t *testing.T) {
	z := newZone(aRR("web.two.test", 60, "198.51.100.9"))
	f, s := newService(z, func(c *Config) { c.Suffixes.SearchList = []string{"one.test", "two.test"} })
	for i := 0; i < 2; i++ {
		a, err := lookup(t, f, s, "web", TypeA)
		if err != nil || a.Name != "web.two.test" {
			t.Fatalf("%+v %v", a, err)
		}
	}
	if z.asked["web.one.test A"] != 1 || z.asked["web.two.test A"] != 1 || z.asked["web A"] != 0 {
		t.Fatalf("asked %v", z.asked)
	}
}

// SPEC: DNS-1 — the local host name, then the hosts file, then DNS.
// SPEC: DNS-2 — reverse lookups ask the hosts file before DNS.
func TestLookupOrder(t *testing.T) {
	z := newZone(aRR("filed.example.test", 60, "203.0.113.1"), aRR("me.example.test", 60, "203.0.113.2"),
		RR{Name: "9.100.51.198.in-addr.arpa", Type: TypePTR, Class: ClassIN, TTL: 60, Target: "dns-name.example.test"})
	hosts := ParseHosts(strings.NewReader("# comment\n198.51.100.5 filed.example.test filed # alias\nbogus line\n198.51.100.9 hostsname.example.test\n"))
	f, s := newService(z, func(c *Config) {
		c.Hosts = hosts
		c.HostName = "me"
		c.LocalAddrs = func() []netip.Addr { return []netip.Addr{netip.MustParseAddr("198.18.0.2")} }
	})
	for name, want := range map[string]string{"me": "198.18.0.2", "ME.example.test": "198.18.0.2",
		"filed.example.test": "198.51.100.5", "filed": "198.51.100.5"} {
		a, err := lookup(t, f, s, name, TypeA)
		if err != nil || a.Records[0].Addr.String() != want {
			t.Errorf("%s: %+v %v, want %s", name, a, err, want)
		}
	}
	if len(z.asked) != 0 {
		t.Errorf("DNS asked %v", z.asked)
	}
	a, err := run(t, f.clk, func() struct {
		a   Answer
		err error
	} {
		a, err := s.LookupAddr(context.Background(), netip.MustParseAddr("198.51.100.9"))
		return struct {
			a   Answer
			err error
		}{a, err}
	}).a, error(nil)
	if err != nil || a.Source != SourceHosts || a.Records[0].Target != "hostsname.example.test" {
		t.Errorf("reverse: %+v", a)
	}
	a, err = lookup(t, f, s, "9.100.51.198.in-addr.arpa", TypePTR)
	if err != nil || a.Source != SourceHosts {
		t.Errorf("PTR name: %+v %v", a, err)
	}
	a, err = lookup(t, f, s, ReverseName(netip.MustParseAddr("198.51.100.77")), TypePTR)
	if !errors.Is(err, ErrNXDomain) || z.asked["77.100.51.198.in-addr.arpa PTR"] != 1 {
		t.Errorf("reverse via DNS: %+v %v %v", a, err, z.asked)
	}
}

// SPEC: DNS-5 — DisjointNameSpace: a name error from the first
// interface's servers moves on to the next interface's; without it the
// name error is the answer. A group whose servers all timed out is
// skipped for AdapterTimeoutCacheTime.
func TestDisjointNameSpace(t *testing.T) {
	for _, disjoint := range []bool{false, true} {
		inner := newZone(aRR("intra.example.test", 60, "198.18.0.50"))
		outer := newZone(aRR("www.example.test", 60, "203.0.113.80"))
		f, s := newService(nil, func(c *Config) {
			c.Servers = []netip.Addr{srv1, srv2}
			c.ServerGroups = [][]netip.Addr{{srv1}, {srv2}}
			c.Disjoint = disjoint
		})
		f.serve = func(sv netip.Addr, q *Message) []fakeReply {
			if sv == srv1 {
				return outer.serve(sv, q)
			}
			return inner.serve(sv, q)
		}
		a, err := lookup(t, f, s, "intra.example.test.", TypeA)
		if disjoint && (err != nil || a.Records[0].Addr.String() != "198.18.0.50") {
			t.Errorf("disjoint: %+v %v", a, err)
		}
		if !disjoint && !errors.Is(err, ErrNXDomain) {
			t.Errorf("not disjoint: %+v %v", a, err)
		}
	}
	// AdapterTimeoutCacheTime: srv1 is silent.
	inner := newZone(aRR("intra.example.test", 1, "198.18.0.50"))
	f, s := newService(nil, func(c *Config) {
		c.Servers = []netip.Addr{srv1, srv2}
		c.ServerGroups = [][]netip.Addr{{srv1}, {srv2}}
		c.Disjoint = true
		c.AdapterTimeout = 300 * time.Second
	})
	f.serve = func(sv netip.Addr, q *Message) []fakeReply {
		if sv == srv1 {
			return nil
		}
		return inner.serve(sv, q)
	}
	count := func() int {
		n := 0
		for _, x := range f.sends() {
			if x.server == srv1 {
				n++
			}
		}
		return n
	}
	if _, err := lookup(t, f, s, "intra.example.test.", TypeA); err != nil {
		t.Fatal(err)
	}
	n := count()
	f.clk.Advance(2 * time.Second) // past the 1 s TTL
	if _, err := lookup(t, f, s, "intra.example.test.", TypeA); err != nil || count() != n {
		t.Fatalf("within 300 s: err %v, %d new queries to the timed-out server", err, count()-n)
	}
	f.clk.Advance(300 * time.Second)
	lookup(t, f, s, "intra.example.test.", TypeA)
	if count() == n {
		t.Error("the timed-out server was not retried after AdapterTimeoutCacheTime")
	}
}

// SPEC: DNS-5 — PrioritizeRecordData puts same-subnet addresses first.
func TestPrioritizeRecordData(t *testing.T) {
	z := newZone(RR{Name: "www.example.test", Type: TypeCNAME, Class: ClassIN, TTL: 60, Target: "multi.example.test"},
		aRR("multi.example.test", 60, "203.0.113.5"), aRR("multi.example.test", 60, "198.18.0.9"))
	z.records["www.example.test A"] = append(z.records["www.example.test CNAME"], z.records["multi.example.test A"]...)
	for _, on := range []bool{false, true} {
		f, s := newService(z, func(c *Config) {
			c.Prioritize = on
			c.LocalPrefixes = func() []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix("198.18.0.2/24")} }
		})
		a, err := lookup(t, f, s, "www.example.test.", TypeA)
		if err != nil || len(a.Records) != 3 || a.Records[0].Type != TypeCNAME {
			t.Fatalf("%+v %v", a, err)
		}
		want := map[bool]string{false: "203.0.113.5", true: "198.18.0.9"}[on]
		if a.Records[1].Addr.String() != want {
			t.Errorf("PrioritizeRecordData=%v: first address %s, want %s", on, a.Records[1].Addr, want)
		}
	}
}
