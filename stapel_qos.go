package stapel

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/wire"
)

// QoS service types (SPEC QOS-1), re-exported for callers of SetQoS.
const (
	ServiceBestEffort     = stack.ServiceBestEffort
	ServiceControlledLoad = stack.ServiceControlledLoad
	ServiceGuaranteed     = stack.ServiceGuaranteed
	ServiceNetworkControl = stack.ServiceNetworkControl
	ServiceQualitative    = stack.ServiceQualitative
)

// SetQoS gives a connection's outgoing traffic a QoS service type: the
// GQoS role (SPEC QOS-1, QOS-2 step 4) as a Go call. c is a TCP
// connection (from Dial, Accept) or a UDP socket (Dial, ListenPacket);
// its datagrams get the service type's DiffServ codepoint and, on
// interfaces with QoS8021p, its 802.1p priority tag, and go through the
// packet scheduler where QoSPacketScheduler is on (stack/qos.go). There
// is no RSVP signalling or admission control: the flow is installed at
// once. Close the returned flow when done; closing c does not remove it.
func (h *Host) SetQoS(c interface{ LocalAddr() net.Addr }, spec stack.QoSSpec) (*stack.QoSFlow, error) {
	if u, ok := c.(*stack.UDPConn); ok {
		return u.SetQoS(spec)
	}
	f := stack.FlowFilter{}
	switch la := c.LocalAddr().(type) {
	case *net.TCPAddr:
		f.Proto, f.Local = wire.ProtoTCP, la.AddrPort()
	case *net.UDPAddr:
		f.Proto, f.Local = wire.ProtoUDP, la.AddrPort()
	default:
		return nil, fmt.Errorf("stapel: SetQoS: %T is not a TCP or UDP connection", c)
	}
	if rc, ok := c.(interface{ RemoteAddr() net.Addr }); ok {
		if ra, err := netip.ParseAddrPort(fmt.Sprint(rc.RemoteAddr())); err == nil {
			f.Remote = ra
		}
	}
	f.Local = netip.AddrPortFrom(f.Local.Addr().Unmap(), f.Local.Port())
	f.Remote = netip.AddrPortFrom(f.Remote.Addr().Unmap(), f.Remote.Port())
	return h.st.AddQoSFlow(f, spec)
}
