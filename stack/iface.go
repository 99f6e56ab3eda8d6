package stack

import (
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// InterfaceConfig describes one interface to add.
type InterfaceConfig struct {
	// Name is unique within the stack ("eth0", "lan").
	Name string
	// Addrs are the interface's addresses with their subnet masks.
	Addrs []netip.Prefix
	// Gateways are default gateways reached through this interface.
	Gateways []netip.Addr
	// GatewayMetrics are their metrics (missing entries: 1). SPEC IP-6.
	GatewayMetrics []int
	// MTU overrides the link MTU; clamped to 68..link MTU (SPEC LINK-6,
	// AMB-2). 0 uses the link MTU.
	MTU int
	// UseZeroBroadcast sends 0-style broadcasts (SPEC IP-15).
	UseZeroBroadcast bool
	// StaticARP entries are installed at once (they never age).
	StaticARP []StaticARP
	// RouterDiscovery is PerformRouterDiscovery (SPEC ICMP-2): 1 = on;
	// 0 and 2 ("only if DHCP says so"; Stapel has no DHCP option yet) = off.
	RouterDiscovery int
	// SolicitationAddressBcast sends router solicitations to
	// 255.255.255.255 instead of 224.0.0.2.
	SolicitationAddressBcast bool
	// QoS: 802.1p tagging and the packet scheduler (qos.go, SPEC §16).
	QoS InterfaceQoS
	// Security filters (SPEC IP-21, filter.go), used when the stack's
	// EnableSecurityFilters is on: nil = allow all, empty = none, [0] = all.
	TCPAllowedPorts, UDPAllowedPorts, RawAllowedProtocols []int
	// PPTPFiltering accepts only PPTP: TCP port 1723 and GRE (SEC-5).
	PPTPFiltering bool
}

// StaticARP is one manual ARP entry.
type StaticARP struct {
	IP  netip.Addr
	MAC wire.MAC
}

// InterfaceInfo is what ipconfig and route print need to know.
type InterfaceInfo struct {
	Index int
	Name  string
	MAC   wire.MAC
	// Addrs are the addresses in use; Conflicts are addresses disabled
	// because another host owns them (SPEC ARP-8).
	Addrs     []netip.Prefix
	Conflicts []netip.Prefix
	Gateways  []netip.Addr
	Metrics   []int
	MTU       int
	// LinkUp is the carrier as last reported; MediaConnected turns false 3 s
	// after the carrier is lost (SPEC LINK-8) and true when it returns.
	LinkUp           bool
	MediaConnected   bool
	UseZeroBroadcast bool
	Groups           []netip.Addr
	Stats            InterfaceStats
}

// Interface is one attached link endpoint. Its methods are safe for
// concurrent use.
type Interface struct {
	s     *Stack
	index int
	name  string
	ep    link.Endpoint
	mac   wire.MAC
	mtu   int
	zero  bool

	// Guarded by s.mu.
	addrs      []*ifAddr
	gateways   []netip.Addr
	metrics    []int
	mcastMACs  map[wire.MAC]int
	groups     map[netip.Addr]int
	arp        arpCache
	linkUp     bool
	connected  bool
	senseTimer clock.Timer
	removed    bool
	rd         rdiscState
	// qos is the QoS output stage (qos.go); nil when off. Fixed at add.
	qos    *ifQoS
	igmp   igmpIface                 // igmp.go
	dhcp   atomic.Pointer[DHCPHooks] // dhcpif.go
	filter *ifFilter                 // IP-21 (filter.go); set once, nil = none

	ctr ifCounters
}

type addrState int

const (
	addrActive   addrState = iota
	addrConflict           // SPEC ARP-8: refused, kept for display
)

type ifAddr struct {
	prefix netip.Prefix
	state  addrState
	// DAD (SPEC ARP-7): probes still to send, and whether probing is on.
	probing     bool
	probesLeft  int
	dadTimer    clock.Timer
	lastDefend  time.Time
	defendedYet bool
}

// minMTU is the floor for a configured MTU (SPEC AMB-2: 68).
const minMTU = 68

// AddInterface attaches ep as a new interface. Addresses are usable at once
// (optimistic DAD); the gratuitous ARP probes of SPEC ARP-7 run in the
// background and a conflict disables the address (ARP-8).
func (s *Stack) AddInterface(ic InterfaceConfig, ep link.Endpoint) (*Interface, error) {
	if ep == nil {
		return nil, fmt.Errorf("stack: add interface %q: nil endpoint: %w", ic.Name, ErrInvalid)
	}
	for _, p := range ic.Addrs {
		if !p.Addr().Is4() || !p.IsValid() {
			return nil, fmt.Errorf("stack: add interface %q: bad address %v: %w", ic.Name, p, ErrInvalid)
		}
	}
	for _, g := range ic.Gateways {
		if !g.Is4() {
			return nil, fmt.Errorf("stack: add interface %q: bad gateway %v: %w", ic.Name, g, ErrInvalid)
		}
	}
	mtu := ep.MTU()
	if ic.MTU > 0 { // SPEC LINK-6, AMB-2
		mtu = min(max(ic.MTU, minMTU), ep.MTU())
	}
	if ic.QoS.Tag8021p { // SPEC QOS-4: the tag costs 4 bytes of the frame
		mtu = max(min(mtu, ep.MTU()-wire.Dot1QTagLen), minMTU)
	}
	// addMu serializes interface changes so the name check, Attach and
	// publication are one step; Attach runs without s.mu (it may report
	// link state at once) and before the interface can send.
	s.addMu.Lock()
	defer s.addMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if ic.Name == "" {
		ic.Name = fmt.Sprintf("if%d", s.nextIndex)
	}
	for _, o := range s.ifaces {
		if o.name == ic.Name {
			s.mu.Unlock()
			return nil, fmt.Errorf("stack: add interface %q: %w", ic.Name, ErrExists)
		}
	}
	ifc := &Interface{
		s:         s,
		index:     s.nextIndex,
		name:      ic.Name,
		ep:        ep,
		mac:       ep.MAC(),
		mtu:       mtu,
		zero:      ic.UseZeroBroadcast,
		mcastMACs: make(map[wire.MAC]int),
		groups:    make(map[netip.Addr]int),
		linkUp:    true,
		connected: true,
		rd:        rdiscState{on: ic.RouterDiscovery == 1, bcast: ic.SolicitationAddressBcast},
	}
	ifc.filter = newIfFilter(&ic, s.p.securityFilters) // SPEC IP-21, SEC-5
	ifc.arp.init(ifc)
	ifc.qos = newIfQoS(ifc, ic.QoS)
	s.nextIndex++
	for i, g := range ic.Gateways {
		m := 1
		if i < len(ic.GatewayMetrics) && ic.GatewayMetrics[i] > 0 {
			m = ic.GatewayMetrics[i]
		}
		ifc.gateways = append(ifc.gateways, g)
		ifc.metrics = append(ifc.metrics, m)
	}
	for _, e := range ic.StaticARP {
		ifc.arp.addStaticLocked(e.IP, e.MAC)
	}
	for _, p := range ic.Addrs {
		ifc.addAddrLocked(p)
	}
	s.mu.Unlock()

	ep.Attach(dispatcher{ifc})

	s.mu.Lock()
	s.ifaces = append(s.ifaces, ifc)
	s.rebuildLocked()
	if ifc.connected {
		for _, a := range ifc.addrs {
			ifc.startDADLocked(a)
		}
	}
	ifc.startRdiscLocked()
	ifc.igmpStartLocked()
	s.mu.Unlock()
	s.log.Info("interface added", "if", ifc.name, "index", ifc.index, "mac", ifc.mac.String(), "mtu", mtu)
	return ifc, nil
}

// addAddrLocked adds p; the caller starts duplicate address detection.
func (ifc *Interface) addAddrLocked(p netip.Prefix) *ifAddr {
	a := &ifAddr{prefix: p}
	ifc.addrs = append(ifc.addrs, a)
	return a
}

// RemoveInterface detaches the named interface: its addresses, routes and
// ARP cache go away and its endpoint is closed (SPEC ARCH-2).
func (s *Stack) RemoveInterface(name string) error {
	return s.removeInterface(name, true)
}

func (s *Stack) removeInterface(name string, closeEP bool) error {
	s.addMu.Lock()
	defer s.addMu.Unlock()
	s.mu.Lock()
	i := slices.IndexFunc(s.ifaces, func(ifc *Interface) bool { return ifc.name == name })
	if i < 0 {
		s.mu.Unlock()
		return fmt.Errorf("stack: remove interface %q: %w", name, ErrNoInterface)
	}
	ifc := s.ifaces[i]
	s.ifaces = slices.Delete(s.ifaces, i, i+1)
	ifc.removed = true
	for _, a := range ifc.addrs {
		if a.dadTimer != nil {
			a.dadTimer.Stop()
		}
	}
	if ifc.senseTimer != nil {
		ifc.senseTimer.Stop()
	}
	ifc.arp.flushLocked()
	ifc.stopRdiscLocked()
	ifc.igmpStopLocked()
	ifc.qos.stop() // qos.go
	s.routes.deleteIfLocked(ifc.index)
	s.rebuildLocked()
	s.mu.Unlock()
	s.log.Info("interface removed", "if", name)
	if closeEP {
		return ifc.ep.Close()
	}
	return nil
}

// Interface returns the named interface, or nil.
func (s *Stack) Interface(name string) *Interface {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ifc := range s.ifaces {
		if ifc.name == name {
			return ifc
		}
	}
	return nil
}

// Interfaces describes every interface, in index order.
func (s *Stack) Interfaces() []InterfaceInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]InterfaceInfo, 0, len(s.ifaces))
	for _, ifc := range s.ifaces {
		out = append(out, ifc.infoLocked())
	}
	return out
}

