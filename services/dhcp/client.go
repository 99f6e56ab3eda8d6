package dhcp

import (
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/wire"
)

// State is where the client is in RFC 2131 figure 5, plus APIPA.
type State int

// Client states.
const (
	StateInit State = iota
	StateSelecting
	StateRequesting
	StateBound
	StateRenewing
	StateRebinding
	StateRebooting    // INIT-REBOOT with a stored lease (DHCP-3)
	StateCheckGateway // no server answered the reboot: pinging the lease's gateway
	StateDeclined     // waiting after a DHCPDECLINE (RFC 2131 3.1.5: 10 s)
	StateProbing      // choosing an APIPA address (DHCP-4)
	StateAutoconf     // APIPA address in use; looking for a server now and then
	StateReleased     // ipconfig /release: idle until /renew
	StateIdle         // no server, no APIPA: waiting for the next attempt
	StateDisconnected // media disconnected (DHCP-7)
	StateStopped
)

var stateNames = [...]string{"INIT", "SELECTING", "REQUESTING", "BOUND", "RENEWING", "REBINDING",
	"INIT-REBOOT", "CHECK-GATEWAY", "DECLINED", "APIPA-PROBING", "AUTOCONF", "RELEASED", "IDLE",
	"DISCONNECTED", "STOPPED"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "?"
}

// Settled reports whether the client is done for now: leased,
// auto-configured, or given up (ipconfig /renew waits for it).
func (s State) Settled() bool {
	switch s {
	case StateBound, StateAutoconf, StateIdle, StateReleased, StateDisconnected, StateStopped:
		return true
	}
	return false
}

// Lease is what the client stores (SPEC DHCP-1): DhcpIPAddress and
// DhcpSubnetMask (Addr), DhcpDefaultGateway, DhcpNameServer, DhcpDomain,
// DhcpServer, Lease, LeaseObtainedTime, LeaseTerminatesTime, T1, T2.
type Lease struct {
	Addr     netip.Prefix
	Gateways []netip.Addr `json:",omitempty"`
	DNS      []netip.Addr `json:",omitempty"`
	Domain   string       `json:",omitempty"`
	Server   netip.Addr
	Duration time.Duration
	Obtained time.Time
	T1, T2   time.Time
	Expires  time.Time
	// SPEC DHCP-8: the server answered option 81 (it registers the PTR;
	// with ServerUpdatesA also the A record). Without it the host
	// registers the PTR itself.
	ServerFQDN     bool `json:",omitempty"`
	ServerUpdatesA bool `json:",omitempty"`
}

// Valid reports whether the lease has not expired at now.
func (l *Lease) Valid(now time.Time) bool {
	return l != nil && l.Addr.IsValid() && now.Before(l.Expires)
}

// Iface is what the client needs of a stack interface (stack.Interface).
type Iface interface {
	Name() string
	MAC() wire.MAC
	SendDHCP(src, dst netip.Addr, payload []byte) error
	AddAddress(p netip.Prefix) error
	RemoveAddress(a netip.Addr) error
	SetGateways(gws []netip.Addr, metrics []int)
	AddressConflict(a netip.Addr) bool
	SetDHCPHooks(h *stack.DHCPHooks)
}

// Config configures a client. Zero durations take the RFC 2131 /
// whitepaper values given in the comments.
type Config struct {
	Iface Iface
	Clock clock.Clock
	Log   *slog.Logger
	// Ping sends one echo request to gw and reports whether it was
	// answered within PingTimeout (DHCP-3). nil: never answered.
	Ping func(gw netip.Addr, timeout time.Duration, done func(ok bool))
	// DADTime is how long duplicate address detection runs on a new
	// address (stack.DADTime); a conflict within it is checked after.
	DADTime  time.Duration
	HostName string
	// FQDN, when set, is sent in option 81 (RFC 4702) with the address
	// requests, asking the server to register the PTR record while the
	// host registers its A record (SPEC DHCP-8).
	FQDN string
	// Lease is a stored lease for INIT-REBOOT (DHCP-3).
	Lease *Lease
	// OnChange is called (with the client's lock held: it must not call
	// back into the client) whenever the lease or APIPA address changes.
	OnChange func(Info)
	// MetricBase is the DHCP gateway base metric B (DHCP-6, IP-6); 0 = 1.
	MetricBase int
	// APIPA enables auto-configuration (DHCP-4) in APIPASubnet (169.254/16).
	APIPA       bool
	APIPASubnet netip.Prefix
	// APIPAPrevious is the address auto-configured last time
	// (IPAutoconfigurationAddress), probed first so it stays the same.
	APIPAPrevious netip.Addr
	Seed          uint64
	// Retries is the number of DISCOVERs (or REQUESTs) before giving up a
	// round; 0 = 4 (4+8+16+32 s ≈ one minute, as Windows 2000 does).
	Retries int
	// RetryBase is the first retransmission timeout, doubled each time
	// up to 64 s, ±1 s (RFC 2131 4.1); 0 = 4 s.
	RetryBase time.Duration
	// Recheck is how often a client without a server looks again
	// (DHCP-4: 5 minutes).
	Recheck     time.Duration
	PingTimeout time.Duration // 0 = 1 s
	// KeepGateways leaves the interface's gateways alone: static
	// DefaultGateway entries override DHCP's (DHCP-1).
	KeepGateways bool
}

