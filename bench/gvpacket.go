package main

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
)

// gVisor has no offload path on a TAP fd (see gvisorContender.TAP), so by
// default its "TAP" runs use the setup runsc deploys: an AF_PACKET socket
// with PACKET_VNET_HDR on a veth, host GSO and receive checksum offload.
// The kernel peer is the same (stpbt0 in nsK, now a veth end).
var gvisorLink = flag.String("gvisor-tap", "packet",
	"gVisor's link in the TAP rows: packet (AF_PACKET on veth with virtio-net header, host GSO: runsc's setup) or tap (plain fdbased on the TAP, no offload)")

const (
	nsG     = "stpbG"  // namespace of gVisor's veth end (packet mode)
	gvVeth  = "stpbtg" // gVisor's veth end; its peer is tapName in nsK
	gvMAC   = "02:00:5e:00:00:02"
	gvGSO   = 65536   // veth's gso_max_size, what runsc passes as GSOMaxSize
	pktBufs = 4 << 20 // runsc's SO_RCVBUFFORCE/SO_SNDBUFFORCE
)

// packetTAP builds the veth pair (tapName in ns, gvVeth in nsG), opens the
// AF_PACKET socket as runsc does and runs gVisor on it.
func packetTAP(ns, dev string, mtu int, addr netip.Prefix) (Host, func(), error) {
	if err := newNetns(nsG); err != nil {
		return nil, nil, err
	}
	fail := func(err error) (Host, func(), error) {
		_ = run("ip", "netns", "del", nsG)
		return nil, nil, err
	}
	m := strconv.Itoa(mtu)
	for _, c := range [][]string{
		{"ip", "-n", ns, "link", "add", dev, "mtu", m, "type", "veth", "peer", "name", gvVeth, "netns", nsG},
		{"ip", "-n", nsG, "link", "set", gvVeth, "address", gvMAC, "mtu", m, "up"},
		{"ip", "-n", ns, "link", "set", dev, "up"},
	} {
		if err := run(c...); err != nil {
			return fail(err)
		}
	}
	fd := -1
	err := inNetns(nsG, func() error {
		ifc, err := net.InterfaceByName(gvVeth)
		if err != nil {
			return err
		}
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err != nil {
			return fmt.Errorf("AF_PACKET socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.Index}); err != nil {
			return fmt.Errorf("bind %s: %w", gvVeth, err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
			return fmt.Errorf("PACKET_VNET_HDR: %w", err)
		}
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, pktBufs)
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, pktBufs)
		return nil
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return fail(err)
	}
	ep, err := fdbased.New(&fdbased.Options{
		FDs:                []int{fd},
		MTU:                uint32(mtu),
		EthernetHeader:     true,
		Address:            tcpip.LinkAddress([]byte{0x02, 0x00, 0x5e, 0x00, 0x00, 0x02}),
		PacketDispatchMode: fdbased.RecvMMsg,
		GSOMaxSize:         gvGSO,
		RXChecksumOffload:  true, // runsc's default (--rx-checksum-offload)
	})
	if err != nil {
		unix.Close(fd)
		return fail(fmt.Errorf("gvisor fdbased: %v", err))
	}
	s, err := newGVStack(ep, addr)
	if err != nil {
		unix.Close(fd)
		return fail(err)
	}
	return &gvHost{s: s, addr: addr.Addr()}, func() {
		s.Close()
		s.Wait()
		unix.Close(fd)
		_ = run("ip", "netns", "del", nsG)
	}, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
