package link

import (
	"errors"
	"net"
)

// Errors WriteFrame returns. ErrClosed is net.ErrClosed so errors.Is works
// the same as for sockets.
var (
	ErrClosed        = net.ErrClosed
	ErrFrameTooLong  = errors.New("link: frame longer than MTU plus Ethernet header")
	ErrFrameTooShort = errors.New("link: frame shorter than an Ethernet header")
)

// EthernetHeaderLen is the DIX header that MTU does not count.
const EthernetHeaderLen = 14

// checkFrame enforces the frame-size rules every endpoint shares.
func checkFrame(frame []byte, mtu int) error {
	if len(frame) < EthernetHeaderLen {
		return ErrFrameTooShort
	}
	if len(frame) > mtu+EthernetHeaderLen {
		return ErrFrameTooLong
	}
	return nil
}
