package wire

import "encoding/binary"

// TCP option kinds.
const (
	TCPOptEOL           = 0
	TCPOptNOP           = 1
	TCPOptMSS           = 2
	TCPOptWScale        = 3
	TCPOptSACKPermitted = 4
	TCPOptSACK          = 5
	TCPOptTimestamp     = 8
)

const tcpMaxOptionLen = tcpMaxHeaderLen - TCPMinHeaderLen

// SACKBlock is one selectively acknowledged range [Start, End) (RFC 2018).
type SACKBlock struct {
	Start, End uint32
}

// TCPOptions are the options the stack understands (RFC 793 MSS, RFC 1323
// window scale and timestamps, RFC 2018 SACK). A fixed-size struct, not a
// slice, so parsing options per segment allocates nothing.
type TCPOptions struct {
	MSS           uint16
	HasMSS        bool
	WScale        uint8 // raw shift count; RFC 1323 says clamp to 14 on use
	HasWScale     bool
	SACKPermitted bool
	SACK          [4]SACKBlock
	NumSACK       int
	TSVal, TSEcr  uint32
	HasTimestamp  bool
}

// ParseTCPOptions decodes opts (TCPHeader.Options). Unknown kinds are
// skipped by their length so new options do not break connections. A
// missing or impossible length, or a known kind with the wrong length, is
// ErrBadOption; o then holds the options decoded before the bad one.
// Later occurrences of a kind override earlier ones.
func ParseTCPOptions(opts []byte) (TCPOptions, error) {
	var o TCPOptions
	for i := 0; i < len(opts); {
		kind := opts[i]
		switch kind {
		case TCPOptEOL:
			return o, nil
		case TCPOptNOP:
			i++
			continue
		}
		if i+1 >= len(opts) {
			return o, errTCPBadOption
		}
		l := int(opts[i+1])
		if l < 2 || i+l > len(opts) {
			return o, errTCPBadOption
		}
		d := opts[i+2 : i+l]
		switch kind {
		case TCPOptMSS:
			if l != 4 {
				return o, errTCPBadOption
			}
			o.MSS, o.HasMSS = binary.BigEndian.Uint16(d), true
		case TCPOptWScale:
			if l != 3 {
				return o, errTCPBadOption
			}
			o.WScale, o.HasWScale = d[0], true
		case TCPOptSACKPermitted:
			if l != 2 {
				return o, errTCPBadOption
			}
			o.SACKPermitted = true
		case TCPOptSACK:
			n := len(d) / 8
			if len(d)%8 != 0 || n == 0 || n > len(o.SACK) {
				return o, errTCPBadOption
			}
			o.SACK = [4]SACKBlock{}
			for j := 0; j < n; j++ {
				o.SACK[j] = SACKBlock{
					Start: binary.BigEndian.Uint32(d[j*8:]),
					End:   binary.BigEndian.Uint32(d[j*8+4:]),
				}
			}
			o.NumSACK = n
		case TCPOptTimestamp:
			if l != 10 {
				return o, errTCPBadOption
			}
			o.TSVal = binary.BigEndian.Uint32(d[0:4])
			o.TSEcr = binary.BigEndian.Uint32(d[4:8])
			o.HasTimestamp = true
		}
		i += l
	}
	return o, nil
}

// fixedLen is the length of everything but SACK blocks, in Put's layout.
// Each option is preceded by NOPs so it starts on its natural boundary.
func (o *TCPOptions) fixedLen() int {
	n := 0
	if o.HasMSS {
		n += 4 // kind len mss
	}
	if o.HasWScale {
		n += 4 // NOP kind len shift
	}
	if o.HasTimestamp {
		n += 12 // NOP NOP kind len tsval tsecr
	}
	if o.SACKPermitted {
		n += 4 // NOP NOP kind len
	}
	return n
}

// sackBlocks is how many SACK blocks Put writes: NumSACK clipped to 0..4
// and to what fits in 40 option bytes after the other options (3 with
// timestamps, as RFC 2018 notes).
func (o *TCPOptions) sackBlocks() int {
	n := min(max(o.NumSACK, 0), len(o.SACK))
	room := (tcpMaxOptionLen - o.fixedLen() - 4) / 8
	return max(min(n, room), 0)
}

// Len is the length Put writes, a multiple of 4 and at most 40 (an
// over-full set drops SACK blocks first; MSS+WS+TS+SACK-permitted is 24).
func (o *TCPOptions) Len() int {
	n := o.fixedLen()
	if k := o.sackBlocks(); k > 0 {
		n += 4 + 8*k
	}
	return n
}

// Put writes the options into b and returns Len(). The layout is the one
// Windows 2000 sends (SPEC TCP-SACK-1 traces): MSS; NOP, WS; NOP, NOP, TS;
// NOP, NOP, SACK-permitted; NOP, NOP, SACK. Every option is word aligned,
// so no trailing padding is needed and captures match the whitepaper.
func (o *TCPOptions) Put(b []byte) int {
	_ = b[:o.Len()]
	i := 0
	if o.HasMSS {
		b[i], b[i+1] = TCPOptMSS, 4
		binary.BigEndian.PutUint16(b[i+2:], o.MSS)
		i += 4
	}
	if o.HasWScale {
		b[i], b[i+1], b[i+2], b[i+3] = TCPOptNOP, TCPOptWScale, 3, o.WScale
		i += 4
	}
	if o.HasTimestamp {
		b[i], b[i+1], b[i+2], b[i+3] = TCPOptNOP, TCPOptNOP, TCPOptTimestamp, 10
		binary.BigEndian.PutUint32(b[i+4:], o.TSVal)
		binary.BigEndian.PutUint32(b[i+8:], o.TSEcr)
		i += 12
	}
	if o.SACKPermitted {
		b[i], b[i+1], b[i+2], b[i+3] = TCPOptNOP, TCPOptNOP, TCPOptSACKPermitted, 2
		i += 4
	}
	if k := o.sackBlocks(); k > 0 {
		b[i], b[i+1], b[i+2], b[i+3] = TCPOptNOP, TCPOptNOP, TCPOptSACK, byte(2+8*k)
		i += 4
		for j := 0; j < k; j++ {
			binary.BigEndian.PutUint32(b[i:], o.SACK[j].Start)
			binary.BigEndian.PutUint32(b[i+4:], o.SACK[j].End)
			i += 8
		}
	}
	return i
}
