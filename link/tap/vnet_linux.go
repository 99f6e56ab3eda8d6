//go:build linux

package tap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/stapel-net/stapel/link"
)

// With IFF_VNET_HDR every read and write on the tun fd starts with a
// struct virtio_net_hdr (legacy layout, host byte order):
//
//	u8 flags; u8 gso_type; u16 hdr_len, gso_size, csum_start, csum_offset
//
// It is how the kernel hands us TSO super-frames and partial checksums,
// and how we hand it ours.
const vnetHdrLen = 10

const (
	vnetFlagNeedsCsum = 1
	vnetFlagDataValid = 2
	vnetGSONone       = 0
	vnetGSOTCPv4      = 1
	vnetGSOECN        = 0x80
)

// tunOffloads is what we ask TUNSETOFFLOAD for: checksum offload and
// IPv4 TSO, including segments with CWR (SegmentTCP keeps CWR on the
// first segment only, as the kernel does). A variable so a test can make
// the kernel refuse.
var tunOffloads = unix.TUN_F_CSUM | unix.TUN_F_TSO4 | unix.TUN_F_TSO_ECN

// maxGSOFrame is the largest IP datagram a GSO frame carries.
const maxGSOFrame = 65535

// OffloadStats count the offload work of a Device.
type OffloadStats struct {
	RxGSOFrames   uint64 // super-frames the kernel handed us
	RxSegmented   uint64 // frames made from them by software segmentation
	RxCsumPending uint64 // single frames received with the checksum pending
	RxBadVnet     uint64 // dropped: unsupported or malformed virtio header (also in RxErrors)
	TxGSOFrames   uint64 // super-frames written with WriteGSO
	TxCsumOffload uint64 // single frames written with the checksum pending
}

type offloadCounters struct {
	rxGSO, rxSeg, rxCsum, rxBad, txGSO, txCsum atomic.Uint64
}

func (c *offloadCounters) snapshot() OffloadStats {
	return OffloadStats{RxGSOFrames: c.rxGSO.Load(), RxSegmented: c.rxSeg.Load(),
		RxCsumPending: c.rxCsum.Load(), RxBadVnet: c.rxBad.Load(),
		TxGSOFrames: c.txGSO.Load(), TxCsumOffload: c.txCsum.Load()}
}

// supportsVnet asks the kernel whether tun fds can carry virtio headers.
func supportsVnet(fd int) bool {
	feat, err := unix.IoctlGetUint32(fd, unix.TUNGETFEATURES)
	return err == nil && feat&unix.IFF_VNET_HDR != 0
}

// enableOffload runs after TUNSETIFF with IFF_VNET_HDR. If the kernel
// refuses the offloads the header stays (the fd's framing is fixed) but
// carries nothing.
func enableOffload(fd int) (link.Offloads, error) {
	if err := setVnetHdrSize(fd); err != nil {
		return link.Offloads{}, err
	}
	if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, tunOffloads); err != nil {
		return link.Offloads{}, nil
	}
	return link.Offloads{TxChecksum: true, RxChecksumValid: true, TSO: true, MaxGSOSize: maxGSOFrame}, nil
}

func setVnetHdrSize(fd int) error {
	if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, vnetHdrLen); err != nil {
		return fmt.Errorf("tap: TUNSETVNETHDRSZ: %w", err)
	}
	return nil
}

// decodeVnet turns a received virtio header into link metadata.
func decodeVnet(h []byte) (link.GSOInfo, error) {
	ne := binary.NativeEndian
	var g link.GSOInfo
	flags, typ := h[0], h[1]
	if flags&vnetFlagNeedsCsum != 0 {
		g.NeedsCsum = true
		g.CsumStart = int(ne.Uint16(h[6:]))
		g.CsumOffset = int(ne.Uint16(h[8:]))
	}
	g.CsumValid = flags&vnetFlagDataValid != 0
	switch typ &^ vnetGSOECN {
	case vnetGSONone:
	case vnetGSOTCPv4:
		g.Type = link.GSOTCPv4
		g.HdrLen = int(ne.Uint16(h[2:]))
		g.SegSize = int(ne.Uint16(h[4:]))
	default:
		return g, link.ErrGSOUnsupported
	}
	return g, nil
}

