package stapel

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/stapel-net/stapel/stack"
)

// IPConn is a raw IP socket opened by ListenPacket("ip4:PROTO", addr),
// used like the *net.IPConn of Go's net.ListenPacket("ip4:1", ...): ReadFrom
// returns the datagram's payload with the IP header stripped (as Go does)
// and the source as a *net.IPAddr; WriteTo sends a payload and the stack
// builds the header. Raw is the stack's socket underneath, which reads
// whole datagrams, header included (Windows/BSD raw socket semantics),
// and can send them with SetHeaderIncluded (IP_HDRINCL).
type IPConn struct {
	*stack.RawConn
}

var rawBufPool = sync.Pool{New: func() any { b := make([]byte, 65535); return &b }}

// ReadFrom implements net.PacketConn: the payload after the IP header.
func (c *IPConn) ReadFrom(b []byte) (int, net.Addr, error) {
	bp := rawBufPool.Get().(*[]byte)
	defer rawBufPool.Put(bp)
	n, from, err := c.RawConn.ReadFrom(*bp)
	if err != nil {
		return 0, nil, err
	}
	d := (*bp)[:n]
	ihl := 0
	if n > 0 {
		ihl = min(int(d[0]&0x0f)*4, n)
	}
	return copy(b, d[ihl:]), from, nil
}

// Raw is the underlying stack socket (whole datagrams).
func (c *IPConn) Raw() *stack.RawConn { return c.RawConn }

// ipProtocols are the names ListenPacket accepts besides numbers.
var ipProtocols = map[string]uint8{"icmp": 1, "igmp": 2, "ipv4": 4, "gre": 47, "esp": 50, "ah": 51, "ospf": 89, "vrrp": 112, "raw": 255}

// listenIP opens a raw socket for network "ip4:PROTO" or "ip:PROTO"
// (PROTO a number or a name such as icmp); address is empty or an IPv4
// address of this host. SPEC MCAST-5; TCP and UDP cannot be opened raw.
func (h *Host) listenIP(network, address string) (net.PacketConn, error) {
	oe := func(err error) error { return &net.OpError{Op: "listen", Net: network, Err: err} }
	_, name, _ := strings.Cut(network, ":")
	proto, ok := ipProtocols[strings.ToLower(name)]
	if !ok {
		n, err := strconv.ParseUint(name, 10, 8)
		if err != nil || n == 0 {
			return nil, oe(ErrNetwork)
		}
		proto = uint8(n)
	}
	var laddr netip.Addr
	if address != "" {
		a, err := netip.ParseAddr(address)
		if err != nil || !a.Unmap().Is4() {
			return nil, oe(stack.ErrInvalid)
		}
		laddr = a.Unmap()
	}
	rc, err := h.st.ListenRaw(proto, laddr)
	if err != nil {
		return nil, err
	}
	return &IPConn{rc}, nil
}