// Info is the client's state for ipconfig.
type Info struct {
	State State
	Lease *Lease       // nil unless bound (or renewing, rebinding)
	APIPA netip.Prefix // the auto-configuration address in use
}

// Client is one interface's DHCP client.
type Client struct {
	cfg Config
	rnd *rand.Rand

	mu        sync.Mutex
	state     State
	xid       uint32
	tries     int
	start     time.Time // of the current exchange (secs field)
	timer     clock.Timer
	leaseTm   clock.Timer
	lease     *Lease // the lease in use or stored
	offer     *Message
	apipa     netip.Prefix
	apipaLeft int
	installed netip.Prefix // the DHCP address on the interface
	gen       int          // bumps on every state change, to ignore stale callbacks
}

// New creates a client; Start runs it.
func New(cfg Config) *Client {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Retries <= 0 {
		cfg.Retries = 4
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 4 * time.Second
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = 5 * time.Minute
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = time.Second
	}
	if cfg.MetricBase <= 0 {
		cfg.MetricBase = 1
	}
	if !cfg.APIPASubnet.IsValid() {
		cfg.APIPASubnet = netip.MustParsePrefix("169.254.0.0/16")
	}
	mac := cfg.Iface.MAC()
	seed := cfg.Seed ^ binary.BigEndian.Uint64(append([]byte{0, 0}, mac[:]...))
	return &Client{cfg: cfg, rnd: rand.New(rand.NewPCG(seed, 0x5354504c)), lease: cfg.Lease}
}

// Start installs the stack hooks and begins: INIT-REBOOT with a stored
// unexpired lease (DHCP-3), else INIT (DHCP-1).
func (c *Client) Start() {
	c.cfg.Iface.SetDHCPHooks(&stack.DHCPHooks{Packet: c.packet, Media: c.media})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.begin()
}

// Stop removes the hooks and timers; the address stays configured.
func (c *Client) Stop() {
	c.cfg.Iface.SetDHCPHooks(nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopTimers()
	c.setState(StateStopped)
}

// Info returns the current state.
func (c *Client) Info() Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.infoLocked()
}

func (c *Client) infoLocked() Info {
	in := Info{State: c.state, APIPA: c.apipa}
	if c.lease != nil && c.installed.IsValid() {
		l := *c.lease
		in.Lease = &l
	}
	return in
}

// APIPAEnabled reports whether auto-configuration is on (ipconfig's
// "Autoconfiguration Enabled").
func (c *Client) APIPAEnabled() bool { return c.cfg.APIPA }

// Release gives the lease back (DHCPRELEASE, ipconfig /release) and
// removes the address; the client then waits for Renew.
func (c *Client) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopTimers()
	if c.lease != nil && c.installed.IsValid() {
		m := c.newMsg(Release)
		m.CIAddr = c.lease.Addr.Addr()
		m.Add(OptServerID, addrBytes(c.lease.Server))
		c.send(c.lease.Addr.Addr(), c.lease.Server, m)
	}
	c.uninstall()
	c.dropAPIPA()
	c.lease = nil
	c.setState(StateReleased)
	c.changed()
}

// Renew renews the lease now (ipconfig /renew), or starts over without one.
func (c *Client) Renew() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == StateStopped {
		return
	}
	if c.installed.IsValid() && c.lease.Valid(c.now()) {
		c.renewing(StateRenewing)
		return
	}
	c.stopTimers()
	c.discover()
}

func (c *Client) now() time.Time { return c.cfg.Clock.Now() }

func (c *Client) setState(s State) {
	if c.state != s {
		c.cfg.Log.Debug("dhcp: state", "if", c.cfg.Iface.Name(), "from", c.state, "to", s)
	}
	c.state = s
	c.gen++
}

