package stack

import (
	"net/netip"

	"github.com/stapel-net/stapel/wire"
)

// Path MTU discovery, host side (RFC 1191; SPEC ICMP-6, TCP-PMTU-3).
//
// "Fragmentation needed" about a datagram we sent lowers the destination's
// path MTU in the learned-route table (hostroutes: bounded, exact count,
// plateau estimate when the router gives no MTU, 88-byte floor, raised
// again after 10 minutes). The transport that sent the quoted datagram
// gets the error with the MTU now in force. Every later datagram to that
// destination is fragmented to the path MTU, or, with DF set, refused:
// then the sending transport gets the same kind of error from the stack
// itself (From = our own address), so every connection on the path
// lowers its MSS and retransmits at the new size, not only the one whose
// segment the router quoted.

// maxLocalErrors bounds the locally generated errors awaiting delivery.
const maxLocalErrors = 64

// localErr is a ControlError waiting for delivery (with its own copy of
// the quoted bytes).
type localErr struct {
	ce    ControlError
	quote [8]byte
}

// fragNeededLocked applies an ICMP fragmentation needed and returns the
// MTU now in force towards the quoted destination (0 if it was ignored).
func (s *Stack) fragNeededLocked(qh *wire.IPv4Header, reported int) int {
	if _, ours := s.local[qh.Src]; !ours {
		inc(&s.st.PMTUIgnored)
		return 0
	}
	rt, ok := s.routes.lookup(s, qh.Dst, qh.Src)
	if !ok {
		inc(&s.st.PMTUIgnored)
		return 0
	}
	linkMTU := 0
	if ifc := s.ifaceByIndexLocked(rt.IfIndex); ifc != nil {
		linkMTU = ifc.mtu
	}
	mtu := s.learned.UpdatePMTU(qh.Dst, reported, int(qh.TotalLen), linkMTU)
	inc(&s.st.PMTUUpdates)
	s.armSweepLocked()
	return mtu
}

// localTooBigLocked tells the transport that sent datagram d (DF set,
// larger than the learned path MTU) to send smaller segments.
func (s *Stack) localTooBigLocked(d []byte, mtu int) {
	h, payload, err := wire.ParseIPv4(d)
	if err != nil || len(payload) < 8 || h.Protocol == wire.ProtoICMP {
		return
	}
	if len(s.localErrs) >= maxLocalErrors {
		return
	}
	inc(&s.st.PMTULocalTooBig)
	e := localErr{ce: ControlError{Type: icmpDestUnreachable, Code: icmpFragNeeded, MTU: mtu,
		Src: h.Src, Dst: h.Dst, Proto: h.Protocol, From: h.Src}}
	copy(e.quote[:], payload)
	s.localErrs = append(s.localErrs, e)
	if len(s.localErrs) == 1 {
		s.clk.AfterFunc(0, s.drainLocalErrors) // never re-enter the sender
	}
}

func (s *Stack) drainLocalErrors() {
	s.mu.Lock()
	q := s.localErrs
	s.localErrs = nil
	s.mu.Unlock()
	for i := range q {
		e := &q[i]
		e.ce.Payload = e.quote[:]
		s.deliverControlError(&e.ce)
	}
}

// deliverControlError hands an ICMP error to UDP or the transport.
func (s *Stack) deliverControlError(ce *ControlError) {
	inc(&s.st.ICMPTransportErrors)
	if ce.Proto == wire.ProtoUDP {
		s.udp.handleError(ce)
		return
	}
	if slot := s.transports[ce.Proto].Load(); slot != nil {
		slot.h.HandleError(ce)
	}
}

// PathMTU is the path MTU towards dst as datagrams use it now: the
// interface MTU or the lower learned one (0 without a route).
func (s *Stack) PathMTU(dst netip.Addr) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.resolveLocked(dst, netip.Addr{})
	if !ok {
		return 0
	}
	ifc := s.ifaceByIndexLocked(rt.IfIndex)
	if ifc == nil {
		return 0
	}
	return s.learned.PathMTU(dst, ifc.mtu)
}
