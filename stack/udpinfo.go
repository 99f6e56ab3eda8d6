package stack

import (
	"net/netip"
	"sort"
)

// UDPEndpointInfo is one row of the UDP socket table (netstat -a).
type UDPEndpointInfo struct {
	Local  netip.AddrPort // bound address; 0.0.0.0 for the wildcard
	Remote netip.AddrPort // the connected peer; invalid if unconnected
}

// UDPEndpoints lists the open UDP sockets, sorted by local address and
// port. It is a snapshot taken under udpTable.mu; laddr, raddr and
// connected never change while a socket is in the table.
func (s *Stack) UDPEndpoints() []UDPEndpointInfo {
	t := &s.udp
	t.mu.Lock()
	out := make([]UDPEndpointInfo, 0, len(t.ports))
	for _, l := range t.ports {
		for _, c := range l {
			e := UDPEndpointInfo{Local: c.laddr}
			if c.connected {
				e.Remote = c.raddr
			}
			out = append(out, e)
		}
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Local.Compare(out[j].Local); c != 0 {
			return c < 0
		}
		return out[i].Remote.Compare(out[j].Remote) < 0
	})
	return out
}