// Index is the interface index (loopback is 1; others count from 2).
func (ifc *Interface) Index() int { return ifc.index }

// Name is the interface name.
func (ifc *Interface) Name() string { return ifc.name }

// MAC is the interface's hardware address.
func (ifc *Interface) MAC() wire.MAC { return ifc.mac }

// MTU is the effective IP MTU.
func (ifc *Interface) MTU() int { return ifc.mtu }

// Info describes the interface.
func (ifc *Interface) Info() InterfaceInfo {
	ifc.s.mu.Lock()
	defer ifc.s.mu.Unlock()
	return ifc.infoLocked()
}

func (ifc *Interface) infoLocked() InterfaceInfo {
	inf := InterfaceInfo{
		Index:            ifc.index,
		Name:             ifc.name,
		MAC:              ifc.mac,
		Gateways:         slices.Clone(ifc.gateways),
		Metrics:          slices.Clone(ifc.metrics),
		MTU:              ifc.mtu,
		LinkUp:           ifc.linkUp,
		MediaConnected:   ifc.connected,
		UseZeroBroadcast: ifc.zero,
		Stats:            ifc.ctr.snapshot(),
	}
	for _, a := range ifc.addrs {
		if a.state == addrConflict {
			inf.Conflicts = append(inf.Conflicts, a.prefix)
		} else {
			inf.Addrs = append(inf.Addrs, a.prefix)
		}
	}
	for g := range ifc.groups {
		inf.Groups = append(inf.Groups, g)
	}
	slices.SortFunc(inf.Groups, func(a, b netip.Addr) int { return a.Compare(b) })
	return inf
}

