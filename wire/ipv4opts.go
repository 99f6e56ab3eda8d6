package wire

// IPv4 option types (type byte including the copied bit and class).
const (
	IPv4OptEOL       = 0x00
	IPv4OptNOP       = 0x01
	IPv4OptRR        = 0x07 // record route
	IPv4OptTimestamp = 0x44
	IPv4OptSecurity  = 0x82
	IPv4OptLSRR      = 0x83 // loose source and record route
	IPv4OptStreamID  = 0x88
	IPv4OptSSRR      = 0x89 // strict source and record route
	IPv4OptRA        = 0x94 // router alert (RFC 2113), used by IGMPv2

	ipv4OptCopied = 0x80
)

// IPv4Option is one option TLV. Data aliases the options slice. Offset is
// the option's position within the options (add 20 for the position in
// the header, e.g. for an ICMP Parameter Problem pointer).
type IPv4Option struct {
	Type   uint8
	Data   []byte
	Offset int
}

// Copied reports whether the option must be repeated in every fragment.
func (o IPv4Option) Copied() bool { return o.Type&ipv4OptCopied != 0 }

// nextIPv4Option finds the option at or after i, skipping NOP padding.
// It returns the option's start and total length; l == 0 with a nil error
// means the list ended (end of bytes or End of Option List).
func nextIPv4Option(opts []byte, i int) (start, l int, err error) {
	for ; i < len(opts); i++ {
		switch opts[i] {
		case IPv4OptEOL:
			return len(opts), 0, nil
		case IPv4OptNOP:
			continue
		}
		if i+1 >= len(opts) {
			return i, 0, errIPBadOption
		}
		l = int(opts[i+1])
		if l < 2 || i+l > len(opts) {
			return i, 0, errIPBadOption
		}
		return i, l, nil
	}
	return len(opts), 0, nil
}

// ParseIPv4Options calls fn for each option in opts, in order, until fn
// returns false or End of Option List is reached. NOP padding is skipped.
// A length byte that is missing, below 2 or past the end is ErrBadOption;
// options seen before it have already been passed to fn.
func ParseIPv4Options(opts []byte, fn func(IPv4Option) bool) error {
	for i := 0; ; {
		s, l, err := nextIPv4Option(opts, i)
		if l == 0 {
			return err
		}
		if !fn(IPv4Option{Type: opts[s], Data: opts[s+2 : s+l], Offset: s}) {
			return nil
		}
		i = s + l
	}
}

// HasSourceRoute reports whether opts holds a loose or strict source route.
// Windows 2000 drops source-routed datagrams by default
// (DisableIPSourceRouting), so the stack asks this on every datagram with
// options. Options after a malformed one are not looked at.
func HasSourceRoute(opts []byte) bool {
	for i := 0; ; {
		s, l, _ := nextIPv4Option(opts, i)
		if l == 0 {
			return false
		}
		if t := opts[s]; t == IPv4OptLSRR || t == IPv4OptSSRR {
			return true
		}
		i = s + l
	}
}

// FragmentOptions copies into dst the options whose copied bit is set,
// which are the only ones repeated in fragments after the first
// (RFC 791), and returns the number of bytes written, unpadded
// (IPv4Header.Put pads). dst needs len(opts) bytes at most. A malformed
// option ends the copy.
func FragmentOptions(opts []byte, dst []byte) int {
	n := 0
	for i := 0; ; {
		s, l, _ := nextIPv4Option(opts, i)
		if l == 0 {
			return n
		}
		if opts[s]&ipv4OptCopied != 0 {
			n += copy(dst[n:], opts[s:s+l])
		}
		i = s + l
	}
}
