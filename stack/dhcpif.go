package stack

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"time"

	"github.com/stapel-net/stapel/wire"
)

// DHCP client support (SPEC DHCP-1..8): a DHCP client must talk before its
// interface has an address (RFC 2131 4.1: from 0.0.0.0 to the limited
// broadcast, out of one particular interface) and must hear replies sent
// to an address it does not own yet. These hooks give it exactly that,
// outside the UDP socket table, so several interfaces can each run a
// client on port 68.

// DHCP ports (RFC 2131 4.1).
const (
	DHCPClientPort = 68
	DHCPServerPort = 67
)

// DHCPHooks receive what the stack sees for an interface's DHCP client.
// They are called without stack locks held; Packet's payload is a copy.
type DHCPHooks struct {
	// Packet is a UDP datagram to port 68 that arrived on the interface.
	Packet func(src netip.AddrPort, payload []byte)
	// Media reports a connect (up) or a damped disconnect (SPEC DHCP-7);
	// not called when DisableDHCPMediaSense=1.
	Media func(up bool)
}

// errDHCPLinkDown: no carrier to send a DHCP message on.
var errDHCPLinkDown = wrapErrno("stack: dhcp: link down", syscall.ENETDOWN)

// SetDHCPHooks installs (or with nil removes) the interface's DHCP client.
func (ifc *Interface) SetDHCPHooks(h *DHCPHooks) { ifc.dhcp.Store(h) }

// dhcpWantsLocked reports whether a datagram not addressed to us is a
// DHCP reply for this interface's client (unicast to the offered address
// before it is configured), so it is delivered anyway.
func (ifc *Interface) dhcpWantsLocked(h *wire.IPv4Header, payload []byte) bool {
	return ifc.dhcp.Load() != nil && h.Protocol == wire.ProtoUDP && !h.MF && h.FragOff == 0 &&
		len(payload) >= wire.UDPHeaderLen && binary.BigEndian.Uint16(payload[2:4]) == DHCPClientPort
}

// dhcpInput hands a UDP datagram to port 68 to the receiving interface's
// DHCP client, if it has one.
func (s *Stack) dhcpInput(d *delivery, sport uint16, payload []byte) bool {
	s.mu.RLock()
	var h *DHCPHooks
	for _, ifc := range s.ifaces {
		if ifc.index == d.ifIndex {
			h = ifc.dhcp.Load()
			break
		}
	}
	s.mu.RUnlock()
	if h == nil || h.Packet == nil {
		return false
	}
	inc(&s.st.UDPInDatagrams)
	h.Packet(netip.AddrPortFrom(d.hdr.Src, sport), append([]byte(nil), payload...))
	return true
}

// dhcpMediaLocked tells the interface's DHCP client about a media event,
// from a clock callback so the client runs without the stack lock.
func (ifc *Interface) dhcpMediaLocked(up bool) {
	h := ifc.dhcp.Load()
	if h == nil || h.Media == nil || ifc.s.p.disableMediaSense {
		return
	}
	ifc.s.clk.AfterFunc(0, func() { h.Media(up) })
}

// SendDHCP sends a DHCP message from src:68 to dst:67. A limited broadcast
// goes out of this interface only, from src even if that is 0.0.0.0 or not
// (yet) one of ours (RFC 2131 4.1, 4.4.4); a unicast (renewal, release)
// is routed as usual.
func (ifc *Interface) SendDHCP(src, dst netip.Addr, payload []byte) error {
	s := ifc.s
	if dst != limitedBroadcast {
		return s.sendUDP(netip.AddrPortFrom(src, DHCPClientPort), netip.AddrPortFrom(dst, DHCPServerPort),
			s.p.defaultTTL, payload)
	}
	n := wire.IPv4MinHeaderLen + wire.UDPHeaderLen + len(payload)
	if n > ifc.mtu {
		return ErrMessageTooLong
	}
	buf := make([]byte, maxLinkHeader+n)
	ip := buf[maxLinkHeader:]
	seg := ip[wire.IPv4MinHeaderLen:]
	copy(seg[wire.UDPHeaderLen:], payload)
	wire.PutUDP(seg, src, dst, DHCPClientPort, DHCPServerPort)
	s.mu.Lock()
	defer s.mu.Unlock()
	if ifc.removed {
		return ErrNoInterface
	}
	if !ifc.linkUp {
		return errDHCPLinkDown
	}
	h := wire.IPv4Header{TotalLen: uint16(n), ID: s.nextIPIDs(1), TTL: s.p.defaultTTL, Protocol: wire.ProtoUDP,
		Src: src, Dst: dst}
	h.Put(ip)
	inc(&s.st.IPOutRequests)
	inc(&s.st.UDPOutDatagrams)
	return ifc.writeFrame(wire.BroadcastMAC, wire.EtherTypeIPv4, buf, maxLinkHeader)
}

// AddressConflict reports whether addr on this interface was disabled by
// duplicate address detection (SPEC ARP-8), for DHCPDECLINE (ARP-10) and
// the APIPA probes (DHCP-4).
func (ifc *Interface) AddressConflict(addr netip.Addr) bool {
	s := ifc.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := ifc.ownsLocked(addr)
	return a != nil && a.state == addrConflict
}

// DADTime is how long duplicate address detection of a new address runs:
// ArpRetryCount probes a second apart and a second for the last answer.
func (s *Stack) DADTime() time.Duration {
	return time.Duration(s.p.arpDADProbes+1) * dadProbeInterval
}
