package stack

import (
	"net/netip"

	"github.com/stapel-net/stapel/wire"
)

// ICMP redirects (SPEC ICMP-3, RFC 1122 §3.2.2.2). A host accepts one only
// when EnableICMPRedirects is on, it is not a router, the redirect is
// about a datagram it sent, it comes from the first-hop gateway it
// currently uses for that destination, that gateway is on the directly
// connected network the redirect arrived on, and the new gateway is on
// the same network. An accepted redirect becomes a host route for the
// destination (whatever the code: net redirects install host routes too)
// that lasts 10 minutes, in the bounded learned-route table.

func (s *Stack) redirectInput(d *delivery, m *wire.ICMPv4) {
	qh, _, err := wire.ParseIPv4Quote(m.Body)
	if err != nil {
		inc(&s.st.ICMPInErrors)
		return
	}
	gw := m.Gateway()
	s.mu.Lock()
	defer s.mu.Unlock()
	if reason := s.redirectRejectLocked(d, &qh, gw); reason != "" {
		inc(&s.st.RedirectsRejected)
		s.log.Debug("icmp redirect ignored", "from", d.hdr.Src.String(), "dst", qh.Dst.String(), "gateway", gw.String(), "why", reason)
		return
	}
	s.learned.SetRedirect(qh.Dst, gw)
	s.armSweepLocked()
	inc(&s.st.RedirectsAccepted)
	s.log.Info("icmp redirect accepted", "from", d.hdr.Src.String(), "dst", qh.Dst.String(), "gateway", gw.String())
}

// redirectRejectLocked says why a redirect must be ignored ("" = accept).
func (s *Stack) redirectRejectLocked(d *delivery, qh *wire.IPv4Header, gw netip.Addr) string {
	switch {
	case !s.p.icmpRedirects:
		return "EnableICMPRedirects=0"
	case s.p.router:
		return "routers ignore redirects"
	case d.bcast:
		return "sent to a broadcast address"
	case s.local[qh.Src] == nil:
		return "quoted datagram is not ours"
	case !gw.Is4() || gw.IsUnspecified() || gw.IsMulticast() || s.local[gw] != nil || s.isBroadcastLocked(gw):
		return "bad new gateway"
	}
	cur, ok := s.resolveLocked(qh.Dst, netip.Addr{})
	if !ok || !cur.Gateway.IsValid() {
		return "destination is on-link"
	}
	if d.hdr.Src != cur.Gateway { // ICMP-3 (a)
		return "not from the current first-hop gateway"
	}
	if ifc, _ := s.onLinkLocked(d.hdr.Src); ifc == nil || ifc.index != d.ifIndex { // ICMP-3 (b)
		return "gateway is not on a directly connected network"
	}
	if ifc, _ := s.onLinkLocked(gw); ifc == nil || ifc.index != cur.IfIndex {
		return "new gateway is not on the same network"
	}
	return ""
}

// redirectHostLocked is the router side (SPEC IP-8 with IPEnableRouter):
// a datagram that leaves through the interface it came in on, from a
// host on that interface's subnet, makes us tell the host the better
// first hop (RFC 1812 §5.2.7.2: host redirects only). Source-routed
// datagrams are not redirected. Rate limited with the other errors.
func (s *Stack) redirectHostLocked(in *Interface, h *wire.IPv4Header, b []byte, rt Route) {
	if rt.IfIndex != in.index || len(h.Options) > 0 && wire.HasSourceRoute(h.Options) {
		return
	}
	if ifc, _ := s.onLinkLocked(h.Src); ifc != in {
		return
	}
	next := rt.Gateway
	if !next.IsValid() {
		next = h.Dst
	}
	if next == h.Src {
		return
	}
	s.icmpErrorLocked(b, h, wire.ICMPRedirect, wire.ICMPRedirectHost, next.As4(), false)
}
