package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/services/dhcp"
	"github.com/stapel-net/stapel/services/dns"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tools"
)

// DHCPLeasesName is the file in Options.StateDir holding the DHCP leases
// for INIT-REBOOT at the next start (SPEC DHCP-1, DHCP-3).
const DHCPLeasesName = "dhcp-leases.json"

// dhcpService runs the DHCP clients of a daemon's DHCP-enabled interfaces.
type dhcpService struct {
	d       *Daemon
	file    string
	mu      sync.Mutex
	clients map[string]*dhcp.Client
	order   []string
	infos   map[string]dhcp.Info
	stored  map[string]*storedDHCP // the state file's contents
	static  map[string]config.Interface
	dnsSeen string // the DHCP DNS state the resolver was last built with
}

// storedDHCP is one interface's entry in the state file: the lease
// (DHCP-1) and the last auto-configured address (IPAutoconfigurationAddress,
// DHCP-4).
type storedDHCP struct {
	Lease           *dhcp.Lease `json:",omitempty"`
	AutoconfAddress netip.Addr  `json:",omitzero"`
}

// dhcpServices finds a stack's DHCP clients from extHost and the ipconfig
// callbacks without widening the Daemon struct.
var dhcpServices sync.Map // *stack.Stack -> *dhcpService

func dhcpOf(st *stack.Stack) *dhcpService {
	v, ok := dhcpServices.Load(st)
	if !ok {
		return nil
	}
	return v.(*dhcpService)
}

// startDHCP starts a client on every interface with EnableDhcp=1 or a
// first IPAddress of 0.0.0.0 (SPEC DHCP-1).
func (d *Daemon) startDHCP(hostName string) error {
	cfg := d.o.Config
	s := &dhcpService{d: d, clients: map[string]*dhcp.Client{}, infos: map[string]dhcp.Info{},
		stored: map[string]*storedDHCP{}, static: map[string]config.Interface{}}
	if d.o.StateDir != "" {
		s.file = filepath.Join(d.o.StateDir, DHCPLeasesName)
		if err := os.MkdirAll(d.o.StateDir, 0o755); err != nil {
			return fmt.Errorf("state dir: %w", err)
		}
		if b, err := os.ReadFile(s.file); err == nil {
			if err := json.Unmarshal(b, &s.stored); err != nil {
				d.log.Warn("dhcp: ignoring unreadable lease file", "file", s.file, "err", err)
				s.stored = map[string]*storedDHCP{}
			}
		}
	}
	for _, ic := range cfg.Interfaces {
		if !ic.DHCP() {
			continue
		}
		if len(ic.IPAddress) > 0 && ic.IPAddress[0] != "0.0.0.0" {
			// SPEC DHCP-1: a static first IPAddress overrides DhcpIPAddress.
			d.log.Warn("dhcp: EnableDHCP with a static IPAddress: the static address wins, no DHCP client",
				"interface", ic.Name, "IPAddress", ic.IPAddress[0])
			continue
		}
		ifc := d.st.Interface(ic.Name)
		if ifc == nil {
			continue
		}
		c, err := dhcpClientConfig(cfg, ic, d.st, hostName)
		if err != nil {
			return err
		}
		c.Iface, c.Log = ifc, d.log
		if st := s.stored[ic.Name]; st != nil {
			c.Lease, c.APIPAPrevious = st.Lease, st.AutoconfAddress
		}
		name := ic.Name
		c.OnChange = func(in dhcp.Info) { s.changed(name, in) }
		s.static[name] = ic
		s.clients[name] = dhcp.New(c)
		s.order = append(s.order, name)
	}
	if len(s.clients) == 0 {
		return nil
	}
	dhcpServices.Store(d.st, s)
	st := d.st
	d.files = append(d.files, closerFunc(func() error {
		for _, n := range s.order {
			s.clients[n].Stop()
		}
		dhcpServices.Delete(st)
		return nil
	}))
	for _, n := range s.order {
		d.log.Info("dhcp client", "interface", n, "stored", s.stored[n] != nil)
		s.clients[n].Start()
	}
	return nil
}

