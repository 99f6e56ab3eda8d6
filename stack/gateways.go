package stack

import (
	"net/netip"
	"slices"

	"github.com/stapel-net/stapel/hostroutes"
)

// Default gateways (SPEC IP-6) and dead gateway detection (SPEC §9.5).
//
// Every route to 0.0.0.0/0 is a default gateway; the list is ordered by
// metric, then configuration order (interface order, gateway order, then
// static routes). Only one is active for the whole host: the lowest
// metric one until dead gateway detection moves the host to another.
//
// TCP reports a destination whose connection has retransmitted
// ⌈TcpMaxDataRetransmissions/2⌉ times (AMB-9) with DeadGateway. That
// destination's RCE moves to the gateway after the one it used (wrapping
// around, TCP-DGD-4); when at least 25 % of the RCEs that use a default
// gateway have moved (AMB-10), the moved-to gateway becomes the host's
// active gateway and every RCE follows it (TCP-DGD-3).

// defaultsLocked returns the default routes in preference order.
func (rt *routeTable) defaultsLocked() []Route {
	var out []Route
	for _, r := range rt.all {
		if r.Dst.Bits() == 0 {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Route) int { return a.Metric - b.Metric })
	return out
}

// activeDefaultLocked is the host's active default route.
func (rt *routeTable) activeDefaultLocked(s *Stack) (Route, bool) {
	gws := rt.defaultsLocked()
	if len(gws) == 0 {
		return Route{}, false
	}
	if a := s.rces.active; a.IsValid() {
		for _, r := range gws {
			if r.DisplayGateway() == a {
				return r, true
			}
		}
	}
	return gws[0], true
}

// DefaultGateways returns the default gateways in preference order (the
// order dead gateway detection cycles through).
func (s *Stack) DefaultGateways() []netip.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []netip.Addr
	for _, r := range s.routes.defaultsLocked() {
		out = append(out, r.DisplayGateway())
	}
	return out
}

// resolveLocked is the route a datagram to dst takes: the table's best
// route (IP-3), overridden by a learned redirect (ICMP-3) for a
// gatewayed route, or by the dead-gateway RCE for a default route.
func (s *Stack) resolveLocked(dst, srcHint netip.Addr) (Route, bool) {
	rt, ok := s.routes.lookup(s, dst, srcHint)
	if !ok || !rt.Gateway.IsValid() || rt.Dst.Bits() == 32 {
		return rt, ok
	}
	if e, ok := s.learnedLookup(dst); ok && e.Gateway.IsValid() {
		if ifc, a := s.onLinkLocked(e.Gateway); ifc != nil {
			return Route{Dst: netip.PrefixFrom(dst, 32), Gateway: e.Gateway, IfIndex: ifc.index, IfAddr: a,
				Metric: rt.Metric, Kind: RouteRedirect}, true
		}
	}
	if rt.Dst.Bits() == 0 {
		if e := s.rces.m[dst]; e != nil && e.gw.IsValid() {
			for _, r := range s.routes.defaultsLocked() {
				if r.DisplayGateway() == e.gw {
					return r, true
				}
			}
		}
	}
	return rt, true
}

// learnedLookup is s.learned.Lookup without its mutex while the table is
// surely empty (the common case, on the per-packet path).
func (s *Stack) learnedLookup(dst netip.Addr) (hostroutes.Entry, bool) {
	if !s.learnedAny.Load() {
		return hostroutes.Entry{}, false
	}
	return s.learned.Lookup(dst)
}

// DeadGateway is TCP's report that a connection to dst has retransmitted
// half of TcpMaxDataRetransmissions times unanswered (TCP-DGD-2). It
// implements tcp.DeadGatewayReporter; with EnableDeadGWDetect=0, fewer
// than two default gateways, or dst not routed through a default gateway,
// it does nothing. It reports whether the host's active gateway changed.
func (s *Stack) DeadGateway(dst netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.p.deadGWDetect || !dst.Is4() {
		return false
	}
	gws := s.routes.defaultsLocked()
	if len(gws) < 2 {
		return false
	}
	rt, ok := s.routes.lookup(s, dst, netip.Addr{})
	if !ok || rt.Dst.Bits() != 0 {
		return false
	}
	inc(&s.st.DeadGatewayReports)
	act, _ := s.routes.activeDefaultLocked(s)
	active := act.DisplayGateway()
	e := s.rces.getLocked(dst, s.clk.Now())
	cur := e.gw
	if !cur.IsValid() {
		cur = active
	}
	i := slices.IndexFunc(gws, func(r Route) bool { return r.DisplayGateway() == cur })
	next := gws[(i+1)%len(gws)].DisplayGateway() // i = -1 (gone) gives the first
	e.gw = next
	if next == active {
		e.gw = netip.Addr{}
	}
	s.log.Info("dead gateway detection: destination moved to the next default gateway",
		"dst", dst.String(), "from", cur.String(), "to", next.String())
	moved := 0
	for _, r := range s.rces.m {
		if r.gw.IsValid() && r.gw != active {
			moved++
		}
	}
	if moved*4 < len(s.rces.m) { // AMB-10: 25 % or more switch the host
		return false
	}
	s.rces.active = next
	for _, r := range s.rces.m {
		r.gw = netip.Addr{}
	}
	inc(&s.st.DeadGatewaySwitches)
	s.log.Warn("dead gateway detection: default gateway changed", "from", active.String(), "to", next.String(),
		"moved", moved, "rces", len(s.rces.m))
	return true
}

// needsRCELocked: routing to dst would make noteRCELocked record an RCE.
func (s *Stack) needsRCELocked(dst netip.Addr) bool {
	if _, ok := s.local[dst]; ok || !dst.Is4() || isLoopback(dst) {
		return false
	}
	rt, ok := s.resolveLocked(dst, netip.Addr{})
	return ok && rt.Dst.Bits() == 0 && rt.Kind != RouteRedirect
}

// noteRCELocked records that a transport routes to dst (Route), so dead
// gateway detection counts it among the RCEs using the default gateway.
func (s *Stack) noteRCELocked(dst netip.Addr, rt Route) {
	if rt.Dst.Bits() == 0 && rt.Kind != RouteRedirect {
		s.rces.getLocked(dst, s.clk.Now())
	}
}
