package wire

import "net/netip"

// MAC is a 48-bit IEEE 802 hardware address. It is an array so it can be
// compared with == and used as a map key without allocation.
type MAC [6]byte

// BroadcastMAC is the all-ones Ethernet broadcast address (ARP requests).
var BroadcastMAC = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// ParseMAC reads "aa:bb:cc:dd:ee:ff" or the Windows form
// "aa-bb-cc-dd-ee-ff" (either case). The separator must be consistent.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	if len(s) != 17 {
		return m, errMACSyntax
	}
	sep := s[2]
	if sep != ':' && sep != '-' {
		return m, errMACSyntax
	}
	for i := 0; i < 6; i++ {
		p := i * 3
		if i > 0 && s[p-1] != sep {
			return MAC{}, errMACSyntax
		}
		hi, ok1 := unhex(s[p])
		lo, ok2 := unhex(s[p+1])
		if !ok1 || !ok2 {
			return MAC{}, errMACSyntax
		}
		m[i] = hi<<4 | lo
	}
	return m, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

const hexDigits = "0123456789abcdef"

func (m MAC) format(sep byte) string {
	var b [17]byte
	for i, v := range m {
		p := i * 3
		b[p] = hexDigits[v>>4]
		b[p+1] = hexDigits[v&0xf]
		if i < 5 {
			b[p+2] = sep
		}
	}
	return string(b[:])
}

// String returns the colon form "aa:bb:cc:dd:ee:ff".
func (m MAC) String() string { return m.format(':') }

// Windows returns the dash form "aa-bb-cc-dd-ee-ff" that ipconfig and arp -a
// print, so tool output matches the whitepaper.
func (m MAC) Windows() string { return m.format('-') }

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool { return m == BroadcastMAC }

// IsMulticast reports whether the group bit is set (broadcast included),
// i.e. whether the frame is not addressed to a single station.
func (m MAC) IsMulticast() bool { return m[0]&1 != 0 }

// MulticastMAC maps an IPv4 multicast group to its Ethernet address per
// RFC 1112: 01:00:5e followed by the low 23 bits of the group. A non-IPv4
// address yields the zero MAC.
func MulticastMAC(group netip.Addr) MAC {
	if !group.Is4() {
		return MAC{}
	}
	a := group.As4()
	return MAC{0x01, 0x00, 0x5e, a[1] & 0x7f, a[2], a[3]}
}
