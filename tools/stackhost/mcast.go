package stackhost

import "net/netip"

// JoinGroup and SetMulticastTTL give nc's sockets the multicast options
// (control.MulticastConn; SPEC MCAST-4, MCAST-5).
func (u *udpConn) JoinGroup(group, ifAddr netip.Addr) error { return u.c.JoinGroup(group, ifAddr) }

func (u *udpConn) SetMulticastTTL(ttl int) error { return u.c.SetMulticastTTL(ttl) }
