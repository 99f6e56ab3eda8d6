package stack

import (
	"net/netip"
	"slices"

	"github.com/stapel-net/stapel/wire"
)

// Multicast socket options of UDP sockets (SPEC MCAST-4, MCAST-5): group
// membership per interface (IP_ADD_MEMBERSHIP), the multicast TTL
// (IP_MULTICAST_TTL, default 1), loopback of our own datagrams to our own
// members (IP_MULTICAST_LOOP, default on) and the outgoing interface
// (IP_MULTICAST_IF). Memberships end with the socket.

// udpMcast is a socket's multicast state, guarded by UDPConn.mu.
type udpMcast struct {
	ttl    uint8 // valid when ttlSet
	ttlSet bool
	noLoop bool
	ifAddr netip.Addr // outgoing interface's address; invalid: by route
	joins  []udpJoin
}

type udpJoin struct {
	group netip.Addr
	ifc   *Interface
}

// groupIfaceFor picks the interface for a membership: the one owning
// ifAddr, or with ifAddr unspecified the one the route to group uses
// (the 224/4 route, SPEC MCAST-4).
func (s *Stack) groupIfaceFor(group, ifAddr netip.Addr) (*Interface, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ifAddr.IsValid() && !ifAddr.IsUnspecified() {
		if ifc := s.local[ifAddr]; ifc != nil {
			return ifc, nil
		}
		return nil, ErrAddrNotAvailable
	}
	rt, ok := s.routes.lookup(s, group, netip.Addr{})
	if !ok {
		return nil, ErrNoRoute
	}
	if ifc := s.ifaceByIndexLocked(rt.IfIndex); ifc != nil {
		return ifc, nil
	}
	return nil, ErrNoInterface
}

// JoinGroup makes the socket's interface (the one owning ifAddr, or by
// route when ifAddr is unspecified) a member of group, sending the IGMP
// report on the first join (SPEC MCAST-1..3).
func (c *UDPConn) JoinGroup(group, ifAddr netip.Addr) error {
	if !group.Is4() || !group.IsMulticast() {
		return c.opErr("join", ErrInvalid)
	}
	ifc, err := c.s.groupIfaceFor(group, ifAddr)
	if err != nil {
		return c.opErr("join", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.opErr("join", ErrClosed)
	}
	if slices.Contains(c.mc.joins, udpJoin{group, ifc}) {
		return c.opErr("join", ErrAddrInUse) // as WSAEADDRINUSE
	}
	if err := ifc.JoinGroup(group); err != nil {
		return c.opErr("join", err)
	}
	c.mc.joins = append(c.mc.joins, udpJoin{group, ifc})
	return nil
}

// LeaveGroup ends a membership made by JoinGroup with the same arguments.
func (c *UDPConn) LeaveGroup(group, ifAddr netip.Addr) error {
	ifc, err := c.s.groupIfaceFor(group, ifAddr)
	if err != nil {
		return c.opErr("leave", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.mc.joins, udpJoin{group, ifc})
	if i < 0 {
		return c.opErr("leave", ErrNotFound)
	}
	c.mc.joins = slices.Delete(c.mc.joins, i, i+1)
	return ifc.LeaveGroup(group)
}

// leaveAllGroups drops the socket's memberships (Close).
func (c *UDPConn) leaveAllGroups() {
	c.mu.Lock()
	joins := c.mc.joins
	c.mc.joins = nil
	c.mu.Unlock()
	for _, j := range joins {
		j.ifc.LeaveGroup(j.group)
	}
}

// SetMulticastTTL sets the TTL of datagrams to groups (default 1; 0
// keeps them on this host, for its own members; SPEC MCAST-4).
func (c *UDPConn) SetMulticastTTL(ttl int) error {
	if ttl < 0 || ttl > 255 {
		return c.opErr("set", ErrInvalid)
	}
	c.mu.Lock()
	c.mc.ttl, c.mc.ttlSet = uint8(ttl), true
	c.mu.Unlock()
	return nil
}

// SetMulticastLoopback says whether datagrams this socket sends to a
// group our host is a member of are also delivered to our own sockets
// (default true).
func (c *UDPConn) SetMulticastLoopback(on bool) {
	c.mu.Lock()
	c.mc.noLoop = !on
	c.mu.Unlock()
}

// SetMulticastInterface sends datagrams to groups from the interface
// owning ifAddr (unspecified: by route again).
func (c *UDPConn) SetMulticastInterface(ifAddr netip.Addr) error {
	if ifAddr.IsValid() && !ifAddr.IsUnspecified() {
		c.s.mu.RLock()
		ok := c.s.local[ifAddr] != nil
		c.s.mu.RUnlock()
		if !ok {
			return c.opErr("set", ErrAddrNotAvailable)
		}
	} else {
		ifAddr = netip.Addr{}
	}
	c.mu.Lock()
	c.mc.ifAddr = ifAddr
	c.mu.Unlock()
	return nil
}

// writeMulticast is WriteToAddrPort for a group destination: the socket's
// multicast TTL (default 1), outgoing interface and loopback choice.
func (c *UDPConn) writeMulticast(b []byte, ap netip.AddrPort) (int, error) {
	s := c.s
	if s.p.igmpLevel == IGMPLevelNone { // SPEC MCAST-1
		return 0, c.opErr("write", ErrMulticastDisabled)
	}
	c.mu.Lock()
	mc := c.mc
	c.mu.Unlock()
	ttl := uint8(1) // SPEC IP-17, MCAST-4
	if mc.ttlSet {
		ttl = mc.ttl
	}
	src := c.laddr.Addr()
	if src.IsUnspecified() && mc.ifAddr.IsValid() {
		src = mc.ifAddr
	}
	if len(b) > maxDatagram-wire.IPv4MinHeaderLen-wire.UDPHeaderLen {
		return 0, c.opErr("write", ErrMessageTooLong)
	}
	if src.IsUnspecified() {
		ri, err := s.Route(ap.Addr())
		if err != nil {
			inc(&s.st.IPOutRequests)
			inc(&s.st.IPOutNoRoutes)
			return 0, c.opErr("write", err)
		}
		src = ri.Src
	}
	n := wire.UDPHeaderLen + len(b)
	bp := txBufPool.Get().(*[]byte)
	defer txBufPool.Put(bp)
	buf := (*bp)[:txHeadroom+n]
	seg := buf[txHeadroom:]
	copy(seg[wire.UDPHeaderLen:], b)
	wire.PutUDP(seg, src, ap.Addr(), c.laddr.Port(), ap.Port())
	r := txReq{buf: buf, src: src, dst: ap.Addr(), proto: wire.ProtoUDP, ttl: ttl, noLoop: mc.noLoop}
	if ttl == 0 {
		r.ttl, r.hostOnly = 1, true
	}
	if err := s.send(&r, n); err != nil {
		return 0, c.opErr("write", err)
	}
	inc(&s.st.UDPOutDatagrams)
	return len(b), nil
}
