package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/link/tun"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	gstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// gvisorContender is gVisor's netstack with the options runsc turns on
// (SACK, receive buffer moderation); everything else is its default.
type gvisorContender struct{}

func (gvisorContender) Name() string { return "gVisor" }

// Memory is this process's Go heap and stacks.
func (gvisorContender) Memory() (uint64, error) { return goMemory(), nil }

const gvNIC tcpip.NICID = 1

// newGVStack builds one gVisor host on link endpoint ep with address addr.
func newGVStack(ep gstack.LinkEndpoint, addr netip.Prefix) (*gstack.Stack, error) {
	s := gstack.New(gstack.Options{
		NetworkProtocols:   []gstack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []gstack.TransportProtocolFactory{tcp.NewProtocol},
	})
	sack := tcpip.TCPSACKEnabled(true)
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	for _, opt := range []tcpip.SettableTransportProtocolOption{&sack, &moderate} {
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, opt); err != nil {
			return nil, fmt.Errorf("gvisor option: %v", err)
		}
	}
	if err := s.CreateNIC(gvNIC, ep); err != nil {
		return nil, fmt.Errorf("gvisor CreateNIC: %v", err)
	}
	pa := tcpip.ProtocolAddress{
		Protocol: ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{
			Address:   tcpip.AddrFrom4(addr.Addr().As4()),
			PrefixLen: addr.Bits(),
		},
	}
	if err := s.AddProtocolAddress(gvNIC, pa, gstack.AddressProperties{}); err != nil {
		return nil, fmt.Errorf("gvisor address: %v", err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: gvNIC}})
	return s, nil
}

func (gvisorContender) Pair(p Path) (*Pair, error) {
	la, lb, stop := newGVLink(p)
	sa, err := newGVStack(la, addrA)
	if err != nil {
		stop()
		return nil, err
	}
	sb, err := newGVStack(lb, addrB)
	if err != nil {
		stop()
		sa.Close()
		return nil, err
	}
	return &Pair{
		A: &gvHost{s: sa, addr: addrA.Addr()},
		B: &gvHost{s: sb, addr: addrB.Addr()},
		Close: func() {
			stop()
			for _, s := range []*gstack.Stack{sa, sb} {
				s.Close()
				s.Wait()
			}
		},
	}, nil
}

// TAP opens the TAP device from inside ns and runs gVisor on it through
// its fdbased endpoint (readv dispatch, no offloads). gVisor has no offload
// path for a TAP fd: fdbased turns on GSO (host or its own software GSO,
// Options.GSOMaxSize/GVisorGSOEnabled) and the virtio-net header only when
// the FD is a socket (AF_PACKET, as runsc uses on a veth), and tun.OpenTAP
// opens without IFF_VNET_HDR. See tapOffloadNote.
func (gvisorContender) TAP(ns, dev string, mtu int, addr netip.Prefix) (Host, func(), error) {
	switch *gvisorLink {
	case "packet":
		return packetTAP(ns, dev, mtu, addr)
	case "tap":
	default:
		return nil, nil, fmt.Errorf("-gvisor-tap %q: want packet or tap", *gvisorLink)
	}
	var fd int
	err := inNetns(ns, func() error {
		var err error
		fd, err = tun.OpenTAP(dev)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("open TAP %s: %w", dev, err)
	}
	if err := run("ip", "-n", ns, "link", "set", dev, "mtu", strconv.Itoa(mtu), "up"); err != nil {
		unix.Close(fd)
		return nil, nil, err
	}
	ep, err := fdbased.New(&fdbased.Options{
		FDs:                []int{fd},
		MTU:                uint32(mtu),
		EthernetHeader:     true,
		Address:            tcpip.LinkAddress([]byte{0x02, 0x00, 0x5e, 0x00, 0x00, 0x02}),
		PacketDispatchMode: fdbased.Readv,
	})
	if err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("gvisor fdbased: %v", err)
	}
	s, err := newGVStack(ep, addr)
	if err != nil {
		unix.Close(fd)
		return nil, nil, err
	}
	return &gvHost{s: s, addr: addr.Addr()}, func() {
		s.Close()
		s.Wait()
		unix.Close(fd)
	}, nil
}

// gvHost is one gVisor stack seen through the gonet adapters.
type gvHost struct {
	s    *gstack.Stack
	addr netip.Addr
}

func (h *gvHost) Addr() netip.Addr { return h.addr }

func full(ap netip.AddrPort) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: gvNIC, Addr: tcpip.AddrFrom4(ap.Addr().As4()), Port: ap.Port()}
}

func (h *gvHost) Listen(port uint16) (net.Listener, error) {
	return gonet.ListenTCP(h.s, full(netip.AddrPortFrom(h.addr, port)), ipv4.ProtocolNumber)
}

func (h *gvHost) Dial(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
	return gonet.DialContextTCP(ctx, h.s, full(dst), ipv4.ProtocolNumber)
}

// tapOffloadNote says, under the table, how each stack met the kernel in
// the TAP rows, so nobody reads them as like for like when they are not.
func tapOffloadNote(cs []Contender, o options) string {
	var st, gv bool
	for _, c := range cs {
		st = st || c.Name() == "Stapel"
		gv = gv || c.Name() == "gVisor"
	}
	if !st || !gv || !needsKernel(o) {
		return ""
	}
	stapel := "Stapel on a TAP with TSO and checksum offload (IFF_VNET_HDR)"
	if !*stapelOffload {
		stapel = "Stapel on a plain TAP (no offload)"
	}
	gvisor := "gVisor as runsc runs it: AF_PACKET on a veth with PACKET_VNET_HDR, host GSO, RX checksum offload\n" +
		"  (its fdbased endpoint has no offload on a TAP fd; -gvisor-tap=tap runs it there plain)"
	if *gvisorLink == "tap" {
		gvisor = "gVisor on the TAP through fdbased, plain: it has no offload on a TAP fd\n" +
			"  (-gvisor-tap=packet gives it runsc's AF_PACKET+GSO setup)"
	}
	return "TAP rows: " + stapel + ";\n" + gvisor + "."
}
