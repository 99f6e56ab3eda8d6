package wire

import "errors"

// Sentinel errors. Parse functions return them (possibly wrapped with the
// layer name) so callers can count drops by cause with errors.Is without
// string matching.
var (
	ErrTruncated   = errors.New("truncated")
	ErrBadChecksum = errors.New("bad checksum")
	ErrBadVersion  = errors.New("bad version")
	ErrBadLength   = errors.New("bad length field")
	ErrBadOption   = errors.New("malformed option")
	ErrUnsupported = errors.New("unsupported format")
	ErrSyntax      = errors.New("bad syntax")
)

// layerError names the layer that failed while still matching its
// sentinel with errors.Is. Values are package-level so that returning an
// error never allocates: a flood of junk must not create garbage.
type layerError struct {
	layer string
	err   error
}

func (e *layerError) Error() string { return "wire: " + e.layer + ": " + e.err.Error() }
func (e *layerError) Unwrap() error { return e.err }

func lerr(layer string, err error) error { return &layerError{layer, err} }

var (
	errMACSyntax = lerr("mac", ErrSyntax)

	errEthTruncated   = lerr("ethernet", ErrTruncated)
	errEthBadLength   = lerr("ethernet", ErrBadLength)
	errEthUnsupported = lerr("ethernet", ErrUnsupported)

	errARPTruncated   = lerr("arp", ErrTruncated)
	errARPUnsupported = lerr("arp", ErrUnsupported)

	errIPTruncated   = lerr("ipv4", ErrTruncated)
	errIPBadVersion  = lerr("ipv4", ErrBadVersion)
	errIPBadLength   = lerr("ipv4", ErrBadLength)
	errIPBadChecksum = lerr("ipv4", ErrBadChecksum)
	errIPBadOption   = lerr("ipv4 options", ErrBadOption)

	errICMPTruncated   = lerr("icmp", ErrTruncated)
	errICMPBadChecksum = lerr("icmp", ErrBadChecksum)
	errICMPBadLength   = lerr("icmp", ErrBadLength)
	errICMPUnsupported = lerr("icmp", ErrUnsupported)

	errIGMPTruncated   = lerr("igmp", ErrTruncated)
	errIGMPBadChecksum = lerr("igmp", ErrBadChecksum)

	errUDPTruncated   = lerr("udp", ErrTruncated)
	errUDPBadLength   = lerr("udp", ErrBadLength)
	errUDPBadChecksum = lerr("udp", ErrBadChecksum)

	errTCPTruncated   = lerr("tcp", ErrTruncated)
	errTCPBadLength   = lerr("tcp", ErrBadLength)
	errTCPBadChecksum = lerr("tcp", ErrBadChecksum)
	errTCPBadOption   = lerr("tcp options", ErrBadOption)
)