// dhcpClientConfig maps the configuration onto a client: APIPA (global
// switch, per-interface override, subnet and mask: DHCP-4), the seed, the
// retransmission base, and the static gateways that override DHCP's.
func dhcpClientConfig(cfg *config.Config, ic config.Interface, st *stack.Stack, hostName string) (dhcp.Config, error) {
	t := cfg.Tcpip
	c := dhcp.Config{Clock: st.Clock(), DADTime: st.DADTime(), HostName: hostName,
		Ping: dhcp.StackPinger(st, st.Clock()), APIPA: t.IPAutoconfigurationEnabled,
		Seed: uint64(t.IPAutoconfigurationSeed), RetryBase: time.Duration(ic.DhcpRetryBaseMs) * time.Millisecond,
		KeepGateways: len(ic.DefaultGateway) > 0}
	if ic.IPAutoconfigurationEnabled != nil {
		c.APIPA = *ic.IPAutoconfigurationEnabled
	}
	// SPEC DHCP-8: option 81 with the host's FQDN (the primary suffix is
	// the first interface Domain, as in DNSConfig).
	c.FQDN = hostName
	for _, o := range cfg.Interfaces {
		if o.Domain != "" && hostName != "" {
			c.FQDN = hostName + "." + strings.Trim(o.Domain, ".")
			break
		}
	}
	sub, mask := t.IPAutoconfigurationSubnet, t.IPAutoconfigurationMask
	if ic.IPAutoconfigurationSubnet != "" {
		sub = ic.IPAutoconfigurationSubnet
	}
	if ic.IPAutoconfigurationMask != "" {
		mask = ic.IPAutoconfigurationMask
	}
	a, err1 := netip.ParseAddr(sub)
	m, err2 := netip.ParseAddr(mask)
	if err1 != nil || err2 != nil || !a.Is4() || !m.Is4() {
		return c, fmt.Errorf("interface %q: bad IPAutoconfigurationSubnet/Mask %q/%q", ic.Name, sub, mask)
	}
	mb := m.As4()
	v := uint32(mb[0])<<24 | uint32(mb[1])<<16 | uint32(mb[2])<<8 | uint32(mb[3])
	bits := 0
	for v&0x80000000 != 0 {
		v <<= 1
		bits++
	}
	if v != 0 || bits < 8 || bits > 30 {
		return c, fmt.Errorf("interface %q: bad IPAutoconfigurationMask %q", ic.Name, mask)
	}
	c.APIPASubnet = netip.PrefixFrom(a, bits).Masked()
	return c, nil
}

// changed records a client's new state: the lease file (DHCP-1), and the
// resolver's servers and suffix when DHCP supplies them (DHCP-1: static
// NameServer and Domain override DHCP's). It runs under the client's
// lock and does not call back into it.
func (s *dhcpService) changed(name string, in dhcp.Info) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.infos[name] = in
	st := s.stored[name]
	if st == nil {
		st = &storedDHCP{}
		s.stored[name] = st
	}
	if in.Lease != nil {
		st.Lease = in.Lease
	} else if in.State != dhcp.StateDisconnected {
		st.Lease = nil
	}
	if in.APIPA.IsValid() {
		st.AutoconfAddress = in.APIPA.Addr()
	}
	if s.file != "" {
		if err := writeFileAtomic(s.file, s.stored); err != nil {
			s.d.log.Warn("dhcp: cannot store leases", "file", s.file, "err", err)
		}
	}
	s.refreshDNSLocked()
}

func writeFileAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// dhcpDNSLocked is the DHCP-supplied servers and domain of an interface
// that has none configured statically.
func (s *dhcpService) dhcpDNSLocked(name string) ([]netip.Addr, string) {
	in := s.infos[name]
	if in.Lease == nil {
		return nil, ""
	}
	ic := s.static[name]
	var servers []netip.Addr
	if len(ic.NameServer) == 0 {
		servers = in.Lease.DNS
	}
	domain := ""
	if ic.Domain == "" {
		domain = in.Lease.Domain
	}
	return servers, domain
}