// AddAddress adds an address at run time (SPEC ARCH-2, IP-9) and starts
// duplicate address detection for it.
func (ifc *Interface) AddAddress(p netip.Prefix) error {
	if !p.IsValid() || !p.Addr().Is4() {
		return fmt.Errorf("stack: add address %v: %w", p, ErrInvalid)
	}
	s := ifc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if ifc.removed {
		return ErrNoInterface
	}
	for _, a := range ifc.addrs {
		if a.prefix.Addr() == p.Addr() {
			return fmt.Errorf("stack: add address %v on %s: %w", p, ifc.name, ErrExists)
		}
	}
	a := ifc.addAddrLocked(p)
	s.rebuildLocked()
	if ifc.connected {
		ifc.startDADLocked(a)
	}
	return nil
}

// RemoveAddress removes an address (and its routes) at run time.
func (ifc *Interface) RemoveAddress(addr netip.Addr) error {
	s := ifc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(ifc.addrs, func(a *ifAddr) bool { return a.prefix.Addr() == addr })
	if i < 0 {
		return fmt.Errorf("stack: remove address %v from %s: %w", addr, ifc.name, ErrNotFound)
	}
	if t := ifc.addrs[i].dadTimer; t != nil {
		t.Stop()
	}
	ifc.addrs = slices.Delete(ifc.addrs, i, i+1)
	s.rebuildLocked()
	return nil
}

