package link

import (
	"encoding/binary"
	"sync"

	"github.com/stapel-net/stapel/wire"
)

// Software segmentation: what a NIC with TSO does, for when the device or
// the receiver cannot take a GSO super-frame.

const (
	etherTypeIPv4 = 0x0800
	protoTCP      = 6
	protoUDP      = 17
	// maxHdrLen is Ethernet + the longest IPv4 and TCP headers.
	maxHdrLen = EthernetHeaderLen + 60 + 60
)

// tcpv4Layout locates the headers of an Ethernet/IPv4/TCP frame.
type tcpv4Layout struct {
	ihl, doff int // IPv4 and TCP header lengths
	hdrLen    int // 14 + ihl + doff
	end       int // end of the IP datagram (frame may carry padding)
}

func (l tcpv4Layout) tcpOff() int { return EthernetHeaderLen + l.ihl }

// parseTCPv4 checks the headers a segmenter relies on. An IPv4 TotalLen of
// 0 (as Linux's BIG TCP uses) or one reaching past the frame means "to the
// end of the frame"; a shorter one trims link padding.
func parseTCPv4(f []byte) (tcpv4Layout, error) {
	var l tcpv4Layout
	if len(f) < EthernetHeaderLen+20+20 {
		return l, ErrGSOMalformed
	}
	if binary.BigEndian.Uint16(f[12:14]) != etherTypeIPv4 {
		return l, ErrGSOUnsupported
	}
	ip := f[EthernetHeaderLen:]
	if ip[0]>>4 != 4 {
		return l, ErrGSOUnsupported
	}
	if ip[9] != protoTCP {
		return l, ErrGSOUnsupported
	}
	// A fragment cannot be segmented: only the first carries the header.
	if binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
		return l, ErrGSOMalformed
	}
	l.ihl = int(ip[0]&0x0f) * 4
	if l.ihl < 20 || len(ip) < l.ihl+20 {
		return l, ErrGSOMalformed
	}
	l.doff = int(ip[l.ihl+12]>>4) * 4
	if l.doff < 20 || len(ip) < l.ihl+l.doff {
		return l, ErrGSOMalformed
	}
	l.hdrLen = EthernetHeaderLen + l.ihl + l.doff
	l.end = len(f)
	if tot := int(binary.BigEndian.Uint16(ip[2:4])); tot >= l.ihl+l.doff && EthernetHeaderLen+tot <= len(f) {
		l.end = EthernetHeaderLen + tot
	}
	return l, nil
}

var segPool = sync.Pool{New: func() any { b := make([]byte, 0, poolBufSize); return &b }}

// SegmentTCP cuts a GSOTCPv4 super-frame into frames carrying at most
// gso.SegSize payload bytes each and calls emit with each, in order, as a
// NIC doing TSO would: IPv4 TotalLen, ID (incremented per segment) and
// header checksum, TCP sequence number and checksum are rewritten; FIN and
// PSH stay only on the last segment, CWR only on the first. Header
// lengths come from the headers themselves (gso.HdrLen is not trusted).
// The frame passed to emit is valid only during the call; frame itself is
// not modified. A frame with no more payload than SegSize (or none) is
// emitted once, with its checksums completed. It returns the number of
// frames emitted.
func SegmentTCP(frame []byte, gso GSOInfo, emit func([]byte)) (int, error) {
	return segmentTCP(frame, gso, false, emit)
}

// SegmentTCPInPlace is SegmentTCP without copying the payload: each
// segment's headers are written just before its payload inside frame, over
// bytes already emitted. frame's contents are destroyed.
func SegmentTCPInPlace(frame []byte, gso GSOInfo, emit func([]byte)) (int, error) {
	return segmentTCP(frame, gso, true, emit)
}

