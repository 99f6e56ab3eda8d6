// Package wire holds the packet formats of the stack: Ethernet (DIX and
// 802.3 LLC/SNAP), ARP, IPv4 with options, ICMPv4, IGMPv2, UDP and TCP
// with options, plus the Internet checksum.
//
// It is formats only: no state, no I/O, no time. Keeping formats apart
// from protocol state lets every parser be fuzzed in isolation and lets the
// stack treat a parse error as "drop and count" with no further checks.
//
// Conventions:
//   - Parse* accept any []byte, never panic, and return errors that match
//     ErrTruncated, ErrBadChecksum, ErrBadVersion, ErrBadLength,
//     ErrBadOption or ErrUnsupported (ErrSyntax for ParseMAC) with
//     errors.Is. Messages name the layer ("wire: ipv4: bad checksum").
//     Errors are preallocated, so rejecting junk creates no garbage.
//   - Returned headers' slices (options, payloads, bodies) alias the input;
//     copy what you keep beyond the input buffer's lifetime.
//   - Put* write into a caller-provided buffer and never allocate. A buffer
//     too small is a programming error and panics like any slice bound;
//     Put* never receive untrusted input.
//   - Put methods on pointers record what they wrote (IHL, DataOff,
//     Checksum) back into the struct.
//   - Addresses are netip.Addr holding IPv4 addresses; an invalid Addr is
//     written as 0.0.0.0.
package wire
