package stack

import (
	"fmt"
	"net/netip"
	"slices"
)

// RouteKind says where a route came from and how it is used.
type RouteKind uint8

const (
	RouteConnected  RouteKind = iota // local subnet, on-link
	RouteLocal                       // our own address, looped back (IP-16)
	RouteBroadcast                   // subnet-directed or limited broadcast
	RouteMulticast                   // 224.0.0.0/4 on an interface
	RouteLoopback                    // 127.0.0.0/8
	RouteDefault                     // default gateway (IP-6)
	RouteStatic                      // added with AddRoute ("route add")
	RouteRedirect                    // host route learned from an ICMP redirect (ICMP-3)
	RouteRouterDisc                  // default route learned by router discovery (ICMP-2)
)

func (k RouteKind) String() string {
	switch k {
	case RouteConnected:
		return "connected"
	case RouteLocal:
		return "local"
	case RouteBroadcast:
		return "broadcast"
	case RouteMulticast:
		return "multicast"
	case RouteLoopback:
		return "loopback"
	case RouteDefault:
		return "default"
	case RouteStatic:
		return "static"
	case RouteRedirect:
		return "redirect"
	case RouteRouterDisc:
		return "router-discovery"
	}
	return "unknown"
}

// loopbackAddr is the internal loopback interface address.
var loopbackAddr = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// LoopbackIndex is the interface index of the internal loopback.
const LoopbackIndex = 1

// Route is one routing table entry (SPEC IP-2..IP-4).
type Route struct {
	Dst netip.Prefix
	// Gateway is the next hop; the zero Addr means on-link (deliver to
	// the destination itself). route print shows IfAddr for those.
	Gateway netip.Addr
	IfIndex int
	// IfAddr is the interface address (route print's "Interface" column).
	IfAddr netip.Addr
	Metric int
	Kind   RouteKind
	// Persistent: kept across restarts ("route add -p", SPEC IP-5).
	Persistent bool
}

// DisplayGateway is the gateway as route print shows it: the next hop, or
// the interface address for on-link routes.
func (r Route) DisplayGateway() netip.Addr {
	if r.Gateway.IsValid() {
		return r.Gateway
	}
	return r.IfAddr
}

// routeTable holds automatic routes (rebuilt from interface state) and
// user routes. Issue 5 adds redirect and PMTU host routes here.
type routeTable struct {
	auto   []Route
	static []Route
	// persistent routes (IfIndex 0) join the lookup set whenever their
	// gateway is on a connected subnet; see persist.go.
	persistent []Route
	// rdisc are the routers learned by router discovery (rdisc.go).
	rdisc []rdiscRouter
	all   []Route // auto + usable static and persistent, the lookup set
}

func (rt *routeTable) rebuildAutoLocked(s *Stack) {
	rt.auto = rt.auto[:0]
	rt.auto = append(rt.auto, Route{
		Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{127, 0, 0, 0}), 8), Gateway: loopbackAddr,
		IfIndex: LoopbackIndex, IfAddr: loopbackAddr, Metric: 1, Kind: RouteLoopback,
	})
	for _, ifc := range s.ifaces {
		if !ifc.usableLocked() {
			continue
		}
		primary := ifc.primaryAddrLocked()
		if !primary.IsValid() {
			// No address yet (DHCP): limited broadcast still leaves here,
			// from 0.0.0.0.
			rt.auto = append(rt.auto, Route{Dst: netip.PrefixFrom(limitedBroadcast, 32), IfIndex: ifc.index,
				IfAddr: netip.IPv4Unspecified(), Metric: 2, Kind: RouteBroadcast})
			continue
		}
		for i, gw := range ifc.gateways {
			src := primary
			for _, a := range ifc.addrs {
				if a.state == addrActive && a.prefix.Contains(gw) {
					src = a.prefix.Addr()
					break
				}
			}
			rt.auto = append(rt.auto, Route{Dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0),
				Gateway: gw, IfIndex: ifc.index, IfAddr: src, Metric: ifc.metrics[i], Kind: RouteDefault})
		}
		rt.auto = rt.appendRdiscLocked(rt.auto, ifc)
		for _, a := range ifc.addrs {
			if a.state != addrActive {
				continue
			}
			ad := a.prefix.Addr()
			if a.prefix.Bits() < 32 {
				rt.auto = append(rt.auto, Route{Dst: a.prefix.Masked(), IfIndex: ifc.index, IfAddr: ad, Metric: 1, Kind: RouteConnected})
			}
			rt.auto = append(rt.auto, Route{Dst: netip.PrefixFrom(ad, 32), Gateway: loopbackAddr,
				IfIndex: LoopbackIndex, IfAddr: loopbackAddr, Metric: 1, Kind: RouteLocal})
			if a.prefix.Bits() < 31 { // SPEC AMB-5: subnet-directed broadcast host route
				rt.auto = append(rt.auto, Route{Dst: netip.PrefixFrom(subnetBroadcast(a.prefix), 32),
					IfIndex: ifc.index, IfAddr: ad, Metric: 1, Kind: RouteBroadcast})
			}
		}
		rt.auto = append(rt.auto,
			Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{224, 0, 0, 0}), 4), IfIndex: ifc.index, IfAddr: primary, Metric: 1, Kind: RouteMulticast},
			Route{Dst: netip.PrefixFrom(limitedBroadcast, 32), IfIndex: ifc.index, IfAddr: primary, Metric: 1, Kind: RouteBroadcast})
	}
	rt.all = append(rt.all[:0], rt.auto...)
	for _, r := range rt.static {
		ifc := s.ifaceByIndexLocked(r.IfIndex)
		if ifc == nil || !ifc.usableLocked() {
			continue // SPEC LINK-8: routes through a disconnected interface are withdrawn
		}
		rt.all = append(rt.all, r)
	}
	rt.appendPersistentLocked(s)
}