// refreshDNSLocked rebuilds the resolver with the DHCP servers and domains
// when they changed (the resolver's configuration is fixed at creation).
func (s *dhcpService) refreshDNSLocked() {
	d := s.d
	if d.host == nil || dnsOf(d.host) == nil {
		return
	}
	dc, err := DNSConfig(d.o.Config, d.st, d.tcp, d.st.HostName())
	if err != nil {
		return
	}
	seen := map[netip.Addr]bool{}
	for _, a := range dc.Servers {
		seen[a] = true
	}
	key := ""
	for _, n := range s.order {
		servers, domain := s.dhcpDNSLocked(n)
		key += fmt.Sprint(n, servers, domain, ";")
		if len(servers) > 0 {
			dc.ServerGroups = append(dc.ServerGroups, servers)
		}
		for _, a := range servers {
			if !seen[a] {
				seen[a] = true
				dc.Servers = append(dc.Servers, a)
			}
		}
		if domain != "" {
			if dc.Suffixes.Primary == "" {
				dc.Suffixes.Primary = domain
			}
			dc.Suffixes.Adapter = append(dc.Suffixes.Adapter, domain)
		}
	}
	if key == s.dnsSeen {
		return
	}
	s.dnsSeen = key
	dnsServices.Store(d.host, dns.NewService(dc))
	d.log.Info("dns resolver: servers from DHCP", "servers", fmt.Sprint(dc.Servers), "primarySuffix", dc.Suffixes.Primary)
}

// adapterInfo fills ipconfig's DHCP fields for an interface.
func (s *dhcpService) adapterInfo(name string, a *tools.Adapter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[name]
	if !ok {
		return
	}
	a.AutoconfOn = c.APIPAEnabled()
	in := s.infos[name]
	if in.Lease != nil {
		a.DHCPServer, a.LeaseObtained, a.LeaseExpires = in.Lease.Server, in.Lease.Obtained, in.Lease.Expires
	}
	if in.APIPA.IsValid() && in.Lease == nil {
		a.Autoconf = true
		// The APIPA address first, as ipconfig labels the first one.
		if i := slices.Index(a.Addrs, in.APIPA); i > 0 {
			a.Addrs = append([]netip.Prefix{in.APIPA}, slices.Delete(slices.Clone(a.Addrs), i, i+1)...)
		}
	}
	servers, domain := s.dhcpDNSLocked(name)
	if a.DNSSuffix == "" {
		a.DNSSuffix = domain
	}
	if len(a.DNSServers) == 0 {
		for _, sv := range servers {
			a.DNSServers = append(a.DNSServers, sv.String())
		}
	}
}

// dhcpAdapterInfo is stackhost's DHCPInfo callback.
func dhcpAdapterInfo(st *stack.Stack, name string, a *tools.Adapter) {
	if s := dhcpOf(st); s != nil {
		s.adapterInfo(name, a)
	}
}

// pick returns the clients ifName names ("" = all).
func (s *dhcpService) pick(ifName string) ([]*dhcp.Client, error) {
	if ifName == "" {
		var out []*dhcp.Client
		for _, n := range s.order {
			out = append(out, s.clients[n])
		}
		return out, nil
	}
	c, ok := s.clients[ifName]
	if !ok {
		return nil, fmt.Errorf("adapter %q is not enabled for DHCP", ifName)
	}
	return []*dhcp.Client{c}, nil
}

var errNoDHCP = errors.New("no adapter is enabled for DHCP")

// DHCPRelease is ipconfig /release.
func (h extHost) DHCPRelease(ctx context.Context, ifName string) (tools.HostInfo, error) {
	s := dhcpOf(h.Stack())
	if s == nil {
		return tools.HostInfo{}, errNoDHCP
	}
	cs, err := s.pick(ifName)
	if err != nil {
		return tools.HostInfo{}, err
	}
	for _, c := range cs {
		c.Release()
	}
	return h.Info(ctx)
}

// DHCPRenew is ipconfig /renew: it waits (as Windows does) until each
// client has a lease or has given up.
func (h extHost) DHCPRenew(ctx context.Context, ifName string) (tools.HostInfo, error) {
	s := dhcpOf(h.Stack())
	if s == nil {
		return tools.HostInfo{}, errNoDHCP
	}
	cs, err := s.pick(ifName)
	if err != nil {
		return tools.HostInfo{}, err
	}
	for _, c := range cs {
		c.Renew()
	}
	deadline := time.After(renewWait)
	for _, c := range cs {
		for !c.Info().State.Settled() {
			select {
			case <-ctx.Done():
				return tools.HostInfo{}, ctx.Err()
			case <-deadline:
				return tools.HostInfo{}, errRenewTimeout
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return h.Info(ctx)
}

// renewWait bounds ipconfig /renew; the client goes on trying after it.
const renewWait = 30 * time.Second

// errRenewTimeout is Windows' message when no server answered /renew.
var errRenewTimeout = errors.New("an error occurred while renewing the interface: unable to contact your DHCP server. Request has timed out")

var _ control.DHCPHost = extHost{}
