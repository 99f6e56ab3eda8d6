package stack

import (
	"net/netip"
	"slices"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/wire"
)

// Router discovery, host side (RFC 1256; SPEC ICMP-2). With
// PerformRouterDiscovery=1 on an interface, the stack joins 224.0.0.1,
// sends up to three solicitations 600 ms apart to 224.0.0.2 (or
// 255.255.255.255 with SolicitationAddressBcast) and stops soliciting at
// the first advertisement. Advertised addresses on the interface's
// subnets become default routes (kind RouteRouterDisc) ranked by
// preference (highest first: metric 1, 2, …) until their lifetime ends;
// when the preferred router's lifetime runs out the next one takes over.

const (
	rdiscSolicitations = 3                      // SPEC ICMP-2: at most 3
	rdiscInterval      = 600 * time.Millisecond // SPEC ICMP-2: about 600 ms apart
	maxRdiscRouters    = 32                     // per interface
)

var (
	allSystemsGroup = netip.AddrFrom4([4]byte{224, 0, 0, 1})
	allRoutersGroup = netip.AddrFrom4([4]byte{224, 0, 0, 2})
)

// rdiscRouter is one advertised router.
type rdiscRouter struct {
	ifIndex int
	addr    netip.Addr
	pref    int32
	expires time.Time
}

// rdiscState is per interface (guarded by s.mu).
type rdiscState struct {
	on, bcast   bool
	solicitLeft int
	solicit     clock.Timer
}

// startRdiscLocked begins router discovery on ifc (called on AddInterface).
func (ifc *Interface) startRdiscLocked() {
	if !ifc.rd.on {
		return
	}
	ifc.groups[allSystemsGroup]++
	ifc.mcastMACs[wire.MulticastMAC(allSystemsGroup)]++
	ifc.rd.solicitLeft = rdiscSolicitations
	ifc.sendSolicitLocked()
}

func (ifc *Interface) sendSolicitLocked() {
	s := ifc.s
	if ifc.removed || ifc.rd.solicitLeft <= 0 {
		return
	}
	ifc.rd.solicitLeft--
	if src := ifc.primaryAddrLocked(); src.IsValid() && ifc.usableLocked() {
		dst := allRoutersGroup
		if ifc.rd.bcast {
			dst = limitedBroadcast
		}
		seg := s.txSegLocked(wire.ICMPv4HeaderLen)
		wire.PutRouterSolicitation(seg)
		if s.sendICMPLocked(&txReq{src: src, dst: dst, proto: wire.ProtoICMP, ttl: 1}, wire.ICMPRouterSolicitation, len(seg)) == nil {
			inc(&s.st.RouterSolicitsOut)
		}
	}
	if ifc.rd.solicitLeft > 0 {
		ifc.rd.solicit = s.clk.AfterFunc(rdiscInterval, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			ifc.sendSolicitLocked()
		})
	}
}

// stopRdiscLocked cancels soliciting and forgets ifc's routers.
func (ifc *Interface) stopRdiscLocked() {
	if ifc.rd.solicit != nil {
		ifc.rd.solicit.Stop()
	}
	ifc.rd.solicitLeft = 0
	rt := &ifc.s.routes
	rt.rdisc = slices.DeleteFunc(rt.rdisc, func(r rdiscRouter) bool { return r.ifIndex == ifc.index })
}

// routerAdvertInput handles an advertisement received on interface ifIndex.
func (s *Stack) routerAdvertInput(d *delivery, m *wire.ICMPv4) {
	ra, err := wire.ParseRouterAdvertisement(*m)
	if err != nil {
		inc(&s.st.ICMPInErrors)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ifc := s.ifaceByIndexLocked(d.ifIndex)
	if ifc == nil || !ifc.rd.on {
		return
	}
	inc(&s.st.RouterAdvertsIn)
	ifc.rd.solicitLeft = 0 // RFC 1256 §6.3.3: stop soliciting
	if ifc.rd.solicit != nil {
		ifc.rd.solicit.Stop()
	}
	now := s.clk.Now()
	life := time.Duration(ra.Lifetime) * time.Second
	rt := &s.routes
	for _, e := range ra.Entries {
		if _, a := s.onLinkLocked(e.Addr); !a.IsValid() || s.local[e.Addr] != nil {
			continue // only routers on a directly connected subnet
		}
		i := slices.IndexFunc(rt.rdisc, func(r rdiscRouter) bool { return r.ifIndex == ifc.index && r.addr == e.Addr })
		switch {
		case life == 0 || e.Preference == wire.RouterAdvertisementNever:
			if i >= 0 {
				rt.rdisc = slices.Delete(rt.rdisc, i, i+1)
			}
		case i >= 0:
			rt.rdisc[i].pref, rt.rdisc[i].expires = e.Preference, now.Add(life)
		default:
			if n := countIf(rt.rdisc, ifc.index); n >= maxRdiscRouters {
				continue
			}
			rt.rdisc = append(rt.rdisc, rdiscRouter{ifIndex: ifc.index, addr: e.Addr, pref: e.Preference, expires: now.Add(life)})
		}
	}
	s.rebuildLocked()
	s.armRdiscLocked()
}

func countIf(rs []rdiscRouter, ifIndex int) int {
	n := 0
	for _, r := range rs {
		if r.ifIndex == ifIndex {
			n++
		}
	}
	return n
}

// armRdiscLocked schedules the next router lifetime expiry.
func (s *Stack) armRdiscLocked() {
	if s.rdiscTimer != nil {
		s.rdiscTimer.Stop()
		s.rdiscTimer = nil
	}
	var next time.Time
	for _, r := range s.routes.rdisc {
		if next.IsZero() || r.expires.Before(next) {
			next = r.expires
		}
	}
	if next.IsZero() {
		return
	}
	s.rdiscTimer = s.clk.AfterFunc(max(next.Sub(s.clk.Now()), 0), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		now := s.clk.Now()
		s.routes.rdisc = slices.DeleteFunc(s.routes.rdisc, func(r rdiscRouter) bool { return !now.Before(r.expires) })
		s.rebuildLocked()
		s.armRdiscLocked()
	})
}

// appendRdiscLocked adds ifc's advertised routers as default routes,
// highest preference first (metric 1, 2, …).
func (rt *routeTable) appendRdiscLocked(out []Route, ifc *Interface) []Route {
	var mine []rdiscRouter
	for _, r := range rt.rdisc {
		if r.ifIndex == ifc.index {
			mine = append(mine, r)
		}
	}
	slices.SortStableFunc(mine, func(a, b rdiscRouter) int {
		switch {
		case a.pref > b.pref:
			return -1
		case a.pref < b.pref:
			return 1
		}
		return 0
	})
	for i, r := range mine {
		src := ifc.primaryAddrLocked()
		for _, a := range ifc.addrs {
			if a.state == addrActive && a.prefix.Contains(r.addr) {
				src = a.prefix.Addr()
				break
			}
		}
		out = append(out, Route{Dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0), Gateway: r.addr,
			IfIndex: ifc.index, IfAddr: src, Metric: 1 + i, Kind: RouteRouterDisc})
	}
	return out
}