func (rt *routeTable) deleteIfLocked(index int) {
	rt.static = slices.DeleteFunc(rt.static, func(r Route) bool { return r.IfIndex == index })
}

// lookup implements SPEC IP-3: longest prefix, then lowest metric; on a
// further tie a route whose interface owns srcHint wins (so a bound socket
// sends its broadcasts out of its own interface), else the first.
func (rt *routeTable) lookup(s *Stack, dst, srcHint netip.Addr) (Route, bool) {
	best := -1
	bestBits, bestMetric, bestOwns := -1, 0, false
	for i := range rt.all {
		r := &rt.all[i]
		if !r.Dst.Contains(dst) {
			continue
		}
		bits := r.Dst.Bits()
		owns := srcHint.IsValid() && r.IfAddr == srcHint
		if !owns && srcHint.IsValid() && r.IfIndex != LoopbackIndex {
			if ifc := s.local[srcHint]; ifc != nil && ifc.index == r.IfIndex {
				owns = true
			}
		}
		switch {
		case bits > bestBits,
			bits == bestBits && r.Metric < bestMetric,
			bits == bestBits && r.Metric == bestMetric && owns && !bestOwns:
			best, bestBits, bestMetric, bestOwns = i, bits, r.Metric, owns
		}
	}
	if best < 0 {
		return Route{}, false
	}
	if bestBits == 0 { // SPEC IP-6: only one default gateway is active
		if r, ok := rt.activeDefaultLocked(s); ok {
			return r, true
		}
	}
	return rt.all[best], true
}

// Routes returns the lookup table (automatic, static and persistent
// routes on usable interfaces, and learned redirect host routes), sorted by destination then metric, as route print lists it.
func (s *Stack) Routes() []Route {
	s.mu.Lock()
	out := slices.Clone(s.routes.all)
	for _, e := range s.learned.Entries() { // ICMP-3: redirect host routes
		if !e.Gateway.IsValid() {
			continue
		}
		if ifc, a := s.onLinkLocked(e.Gateway); ifc != nil {
			out = append(out, Route{Dst: netip.PrefixFrom(e.Dst, 32), Gateway: e.Gateway, IfIndex: ifc.index,
				IfAddr: a, Metric: 1, Kind: RouteRedirect})
		}
	}
	s.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Route) int {
		if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
			return c
		}
		if a.Dst.Bits() != b.Dst.Bits() {
			return a.Dst.Bits() - b.Dst.Bits()
		}
		return a.Metric - b.Metric
	})
	return out
}

// ActiveGateway is the default gateway in use: the lowest-metric default
// route (SPEC IP-6: only one is active for the whole host).
func (s *Stack) ActiveGateway() (netip.Addr, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.routes.activeDefaultLocked(s)
	return r.Gateway, ok
}

