package wire

import (
	"encoding/binary"
	"net/netip"
)

// ARPLen is the length of an Ethernet/IPv4 ARP packet (RFC 826).
const ARPLen = 28

// ARP operations.
const (
	ARPRequest = 1
	ARPReply   = 2
)

const (
	arpHTypeEthernet = 1
	arpPTypeIPv4     = 0x0800
)

// ARP is an Ethernet/IPv4 ARP packet.
type ARP struct {
	Op        uint16
	SenderMAC MAC
	SenderIP  netip.Addr
	TargetMAC MAC
	TargetIP  netip.Addr
}

// ParseARP reads an ARP packet. Only hardware type Ethernet with protocol
// IPv4 (6- and 4-byte addresses) is accepted; anything else is
// ErrUnsupported because the stack could not use it. The operation is
// returned as is; the caller decides what to do with unknown ones.
// Trailing bytes (Ethernet padding) are ignored.
func ParseARP(b []byte) (ARP, error) {
	var a ARP
	if len(b) < ARPLen {
		return a, errARPTruncated
	}
	if binary.BigEndian.Uint16(b[0:2]) != arpHTypeEthernet ||
		binary.BigEndian.Uint16(b[2:4]) != arpPTypeIPv4 ||
		b[4] != 6 || b[5] != 4 {
		return a, errARPUnsupported
	}
	a.Op = binary.BigEndian.Uint16(b[6:8])
	copy(a.SenderMAC[:], b[8:14])
	a.SenderIP = netip.AddrFrom4([4]byte(b[14:18]))
	copy(a.TargetMAC[:], b[18:24])
	a.TargetIP = netip.AddrFrom4([4]byte(b[24:28]))
	return a, nil
}

// Put writes the 28-byte packet into b.
func (a *ARP) Put(b []byte) {
	_ = b[ARPLen-1]
	binary.BigEndian.PutUint16(b[0:2], arpHTypeEthernet)
	binary.BigEndian.PutUint16(b[2:4], arpPTypeIPv4)
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:8], a.Op)
	copy(b[8:14], a.SenderMAC[:])
	putAddr(b[14:18], a.SenderIP)
	copy(b[18:24], a.TargetMAC[:])
	putAddr(b[24:28], a.TargetIP)
}

// putAddr writes an IPv4 address; an invalid (zero) Addr writes 0.0.0.0,
// which is what ARP probes and unset fields mean.
func putAddr(b []byte, a netip.Addr) {
	v := as4(a)
	copy(b[:4], v[:])
}
