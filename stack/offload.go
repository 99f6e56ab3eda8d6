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
	s.mu.Lock()
	_, local := s.local[h.Dst]
	s.mu.Unlock()
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

// sendGSOLocked sends the TCP super-segment d (r.buf holds it after the
// headroom) through the device's TSO, or cut in software if the device
// lost it; each piece takes the next IP ID.
func (s *Stack) sendGSOLocked(ifc *Interface, rt Route, r *txReq, d []byte, needARP bool, mtu int) error {
	ihl := wire.IPv4MinHeaderLen
	if len(d) > ifc.tsoMaxLocked() || len(d) < ihl+wire.TCPMinHeaderLen {
		inc(&s.st.IPOutDiscards)
		return ErrMessageTooLong
	}
	thl := int(d[ihl+12]>>4) * 4
	payload := len(d) - ihl - thl
	if thl < wire.TCPMinHeaderLen || payload <= 0 || r.gso+ihl+thl > mtu {
		inc(&s.st.IPOutDiscards)
		return ErrInvalid
	}
	segs := (payload + r.gso - 1) / r.gso
	s.ipID += uint16(segs - 1) // the device numbers the pieces from the header's ID
	dstMAC, ok := wire.MAC{}, true
	if needARP {
		next := r.dst
		if rt.Gateway.IsValid() {
			next = rt.Gateway
		}
		// Rare (TCP's SYN resolved the neighbour; an in-use entry is
		// re-resolved after ArpCacheMinReferencedLife): queued, the
		// super-segment later goes out as IP fragments, which is correct.
		dstMAC, ok = ifc.arp.resolveLocked(next, d, r.forwarded)
		if !ok {
			return nil
		}
	}
	off := txHeadroom - ihl
	eh := wire.EthernetHeader{Dst: dstMAC, Src: ifc.mac, Type: wire.EtherTypeIPv4}
	start := off - eh.Len()
	eh.Put(r.buf[start:off])
	frame := r.buf[start : off+len(d)]
	if err := link.WriteOffloaded(ifc.ep, frame, link.GSOInfo{Type: link.GSOTCPv4, SegSize: r.gso}); err != nil {
		inc(&s.st.LinkTxErrors)
		ifc.ctr.txErrors.Add(1)
		return err
	}
	add(&s.st.LinkTxFrames, segs)
	ifc.ctr.txBytes.Add(uint64(len(frame)))
	ifc.ctr.txUnicast.Add(uint64(segs))
	return nil
}