func encodeVnet(h []byte, g link.GSOInfo, ecn bool) {
	ne := binary.NativeEndian
	clear(h[:vnetHdrLen])
	if g.NeedsCsum {
		h[0] = vnetFlagNeedsCsum
		ne.PutUint16(h[6:], uint16(g.CsumStart))
		ne.PutUint16(h[8:], uint16(g.CsumOffset))
	}
	if g.Type == link.GSOTCPv4 {
		h[1] = vnetGSOTCPv4
		if ecn {
			h[1] |= vnetGSOECN
		}
		ne.PutUint16(h[2:], uint16(g.HdrLen))
		ne.PutUint16(h[4:], uint16(g.SegSize))
	}
}

// vnetTx writes header+frame with one writev and no allocation: the
// iovecs and the callback for RawConn.Write live in the queue. A tun
// write takes the whole frame or fails, so the count is not needed.
type vnetTx struct {
	mu  sync.Mutex
	hdr [vnetHdrLen + 14 + 60 + 60]byte // virtio header + copied frame headers
	iov [2]unix.Iovec
	err error
	fn  func(fd uintptr) bool
}

func (tx *vnetTx) writev(fd uintptr) bool {
	_, _, e := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&tx.iov[0])), 2)
	tx.err = nil
	if e != 0 {
		tx.err = e
	}
	return e != unix.EAGAIN
}

// sendv writes hdr then body on q, whose tx.mu the caller holds.
func sendv(q *queue, hdr, body []byte) error {
	tx := &q.tx
	tx.iov[0].Base = &hdr[0]
	tx.iov[0].SetLen(len(hdr))
	tx.iov[1].Base = nil
	tx.iov[1].SetLen(len(body))
	if len(body) > 0 {
		tx.iov[1].Base = &body[0]
	}
	err := q.rc.Write(tx.fn)
	if err == nil {
		err = tx.err
	}
	tx.iov[0].Base, tx.iov[1].Base = nil, nil // do not pin the caller's buffer
	return err
}

// Offloads reports what the Device does for the stack: everything
// (checksum, TSO up to 64 KiB) when opened with Config.Offload and the
// kernel agreed, nothing otherwise.
func (dev *Device) Offloads() link.Offloads { return dev.offloads }

// Vnet reports whether the fd carries virtio headers (Config.Offload and
// a kernel that supports IFF_VNET_HDR).
func (dev *Device) Vnet() bool { return dev.vnet }

// OffloadStats returns the offload counters.
func (dev *Device) OffloadStats() OffloadStats { return dev.ocnt.snapshot() }

