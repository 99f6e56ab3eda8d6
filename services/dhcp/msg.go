// Package dhcp is Stapel's DHCP client (SPEC §12, DHCP-1..8): an RFC 2131
// / RFC 2132 message codec, the client state machine with APIPA (DHCP-4)
// and media sense (DHCP-7), driven by an injected clock.
package dhcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/stapel-net/stapel/wire"
)

// Message types (RFC 2132 9.6).
const (
	Discover = 1
	Offer    = 2
	Request  = 3
	Decline  = 4
	Ack      = 5
	Nak      = 6
	Release  = 7
	Inform   = 8
)

// Option codes used by the client (RFC 2132).
const (
	OptPad          = 0
	OptSubnetMask   = 1
	OptRouter       = 3
	OptDNS          = 6
	OptHostName     = 12
	OptDomainName   = 15
	OptRequestedIP  = 50
	OptLeaseTime    = 51
	OptMessageType  = 53
	OptServerID     = 54
	OptParamRequest = 55
	OptMessage      = 56
	OptMaxSize      = 57
	OptT1           = 58
	OptT2           = 59
	OptVendorClass  = 60
	OptClientID     = 61
	OptFQDN         = 81
	OptEnd          = 255
)

const (
	bootRequest = 1
	bootReply   = 2
	fixedLen    = 236
	// magic is the options cookie (RFC 2131 3).
	magic = 0x63825363
	// FlagBroadcast asks the server to broadcast its reply (RFC 2131 4.1).
	FlagBroadcast = 0x8000
)

// ErrMalformed wraps every parse error.
var ErrMalformed = errors.New("dhcp: malformed message")

// Option is one raw option.
type Option struct {
	Code byte
	Data []byte
}

// Message is a BOOTP/DHCP message (RFC 2131 2). Options keep their order;
// the accessors below decode the ones the client uses.
type Message struct {
	Op, HType, HLen, Hops byte
	XID                   uint32
	Secs, Flags           uint16
	CIAddr, YIAddr        netip.Addr
	SIAddr, GIAddr        netip.Addr
	CHAddr                wire.MAC
	Options               []Option
}

// Parse decodes a DHCP message. Anything malformed is an error wrapping
// ErrMalformed; Parse never panics (FuzzParseDHCP). Option overload (52)
// is not followed: the client needs nothing from sname/file.
func Parse(b []byte) (*Message, error) {
	if len(b) < fixedLen+4 {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	m := &Message{Op: b[0], HType: b[1], HLen: b[2], Hops: b[3],
		XID: binary.BigEndian.Uint32(b[4:]), Secs: binary.BigEndian.Uint16(b[8:]),
		Flags:  binary.BigEndian.Uint16(b[10:]),
		CIAddr: addr4(b[12:]), YIAddr: addr4(b[16:]), SIAddr: addr4(b[20:]), GIAddr: addr4(b[24:])}
	if m.Op != bootRequest && m.Op != bootReply {
		return nil, fmt.Errorf("%w: op %d", ErrMalformed, m.Op)
	}
	copy(m.CHAddr[:], b[28:34])
	if binary.BigEndian.Uint32(b[fixedLen:]) != magic {
		return nil, fmt.Errorf("%w: no magic cookie", ErrMalformed)
	}
	for i := fixedLen + 4; i < len(b); {
		code := b[i]
		i++
		if code == OptPad {
			continue
		}
		if code == OptEnd {
			return m, nil
		}
		if i >= len(b) {
			return nil, fmt.Errorf("%w: option %d has no length", ErrMalformed, code)
		}
		n := int(b[i])
		i++
		if i+n > len(b) {
			return nil, fmt.Errorf("%w: option %d overruns the message", ErrMalformed, code)
		}
		m.Options = append(m.Options, Option{Code: code, Data: b[i : i+n : i+n]})
		i += n
	}
	return m, nil // RFC 2131 says End is required, but servers omitting it are tolerated
}

func addr4(b []byte) netip.Addr { return netip.AddrFrom4([4]byte(b[:4])) }

// Marshal encodes the message with an End option, padded to the BOOTP
// minimum of 300 bytes (RFC 1542 2.1) that some relays insist on.
func (m *Message) Marshal() []byte {
	n := fixedLen + 4
	for _, o := range m.Options {
		n += 2 + len(o.Data)
	}
	b := make([]byte, max(n+1, 300))
	b[0], b[1], b[2], b[3] = m.Op, m.HType, m.HLen, m.Hops
	binary.BigEndian.PutUint32(b[4:], m.XID)
	binary.BigEndian.PutUint16(b[8:], m.Secs)
	binary.BigEndian.PutUint16(b[10:], m.Flags)
	put4(b[12:], m.CIAddr)
	put4(b[16:], m.YIAddr)
	put4(b[20:], m.SIAddr)
	put4(b[24:], m.GIAddr)
	copy(b[28:], m.CHAddr[:])
	binary.BigEndian.PutUint32(b[fixedLen:], magic)
	i := fixedLen + 4
	for _, o := range m.Options {
		b[i], b[i+1] = o.Code, byte(len(o.Data))
		i += 2 + copy(b[i+2:], o.Data)
	}
	b[i] = OptEnd
	return b
}

func put4(b []byte, a netip.Addr) {
	if a.Is4() {
		v := a.As4()
		copy(b, v[:])
	}
}

// Opt returns the data of the first option code, or nil.
func (m *Message) Opt(code byte) []byte {
	for _, o := range m.Options {
		if o.Code == code {
			return o.Data
		}
	}
	return nil
}

// Add appends an option (data longer than 255 bytes is cut).
func (m *Message) Add(code byte, data []byte) {
	m.Options = append(m.Options, Option{Code: code, Data: data[:min(len(data), 255)]})
}

// Type is the DHCP message type (option 53), 0 for plain BOOTP.
func (m *Message) Type() byte {
	if d := m.Opt(OptMessageType); len(d) == 1 {
		return d[0]
	}
	return 0
}

// Addr decodes a single-address option (mask, server id, requested IP).
func (m *Message) Addr(code byte) (netip.Addr, bool) {
	d := m.Opt(code)
	if len(d) != 4 {
		return netip.Addr{}, false
	}
	return addr4(d), true
}

// Addrs decodes an address-list option (routers, DNS servers).
func (m *Message) Addrs(code byte) []netip.Addr {
	d := m.Opt(code)
	var out []netip.Addr
	for len(d) >= 4 {
		out = append(out, addr4(d))
		d = d[4:]
	}
	return out
}

// Duration decodes a 32-bit seconds option (lease time, T1, T2);
// 0xffffffff is an infinite lease.
func (m *Message) Duration(code byte) (time.Duration, bool) {
	d := m.Opt(code)
	if len(d) != 4 {
		return 0, false
	}
	v := binary.BigEndian.Uint32(d)
	if v == 0xffffffff {
		return Infinite, true
	}
	return time.Duration(v) * time.Second, true
}

// Infinite is the duration of a lease that never expires.
const Infinite = time.Duration(1<<63 - 1)

// String decodes a text option (host name, domain), trailing NULs cut.
func (m *Message) String(code byte) string {
	d := m.Opt(code)
	for len(d) > 0 && d[len(d)-1] == 0 {
		d = d[:len(d)-1]
	}
	return string(d)
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func addrBytes(a netip.Addr) []byte { v := a.As4(); return v[:] }
