package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/services/dns"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tcp"
	"github.com/stapel-net/stapel/tools/stackhost"
)

// dnsServices maps a daemon's host to its resolver service, so extHost
// (built in daemon.go) reaches it without another field.
var dnsServices sync.Map // *stackhost.Host -> *dns.Service

// dnsNet is the resolver's transport: the stack's UDP and TCP.
type dnsNet struct {
	st  *stack.Stack
	tcp *tcp.Protocol
}

func (n dnsNet) ListenUDP(laddr netip.AddrPort) (dns.PacketConn, error) {
	c, err := n.st.ListenUDP(laddr)
	if err != nil {
		return nil, err // not a typed nil
	}
	return c, nil
}

func (n dnsNet) DialTCP(ctx context.Context, raddr netip.AddrPort) (net.Conn, error) {
	if n.tcp == nil {
		return nil, errors.New("no TCP")
	}
	c, err := n.tcp.DialContext(ctx, netip.AddrPortFrom(netip.IPv4Unspecified(), 0), raddr)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DNSConfig builds the resolver configuration from the daemon's config:
// the interfaces' NameServer lists in interface order, the first
// interface Domain as the primary suffix (Stapel has no global Domain key)
// and every interface's Domain as its connection-specific suffix.
func DNSConfig(cfg *config.Config, st *stack.Stack, tcpProto *tcp.Protocol, hostName string) (dns.Config, error) {
	t := cfg.Tcpip
	c := &dns.Client{Net: dnsNet{st, tcpProto}, Clock: st.Clock(), QueryIPMatching: t.QueryIpMatching}
	for _, s := range t.DNSQueryTimeouts {
		c.Timeouts = append(c.Timeouts, time.Duration(s)*time.Second)
	}
	dc := dns.Config{Client: c, HostName: hostName,
		Suffixes: dns.Suffixes{SearchList: t.SearchList, Devolution: t.UseDomainNameDevolution,
			AllowUnqualified: t.AllowUnqualifiedQuery},
		Limits: dns.CacheLimits{MaxTTL: cfg.Dnscache.MaxCacheEntryTtlLimit, MaxSOATTL: cfg.Dnscache.MaxSOACacheEntryTtlLimit,
			NegativeTTL: cfg.Dnscache.NegativeCacheTime, NegativeSOATTL: cfg.Dnscache.NegativeSOACacheTime,
			Buckets: cfg.Dnscache.CacheHashTableSize, BucketSize: cfg.Dnscache.CacheHashTableBucketSize},
		NetFailureTime: time.Duration(cfg.Dnscache.NetFailureCacheTime) * time.Second,
		Disjoint:       t.DisjointNameSpace,
		AdapterTimeout: time.Duration(cfg.Dnscache.AdapterTimeoutCacheTime) * time.Second,
		Prioritize:     t.PrioritizeRecordData,
		LocalPrefixes: func() []netip.Prefix {
			var out []netip.Prefix
			for _, ifc := range st.Interfaces() {
				out = append(out, ifc.Addrs...)
			}
			return out
		},
		LocalAddrs: func() []netip.Addr {
			var out []netip.Addr
			for _, ifc := range st.Interfaces() {
				for _, p := range ifc.Addrs {
					out = append(out, p.Addr())
				}
			}
			return out
		},
	}
	seen := map[netip.Addr]bool{}
	for _, ifc := range cfg.Interfaces {
		ns, err := ifc.NameServers()
		if err != nil {
			return dns.Config{}, err
		}
		if len(ns) > 0 {
			dc.ServerGroups = append(dc.ServerGroups, ns)
		}
		for _, a := range ns {
			if !seen[a] {
				seen[a] = true
				dc.Servers = append(dc.Servers, a)
			}
		}
		if ifc.Domain != "" {
			if dc.Suffixes.Primary == "" {
				dc.Suffixes.Primary = ifc.Domain
			}
			dc.Suffixes.Adapter = append(dc.Suffixes.Adapter, ifc.Domain)
		}
	}
	if t.HostsFile != "" {
		h, err := dns.LoadHosts(t.HostsFile)
		if err != nil {
			return dns.Config{}, fmt.Errorf("HostsFile: %w", err)
		}
		dc.Hosts = h
	}
	return dc, nil
}

// startDNS starts the caching resolver service (DNS-6, on by default).
func (d *Daemon) startDNS(hostName string) error {
	dc, err := DNSConfig(d.o.Config, d.st, d.tcp, hostName)
	if err != nil {
		return err
	}
	svc := dns.NewService(dc)
	dnsServices.Store(d.host, svc)
	h := d.host
	d.files = append(d.files, closerFunc(func() error { dnsServices.Delete(h); return nil }))
	for _, r := range registrations(d.o.Config, d.st, dc, hostName, d.log) {
		r.Start()
		d.files = append(d.files, closerFunc(func() error { r.Stop(); return nil }))
	}
	d.log.Info("dns resolver", "servers", fmt.Sprint(dc.Servers), "primarySuffix", dc.Suffixes.Primary,
		"searchList", strings.Join(dc.Suffixes.SearchList, " "), "hostsFile", d.o.Config.Tcpip.HostsFile)
	return nil
}

// registrations are the dynamic DNS registrations of the host (DNS-7):
// HOST.PRIMARY with the addresses of every interface that allows
// updates, and HOST.DOMAIN with an interface's own addresses when it sets
// EnableAdapterDomainNameRegistration. Nothing is registered without a
// suffix or servers, with DisableDynamicUpdate, or when
// UpdateSecurityLevel demands secure updates (Stapel has no GSS-TSIG).
func registrations(cfg *config.Config, st *stack.Stack, dc dns.Config, hostName string, log *slog.Logger) []*dns.Registrar {
	t := cfg.Tcpip
	if len(dc.Servers) == 0 || hostName == "" || dc.Suffixes.Primary == "" {
		return nil
	}
	if t.UpdateSecurityLevel == 0x100 {
		log.Info("dns registration off: UpdateSecurityLevel 0x100 wants secure updates, which Stapel lacks")
		return nil
	}
	allowed := func(ifc config.Interface) bool {
		if ifc.DisableDynamicUpdate != nil {
			return !*ifc.DisableDynamicUpdate
		}
		return !t.DisableDynamicUpdate
	}
	addrsOf := func(names map[string]bool) func() []netip.Addr {
		return func() []netip.Addr {
			var out []netip.Addr
			for _, ifc := range st.Interfaces() {
				if !names[ifc.Name] {
					continue
				}
				for _, p := range ifc.Addrs {
					if p.Addr().Is4() {
						out = append(out, p.Addr())
					}
				}
			}
			return out
		}
	}
	mk := func(name string, addrs func() []netip.Addr, ptr bool) *dns.Registrar {
		return &dns.Registrar{Client: dc.Client, Servers: dc.Servers, Logger: log,
			Refresh: time.Duration(cfg.Dnscache.DefaultRegistrationRefreshInterval) * time.Second,
			Reg: func() dns.Registration {
				return dns.Registration{Name: name, Addrs: addrs(), TTL: uint32(t.DefaultRegistrationTTL),
					NoReplace: t.DisableReplaceAddressesInConflicts, PTR: ptr}
			}}
	}
	var out []*dns.Registrar
	primary := map[string]bool{}
	ptr := false // PTRs unless every registering interface disables them
	for _, ifc := range cfg.Interfaces {
		if !allowed(ifc) {
			continue
		}
		primary[ifc.Name] = true
		ptr = ptr || !ifc.DisableReverseAddressRegistrations
		if ifc.EnableAdapterDomainNameRegistration && ifc.Domain != "" && !dns.EqualNames(ifc.Domain, dc.Suffixes.Primary) {
			out = append(out, mk(hostName+"."+strings.Trim(ifc.Domain, "."), addrsOf(map[string]bool{ifc.Name: true}), false))
		}
	}
	if len(primary) > 0 {
		out = append([]*dns.Registrar{mk(hostName+"."+strings.Trim(dc.Suffixes.Primary, "."), addrsOf(primary), ptr)}, out...)
	}
	return out
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// DNS returns the daemon's resolver service.
func (d *Daemon) DNS() *dns.Service { return dnsOf(d.host) }

func dnsOf(h *stackhost.Host) *dns.Service {
	v, ok := dnsServices.Load(h)
	if !ok {
		return nil
	}
	return v.(*dns.Service)
}

var _ control.DNSHost = extHost{}

var errNoResolver = errors.New("the DNS resolver is not running")

// Nslookup implements control.DNSHost: a host name is looked up through
// the cache (or at a.Server directly), an address is looked up in
// reverse (DNS-2); the server's own name comes from a reverse lookup
// ("UnKnown" when it has none).
func (h extHost) Nslookup(ctx context.Context, a control.NslookupArgs) (dns.NslookupReply, error) {
	svc := dnsOf(h.Host)
	if svc == nil {
		return dns.NslookupReply{}, errNoResolver
	}
	qtype := dns.TypeA
	if a.Type != "" {
		t, ok := dns.ParseType(a.Type)
		if !ok {
			return dns.NslookupReply{}, fmt.Errorf("unknown record type %q", a.Type)
		}
		qtype = t
	}
	var r dns.NslookupReply
	r.Server = a.Server
	if !r.Server.IsValid() {
		if s := svc.Servers(); len(s) > 0 {
			r.Server = s[0]
		} else {
			return r, dns.ErrNoServers
		}
	}
	r.Timeout = int(svc.TotalTimeout() / time.Second)
	if ans, err := svc.LookupAddr(ctx, r.Server); err == nil {
		for _, rr := range ans.Records {
			if rr.Type == dns.TypePTR {
				r.ServerName = rr.Target
				break
			}
		}
	}
	if a.Name == "" {
		return r, nil
	}
	if a.Debug {
		var mu sync.Mutex
		ctx = dns.WithTrace(ctx, func(e dns.TraceEntry) {
			mu.Lock()
			r.Trace = append(r.Trace, e)
			mu.Unlock()
		})
		if !a.Server.IsValid() {
			a.Server = r.Server // debug shows the wire: no cache
		}
	}
	name := a.Name
	if ip, err := netip.ParseAddr(a.Name); err == nil {
		name, qtype = dns.ReverseName(ip), dns.TypePTR
	}
	var (
		ans dns.Answer
		err error
	)
	if a.Server.IsValid() {
		ans, err = svc.Query(ctx, a.Server, name, qtype)
	} else {
		ans, err = svc.Lookup(ctx, name, qtype)
	}
	if err != nil {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		var le *dns.LookupError
		if errors.As(err, &le) {
			r.Error = le.Err.Error()
		} else {
			r.Error = err.Error()
		}
		return r, nil
	}
	r.Answer = ans
	return r, nil
}

// DNSCache implements control.DNSHost.
func (h extHost) DNSCache(ctx context.Context) ([]dns.CacheEntry, error) {
	svc := dnsOf(h.Host)
	if svc == nil {
		return nil, errNoResolver
	}
	return svc.CacheEntries(), nil
}

// FlushDNS implements control.DNSHost.
func (h extHost) FlushDNS(ctx context.Context) error {
	svc := dnsOf(h.Host)
	if svc == nil {
		return errNoResolver
	}
	svc.Flush()
	return nil
}
