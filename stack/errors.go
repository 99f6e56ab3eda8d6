package stack

import (
	"errors"
	"fmt"
	"syscall"
)

// Errors returned by the stack. Each wraps the errno a socket user would
// expect, so errors.Is(err, syscall.EADDRINUSE) and friends work.
var (
	// ErrNeedsFragmentation: a locally originated datagram with DF set does
	// not fit the outgoing MTU (SPEC IP-20). ping prints "Packet needs to be
	// fragmented but DF set." for it.
	ErrNeedsFragmentation = wrapErrno("stack: packet needs to be fragmented but DF set", syscall.EMSGSIZE)
	// ErrNoRoute: no route to the destination (ipOutNoRoutes).
	ErrNoRoute = wrapErrno("stack: no route to host", syscall.ENETUNREACH)
	// ErrAddrInUse: the UDP address/port is already bound.
	ErrAddrInUse = wrapErrno("stack: address already in use", syscall.EADDRINUSE)
	// ErrAddrNotAvailable: the bind address is not one of ours.
	ErrAddrNotAvailable = wrapErrno("stack: address not available", syscall.EADDRNOTAVAIL)
	// ErrNoPorts: the ephemeral range is exhausted.
	ErrNoPorts = wrapErrno("stack: no ephemeral port available", syscall.EADDRINUSE)
	// ErrMessageTooLong: payload larger than an IPv4 datagram can carry.
	ErrMessageTooLong = wrapErrno("stack: message too long", syscall.EMSGSIZE)
	// ErrHostUnreachable: ARP resolution failed (SendARP).
	ErrHostUnreachable = wrapErrno("stack: host unreachable", syscall.EHOSTUNREACH)
	// ErrNotOnLink: SendARP for an address that is not on a connected subnet.
	ErrNotOnLink = wrapErrno("stack: address is not on a connected subnet", syscall.EHOSTUNREACH)
	// ErrNoInterface: the named interface does not exist.
	ErrNoInterface = wrapErrno("stack: no such interface", syscall.ENODEV)
	// ErrExists: duplicate interface name, address or route.
	ErrExists = wrapErrno("stack: already exists", syscall.EEXIST)
	// ErrNotFound: the entry to delete does not exist.
	ErrNotFound = wrapErrno("stack: not found", syscall.ENOENT)
	// ErrInvalid: a malformed argument (non-IPv4 address and the like).
	ErrInvalid = wrapErrno("stack: invalid argument", syscall.EINVAL)
	// ErrBroadcastNotEnabled: send to a broadcast address without SetBroadcast(true).
	ErrBroadcastNotEnabled = wrapErrno("stack: broadcast not enabled on socket", syscall.EACCES)
	// ErrConnRefused: a connected UDP socket got ICMP port unreachable.
	ErrConnRefused = wrapErrno("stack: connection refused", syscall.ECONNREFUSED)
	// ErrIsConnected: WriteTo another address on a connected socket.
	ErrIsConnected = wrapErrno("stack: socket is connected", syscall.EISCONN)
	// ErrClosed: the stack was closed.
	ErrClosed = errors.New("stack: closed")
)

type errnoError struct {
	msg   string
	errno syscall.Errno
}

func (e *errnoError) Error() string { return e.msg }
func (e *errnoError) Unwrap() error { return e.errno }

func wrapErrno(msg string, errno syscall.Errno) error { return &errnoError{msg, errno} }

// opError decorates an error with the operation and address, like net.OpError,
// while keeping errors.Is working.
func opError(op string, addr fmt.Stringer, err error) error {
	if addr == nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s %s: %w", op, addr, err)
}
