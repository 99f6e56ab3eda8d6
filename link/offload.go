package link

import "errors"

// Task offload, the Linux way: a device that can checksum or segment TCP
// for the stack says so through the optional Offloader interface, and a
// receiver that can take whole GSO super-frames says so through the
// optional GSODispatcher interface. Everything degrades to plain
// Endpoint/Dispatcher behaviour: Dispatch and WriteOffloaded do the work
// in software when the other side cannot.

// GSOType says how a frame must be cut into wire-sized packets.
type GSOType uint8

const (
	// GSONone: the frame is one packet (it may still need its checksum).
	GSONone GSOType = iota
	// GSOTCPv4: the frame is one IPv4/TCP header followed by more payload
	// than one segment carries; cut it every SegSize payload bytes.
	GSOTCPv4
)

func (t GSOType) String() string {
	switch t {
	case GSONone:
		return "none"
	case GSOTCPv4:
		return "tcpv4"
	}
	return "unknown"
}

// GSOInfo is the metadata that travels with an offloaded frame; it mirrors
// Linux's virtio_net_hdr. Offsets count from the start of the Ethernet
// frame.
type GSOInfo struct {
	Type GSOType
	// HdrLen is the Ethernet+IPv4+TCP header length of a GSO frame.
	// Receivers get it computed from the headers; senders may leave it 0.
	HdrLen int
	// SegSize is the TCP payload per segment (the MSS) for GSOTCPv4.
	SegSize int
	// NeedsCsum: the transport checksum is not computed. The field at
	// CsumStart+CsumOffset holds only the IPv4 pseudo-header sum (folded,
	// not complemented), as Linux's CHECKSUM_PARTIAL. A received frame so
	// marked came from the host's memory, not a wire, so a GSODispatcher
	// may treat its checksum as good.
	NeedsCsum  bool
	CsumStart  int // where checksumming starts (the transport header)
	CsumOffset int // checksum field relative to CsumStart (TCP 16, UDP 6)
	// CsumValid: the device already verified the transport checksum.
	CsumValid bool
}

// Offloads is what an Offloader can do for the stack.
type Offloads struct {
	// TxChecksum: WriteGSO completes a frame sent with NeedsCsum.
	TxChecksum bool
	// RxChecksumValid: received frames may carry NeedsCsum or CsumValid,
	// so the stack may skip verifying their transport checksum.
	RxChecksumValid bool
	// TSO: WriteGSO accepts GSOTCPv4 frames up to MaxGSOSize.
	TSO bool
	// MaxGSOSize is the largest IP datagram (IPv4 TotalLen, no Ethernet
	// header) WriteGSO accepts for a GSO frame.
	MaxGSOSize int
}

// Offloader is implemented by endpoints that checksum or segment for the
// stack. Wrappers (Sniffer, Faulty) do not implement it, so traffic
// through them falls back to software, and what they see is wire-sized.
type Offloader interface {
	Offloads() Offloads
	// WriteGSO sends one frame with offload metadata. Like WriteFrame it
	// never keeps frame nor calls back into the Dispatcher. A GSOTCPv4
	// frame may exceed MTU+14 but its segments must not; its checksum
	// field and Csum* are ignored (the device derives them).
	WriteGSO(frame []byte, gso GSOInfo) error
}

// GSODispatcher is a Dispatcher that accepts GSO super-frames and frames
// with checksums pending. An endpoint with offload on calls DeliverGSO
// for such frames when its Dispatcher implements it, and otherwise hands
// DeliverFrame wire-sized frames with checksums complete (see Dispatch).
// frame is only valid during the call and may be up to 64 KiB.
type GSODispatcher interface {
	Dispatcher
	DeliverGSO(frame []byte, gso GSOInfo)
}

// MaxGSOSegments bounds the packets one GSO frame may be cut into, so bad
// metadata (SegSize 1) cannot turn one read into 64K callbacks.
const MaxGSOSegments = 1024

// Errors for offloaded frames that cannot be processed; endpoints count
// such frames as RxErrors (receive) or TxErrors (send).
var (
	ErrGSOMalformed   = errors.New("link: offloaded frame has malformed headers or metadata")
	ErrGSOUnsupported = errors.New("link: offload type not supported (only IPv4/TCP)")
)

// Dispatch delivers one received frame with its metadata to d: whole to
// DeliverGSO when d implements GSODispatcher, otherwise completed and cut
// into wire-sized frames for DeliverFrame. It may overwrite frame (it
// segments in place), so frame must be the endpoint's own read buffer.
// It returns how many frames reached d.
func Dispatch(d Dispatcher, frame []byte, gso GSOInfo) (int, error) {
	gd, isGSO := d.(GSODispatcher)
	if gso.Type == GSONone && !gso.NeedsCsum && (!gso.CsumValid || !isGSO) {
		d.DeliverFrame(frame)
		return 1, nil
	}
	if isGSO {
		if gso.Type == GSOTCPv4 {
			l, err := parseTCPv4(frame)
			if err != nil {
				return 0, err
			}
			if gso.SegSize <= 0 {
				return 0, ErrGSOMalformed
			}
			gso.HdrLen = l.hdrLen
		}
		gd.DeliverGSO(frame, gso)
		return 1, nil
	}
	if gso.Type == GSONone {
		if err := CompleteChecksum(frame, gso); err != nil {
			return 0, err
		}
		d.DeliverFrame(frame)
		return 1, nil
	}
	return SegmentTCPInPlace(frame, gso, d.DeliverFrame)
}

// WriteOffloaded sends frame through ep, using ep's offloads when it has
// them and doing the work in software otherwise: a GSO frame is cut into
// segments written one by one, a NeedsCsum frame gets its checksum filled
// in (in frame itself). The TCP sender can therefore always build one
// large segment and call this.
func WriteOffloaded(ep Endpoint, frame []byte, gso GSOInfo) error {
	if o, ok := ep.(Offloader); ok {
		of := o.Offloads()
		switch {
		case gso.Type == GSONone && (!gso.NeedsCsum || of.TxChecksum):
			return o.WriteGSO(frame, gso)
		case gso.Type == GSOTCPv4 && of.TSO && len(frame)-EthernetHeaderLen <= of.MaxGSOSize:
			return o.WriteGSO(frame, gso)
		}
	}
	switch gso.Type {
	case GSONone:
		if err := CompleteChecksum(frame, gso); err != nil {
			return err
		}
		return ep.WriteFrame(frame)
	case GSOTCPv4:
		var werr error
		_, err := SegmentTCP(frame, gso, func(seg []byte) {
			if werr == nil {
				werr = ep.WriteFrame(seg)
			}
		})
		if err != nil {
			return err
		}
		return werr
	}
	return ErrGSOUnsupported
}
