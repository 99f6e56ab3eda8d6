package netbt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Opcodes (RFC 1002 §4.2.1.1).
const (
	OpQuery        = 0
	OpRegistration = 5
	OpRelease      = 6
	OpWACK         = 7
	OpRefresh      = 8
	OpRefreshAlt   = 9 // RefreshOpCode 9 for interop (SPEC NBT-5)
	OpMultiHomed   = 15
)

// Result codes.
const (
	RcodeOK     = 0
	RcodeFormat = 1 // FMT_ERR
	RcodeServer = 2 // SRV_ERR
	RcodeName   = 3 // NAM_ERR: no such name
	RcodeImp    = 4
	RcodeRefuse = 5
	RcodeActive = 6 // ACT_ERR: name owned by another node
	RcodeCFT    = 7 // CFT_ERR: name conflict demand
)

// Resource record types and class.
const (
	TypeA      = 0x0001
	TypeNS     = 0x0002
	TypeNULL   = 0x000a
	TypeNB     = 0x0020
	TypeNBSTAT = 0x0021
	ClassIN    = 0x0001
)

// NB_FLAGS and NAME_FLAGS bits (RFC 1002 §4.2.1.3, §4.2.18).
const (
	FlagGroup     = 0x8000
	ONTMask       = 0x6000 // owner node type: 00 B, 01 P, 10 M
	FlagDeregistr = 0x1000 // name being released
	FlagConflict  = 0x0800
	FlagActive    = 0x0400
	FlagPermanent = 0x0200
)

// HeaderLen is the fixed header size.
const HeaderLen = 12

// Packet is one name service message.
type Packet struct {
	ID       uint16
	Response bool
	Opcode   uint8
	AA       bool // authoritative answer
	TC       bool
	RD       bool // recursion desired
	RA       bool
	B        bool // broadcast
	Rcode    uint8

	Questions  []Question
	Answers    []Resource
	Authority  []Resource
	Additional []Resource
}

// Question is a question entry.
type Question struct {
	Name  Name
	Type  uint16
	Class uint16
}

// Resource is a resource record; RData is raw (see NBEntries, NodeStatus).
type Resource struct {
	Name  Name
	Type  uint16
	Class uint16
	TTL   uint32
	RData []byte
}

// ErrMalformed wraps every parse failure.
var ErrMalformed = errors.New("netbt: malformed name service packet")

// maxRecords bounds each section: a 576-byte datagram cannot hold more
// records than this anyway, and the bound stops a header from claiming
// thousands of entries.
const maxRecords = 64

