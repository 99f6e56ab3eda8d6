//go:build linux

package tap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// queue is one tun fd: the whole device, or one queue of a multiqueue
// TAP, with its own reader goroutine and its own writev state.
type queue struct {
	f    *os.File
	rc   syscall.RawConn
	tx   vnetTx
	name string        // as the kernel reported it
	rx   atomic.Uint64 // successful reads, to see the spread
}

// Queues returns the number of queues (tun fds) the Device reads.
func (dev *Device) Queues() int { return len(dev.q) }

// openQueue opens and attaches fd number i of the device.
func (dev *Device) openQueue(cfg Config, name string, i int, existed bool) (*queue, error) {
	fd, err := openTun()
	if err != nil {
		return nil, err
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap: %w", err)
	}
	flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if i == 0 {
		dev.vnet = cfg.Offload && supportsVnet(fd)
	}
	if dev.vnet {
		flags |= unix.IFF_VNET_HDR
	}
	if cfg.Queues > 1 {
		flags |= unix.IFF_MULTI_QUEUE
	}
	ifr.SetUint16(flags)
	err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	if err == nil && dev.vnet {
		if i == 0 {
			dev.offloads, err = enableOffload(fd)
		} else {
			err = setVnetHdrSize(fd)
		}
	}
	// Only an attached tun fd polls cleanly, so hand it to the runtime's
	// poller (non-blocking: Close wakes Read) after TUNSETIFF.
	q := &queue{f: os.NewFile(uintptr(fd), tunPath), name: ifr.Name()}
	if err != nil {
		q.f.Close()
		if existed && (errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EBUSY)) {
			return nil, fmt.Errorf("tap: attach to existing %s: %w (is it a TUN device, in use by another process, or not multiqueue?)", cfg.Name, err)
		}
		return nil, fmt.Errorf("tap: TUNSETIFF %q (queue %d): %w", name, i, err)
	}
	if q.rc, err = q.f.SyscallConn(); err != nil {
		q.f.Close()
		return nil, fmt.Errorf("tap: %w", err)
	}
	q.tx.fn = q.tx.writev
	return q, nil
}

// txQueue picks the queue a frame is written on: the same for both
// directions of a flow (a symmetric hash of addresses and ports), so the
// kernel, which learns flow-to-queue from our writes, steers the flow's
// incoming frames to one queue and keeps them in order.
func (dev *Device) txQueue(frame []byte) *queue {
	if len(dev.q) == 1 {
		return dev.q[0]
	}
	return dev.q[flowHash(frame)%uint32(len(dev.q))]
}

func flowHash(f []byte) uint32 {
	if len(f) < 34 || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
		return 0
	}
	ip := f[14:]
	be := binary.BigEndian
	h := be.Uint32(ip[12:]) ^ be.Uint32(ip[16:])
	ihl := int(ip[0]&15) * 4
	if (ip[9] == 6 || ip[9] == 17) && be.Uint16(ip[6:])&0x3fff == 0 && len(ip) >= ihl+4 {
		h ^= uint32(be.Uint16(ip[ihl:]) ^ be.Uint16(ip[ihl+2:]))
	}
	h ^= h >> 16
	h *= 0x45d9f3b
	h ^= h >> 16
	return h
}
