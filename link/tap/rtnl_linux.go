//go:build linux

package tap

import (
	"encoding/binary"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// rtnl asks the kernel for an interface's full flags over rtnetlink.
// SIOCGIFFLAGS would truncate them to 16 bits and lose IFF_LOWER_UP (the
// carrier bit), and IFF_RUNNING lags the carrier by up to a second.
type rtnl struct {
	mu  sync.Mutex
	fd  int
	seq uint32
	buf []byte
}

func openRtnl() (*rtnl, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("tap: netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap: netlink bind: %w", err)
	}
	// A lost answer must not hang the poller.
	tv := unix.Timeval{Sec: 1}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return &rtnl{fd: fd, buf: make([]byte, 16384)}, nil
}

func (r *rtnl) close() { unix.Close(r.fd) }

// linkFlags returns ifinfomsg.ifi_flags of interface index.
func (r *rtnl) linkFlags(index int) (uint32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	var req [unix.NLMSG_HDRLEN + unix.SizeofIfInfomsg]byte
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.RTM_GETLINK)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(req[8:], r.seq)
	ne.PutUint32(req[20:], uint32(index)) // ifi_index; family 0 = AF_UNSPEC
	if err := unix.Sendto(r.fd, req[:], 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, err
	}
	for {
		n, _, err := unix.Recvfrom(r.fd, r.buf, 0)
		if err != nil {
			return 0, err
		}
		for b := r.buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(ne.Uint32(b[0:]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				break
			}
			typ, seq, msg := ne.Uint16(b[4:]), ne.Uint32(b[8:]), b[unix.NLMSG_HDRLEN:l]
			b = b[(l+3)&^3:]
			if seq != r.seq {
				continue // answer to an earlier, timed-out request
			}
			switch {
			case typ == unix.NLMSG_ERROR && len(msg) >= 4:
				return 0, unix.Errno(-int32(ne.Uint32(msg)))
			case typ == unix.RTM_NEWLINK && len(msg) >= unix.SizeofIfInfomsg:
				return ne.Uint32(msg[8:]), nil
			}
			if len(b) < unix.NLMSG_HDRLEN {
				break
			}
		}
	}
}