// ParseNameServicePacket decodes b. Any structural problem is an error
// wrapping ErrMalformed; trailing bytes are ignored (some stacks pad).
func ParseNameServicePacket(b []byte) (*Packet, error) {
	if len(b) < HeaderLen {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	p := &Packet{ID: binary.BigEndian.Uint16(b)}
	fl := binary.BigEndian.Uint16(b[2:])
	p.Response = fl&0x8000 != 0
	p.Opcode = uint8(fl >> 11 & 0x0f)
	p.AA = fl&0x0400 != 0
	p.TC = fl&0x0200 != 0
	p.RD = fl&0x0100 != 0
	p.RA = fl&0x0080 != 0
	p.B = fl&0x0010 != 0
	p.Rcode = uint8(fl & 0x0f)
	var counts [4]int
	for i := range counts {
		counts[i] = int(binary.BigEndian.Uint16(b[4+2*i:]))
		if counts[i] > maxRecords {
			return nil, fmt.Errorf("%w: %d records in a section", ErrMalformed, counts[i])
		}
	}
	off := HeaderLen
	for range counts[0] {
		n, next, err := readName(b, off)
		if err != nil {
			return nil, fmt.Errorf("%w: question name", ErrMalformed)
		}
		if next+4 > len(b) {
			return nil, fmt.Errorf("%w: short question", ErrMalformed)
		}
		p.Questions = append(p.Questions, Question{Name: n, Type: binary.BigEndian.Uint16(b[next:]), Class: binary.BigEndian.Uint16(b[next+2:])})
		off = next + 4
	}
	for i, sec := range []*[]Resource{&p.Answers, &p.Authority, &p.Additional} {
		for range counts[i+1] {
			r, next, err := readResource(b, off)
			if err != nil {
				return nil, err
			}
			*sec = append(*sec, r)
			off = next
		}
	}
	return p, nil
}

func readResource(b []byte, off int) (Resource, int, error) {
	var r Resource
	n, next, err := readName(b, off)
	if err != nil {
		return r, 0, fmt.Errorf("%w: record name", ErrMalformed)
	}
	if next+10 > len(b) {
		return r, 0, fmt.Errorf("%w: short record", ErrMalformed)
	}
	r.Name = n
	r.Type = binary.BigEndian.Uint16(b[next:])
	r.Class = binary.BigEndian.Uint16(b[next+2:])
	r.TTL = binary.BigEndian.Uint32(b[next+4:])
	l := int(binary.BigEndian.Uint16(b[next+8:]))
	next += 10
	if next+l > len(b) {
		return r, 0, fmt.Errorf("%w: RDLENGTH %d beyond the packet", ErrMalformed, l)
	}
	r.RData = b[next : next+l : next+l]
	return r, next + l, nil
}

// Marshal encodes p with uncompressed names.
func (p *Packet) Marshal() ([]byte, error) {
	b := make([]byte, HeaderLen, 128)
	binary.BigEndian.PutUint16(b, p.ID)
	var fl uint16
	set := func(on bool, bit uint16) {
		if on {
			fl |= bit
		}
	}
	set(p.Response, 0x8000)
	fl |= uint16(p.Opcode&0x0f) << 11
	set(p.AA, 0x0400)
	set(p.TC, 0x0200)
	set(p.RD, 0x0100)
	set(p.RA, 0x0080)
	set(p.B, 0x0010)
	fl |= uint16(p.Rcode & 0x0f)
	binary.BigEndian.PutUint16(b[2:], fl)
	for i, n := range []int{len(p.Questions), len(p.Answers), len(p.Authority), len(p.Additional)} {
		if n > maxRecords {
			return nil, fmt.Errorf("netbt: %d records in a section", n)
		}
		binary.BigEndian.PutUint16(b[4+2*i:], uint16(n))
	}
	var err error
	for _, q := range p.Questions {
		if b, err = appendName(b, q.Name); err != nil {
			return nil, err
		}
		b = binary.BigEndian.AppendUint16(b, q.Type)
		b = binary.BigEndian.AppendUint16(b, q.Class)
	}
	for _, sec := range [][]Resource{p.Answers, p.Authority, p.Additional} {
		for _, r := range sec {
			if len(r.RData) > 0xffff {
				return nil, errors.New("netbt: RDATA too long")
			}
			if b, err = appendName(b, r.Name); err != nil {
				return nil, err
			}
			b = binary.BigEndian.AppendUint16(b, r.Type)
			b = binary.BigEndian.AppendUint16(b, r.Class)
			b = binary.BigEndian.AppendUint32(b, r.TTL)
			b = binary.BigEndian.AppendUint16(b, uint16(len(r.RData)))
			b = append(b, r.RData...)
		}
	}
	return b, nil
}

// NBEntry is one NB_FLAGS + NB_ADDRESS pair of an NB record.
type NBEntry struct {
	Flags uint16
	Addr  netip.Addr
}

// Group reports the G bit.
func (e NBEntry) Group() bool { return e.Flags&FlagGroup != 0 }

// NBRData encodes NB entries.
func NBRData(es ...NBEntry) []byte {
	b := make([]byte, 0, 6*len(es))
	for _, e := range es {
		b = binary.BigEndian.AppendUint16(b, e.Flags)
		a := e.Addr.As4()
		b = append(b, a[:]...)
	}
	return b
}

// NBEntries decodes the RDATA of an NB record.
func (r Resource) NBEntries() ([]NBEntry, error) {
	if r.Type != TypeNB || len(r.RData) == 0 || len(r.RData)%6 != 0 {
		return nil, fmt.Errorf("%w: NB RDATA of %d bytes", ErrMalformed, len(r.RData))
	}
	out := make([]NBEntry, 0, len(r.RData)/6)
	for i := 0; i+6 <= len(r.RData); i += 6 {
		out = append(out, NBEntry{Flags: binary.BigEndian.Uint16(r.RData[i:]), Addr: netip.AddrFrom4([4]byte(r.RData[i+2 : i+6]))})
	}
	return out, nil
}

// NodeName is one entry of a node status response.
type NodeName struct {
	Name  [16]byte
	Flags uint16 // NAME_FLAGS
}

// Base is the name without padding; Suffix its 16th byte.
func (n NodeName) Base() string   { return Name{Raw: n.Name}.Base() }
func (n NodeName) Suffix() byte   { return n.Name[15] }
func (n NodeName) String() string { return Name{Raw: n.Name}.String() }

// NodeStatus is the RDATA of an NBSTAT response (RFC 1002 §4.2.18).
type NodeStatus struct {
	Names []NodeName
	// UnitID is the first 6 statistics bytes (the MAC address on
	// Windows and Samba); the remaining 40 statistics bytes are zero.
	UnitID [6]byte
}

// statsLen is the size of the STATISTICS field.
const statsLen = 46

// Marshal encodes the node status RDATA.
func (s NodeStatus) Marshal() ([]byte, error) {
	if len(s.Names) > 255 {
		return nil, errors.New("netbt: more than 255 names")
	}
	b := make([]byte, 0, 1+18*len(s.Names)+statsLen)
	b = append(b, byte(len(s.Names)))
	for _, n := range s.Names {
		b = append(b, n.Name[:]...)
		b = binary.BigEndian.AppendUint16(b, n.Flags)
	}
	b = append(b, s.UnitID[:]...)
	return append(b, make([]byte, statsLen-6)...), nil
}

// NodeStatus decodes an NBSTAT record. Truncated statistics are
// accepted (only the unit ID is used); truncated names are not.
func (r Resource) NodeStatus() (NodeStatus, error) {
	var s NodeStatus
	if r.Type != TypeNBSTAT || len(r.RData) < 1 {
		return s, fmt.Errorf("%w: not a node status record", ErrMalformed)
	}
	n := int(r.RData[0])
	if 1+18*n > len(r.RData) {
		return s, fmt.Errorf("%w: %d names in %d bytes", ErrMalformed, n, len(r.RData))
	}
	for i := range n {
		e := r.RData[1+18*i:]
		s.Names = append(s.Names, NodeName{Name: [16]byte(e[:16]), Flags: binary.BigEndian.Uint16(e[16:])})
	}
	copy(s.UnitID[:], r.RData[1+18*n:])
	return s, nil
}
