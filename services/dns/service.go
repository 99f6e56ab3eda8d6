package dns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"
)

// hostsTTL is the TTL shown for answers from the hosts file or the local
// host name (they come from configuration, not from a server).
const hostsTTL = 86400

// Config configures a Service.
type Config struct {
	Client   *Client
	Servers  []netip.Addr
	Suffixes Suffixes
	Limits   CacheLimits
	// NetFailureTime is NetFailureCacheTime (DNS-6); 0 = off.
	NetFailureTime time.Duration
	// HostName and LocalAddrs answer the local host name (DNS-1 step 1).
	HostName   string
	LocalAddrs func() []netip.Addr
	// Hosts is the hosts file (nil = none).
	Hosts *Hosts
	// ServerGroups are the servers per interface, for DisjointNameSpace
	// (DNS-5): a name error from one group's servers moves on to the
	// next group, and a group whose servers all timed out is skipped for
	// AdapterTimeout. With fewer than two groups, Servers are asked as
	// one list.
	ServerGroups   [][]netip.Addr
	Disjoint       bool
	AdapterTimeout time.Duration
	// Prioritize (PrioritizeRecordData) sorts addresses on a local
	// subnet (LocalPrefixes) first (DNS-5).
	Prioritize    bool
	LocalPrefixes func() []netip.Prefix
}

// Service is the caching resolver (DNS-6) in front of the hosts file and
// the stub resolver.
type Service struct {
	cfg   Config
	cache *Cache

	mu          sync.Mutex
	netFailTill time.Time
	skipGroup   map[int]time.Time // server group -> skipped until (AdapterTimeoutCacheTime)
}

// NewService makes the resolver service.
func NewService(cfg Config) *Service {
	return &Service{cfg: cfg, cache: NewCache(cfg.Limits)}
}

// Cache is the service's cache.
func (s *Service) Cache() *Cache { return s.cache }

// Servers are the configured name servers, in order.
func (s *Service) Servers() []netip.Addr { return s.cfg.Servers }

// TotalTimeout is how long a query waits for its servers at most: the sum
// of the DNSQueryTimeouts (DNS-3).
func (s *Service) TotalTimeout() time.Duration {
	to := s.cfg.Client.Timeouts
	if len(to) == 0 {
		to = DefaultTimeouts
	}
	var sum time.Duration
	for _, d := range to {
		sum += d
	}
	return sum
}

// Answer is a lookup's result.
type Answer struct {
	Name          string     `json:"name"` // the name answered, after suffixing
	Type          uint16     `json:"type"`
	Records       []RR       `json:"records,omitempty"`
	Authority     []RR       `json:"authority,omitempty"`
	Authoritative bool       `json:"authoritative,omitempty"`
	Source        string     `json:"source"` // local, hosts, cache or dns
	Server        netip.Addr `json:"server,omitzero"`
}

// Sources of an answer.
const (
	SourceLocal = "local"
	SourceHosts = "hosts"
	SourceCache = "cache"
	SourceDNS   = "dns"
)

// LookupError tells which name failed and why (Err is one of the Err*
// values of this package, or a transport error).
type LookupError struct {
	Name   string
	Server netip.Addr
	Err    error
}

func (e *LookupError) Error() string { return fmt.Sprintf("%s: %v", e.Name, e.Err) }
func (e *LookupError) Unwrap() error { return e.Err }

// Lookup resolves name for qtype. For A and AAAA it follows
// gethostbyname's order (DNS-1): the local host name, the hosts file,
// then DNS through the cache with the suffix candidates of DNS-4.
// (NetBIOS, step 4, is the NetBT service's.) Other types go straight to
// the cache and DNS.
func (s *Service) Lookup(ctx context.Context, name string, qtype uint16) (Answer, error) {
	bare := strings.TrimSuffix(name, ".")
	if _, err := SplitName(bare); err != nil || bare == "" {
		return Answer{}, &LookupError{Name: name, Err: fmt.Errorf("%w", ErrName)}
	}
	if qtype == TypeA || qtype == TypeAAAA {
		if a, ok := s.local(bare, qtype); ok {
			return a, nil
		}
		if addrs := s.cfg.Hosts.Addrs(bare, qtype); len(addrs) > 0 {
			return addrAnswer(bare, qtype, addrs, SourceHosts), nil
		}
	}
	if qtype == TypePTR {
		if a, ok := parseReverse(bare); ok {
			if n, ok := s.cfg.Hosts.Name(a); ok {
				return Answer{Name: bare, Type: TypePTR, Source: SourceHosts, Records: []RR{{Name: bare,
					Type: TypePTR, Class: ClassIN, TTL: hostsTTL, Target: n}}}, nil
			}
		}
	}
	cands := s.cfg.Suffixes.Candidates(name)
	if strings.HasSuffix(bare, ".arpa") {
		cands = []string{bare} // reverse names are always fully qualified
	}
	var last error = ErrNXDomain
	for _, c := range cands {
		a, err := s.lookupOne(ctx, c, qtype)
		if err == nil {
			return s.prioritize(a), nil
		}
		last = err
		// Only a name error moves on to the next suffix: anything else
		// (the name exists without the type, or the servers failed) is
		// the answer.
		if !errors.Is(err, ErrNXDomain) {
			break
		}
	}
	var le *LookupError
	if errors.As(last, &le) {
		le.Name = name
		return Answer{}, le
	}
	return Answer{}, &LookupError{Name: name, Err: last}
}