func (c *Client) stopTimers() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.leaseTm != nil {
		c.leaseTm.Stop()
		c.leaseTm = nil
	}
}

// after runs f under the lock after d unless the state changed meanwhile.
func (c *Client) after(d time.Duration, f func()) {
	if c.timer != nil {
		c.timer.Stop()
	}
	gen := c.gen
	c.timer = c.cfg.Clock.AfterFunc(d, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.gen == gen {
			f()
		}
	})
}

func (c *Client) changed() {
	if c.cfg.OnChange != nil {
		c.cfg.OnChange(c.infoLocked())
	}
}

func (c *Client) begin() {
	if c.lease.Valid(c.now()) {
		c.reboot()
		return
	}
	c.lease = nil
	c.discover()
}

// backoff is RFC 2131 4.1's retransmission delay for attempt n (0-based):
// 4, 8, 16, 32, 64 s, randomized by ±1 s (scaled with RetryBase).
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.RetryBase << min(n, 4)
	j := c.cfg.RetryBase / 4
	return d - j + time.Duration(c.rnd.Int64N(int64(2*j)+1))
}

// newMsg starts a client message with the fields every one carries.
func (c *Client) newMsg(typ byte) *Message {
	mac := c.cfg.Iface.MAC()
	m := &Message{Op: bootRequest, HType: 1, HLen: 6, XID: c.xid, CHAddr: mac}
	if typ == Discover || typ == Request {
		m.Secs = uint16(min(c.now().Sub(c.start)/time.Second, 0xffff))
	}
	m.Add(OptMessageType, []byte{typ})
	m.Add(OptClientID, append([]byte{1}, mac[:]...))
	if typ == Discover || typ == Request {
		if c.cfg.HostName != "" {
			m.Add(OptHostName, []byte(c.cfg.HostName))
		}
		m.Add(OptParamRequest, []byte{OptSubnetMask, OptRouter, OptDNS, OptDomainName, OptT1, OptT2})
		if c.cfg.FQDN != "" { // SPEC DHCP-8: flags 0 (S=0: we do A, the server PTR), ASCII name as W2K sends
			m.Add(OptFQDN, append([]byte{0, 0, 0}, c.cfg.FQDN...))
		}
	}
	return m
}

func (c *Client) send(src, dst netip.Addr, m *Message) {
	if err := c.cfg.Iface.SendDHCP(src, dst, m.Marshal()); err != nil {
		c.cfg.Log.Debug("dhcp: send", "if", c.cfg.Iface.Name(), "type", m.Type(), "err", err)
	}
}

var (
	zero  = netip.IPv4Unspecified()
	bcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})
)

// discover enters SELECTING (RFC 2131 4.4.1).
func (c *Client) discover() {
	c.setState(StateSelecting)
	c.xid, c.tries, c.start, c.offer = c.rnd.Uint32(), 0, c.now(), nil
	c.sendDiscover()
}

func (c *Client) sendDiscover() {
	if c.tries >= c.cfg.Retries {
		c.noServer()
		return
	}
	m := c.newMsg(Discover)
	if c.lease != nil {
		m.Add(OptRequestedIP, addrBytes(c.lease.Addr.Addr()))
	}
	c.send(zero, bcast, m)
	c.after(c.backoff(c.tries), c.sendDiscover)
	c.tries++
}

// noServer: a round found no server. SPEC DHCP-4: auto-configure (once),
// and look again every Recheck.
func (c *Client) noServer() {
	c.cfg.Log.Info("dhcp: no server answered", "if", c.cfg.Iface.Name())
	if c.cfg.APIPA && !c.apipa.IsValid() {
		c.setState(StateProbing)
		c.apipaLeft = 10
		c.probeAPIPA()
		return
	}
	if c.apipa.IsValid() {
		c.setState(StateAutoconf)
	} else {
		c.setState(StateIdle)
	}
	c.after(c.cfg.Recheck, c.discover)
}