// AddRoute adds a static route ("route add"). IfIndex may be 0: the
// interface is then the one whose subnet contains the gateway, or whose
// address equals it (SPEC IP-7: the own address as gateway means on-link).
func (s *Stack) AddRoute(r Route) error {
	if !r.Dst.IsValid() || !r.Dst.Addr().Is4() {
		return fmt.Errorf("stack: add route %v: %w", r.Dst, ErrInvalid)
	}
	r.Dst = r.Dst.Masked()
	r.Kind = RouteStatic
	if r.Metric <= 0 {
		r.Metric = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Persistent {
		return s.addPersistentLocked(r)
	}
	return s.addStaticLocked(r)
}

func (s *Stack) addStaticLocked(r Route) error {
	if r.Gateway.IsValid() {
		if ifc := s.local[r.Gateway]; ifc != nil { // IP-7
			r.IfIndex, r.IfAddr, r.Gateway = ifc.index, r.Gateway, netip.Addr{}
		} else if r.IfIndex == 0 {
			for _, ifc := range s.ifaces {
				for _, a := range ifc.addrs {
					if a.state == addrActive && a.prefix.Contains(r.Gateway) {
						r.IfIndex, r.IfAddr = ifc.index, a.prefix.Addr()
					}
				}
			}
		}
	}
	ifc := s.ifaceByIndexLocked(r.IfIndex)
	if ifc == nil {
		return fmt.Errorf("stack: add route %v via %v: gateway not on a connected subnet: %w", r.Dst, r.Gateway, ErrNoRoute)
	}
	if !r.IfAddr.IsValid() {
		r.IfAddr = ifc.primaryAddrLocked()
	}
	for _, o := range s.routes.static {
		if o.Dst == r.Dst && o.Gateway == r.Gateway && o.IfIndex == r.IfIndex {
			return fmt.Errorf("stack: add route %v via %v: %w", r.Dst, r.Gateway, ErrExists)
		}
	}
	s.routes.static = append(s.routes.static, r)
	s.routes.rebuildAutoLocked(s)
	return nil
}

// DeleteRoute removes static routes to dst ("route delete"); a valid gw
// restricts it to routes through that gateway.
func (s *Stack) DeleteRoute(dst netip.Prefix, gw netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	match := func(r Route) bool {
		return r.Dst == dst.Masked() && (!gw.IsValid() || r.Gateway == gw || r.IfAddr == gw)
	}
	n := len(s.routes.static) + len(s.routes.persistent)
	s.routes.static = slices.DeleteFunc(s.routes.static, match)
	np := len(s.routes.persistent)
	s.routes.persistent = slices.DeleteFunc(s.routes.persistent, match)
	if len(s.routes.static)+len(s.routes.persistent) == n {
		return fmt.Errorf("stack: delete route %v: %w", dst, ErrNotFound)
	}
	if len(s.routes.persistent) != np {
		s.savePersistentLocked()
	}
	s.routes.rebuildAutoLocked(s)
	return nil
}

// ChangeRoute changes the gateway, metric or interface of the existing
// static or persistent route to r.Dst ("route change"); a persistent
// route stays persistent.
func (s *Stack) ChangeRoute(r Route) error {
	if !r.Dst.IsValid() || !r.Dst.Addr().Is4() {
		return fmt.Errorf("stack: change route %v: %w", r.Dst, ErrInvalid)
	}
	r.Dst = r.Dst.Masked()
	r.Kind = RouteStatic
	if r.Metric <= 0 {
		r.Metric = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	isDst := func(o Route) bool { return o.Dst == r.Dst }
	if i := slices.IndexFunc(s.routes.persistent, isDst); i >= 0 {
		old := slices.Clone(s.routes.persistent)
		s.routes.persistent = slices.DeleteFunc(s.routes.persistent, isDst)
		r.Persistent = true
		if err := s.addPersistentLocked(r); err != nil {
			s.routes.persistent = old
			return err
		}
		return nil
	}
	if !slices.ContainsFunc(s.routes.static, isDst) {
		return fmt.Errorf("stack: change route %v: %w", r.Dst, ErrNotFound)
	}
	old := slices.Clone(s.routes.static)
	s.routes.static = slices.DeleteFunc(s.routes.static, isDst)
	if err := s.addStaticLocked(r); err != nil {
		s.routes.static = old
		s.routes.rebuildAutoLocked(s)
		return err
	}
	return nil
}

func (s *Stack) ifaceByIndexLocked(index int) *Interface {
	for _, ifc := range s.ifaces {
		if ifc.index == index {
			return ifc
		}
	}
	return nil
}

// Address helpers.

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

func subnetBroadcast(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	bits := p.Bits()
	for i := 0; i < 4; i++ {
		for b := 0; b < 8; b++ {
			if i*8+b >= bits {
				a[i] |= 0x80 >> b
			}
		}
	}
	return netip.AddrFrom4(a)
}

// classfulPrefix is the class A/B/C network of a (SPEC AMB-5).
func classfulPrefix(a netip.Addr) (netip.Prefix, bool) {
	b := a.As4()[0]
	switch {
	case b < 128:
		return netip.PrefixFrom(a, 8).Masked(), true
	case b < 192:
		return netip.PrefixFrom(a, 16).Masked(), true
	case b < 224:
		return netip.PrefixFrom(a, 24).Masked(), true
	}
	return netip.Prefix{}, false
}