// LookupAddr resolves an address to a name: the hosts file, then DNS
// (DNS-2; the NetBIOS adapter-status step is NetBT's).
func (s *Service) LookupAddr(ctx context.Context, a netip.Addr) (Answer, error) {
	return s.Lookup(ctx, ReverseName(a), TypePTR)
}

// lookupOne asks the cache, then the servers, for one candidate name.
func (s *Service) lookupOne(ctx context.Context, name string, qtype uint16) (Answer, error) {
	// The hosts file answers suffixed names too, as Windows preloads it
	// into the cache: "filed" finds "filed.example.test".
	if qtype == TypeA || qtype == TypeAAAA {
		if addrs := s.cfg.Hosts.Addrs(name, qtype); len(addrs) > 0 {
			return addrAnswer(name, qtype, addrs, SourceHosts), nil
		}
	}
	now := s.cfg.Client.Clock.Now()
	if e, ok := s.cache.Get(name, qtype, now); ok {
		if e.Negative {
			return Answer{}, &LookupError{Name: name, Err: negErr(e.RCode)}
		}
		recs := append([]RR(nil), e.Records...)
		for i := range recs {
			recs[i].TTL = min(recs[i].TTL, e.TTL)
		}
		return Answer{Name: name, Type: qtype, Records: recs, Source: SourceCache}, nil
	}
	s.mu.Lock()
	failing := now.Before(s.netFailTill)
	s.mu.Unlock()
	if failing {
		return Answer{}, &LookupError{Name: name, Err: ErrNetFailure}
	}
	m, from, err := s.exchange(ctx, name, qtype)
	now = s.cfg.Client.Clock.Now()
	if errors.Is(err, ErrTimeout) && s.cfg.NetFailureTime > 0 {
		s.mu.Lock()
		s.netFailTill = now.Add(s.cfg.NetFailureTime)
		s.mu.Unlock()
	}
	if err != nil {
		return Answer{}, &LookupError{Name: name, Server: from, Err: err}
	}
	return s.store(name, qtype, m, from, now)
}

// exchange asks the servers: all as one list, or with DisjointNameSpace
// group by group until one does not answer with a name error (DNS-5).
func (s *Service) exchange(ctx context.Context, name string, qtype uint16) (*Message, netip.Addr, error) {
	groups := s.cfg.ServerGroups
	if !s.cfg.Disjoint || len(groups) < 2 {
		return s.cfg.Client.Exchange(ctx, s.cfg.Servers, name, qtype)
	}
	var (
		nx     *Message
		nxFrom netip.Addr
		last   = ErrTimeout
	)
	for i, g := range groups {
		now := s.cfg.Client.Clock.Now()
		s.mu.Lock()
		skip := now.Before(s.skipGroup[i])
		s.mu.Unlock()
		if skip || len(g) == 0 {
			continue
		}
		m, from, err := s.cfg.Client.Exchange(ctx, g, name, qtype)
		switch {
		case errors.Is(err, ErrTimeout):
			if s.cfg.AdapterTimeout > 0 {
				s.mu.Lock()
				if s.skipGroup == nil {
					s.skipGroup = map[int]time.Time{}
				}
				s.skipGroup[i] = s.cfg.Client.Clock.Now().Add(s.cfg.AdapterTimeout)
				s.mu.Unlock()
			}
			continue
		case err != nil:
			last = err
			continue
		case m.RCode == RCodeNXDomain:
			if nx == nil {
				nx, nxFrom = m, from
			}
			continue
		}
		return m, from, nil
	}
	if nx != nil {
		return nx, nxFrom, nil
	}
	return nil, netip.Addr{}, last
}

// prioritize puts addresses on a local subnet first, keeping the order
// otherwise (PrioritizeRecordData, DNS-5).
func (s *Service) prioritize(a Answer) Answer {
	if !s.cfg.Prioritize || s.cfg.LocalPrefixes == nil || len(a.Records) < 2 {
		return a
	}
	local := s.cfg.LocalPrefixes()
	near := func(r RR) bool {
		for _, p := range local {
			if p.Masked().Contains(r.Addr) {
				return true
			}
		}
		return false
	}
	// Reorder only the address records, within their own positions, so
	// a CNAME chain stays in front.
	var idx []int
	var addrs []RR
	for i, r := range a.Records {
		if r.Type == TypeA || r.Type == TypeAAAA {
			idx = append(idx, i)
			addrs = append(addrs, r)
		}
	}
	sort.SliceStable(addrs, func(i, j int) bool { return near(addrs[i]) && !near(addrs[j]) })
	recs := append([]RR(nil), a.Records...)
	for k, i := range idx {
		recs[i] = addrs[k]
	}
	a.Records = recs
	return a
}

