package stack

import (
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// Receive offload (the whitepaper's task offload done the Linux way): a
// device with IFF_VNET_HDR hands over TCP super-frames (link.GSOTCPv4) and
// frames whose checksum is pending or already verified. When the TCP
// registered with the stack is an OffloadTransport, such a frame addressed
// to one of our addresses goes up whole, once, with its checksum trusted;
// everything else is completed and cut into wire-sized frames in software
// (link.Dispatch), exactly as for a device without offload.

// OffloadTransport is a TransportHandler that accepts InboundPackets with
// ChecksumValid set and TCP super-segments (GSOSize > 0).
type OffloadTransport interface {
	TransportHandler
	AcceptsOffload() bool
}

// DeliverGSO makes the interface's dispatcher a link.GSODispatcher.
func (d dispatcher) DeliverGSO(frame []byte, gso link.GSOInfo) { d.ifc.s.rxGSO(d.ifc, frame, gso) }

// softDispatcher receives what link.Dispatch completed in software.
type softDispatcher struct{ ifc *Interface }

func (d softDispatcher) DeliverFrame(frame []byte) { d.ifc.s.rxFrame(d.ifc, frame) }
func (d softDispatcher) LinkStateChanged(bool)     {}

// rxGSO takes one offloaded frame.
func (s *Stack) rxGSO(ifc *Interface, frame []byte, gso link.GSOInfo) {
	if s.offloadCandidate(ifc, frame) {
		m := rxOffload{gsoSize: 0}
		if gso.Type == link.GSOTCPv4 {
			m.gsoSize = gso.SegSize
		}
		s.rxFrameMeta(ifc, frame, &m)
		return
	}
	if _, err := link.Dispatch(softDispatcher{ifc}, frame, gso); err != nil {
		inc(&s.st.LinkRxFrames)
		inc(&s.st.LinkRxMalformed)
		ifc.ctr.rxErrors.Add(1)
	}
}

// rxOffload is what the device said about a frame taken whole.
type rxOffload struct {
	gsoSize int // > 0: a TCP super-frame of gsoSize-byte segments
}

// offloadCandidate: frame is an unfragmented, option-less IPv4/TCP
// datagram unicast to this interface, and the registered TCP takes
// offloaded segments. Whether its destination is ours is checked under
// the lock (ipInputLocked); if not, it is dropped there, never forwarded.
func (s *Stack) offloadCandidate(ifc *Interface, frame []byte) bool {
	slot := s.transports[wire.ProtoTCP].Load()
	if slot == nil || !slot.offload {
		return false
	}
	eh, payload, err := wire.ParseEthernet(frame)
	if err != nil || eh.Type != wire.EtherTypeIPv4 || eh.Dst != ifc.mac {
		return false
	}
	h, _, err := wire.ParseIPv4(payload)
	if err != nil || h.Protocol != wire.ProtoTCP || len(h.Options) > 0 || h.MF || h.FragOff != 0 {
		return false
	}
	s.mu.RLock()
	_, local := s.local[h.Dst]
	s.mu.RUnlock()
	return local
}

// tsoMaxLocked is the largest IP datagram the interface's device takes
// as one TCP super-segment, 0 without TSO. Not with 802.3 SNAP framing:
// offloading devices expect DIX headers.
func (ifc *Interface) tsoMaxLocked() int {
	o, ok := ifc.ep.(link.Offloader)
	if !ok || ifc.s.p.arpSNAP {
		return 0
	}
	of := o.Offloads()
	if !of.TSO {
		return 0
	}
	return min(of.MaxGSOSize, maxDatagram)
}

// gsoSegs checks the TCP super-segment in r.buf (segLen bytes after the
// headroom, a 20-byte IP header in front) against the device and mtu and
// returns the number of pieces it will be cut into.
func (s *Stack) gsoSegs(ifc *Interface, r *txReq, segLen, mtu int) (int, error) {
	ihl := wire.IPv4MinHeaderLen
	if ihl+segLen > ifc.tsoMaxLocked() || segLen < wire.TCPMinHeaderLen {
		inc(&s.st.IPOutDiscards)
		return 0, ErrMessageTooLong
	}
	thl := int(r.buf[txHeadroom+12]>>4) * 4
	payload := segLen - thl
	if thl < wire.TCPMinHeaderLen || payload <= 0 || r.gso+ihl+thl > mtu {
		inc(&s.st.IPOutDiscards)
		return 0, ErrInvalid
	}
	return (payload + r.gso - 1) / r.gso, nil
}

// writeGSO writes the TCP super-segment buf[off:] through the device's
// TSO (or cut in software if the device lost it). No lock needed.
func (ifc *Interface) writeGSO(dstMAC wire.MAC, buf []byte, off, gsoSize, segs int) error {
	s := ifc.s
	eh := wire.EthernetHeader{Dst: dstMAC, Src: ifc.mac, Type: wire.EtherTypeIPv4}
	start := off - eh.Len()
	eh.Put(buf[start:off])
	frame := buf[start:]
	if err := link.WriteOffloaded(ifc.ep, frame, link.GSOInfo{Type: link.GSOTCPv4, SegSize: gsoSize}); err != nil {
		inc(&s.st.LinkTxErrors)
		ifc.ctr.txErrors.Add(1)
		return err
	}
	add(&s.st.LinkTxFrames, segs)
	ifc.ctr.txBytes.Add(uint64(len(frame)))
	ifc.ctr.txUnicast.Add(uint64(segs))
	return nil
}