// SetGateways replaces the interface's default gateways (metrics default 1).
func (ifc *Interface) SetGateways(gws []netip.Addr, metrics []int) {
	s := ifc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ifc.gateways, ifc.metrics = nil, nil
	for i, g := range gws {
		m := 1
		if i < len(metrics) && metrics[i] > 0 {
			m = metrics[i]
		}
		ifc.gateways = append(ifc.gateways, g)
		ifc.metrics = append(ifc.metrics, m)
	}
	s.rebuildLocked()
}

// usableLocked reports whether the interface may carry traffic.
func (ifc *Interface) usableLocked() bool { return !ifc.removed && ifc.connected }

// primaryAddrLocked is the first active address (source for errors, ARP).
func (ifc *Interface) primaryAddrLocked() netip.Addr {
	for _, a := range ifc.addrs {
		if a.state == addrActive {
			return a.prefix.Addr()
		}
	}
	return netip.Addr{}
}

// ownsLocked reports whether addr is an active address of this interface.
func (ifc *Interface) ownsLocked(addr netip.Addr) *ifAddr {
	for _, a := range ifc.addrs {
		if a.prefix.Addr() == addr {
			return a
		}
	}
	return nil
}

// rebuildLocked recomputes the local-address map and automatic routes after
// any change of addresses, gateways or media state.
func (s *Stack) rebuildLocked() {
	clear(s.local)
	for _, ifc := range s.ifaces {
		if !ifc.usableLocked() {
			continue
		}
		for _, a := range ifc.addrs {
			if a.state == addrActive {
				if _, dup := s.local[a.prefix.Addr()]; !dup {
					s.local[a.prefix.Addr()] = ifc
				}
			}
		}
	}
	s.routes.rebuildAutoLocked(s)
}