// probeAPIPA tries one random address in the APIPA subnet (SPEC DHCP-4:
// up to 10), relying on the stack's duplicate address detection.
func (c *Client) probeAPIPA() {
	if c.apipaLeft == 0 {
		c.cfg.Log.Warn("dhcp: no free auto-configuration address", "if", c.cfg.Iface.Name())
		c.setState(StateIdle)
		c.after(c.cfg.Recheck, c.discover)
		return
	}
	p := c.apipaCandidate()
	if prev := c.cfg.APIPAPrevious; c.apipaLeft == 10 && c.cfg.APIPASubnet.Contains(prev) {
		p = netip.PrefixFrom(prev, c.cfg.APIPASubnet.Bits())
	}
	c.apipaLeft--
	if err := c.cfg.Iface.AddAddress(p); err != nil {
		c.after(0, c.probeAPIPA)
		return
	}
	c.after(c.cfg.DADTime, func() {
		if c.cfg.Iface.AddressConflict(p.Addr()) {
			c.cfg.Iface.RemoveAddress(p.Addr())
			c.probeAPIPA()
			return
		}
		c.apipa = p
		c.setState(StateAutoconf)
		c.cfg.Log.Warn("dhcp: auto-configured", "if", c.cfg.Iface.Name(), "addr", p)
		c.changed()
		c.after(c.cfg.Recheck, c.discover)
	})
}

// apipaCandidate picks a host address in the subnet; in 169.254/16 the
// first and last /24 are reserved (RFC 3927 2.1).
func (c *Client) apipaCandidate() netip.Prefix {
	sub := c.cfg.APIPASubnet.Masked()
	base := binary.BigEndian.Uint32(addrBytes(sub.Addr()))
	size := uint32(1) << (32 - sub.Bits())
	lo, n := uint32(1), size-2
	if sub.Bits() == 16 {
		lo, n = 256, size-512
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], base+lo+uint32(c.rnd.Uint64N(uint64(n))))
	return netip.PrefixFrom(netip.AddrFrom4(b), sub.Bits())
}

func (c *Client) dropAPIPA() {
	if c.apipa.IsValid() {
		c.cfg.Iface.RemoveAddress(c.apipa.Addr())
		c.apipa = netip.Prefix{}
	}
}

// reboot is INIT-REBOOT (RFC 2131 3.2, SPEC DHCP-3).
func (c *Client) reboot() {
	c.setState(StateRebooting)
	c.xid, c.tries, c.start = c.rnd.Uint32(), 0, c.now()
	c.sendReboot()
}

func (c *Client) sendReboot() {
	if c.tries >= c.cfg.Retries {
		c.checkGateway()
		return
	}
	m := c.newMsg(Request)
	m.Add(OptRequestedIP, addrBytes(c.lease.Addr.Addr()))
	c.send(zero, bcast, m)
	c.after(c.backoff(c.tries), c.sendReboot)
	c.tries++
}

// checkGateway: no server answered the reboot; SPEC DHCP-3: ping the
// lease's default gateway with the lease in place. An answer means the
// same network: keep the lease; none means a network without DHCP.
func (c *Client) checkGateway() {
	l := c.lease
	if !l.Valid(c.now()) || len(l.Gateways) == 0 || c.cfg.Ping == nil {
		c.lease = nil
		c.uninstall()
		c.noServer()
		return
	}
	c.setState(StateCheckGateway)
	c.install(l)
	gen := c.gen
	c.cfg.Ping(l.Gateways[0], c.cfg.PingTimeout, func(ok bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.gen != gen {
			return
		}
		if ok {
			c.cfg.Log.Info("dhcp: no server, but the lease's gateway answers: keeping the lease",
				"if", c.cfg.Iface.Name(), "addr", l.Addr)
			c.bound()
			return
		}
		c.lease = nil
		c.uninstall()
		c.changed()
		c.noServer()
	})
}

// packet handles a datagram from the stack's DHCP hook.
func (c *Client) packet(src netip.AddrPort, b []byte) {
	m, err := Parse(b)
	if err != nil || m.Op != bootReply || m.CHAddr != c.cfg.Iface.MAC() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.XID != c.xid {
		return
	}
	switch t := m.Type(); {
	case t == Offer && (c.state == StateSelecting || c.state == StateAutoconf || c.state == StateIdle):
		if !m.YIAddr.Is4() || m.YIAddr.IsUnspecified() {
			return
		}
		if _, ok := m.Addr(OptServerID); !ok {
			return
		}
		c.offer = m
		c.setState(StateRequesting)
		c.tries = 0
		c.sendRequest()
	case t == Ack && (c.state == StateRequesting || c.state == StateRebooting || c.state == StateCheckGateway ||
		c.state == StateRenewing || c.state == StateRebinding):
		c.ack(m)
	case t == Nak && (c.state == StateRequesting || c.state == StateRebooting || c.state == StateCheckGateway ||
		c.state == StateRenewing || c.state == StateRebinding):
		c.cfg.Log.Warn("dhcp: server refused the address", "if", c.cfg.Iface.Name(), "msg", m.String(OptMessage))
		c.stopTimers()
		c.lease = nil
		c.uninstall()
		c.changed()
		c.discover()
	}
}

