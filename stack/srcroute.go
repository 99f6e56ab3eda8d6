package stack

import (
	"net/netip"

	"github.com/stapel-net/stapel/wire"
)

// sourceRouteNextLocked follows a loose or strict source route (RFC 791
// 3.1, RFC 1122 3.3.5) in a datagram addressed to us, when
// DisableIPSourceRouting=0 (SPEC IP-18). It returns the next destination
// and a copy of the options with our address recorded and the pointer
// advanced; ok is false when the route is exhausted (deliver locally) or
// the option is malformed.
func (s *Stack) sourceRouteNextLocked(h *wire.IPv4Header) (next netip.Addr, opts []byte, ok bool) {
	o := h.Options
	for i := 0; i < len(o); {
		switch t := o[i]; t {
		case 0: // end of list
			return netip.Addr{}, nil, false
		case 1: // no-op
			i++
			continue
		case 0x83, 0x89: // LSRR, SSRR
			if i+3 > len(o) {
				return netip.Addr{}, nil, false
			}
			l, ptr := int(o[i+1]), int(o[i+2])
			if l < 3 || i+l > len(o) || ptr < 4 || ptr+3 > l {
				return netip.Addr{}, nil, false // exhausted or bad
			}
			at := i + ptr - 1
			next = netip.AddrFrom4([4]byte(o[at : at+4]))
			rt, found := s.routes.lookup(s, next, netip.Addr{})
			if !found || (t == 0x89 && rt.Gateway.IsValid()) {
				return netip.Addr{}, nil, false
			}
			opts = append([]byte(nil), o...)
			me := rt.IfAddr.As4()
			copy(opts[at:at+4], me[:])
			opts[i+2] = byte(ptr + 4)
			return next, opts, true
		default:
			if i+1 >= len(o) || o[i+1] < 2 {
				return netip.Addr{}, nil, false
			}
			i += int(o[i+1])
		}
	}
	return netip.Addr{}, nil, false
}