// JoinGroup makes the interface accept datagrams to a multicast group and
// registers its multicast MAC with the receive filter (SPEC LINK-3,
// ARP-12). Joins are counted; the first one reports the group (igmp.go).
// IGMPLevel below 2 refuses joins (SPEC MCAST-1).
func (ifc *Interface) JoinGroup(group netip.Addr) error {
	if !group.Is4() || !group.IsMulticast() {
		return fmt.Errorf("stack: join %v: %w", group, ErrInvalid)
	}
	s := ifc.s
	if s.p.igmpLevel < IGMPLevelFull {
		return fmt.Errorf("stack: join %v: %w", group, ErrMulticastDisabled)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ifc.groups[group]++; ifc.groups[group] == 1 {
		ifc.igmpJoinLocked(group)
	}
	ifc.mcastMACs[wire.MulticastMAC(group)]++
	return nil
}

// LeaveGroup undoes one JoinGroup.
func (ifc *Interface) LeaveGroup(group netip.Addr) error {
	s := ifc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if ifc.groups[group] == 0 {
		return fmt.Errorf("stack: leave %v: %w", group, ErrNotFound)
	}
	if ifc.groups[group]--; ifc.groups[group] == 0 {
		delete(ifc.groups, group)
		ifc.igmpLeaveLocked(group)
	}
	m := wire.MulticastMAC(group)
	if ifc.mcastMACs[m]--; ifc.mcastMACs[m] <= 0 {
		delete(ifc.mcastMACs, m)
	}
	return nil
}

// JoinGroup joins group on the interface that owns ifAddr (any interface
// if ifAddr is unspecified: the first one).
func (s *Stack) JoinGroup(group, ifAddr netip.Addr) error {
	ifc := s.ifaceFor(ifAddr)
	if ifc == nil {
		return ErrNoInterface
	}
	return ifc.JoinGroup(group)
}

// LeaveGroup leaves group on the interface that owns ifAddr.
func (s *Stack) LeaveGroup(group, ifAddr netip.Addr) error {
	ifc := s.ifaceFor(ifAddr)
	if ifc == nil {
		return ErrNoInterface
	}
	return ifc.LeaveGroup(group)
}

func (s *Stack) ifaceFor(addr netip.Addr) *Interface {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ifc := range s.ifaces {
		if !addr.IsValid() || addr.IsUnspecified() || ifc.ownsLocked(addr) != nil {
			return ifc
		}
	}
	return nil
}

// dispatcher receives frames and link state for one interface.
type dispatcher struct{ ifc *Interface }

func (d dispatcher) DeliverFrame(frame []byte) { d.ifc.s.rxFrame(d.ifc, frame) }

// LinkStateChanged implements media sense (SPEC LINK-8): a loss of carrier
// takes effect after 3 s of damping; its return restores the interface at
// once and announces its addresses with gratuitous ARP.
func (d dispatcher) LinkStateChanged(up bool) {
	ifc := d.ifc
	s := ifc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if ifc.removed || ifc.linkUp == up {
		return
	}
	ifc.linkUp = up
	if !up {
		s.mediaLog("media sense: cable disconnected", "if", ifc.name)
		if s.p.disableMediaSense {
			return // DisableDHCPMediaSense=1: addresses stay in use
		}
		if ifc.senseTimer != nil {
			ifc.senseTimer.Stop()
		}
		ifc.senseTimer = s.clk.AfterFunc(s.p.mediaSenseDamping, func() { s.mediaDown(ifc) })
		return
	}
	if ifc.senseTimer != nil {
		ifc.senseTimer.Stop()
		ifc.senseTimer = nil
	}
	s.mediaLog("media sense: cable connected", "if", ifc.name)
	if !ifc.connected {
		ifc.connected = true
		ifc.dhcpMediaLocked(true) // SPEC DHCP-7
		s.rebuildLocked()
		for _, a := range ifc.addrs {
			if a.state == addrActive {
				ifc.startDADLocked(a)
			}
		}
		s.mediaLog("media sense: addresses and routes restored", "if", ifc.name)
	}
}

func (s *Stack) mediaDown(ifc *Interface) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ifc.removed || ifc.linkUp || !ifc.connected {
		return
	}
	ifc.connected = false
	ifc.senseTimer = nil
	ifc.arp.flushLocked()
	s.rebuildLocked()
	ifc.dhcpMediaLocked(false) // SPEC DHCP-7
	s.mediaLog("media sense: interface disconnected; its addresses and routes are withdrawn", "if", ifc.name)
}

// mediaLog logs media-sense events unless DisableMediaSenseEventLog=1
// (then at debug level).
func (s *Stack) mediaLog(msg string, args ...any) {
	if s.p.mediaSenseNoLog {
		s.log.Debug(msg, args...)
		return
	}
	s.log.Warn(msg, args...)
}
