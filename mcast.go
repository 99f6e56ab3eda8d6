package stapel

import (
	"net"
	"net/netip"

	"github.com/stapel-net/stapel/stack"
)

// UDPConn is a UDP socket of the host. Beyond net.PacketConn it has the
// multicast options (SPEC MCAST-4, MCAST-5): JoinGroup, LeaveGroup,
// SetMulticastTTL (default 1), SetMulticastLoopback (default on) and
// SetMulticastInterface.
type UDPConn = stack.UDPConn

// ListenMulticastUDP is net.ListenMulticastUDP over this host: a UDP
// socket on gaddr's port (all addresses) that joined the group gaddr on
// the interface named ifName ("" = the one the route to the group uses),
// which then reports the membership with IGMP (SPEC MCAST-1). Datagrams
// it sends to groups leave by that interface with TTL 1 unless
// SetMulticastTTL says otherwise.
func (h *Host) ListenMulticastUDP(network, ifName string, gaddr *net.UDPAddr) (*UDPConn, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "listen", Net: network, Addr: gaddr, Err: err}
	}
	if network != "udp" && network != "udp4" {
		return nil, opErr(ErrNetwork)
	}
	if gaddr == nil {
		return nil, opErr(stack.ErrInvalid)
	}
	group, ok := netip.AddrFromSlice(gaddr.IP.To4())
	if !ok || !group.IsMulticast() {
		return nil, opErr(stack.ErrInvalid)
	}
	var ifAddr netip.Addr
	if ifName != "" {
		ifc := h.st.Interface(ifName)
		if ifc == nil {
			return nil, opErr(stack.ErrNoInterface)
		}
		for _, inf := range h.st.Interfaces() {
			if inf.Name == ifName && len(inf.Addrs) > 0 {
				ifAddr = inf.Addrs[0].Addr()
			}
		}
		if !ifAddr.IsValid() {
			return nil, opErr(stack.ErrAddrNotAvailable)
		}
	}
	c, err := h.st.ListenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(gaddr.Port)))
	if err != nil {
		return nil, err
	}
	if err := c.JoinGroup(group, ifAddr); err != nil {
		c.Close()
		return nil, err
	}
	if ifAddr.IsValid() {
		c.SetMulticastInterface(ifAddr)
	}
	return c, nil
}
