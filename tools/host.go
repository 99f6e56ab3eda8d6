// Package tools holds the logic of Stapel's diagnostic tools (ping, arp,
// ipconfig, nc) and their Windows-style output formats. The tools talk to a
// Host, which is either the daemon over its control socket or a stack in the
// same process (the demo), so the same code prints the same text for both.
package tools

import (
	"context"
	"net/netip"
	"time"
)

// Host is what the tools need from a running stack.
type Host interface {
	// Info describes the host and its adapters (ipconfig).
	Info(ctx context.Context) (HostInfo, error)
	// ARPTables returns the ARP cache, one table per interface (arp -a).
	ARPTables(ctx context.Context) ([]ARPTable, error)
	// AddStaticARP adds a static entry; ifAddr picks the interface (zero =
	// the interface whose subnet holds ip).
	AddStaticARP(ctx context.Context, ip netip.Addr, mac string, ifAddr netip.Addr) error
	// DeleteARP removes an entry.
	DeleteARP(ctx context.Context, ip netip.Addr) error
	// Stats returns the stack's counters by MIB-II name.
	Stats(ctx context.Context) (map[string]uint64, error)
	// Ping runs the ping loop against dst and calls emit once per probe,
	// in order. It returns when the loop ends or ctx is cancelled.
	Ping(ctx context.Context, dst netip.Addr, opts PingOptions, emit func(ProbeResult)) error
	// OpenUDP opens a UDP socket: connected to remote when remote is
	// valid, else listening on local.
	OpenUDP(ctx context.Context, local, remote netip.AddrPort) (DatagramConn, error)
}

// DatagramConn is a UDP socket as nc sees it.
type DatagramConn interface {
	// ReadFrom returns one datagram and its sender.
	ReadFrom(b []byte) (int, netip.AddrPort, error)
	// WriteTo sends one datagram; an invalid to means the connected peer.
	WriteTo(b []byte, to netip.AddrPort) (int, error)
	// LocalAddr is the bound address.
	LocalAddr() netip.AddrPort
	// Close releases the socket and unblocks ReadFrom.
	Close() error
}

// HostInfo is the host-wide part of ipconfig /all.
type HostInfo struct {
	HostName   string    `json:"hostName"`
	DNSSuffix  string    `json:"dnsSuffix,omitempty"`
	NodeType   string    `json:"nodeType"`
	IPRouting  bool      `json:"ipRouting"`
	WINSProxy  bool      `json:"winsProxy"`
	Adapters   []Adapter `json:"adapters"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	DNSServers []string  `json:"dnsServers,omitempty"`
}

// Adapter is one interface as ipconfig shows it.
type Adapter struct {
	Index       int            `json:"index"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	MAC         string         `json:"mac"` // colon form
	MTU         int            `json:"mtu"`
	DHCP        bool           `json:"dhcp"`
	Up          bool           `json:"up"`
	Addrs       []netip.Prefix `json:"addrs"`
	Gateways    []netip.Addr   `json:"gateways"`
	DNSSuffix   string         `json:"dnsSuffix,omitempty"`
	DNSServers  []string       `json:"dnsServers,omitempty"`
	// DHCP client state (SPEC DHCP-1, DHCP-4): the server and lease
	// times when leased; Autoconf marks Addrs[0] as an APIPA address.
	DHCPServer    netip.Addr `json:"dhcpServer,omitzero"`
	LeaseObtained time.Time  `json:"leaseObtained,omitzero"`
	LeaseExpires  time.Time  `json:"leaseExpires,omitzero"`
	Autoconf      bool       `json:"autoconf,omitempty"`
	AutoconfOn    bool       `json:"autoconfOn,omitempty"` // Autoconfiguration Enabled
}

// ARPTable is one interface's ARP cache.
type ARPTable struct {
	IfAddr  netip.Addr `json:"ifAddr"`
	IfIndex int        `json:"ifIndex"`
	IfName  string     `json:"ifName"`
	Entries []ARPEntry `json:"entries"`
}

// ARPEntry is one cache line.
type ARPEntry struct {
	IP     netip.Addr `json:"ip"`
	MAC    string     `json:"mac"` // colon form; empty while unresolved
	Static bool       `json:"static"`
	// Incomplete: resolution in progress (shown as "invalid").
	Incomplete bool `json:"incomplete,omitempty"`
}

// StreamHost is implemented by hosts that have TCP.
type StreamHost interface {
	// DialTCP connects from local (zero = any) to remote.
	DialTCP(ctx context.Context, local, remote netip.AddrPort) (StreamConn, error)
	// AcceptTCP listens on local and returns the first connection.
	AcceptTCP(ctx context.Context, local netip.AddrPort) (StreamConn, error)
}

// StreamConn is a TCP connection as nc sees it.
type StreamConn interface {
	Read(b []byte) (int, error)
	Write(b []byte) (int, error)
	// CloseWrite sends FIN; reading goes on.
	CloseWrite() error
	Close() error
}
