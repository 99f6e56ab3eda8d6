package tcp

import (
	"os"
	"syscall"
)

// opError is a TCP error that matches its errno with errors.Is, so callers
// can test errors.Is(err, syscall.ECONNREFUSED).
type opError struct {
	msg   string
	errno syscall.Errno
}

func (e *opError) Error() string        { return "tcp: " + e.msg }
func (e *opError) Unwrap() error        { return e.errno }
func (e *opError) Timeout() bool        { return e.errno == syscall.ETIMEDOUT }
func (e *opError) Temporary() bool      { return e.Timeout() }
func (e *opError) Is(target error) bool { return target == e.errno }

// Errors returned by sockets. Each matches its syscall errno.
var (
	ErrAddrInUse       error = &opError{"address already in use", syscall.EADDRINUSE}
	ErrAddrNotAvail    error = &opError{"cannot assign requested address", syscall.EADDRNOTAVAIL}
	ErrConnRefused     error = &opError{"connection refused", syscall.ECONNREFUSED}
	ErrConnReset       error = &opError{"connection reset by peer", syscall.ECONNRESET}
	ErrTimedOut        error = &opError{"connection timed out", syscall.ETIMEDOUT}
	ErrBrokenPipe      error = &opError{"broken pipe (write after shutdown)", syscall.EPIPE}
	ErrConnAborted     error = &opError{"connection aborted", syscall.ECONNABORTED}
	ErrNotConnected    error = &opError{"not connected", syscall.ENOTCONN}
	ErrTooManyConns    error = &opError{"too many connections (TcpNumConnections)", syscall.ENOBUFS}
	ErrHostUnreachable error = &opError{"no route to host", syscall.EHOSTUNREACH}
	ErrNetUnreachable  error = &opError{"network is unreachable", syscall.ENETUNREACH}
	ErrInvalid         error = &opError{"invalid argument", syscall.EINVAL}
)

// ErrDeadline is returned by Read/Write/Accept when a deadline expires;
// it is os.ErrDeadlineExceeded (Timeout() reports true).
var ErrDeadline = os.ErrDeadlineExceeded