func segmentTCP(frame []byte, gso GSOInfo, inPlace bool, emit func([]byte)) (int, error) {
	if gso.Type != GSOTCPv4 {
		return 0, ErrGSOUnsupported
	}
	l, err := parseTCPv4(frame)
	if err != nil {
		return 0, err
	}
	frame = frame[:l.end]
	payload := len(frame) - l.hdrLen
	seg := gso.SegSize
	if seg <= 0 || (seg < payload && payload > seg*MaxGSOSegments) {
		return 0, ErrGSOMalformed
	}
	var hdrBuf [maxHdrLen]byte
	hdr := hdrBuf[:l.hdrLen]
	copy(hdr, frame)
	var scratch *[]byte
	if !inPlace {
		scratch = segPool.Get().(*[]byte)
		if need := l.hdrLen + min(seg, payload); cap(*scratch) < need {
			*scratch = make([]byte, 0, need)
		}
		defer segPool.Put(scratch)
	}
	ip, tcp := EthernetHeaderLen, l.tcpOff()
	id0 := binary.BigEndian.Uint16(hdr[ip+4:])
	seq0 := binary.BigEndian.Uint32(hdr[tcp+4:])
	// The pseudo header's address part is the same for every segment.
	addrSum := uint32(fold(wire.Sum(hdr[ip+12:ip+20], protoTCP)))
	count := 0
	for off := 0; off < payload || count == 0; {
		n := min(seg, payload-off)
		last := off+n >= payload
		var out []byte
		if inPlace {
			out = frame[off : off+l.hdrLen+n]
			copy(out, hdr)
		} else {
			out = (*scratch)[:l.hdrLen+n]
			copy(out, hdr)
			copy(out[l.hdrLen:], frame[l.hdrLen+off:l.hdrLen+off+n])
		}
		o := out[ip:]
		binary.BigEndian.PutUint16(o[2:], uint16(l.ihl+l.doff+n))
		binary.BigEndian.PutUint16(o[4:], id0+uint16(count))
		o[10], o[11] = 0, 0
		binary.BigEndian.PutUint16(o[10:], wire.Checksum(o[:l.ihl], 0))
		t := out[tcp:]
		binary.BigEndian.PutUint32(t[4:], seq0+uint32(off))
		if !last {
			t[13] &^= byte(wire.FIN | wire.PSH)
		}
		if count > 0 {
			t[13] &^= byte(wire.CWR)
		}
		t[16], t[17] = 0, 0
		tlen := l.doff + n
		binary.BigEndian.PutUint16(t[16:], wire.Checksum(t[:tlen], addrSum+uint32(tlen)))
		emit(out)
		count++
		off += n
	}
	return count, nil
}

// CompleteChecksum fills in the transport checksum of a GSONone frame sent
// or received with NeedsCsum: the one's-complement sum from CsumStart to
// the end of the IP datagram, over a field that already holds the
// pseudo-header sum, stored at CsumStart+CsumOffset. A frame without
// NeedsCsum is left alone.
func CompleteChecksum(frame []byte, gso GSOInfo) error {
	if !gso.NeedsCsum {
		return nil
	}
	if gso.Type != GSONone {
		return ErrGSOUnsupported
	}
	end := len(frame)
	udp := false
	if len(frame) >= EthernetHeaderLen+20 && binary.BigEndian.Uint16(frame[12:14]) == etherTypeIPv4 {
		ip := frame[EthernetHeaderLen:]
		if tot := int(binary.BigEndian.Uint16(ip[2:4])); tot >= 20 && EthernetHeaderLen+tot <= len(frame) {
			end = EthernetHeaderLen + tot // stop before link padding
		}
		udp = ip[9] == protoUDP
	}
	cs, field := gso.CsumStart, gso.CsumStart+gso.CsumOffset
	if cs < EthernetHeaderLen || gso.CsumOffset < 0 || field+2 > end {
		return ErrGSOMalformed
	}
	c := wire.Checksum(frame[cs:end], 0)
	if c == 0 && udp {
		c = 0xffff // UDP sends a computed 0 as all ones; 0 means "none"
	}
	binary.BigEndian.PutUint16(frame[field:], c)
	return nil
}

// TCPv4Offload reads a TCP/IPv4 frame's headers for an offloading sender
// without modifying it: the NeedsCsum metadata (HdrLen, CsumStart,
// CsumOffset 16) and the value the checksum field holds while the checksum
// is pending (the folded, not complemented, pseudo-header sum over the
// frame's TCP length, as Linux's CHECKSUM_PARTIAL).
func TCPv4Offload(frame []byte) (GSOInfo, uint16, error) {
	l, err := parseTCPv4(frame)
	if err != nil {
		return GSOInfo{}, 0, err
	}
	tcp := l.tcpOff()
	sum := wire.Sum(frame[EthernetHeaderLen+12:EthernetHeaderLen+20], protoTCP+uint32(l.end-tcp))
	return GSOInfo{NeedsCsum: true, CsumStart: tcp, CsumOffset: 16, HdrLen: l.hdrLen}, fold(sum), nil
}

// PartialChecksum stores in a TCP/IPv4 frame's checksum field the value a
// NeedsCsum frame carries (see TCPv4Offload) and returns the metadata that
// goes with it. A sender that offloads checksums builds the frame, calls
// this and passes the result to WriteOffloaded.
func PartialChecksum(frame []byte) (GSOInfo, error) {
	gso, partial, err := TCPv4Offload(frame)
	if err != nil {
		return GSOInfo{}, err
	}
	binary.BigEndian.PutUint16(frame[gso.CsumStart+16:], partial)
	return gso, nil
}

func fold(s uint32) uint16 {
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	return uint16(s)
}
