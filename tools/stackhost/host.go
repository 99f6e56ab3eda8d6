// Package stackhost adapts a *stack.Stack in this process to tools.Host,
// for the daemon's control server and for the demo.
package stackhost

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"time"

	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tcp"
	"github.com/stapel-net/stapel/tools"
	"github.com/stapel-net/stapel/wire"
)

// Runner advances a simulated network's virtual time (sim.Network). With
// a Runner, waits step the simulation in the calling goroutine instead of
// blocking, so a demo replays identically.
type Runner interface {
	Run(d time.Duration)
	RunUntil(cond func() bool, limit time.Duration) bool
}

// Options describe what the stack itself does not know.
type Options struct {
	IPRouting bool
	NodeType  string // ipconfig's Node Type; "" = "Broadcast"
	DNSSuffix string
	// Describe gives an adapter's Description (nil = "Stapel virtual
	// Ethernet adapter (NAME)").
	Describe func(ifName string) string
	// DHCP reports whether an interface is DHCP-configured.
	DHCP func(ifName string) bool
	// DNS gives an adapter's connection-specific DNS suffix and servers.
	DNS func(ifName string) (suffix string, servers []string)
	// DHCPInfo fills an adapter's DHCP lease fields (nil: none).
	DHCPInfo  func(ifName string, a *tools.Adapter)
	WINSProxy bool
	// Runner drives virtual time (nil = real time).
	Runner Runner
	// TCP, when set, gives the host TCP (nc, the TCP simple services).
	TCP *tcp.Protocol
}

// Host is a tools.Host over a stack in this process.
type Host struct {
	s *stack.Stack
	o Options
}

var _ tools.Host = (*Host)(nil)

// New adapts s.
func New(s *stack.Stack, o Options) *Host {
	if o.NodeType == "" {
		o.NodeType = "Broadcast"
	}
	return &Host{s: s, o: o}
}

// Stack returns the adapted stack.
func (h *Host) Stack() *stack.Stack { return h.s }

// Info implements tools.Host.
func (h *Host) Info(ctx context.Context) (tools.HostInfo, error) {
	info := tools.HostInfo{
		HostName:  h.s.HostName(),
		DNSSuffix: h.o.DNSSuffix,
		NodeType:  h.o.NodeType,
		IPRouting: h.o.IPRouting,
		WINSProxy: h.o.WINSProxy,
	}
	for _, ifc := range h.s.Interfaces() {
		a := tools.Adapter{
			Index:    ifc.Index,
			Name:     ifc.Name,
			MAC:      ifc.MAC.String(),
			MTU:      ifc.MTU,
			Up:       ifc.MediaConnected,
			Addrs:    ifc.Addrs,
			Gateways: ifc.Gateways,
		}
		if h.o.Describe != nil {
			a.Description = h.o.Describe(ifc.Name)
		} else {
			a.Description = fmt.Sprintf("Stapel virtual Ethernet adapter (%s)", ifc.Name)
		}
		if h.o.DHCP != nil {
			a.DHCP = h.o.DHCP(ifc.Name)
		}
		if h.o.DNS != nil {
			a.DNSSuffix, a.DNSServers = h.o.DNS(ifc.Name)
		}
		if h.o.DHCPInfo != nil {
			h.o.DHCPInfo(ifc.Name, &a)
		}
		info.Adapters = append(info.Adapters, a)
	}
	return info, nil
}

// ARPTables implements tools.Host: entries grouped by interface, by IP.
func (h *Host) ARPTables(ctx context.Context) ([]tools.ARPTable, error) {
	entries := h.s.ARPEntries()
	var out []tools.ARPTable
	for _, ifc := range h.s.Interfaces() {
		t := tools.ARPTable{IfIndex: ifc.Index, IfName: ifc.Name}
		t.IfAddr = netip.IPv4Unspecified()
		if len(ifc.Addrs) > 0 {
			t.IfAddr = ifc.Addrs[0].Addr()
		}
		for _, e := range entries {
			if e.IfIndex != ifc.Index {
				continue
			}
			if e.IfAddr.IsValid() {
				t.IfAddr = e.IfAddr
			}
			te := tools.ARPEntry{IP: e.IP, Static: e.Type == stack.ARPStatic,
				Incomplete: e.Type == stack.ARPIncomplete}
			if !te.Incomplete {
				te.MAC = e.MAC.String()
			}
			t.Entries = append(t.Entries, te)
		}
		sort.Slice(t.Entries, func(i, j int) bool { return t.Entries[i].IP.Less(t.Entries[j].IP) })
		out = append(out, t)
	}
	return out, nil
}

// AddStaticARP implements tools.Host.
func (h *Host) AddStaticARP(ctx context.Context, ip netip.Addr, mac string, ifAddr netip.Addr) error {
	m, err := wire.ParseMAC(mac)
	if err != nil {
		return fmt.Errorf("bad physical address %q: %v", mac, err)
	}
	return h.s.AddStaticARP(ip, m, ifAddr)
}

// DeleteARP implements tools.Host.
func (h *Host) DeleteARP(ctx context.Context, ip netip.Addr) error {
	return h.s.DeleteARP(ip)
}

// Stats implements tools.Host.
func (h *Host) Stats(ctx context.Context) (map[string]uint64, error) {
	m := h.s.StatsMap()
	if h.o.TCP != nil {
		for k, v := range h.o.TCP.StatsMap() {
			m[k] = v
		}
	}
	return m, nil
}

// OpenUDP implements tools.Host.
func (h *Host) OpenUDP(ctx context.Context, local, remote netip.AddrPort) (tools.DatagramConn, error) {
	if !local.IsValid() {
		local = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	}
	var (
		c   *stack.UDPConn
		err error
	)
	if remote.IsValid() {
		c, err = h.s.DialUDP(local, remote)
	} else {
		c, err = h.s.ListenUDP(local)
	}
	if err != nil {
		return nil, err
	}
	return &udpConn{c: c}, nil
}

// ListenPacket opens a UDP socket on port of every address; it makes Host
// a simple.PacketListener.
func (h *Host) ListenPacket(port uint16) (net.PacketConn, error) {
	return h.s.ListenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), port))
}

type udpConn struct{ c *stack.UDPConn }

func (u *udpConn) ReadFrom(b []byte) (int, netip.AddrPort, error) { return u.c.ReadFromAddrPort(b) }

func (u *udpConn) WriteTo(b []byte, to netip.AddrPort) (int, error) {
	if !to.IsValid() {
		return u.c.Write(b)
	}
	return u.c.WriteToAddrPort(b, to)
}

func (u *udpConn) LocalAddr() netip.AddrPort { return u.c.LocalAddrPort() }

func (u *udpConn) Close() error { return u.c.Close() }
