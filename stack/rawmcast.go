package stack

import (
	"net"
	"net/netip"
	"slices"
)

// Multicast on raw sockets (SPEC MCAST-5: group membership is for
// SOCK_DGRAM and SOCK_RAW): IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP, as
// UDPConn's (udpmcast.go), ended by Close. A raw socket then sees the
// group's datagrams of its protocol; sends to a group use TTL 1 unless
// SetTTL says otherwise.

// rawJoin is one membership of a raw socket, guarded by RawConn.mu.
type rawJoin struct {
	group netip.Addr
	ifc   *Interface
}

// JoinGroup makes the interface owning ifAddr (unspecified: the one the
// route to group uses) a member of group for this socket.
func (c *RawConn) JoinGroup(group, ifAddr netip.Addr) error {
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
		return c.opErr("join", net.ErrClosed)
	}
	if slices.Contains(c.joins, rawJoin{group, ifc}) {
		return c.opErr("join", ErrAddrInUse) // as WSAEADDRINUSE
	}
	if err := ifc.JoinGroup(group); err != nil {
		return c.opErr("join", err)
	}
	c.joins = append(c.joins, rawJoin{group, ifc})
	return nil
}

// LeaveGroup ends a membership made by JoinGroup with the same arguments.
func (c *RawConn) LeaveGroup(group, ifAddr netip.Addr) error {
	ifc, err := c.s.groupIfaceFor(group, ifAddr)
	if err != nil {
		return c.opErr("leave", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.joins, rawJoin{group, ifc})
	if i < 0 {
		return c.opErr("leave", ErrNotFound)
	}
	c.joins = slices.Delete(c.joins, i, i+1)
	return ifc.LeaveGroup(group)
}

// leaveAllGroups drops the socket's memberships (Close).
func (c *RawConn) leaveAllGroups() {
	c.mu.Lock()
	joins := c.joins
	c.joins = nil
	c.mu.Unlock()
	for _, j := range joins {
		j.ifc.LeaveGroup(j.group)
	}
}