// sendRequest is REQUESTING (RFC 2131 4.4.1): broadcast, naming the
// chosen server so the others withdraw their offers.
func (c *Client) sendRequest() {
	if c.tries >= c.cfg.Retries {
		c.discover()
		return
	}
	m := c.newMsg(Request)
	m.Add(OptRequestedIP, addrBytes(c.offer.YIAddr))
	sid, _ := c.offer.Addr(OptServerID)
	m.Add(OptServerID, addrBytes(sid))
	c.send(zero, bcast, m)
	c.after(c.backoff(c.tries), c.sendRequest)
	c.tries++
}

// ack binds a lease (RFC 2131 4.4.1), keeping the server of a renewal.
func (c *Client) ack(m *Message) {
	now := c.now()
	l := &Lease{Obtained: now, DNS: m.Addrs(OptDNS), Gateways: m.Addrs(OptRouter), Domain: m.String(OptDomainName)}
	if sid, ok := m.Addr(OptServerID); ok {
		l.Server = sid
	} else if c.lease != nil {
		l.Server = c.lease.Server
	}
	if f := m.Opt(OptFQDN); len(f) >= 3 {
		l.ServerFQDN, l.ServerUpdatesA = true, f[0]&0x01 != 0
	}
	ip := m.YIAddr
	if !ip.Is4() || ip.IsUnspecified() {
		return
	}
	bits := 0
	if mask, ok := m.Addr(OptSubnetMask); ok { // DhcpSubnetMaskOpt, validated into DhcpSubnetMask
		if p, err := ip.Prefix(maskLen(mask)); err == nil && maskLen(mask) > 0 {
			bits = p.Bits()
		}
	}
	if bits == 0 { // no (valid) mask: the classful one, as RFC 1122 hosts do
		bits = classfulBits(ip)
	}
	l.Addr = netip.PrefixFrom(ip, bits)
	d, ok := m.Duration(OptLeaseTime)
	if !ok || d <= 0 {
		d = time.Hour
	}
	l.Duration = d
	l.Expires = addCap(now, d)
	t1, ok1 := m.Duration(OptT1)
	t2, ok2 := m.Duration(OptT2)
	if !ok1 || t1 <= 0 || t1 >= d { // SPEC DHCP-2: T1 = ½ lease
		t1 = d / 2
	}
	if !ok2 || t2 <= t1 || t2 >= d { // RFC 2131 4.4.5: T2 = ⅞ lease
		t2 = d / 8 * 7
	}
	l.T1, l.T2 = addCap(now, t1), addCap(now, t2)
	fresh := c.installed != l.Addr
	c.lease = l
	c.dropAPIPA()
	c.install(l)
	if fresh {
		// SPEC DHCP-5, ARP-10: the stack probes the new address; a
		// conflict is declined instead of disabling the stack.
		c.cfg.Log.Info("dhcp: lease obtained", "if", c.cfg.Iface.Name(), "addr", l.Addr, "server", l.Server,
			"lease", d, "gateways", l.Gateways)
		c.bound()
		gen := c.gen
		addr := l.Addr.Addr()
		c.after(c.cfg.DADTime, func() {
			if c.gen == gen && c.cfg.Iface.AddressConflict(addr) {
				c.decline(addr)
			}
		})
		return
	}
	c.cfg.Log.Info("dhcp: lease renewed", "if", c.cfg.Iface.Name(), "addr", l.Addr, "lease", d)
	c.bound()
}

// decline tells the server the address is in use and starts over after
// 10 s (RFC 2131 3.1.5; SPEC DHCP-5, ARP-10).
func (c *Client) decline(addr netip.Addr) {
	c.cfg.Log.Warn("dhcp: leased address in use by another host: declining", "if", c.cfg.Iface.Name(), "addr", addr)
	m := c.newMsg(Decline)
	m.Add(OptRequestedIP, addrBytes(addr))
	m.Add(OptServerID, addrBytes(c.lease.Server))
	c.send(zero, bcast, m)
	c.stopTimers()
	c.lease = nil
	c.uninstall()
	c.setState(StateDeclined)
	c.changed()
	c.after(10*time.Second, c.discover)
}

