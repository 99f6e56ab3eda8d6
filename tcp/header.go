package tcp

import (
	"net/netip"

	"github.com/stapel-net/stapel/wire"
)

// Header flags (RFC 9293 §3.1).
const (
	flagFIN = uint8(wire.FIN)
	flagSYN = uint8(wire.SYN)
	flagRST = uint8(wire.RST)
	flagPSH = uint8(wire.PSH)
	flagACK = uint8(wire.ACK)
	flagURG = uint8(wire.URG)
)

const headerLen = wire.TCPMinHeaderLen

// segHeader is the decoded header in the form the state machine uses.
type segHeader struct {
	srcPort, dstPort uint16
	seq, ack         uint32
	flags            uint8
	window           uint16
	urgent           uint16
	options          []byte
}

// parseSegment decodes b with wire.ParseTCP (checksum included).
func parseSegment(b []byte, src, dst netip.Addr) (segHeader, []byte, error) {
	w, payload, err := wire.ParseTCP(b, src, dst)
	if err != nil {
		return segHeader{}, nil, err
	}
	return segHeader{
		srcPort: w.SrcPort, dstPort: w.DstPort,
		seq: w.Seq, ack: w.Ack,
		flags: uint8(w.Flags), window: w.Window, urgent: w.Urgent,
		options: w.Options,
	}, payload, nil
}

// parseSegmentNoChecksum is parseSegment for a segment the device vouched
// for (HandleSegmentOffload).
func parseSegmentNoChecksum(b []byte) (segHeader, []byte, error) {
	w, payload, err := wire.ParseTCPNoChecksum(b)
	if err != nil {
		return segHeader{}, nil, err
	}
	return segHeader{
		srcPort: w.SrcPort, dstPort: w.DstPort,
		seq: w.Seq, ack: w.Ack,
		flags: uint8(w.Flags), window: w.Window, urgent: w.Urgent,
		options: w.Options,
	}, payload, nil
}

// putHeader writes h and opts at the start of b (header space followed
// by payloadLen bytes of payload), fills the checksum and returns the
// header length.
func putHeader(b []byte, h *segHeader, opts *wire.TCPOptions, src, dst netip.Addr, payloadLen int) int {
	w := wire.TCPHeader{
		SrcPort: h.srcPort, DstPort: h.dstPort,
		Seq: h.seq, Ack: h.ack,
		Flags: wire.TCPFlags(h.flags), Window: h.window, Urgent: h.urgent,
	}
	if opts != nil {
		n := opts.Put(b[headerLen:])
		w.Options = b[headerLen : headerLen+n]
	}
	hl := w.HeaderLen()
	return w.Put(b[:hl+payloadLen], src, dst)
}

// optionsLen is the header space opts need.
func optionsLen(opts *wire.TCPOptions) int {
	if opts == nil {
		return 0
	}
	return opts.Len()
}