// WriteGSO sends one frame with offload metadata (see link.Offloader).
// A GSOTCPv4 frame goes to the kernel whole, with its TCP checksum field
// set to the pending value in a private copy of the headers, so frame is
// not modified; the kernel segments it if it leaves the host, or takes it
// whole into its own TCP. Each segment (headers + SegSize) must fit the
// MTU. Without offloads it fails with link.ErrGSOUnsupported; use
// link.WriteOffloaded to fall back automatically.
func (dev *Device) WriteGSO(frame []byte, gso link.GSOInfo) error {
	if gso.Type == link.GSONone && !gso.NeedsCsum {
		return dev.WriteFrame(frame)
	}
	if (gso.Type == link.GSONone && !dev.offloads.TxChecksum) || (gso.Type != link.GSONone && !dev.offloads.TSO) {
		dev.cnt.TxErrors.Add(1)
		return link.ErrGSOUnsupported
	}
	switch gso.Type {
	case link.GSONone:
		if err := dev.checkLen(frame); err != nil {
			return err
		}
		end := gso.CsumStart + gso.CsumOffset + 2
		if gso.CsumStart < link.EthernetHeaderLen || gso.CsumOffset < 0 || end > len(frame) {
			dev.cnt.TxErrors.Add(1)
			return link.ErrGSOMalformed
		}
		q := dev.txQueue(frame)
		q.tx.mu.Lock()
		defer q.tx.mu.Unlock()
		encodeVnet(q.tx.hdr[:], gso, false)
		err := sendv(q, q.tx.hdr[:vnetHdrLen], frame)
		if err == nil {
			dev.ocnt.txCsum.Add(1)
		}
		return dev.txDone(err, len(frame))
	case link.GSOTCPv4:
		info, partial, err := link.TCPv4Offload(frame)
		if err != nil {
			dev.cnt.TxErrors.Add(1)
			return err
		}
		if gso.SegSize <= 0 || info.HdrLen-link.EthernetHeaderLen+gso.SegSize > dev.mtu {
			dev.cnt.TxErrors.Add(1)
			return fmt.Errorf("tap: GSO segment size %d with %d header bytes exceeds MTU %d: %w",
				gso.SegSize, info.HdrLen-link.EthernetHeaderLen, dev.mtu, link.ErrGSOMalformed)
		}
		if len(frame)-link.EthernetHeaderLen > maxGSOFrame {
			dev.cnt.TxErrors.Add(1)
			return link.ErrFrameTooLong
		}
		info.Type, info.SegSize = link.GSOTCPv4, gso.SegSize
		ecn := frame[info.CsumStart+13]&0x80 != 0 // CWR
		q := dev.txQueue(frame)
		q.tx.mu.Lock()
		defer q.tx.mu.Unlock()
		h := q.tx.hdr[:vnetHdrLen+info.HdrLen]
		encodeVnet(h, info, ecn)
		copy(h[vnetHdrLen:], frame[:info.HdrLen])
		binary.BigEndian.PutUint16(h[vnetHdrLen+info.CsumStart+16:], partial)
		err = sendv(q, h, frame[info.HdrLen:])
		if err == nil {
			dev.ocnt.txGSO.Add(1)
		}
		return dev.txDone(err, len(frame))
	}
	dev.cnt.TxErrors.Add(1)
	return link.ErrGSOUnsupported
}

var zeroVnet [vnetHdrLen]byte

// writeVnet sends a plain frame behind a zero virtio header.
func (dev *Device) writeVnet(q *queue, frame []byte) error {
	q.tx.mu.Lock()
	defer q.tx.mu.Unlock()
	return dev.txDone(sendv(q, zeroVnet[:], frame), len(frame))
}

// txDone counts a write's outcome the way WriteFrame always has.
func (dev *Device) txDone(err error, n int) error {
	if err == nil {
		dev.cnt.Tx(n)
		return nil
	}
	if errors.Is(err, unix.EIO) {
		// The kernel side is down: lost as on an unplugged cable; the
		// poller reports the carrier change.
		dev.cnt.CarrierDrops.Add(1)
		return nil
	}
	dev.cnt.TxErrors.Add(1)
	select {
	case <-dev.done:
		return link.ErrClosed
	default:
	}
	return fmt.Errorf("tap: write %s: %w", dev.name, err)
}

// rxCount counts what reaches the Dispatcher, however Dispatch cut it.
type rxCount struct {
	d   link.Dispatcher
	cnt *link.Counters
}

func (r *rxCount) DeliverFrame(f []byte) {
	r.cnt.Rx(len(f))
	r.d.DeliverFrame(f)
}

func (r *rxCount) LinkStateChanged(up bool) { r.d.LinkStateChanged(up) }

type rxCountGSO struct {
	rxCount
	g link.GSODispatcher
}

func (r *rxCountGSO) DeliverGSO(f []byte, g link.GSOInfo) {
	r.cnt.Rx(len(f))
	r.g.DeliverGSO(f, g)
}