// bound enters BOUND with the lease timers (SPEC DHCP-2).
func (c *Client) bound() {
	c.stopTimers()
	c.setState(StateBound)
	c.changed()
	c.leaseTimer()
}

// leaseTimer arms the next of T1, T2 and expiry.
func (c *Client) leaseTimer() {
	if c.leaseTm != nil {
		c.leaseTm.Stop()
	}
	l := c.lease
	if l == nil || l.Duration == Infinite {
		return
	}
	now := c.now()
	var at time.Time
	var f func()
	switch {
	case c.state == StateBound && now.Before(l.T1):
		at, f = l.T1, func() { c.renewing(StateRenewing) }
	case (c.state == StateBound || c.state == StateRenewing) && now.Before(l.T2):
		at, f = l.T2, func() { c.renewing(StateRebinding) }
	default:
		at, f = l.Expires, c.expire
	}
	gen := c.gen
	c.leaseTm = c.cfg.Clock.AfterFunc(at.Sub(now), func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.gen == gen {
			f()
		}
	})
}

// renewing enters RENEWING (unicast to the server, at T1) or REBINDING
// (broadcast, at T2), retransmitting at half the time left to the next
// deadline, at least every RetryBase (RFC 2131 4.4.5 says 60 s).
func (c *Client) renewing(s State) {
	if c.lease == nil {
		c.discover()
		return
	}
	c.setState(s)
	c.xid, c.start = c.rnd.Uint32(), c.now()
	c.leaseTimer()
	c.sendRenew()
}

func (c *Client) sendRenew() {
	l := c.lease
	m := c.newMsg(Request)
	m.CIAddr = l.Addr.Addr()
	next := l.Expires
	if c.state == StateRenewing {
		c.send(l.Addr.Addr(), l.Server, m)
		next = l.T2
	} else {
		c.send(l.Addr.Addr(), bcast, m)
	}
	wait := max(next.Sub(c.now())/2, min(60*time.Second, c.cfg.RetryBase))
	if c.now().Add(wait).Before(next) {
		c.after(wait, c.sendRenew)
	}
}

// expire: the lease ran out without a renewal; the address goes.
func (c *Client) expire() {
	c.cfg.Log.Warn("dhcp: lease expired", "if", c.cfg.Iface.Name(), "addr", c.lease.Addr)
	c.stopTimers()
	c.lease = nil
	c.uninstall()
	c.changed()
	c.discover()
}

// install puts the lease's address and gateways on the interface; the
// gateways get metrics B, B+1, … (SPEC DHCP-6, IP-6).
func (c *Client) install(l *Lease) {
	if c.installed != l.Addr {
		c.uninstall()
		if err := c.cfg.Iface.AddAddress(l.Addr); err != nil {
			c.cfg.Log.Warn("dhcp: add address", "if", c.cfg.Iface.Name(), "addr", l.Addr, "err", err)
		}
		c.installed = l.Addr
	}
	metrics := make([]int, len(l.Gateways))
	for i := range metrics {
		metrics[i] = c.cfg.MetricBase + i
	}
	if !c.cfg.KeepGateways {
		c.cfg.Iface.SetGateways(l.Gateways, metrics)
	}
}

func (c *Client) uninstall() {
	if c.installed.IsValid() {
		c.cfg.Iface.RemoveAddress(c.installed.Addr())
		if !c.cfg.KeepGateways {
			c.cfg.Iface.SetGateways(nil, nil)
		}
		c.installed = netip.Prefix{}
	}
}

// media handles connect and disconnect (SPEC DHCP-7, LINK-8): the stack
// already withdrew the addresses and routes 3 s after the cable went; on
// connect the client renews (INIT-REBOOT) or starts over.
func (c *Client) media(up bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == StateStopped || c.state == StateReleased {
		return
	}
	c.stopTimers()
	if !up {
		c.setState(StateDisconnected)
		return
	}
	c.uninstall()
	c.dropAPIPA()
	c.changed()
	c.begin()
}

func maskLen(m netip.Addr) int {
	v := binary.BigEndian.Uint32(addrBytes(m))
	n := 0
	for v&0x80000000 != 0 {
		v <<= 1
		n++
	}
	if v != 0 {
		return -1 // not contiguous
	}
	return n
}

func classfulBits(a netip.Addr) int {
	switch b := a.As4()[0]; {
	case b < 128:
		return 8
	case b < 192:
		return 16
	default:
		return 24
	}
}

func addCap(t time.Time, d time.Duration) time.Time {
	if d == Infinite {
		return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t.Add(d)
}