// store caches an answer and turns it into the lookup result.
func (s *Service) store(name string, qtype uint16, m *Message, from netip.Addr, now time.Time) (Answer, error) {
	if m.RCode == RCodeNXDomain {
		s.cache.PutNegative(name, qtype, RCodeNXDomain, now)
		return Answer{}, &LookupError{Name: name, Server: from, Err: ErrNXDomain}
	}
	if m.RCode != RCodeSuccess {
		return Answer{}, &LookupError{Name: name, Server: from, Err: ErrServerFailure}
	}
	has := false
	for _, r := range m.Answers {
		has = has || r.Type == qtype || qtype == TypeANY
	}
	if !has {
		s.cache.PutNegative(name, qtype, RCodeSuccess, now)
		return Answer{}, &LookupError{Name: name, Server: from, Err: ErrNoData}
	}
	s.cache.PutPositive(name, qtype, m.Answers, now)
	return Answer{Name: name, Type: qtype, Records: m.Answers, Authority: m.Authority,
		Authoritative: m.Authoritative, Source: SourceDNS, Server: from}, nil
}

// Query asks one server directly, bypassing the hosts file and the cache
// (nslookup NAME SERVER), with the suffix candidates of DNS-4.
func (s *Service) Query(ctx context.Context, server netip.Addr, name string, qtype uint16) (Answer, error) {
	cands := s.cfg.Suffixes.Candidates(name)
	if strings.HasSuffix(strings.TrimSuffix(name, "."), ".arpa") {
		cands = []string{strings.TrimSuffix(name, ".")}
	}
	var last error = &LookupError{Name: name, Err: ErrNXDomain}
	for _, c := range cands {
		m, from, err := s.cfg.Client.Exchange(ctx, []netip.Addr{server}, c, qtype)
		if err != nil {
			return Answer{}, &LookupError{Name: name, Server: server, Err: err}
		}
		if m.RCode == RCodeNXDomain {
			last = &LookupError{Name: name, Server: from, Err: ErrNXDomain}
			continue
		}
		if m.RCode != RCodeSuccess {
			return Answer{}, &LookupError{Name: name, Server: from, Err: ErrServerFailure}
		}
		if len(m.Answers) == 0 {
			return Answer{}, &LookupError{Name: name, Server: from, Err: ErrNoData}
		}
		return Answer{Name: c, Type: qtype, Records: m.Answers, Authority: m.Authority,
			Authoritative: m.Authoritative, Source: SourceDNS, Server: from}, nil
	}
	return Answer{}, last
}

// Flush empties the cache and forgets a cached network failure
// (ipconfig /flushdns).
func (s *Service) Flush() {
	s.cache.Flush()
	s.mu.Lock()
	s.netFailTill = time.Time{}
	s.mu.Unlock()
}

// CacheEntries lists the cache (ipconfig /displaydns).
func (s *Service) CacheEntries() []CacheEntry { return s.cache.Entries(s.cfg.Client.Clock.Now()) }

func negErr(rcode uint8) error {
	if rcode == RCodeNXDomain {
		return ErrNXDomain
	}
	return ErrNoData
}

// local answers the host's own name, bare or with the primary suffix.
func (s *Service) local(name string, qtype uint16) (Answer, bool) {
	h := s.cfg.HostName
	if h == "" || s.cfg.LocalAddrs == nil {
		return Answer{}, false
	}
	p := strings.Trim(s.cfg.Suffixes.Primary, ".")
	if !EqualNames(name, h) && (p == "" || !EqualNames(name, h+"."+p)) {
		return Answer{}, false
	}
	var addrs []netip.Addr
	for _, a := range s.cfg.LocalAddrs() {
		if a.Is4() == (qtype == TypeA) {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return Answer{}, false
	}
	return addrAnswer(name, qtype, addrs, SourceLocal), true
}

func addrAnswer(name string, qtype uint16, addrs []netip.Addr, src string) Answer {
	a := Answer{Name: name, Type: qtype, Source: src, Authoritative: true}
	for _, ad := range addrs {
		a.Records = append(a.Records, RR{Name: name, Type: qtype, Class: ClassIN, TTL: hostsTTL, Addr: ad})
	}
	return a
}

// parseReverse is the address of an in-addr.arpa name.
func parseReverse(name string) (netip.Addr, bool) {
	v, ok := strings.CutSuffix(strings.ToLower(name), ".in-addr.arpa")
	if !ok {
		return netip.Addr{}, false
	}
	p := strings.Split(v, ".")
	if len(p) != 4 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(p[3] + "." + p[2] + "." + p[1] + "." + p[0])
	return a, err == nil
}
