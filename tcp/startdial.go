package tcp

import "net/netip"

// StartDial opens a connection like Dial but returns as soon as the SYN
// has been handed to the network, without waiting for the handshake. It
// is for callers that drive a virtual clock themselves (the simulated demo,
// tests): with the clock stopped nothing can answer the SYN, so a blocking
// Dial would need a second goroutine racing the clock. Wait for
// c.State() == StateEstablished (or a failure state) before using c.
func (p *Protocol) StartDial(laddr, raddr netip.AddrPort) (*Conn, error) {
	return p.startDial(laddr, raddr)
}
