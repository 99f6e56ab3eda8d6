package stack

import (
	"bytes"
	"net/netip"
	"slices"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/wire"
)

// Reassembly (SPEC IP-20; RFC 791, RFC 1122 3.3.2). Bounds: the
// ReassemblyTimeout per datagram, ReassemblyMaxBytes of fragment data in
// total and ReassemblyMaxDatagrams at once; each drop is counted.
//
// Overlap policy: a fragment that overlaps another of the same datagram
// drops the whole datagram (RFC 5722 style). No correct sender produces
// overlaps; they are used for evasion and "teardrop" attacks, and picking
// either copy silently would let an attacker choose what we deliver. An
// exact duplicate (same offset, length and bytes), which a network that
// duplicates packets does produce, is ignored instead.

type reasmKey struct {
	src, dst netip.Addr
	proto    uint8
	id       uint16
}

type fragPiece struct {
	off  int
	data []byte
}

type reasmEntry struct {
	key    reasmKey
	pieces []fragPiece // sorted by offset
	bytes  int
	total  int    // payload length, -1 until the last fragment arrives
	first  []byte // header (+8 bytes) of the offset-0 fragment
	timer  clock.Timer
}

type reassembler struct {
	s     *Stack
	m     map[reasmKey]*reasmEntry
	bytes int
}

func (r *reassembler) init(s *Stack) {
	r.s = s
	r.m = make(map[reasmKey]*reasmEntry)
}

func (r *reassembler) dropLocked(e *reasmEntry) {
	if e.timer != nil {
		e.timer.Stop()
	}
	r.bytes -= e.bytes
	delete(r.m, e.key)
	inc(&r.s.st.IPReasmFails)
}

// addLocked adds one fragment and returns the reassembled datagram when it
// is complete (a new buffer), else nil.
func (r *reassembler) addLocked(h *wire.IPv4Header, raw, payload []byte, _ int) []byte {
	s := r.s
	key := reasmKey{h.Src, h.Dst, h.Protocol, h.ID}
	e := r.m[key]
	if e == nil {
		if len(r.m) >= s.p.reasmMaxDatagrams {
			inc(&s.st.ReasmDatagramDrops)
			inc(&s.st.IPReasmFails)
			return nil
		}
		e = &reasmEntry{key: key, total: -1}
		r.m[key] = e
		e.timer = s.clk.AfterFunc(s.p.reasmTimeout, func() { r.timeout(e) })
	}
	off, end := h.FragOff, h.FragOff+len(payload)
	if end+h.IHL > maxDatagram || (h.MF && len(payload)%8 != 0) || (h.MF && len(payload) == 0) {
		inc(&s.st.ReasmOversize)
		r.dropLocked(e)
		return nil
	}
	if !h.MF {
		if e.total >= 0 && e.total != end {
			inc(&s.st.ReasmOverlaps)
			r.dropLocked(e)
			return nil
		}
		e.total = end
	}
	if e.total >= 0 && (end > e.total || (len(e.pieces) > 0 && e.pieces[len(e.pieces)-1].off+len(e.pieces[len(e.pieces)-1].data) > e.total)) {
		inc(&s.st.ReasmOverlaps)
		r.dropLocked(e)
		return nil
	}
	i, _ := slices.BinarySearchFunc(e.pieces, off, func(p fragPiece, o int) int { return p.off - o })
	for _, j := range []int{i - 1, i} {
		if j < 0 || j >= len(e.pieces) {
			continue
		}
		p := e.pieces[j]
		if off < p.off+len(p.data) && p.off < end {
			if p.off == off && bytes.Equal(p.data, payload) {
				inc(&s.st.ReasmDuplicates)
				return nil
			}
			inc(&s.st.ReasmOverlaps)
			s.log.Debug("ip: overlapping fragment, datagram dropped", "src", h.Src, "id", h.ID)
			r.dropLocked(e)
			return nil
		}
	}
	if r.bytes+len(payload) > s.p.reasmMaxBytes {
		inc(&s.st.ReasmMemoryDrops)
		r.dropLocked(e)
		return nil
	}
	e.pieces = slices.Insert(e.pieces, i, fragPiece{off, bytes.Clone(payload)})
	e.bytes += len(payload)
	r.bytes += len(payload)
	if off == 0 {
		e.first = bytes.Clone(raw[:h.IHL+min(8, len(payload))])
	}
	if e.total < 0 || e.first == nil {
		return nil
	}
	pos := 0
	for _, p := range e.pieces {
		if p.off != pos {
			return nil
		}
		pos += len(p.data)
	}
	if pos != e.total {
		return nil
	}
	// Complete: the first fragment's header (with all its options) heads
	// the datagram.
	fh, _, err := wire.ParseIPv4Quote(e.first)
	if err != nil {
		r.dropLocked(e)
		return nil
	}
	ihl := fh.IHL
	out := make([]byte, ihl+e.total)
	fh.MF, fh.FragOff, fh.TotalLen = false, 0, uint16(ihl+e.total)
	fh.Put(out[:ihl])
	for _, p := range e.pieces {
		copy(out[ihl+p.off:], p.data)
	}
	e.timer.Stop()
	r.bytes -= e.bytes
	delete(r.m, key)
	inc(&s.st.IPReasmOKs)
	return out
}

// timeout gives up on a datagram; if its first fragment arrived the
// sender gets ICMP time exceeded, code 1 (RFC 792, RFC 1122 3.3.2).
func (r *reassembler) timeout(e *reasmEntry) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.m[e.key] != e {
		return
	}
	inc(&s.st.ReasmTimeouts)
	r.dropLocked(e)
	if e.first != nil {
		if h, _, err := wire.ParseIPv4Quote(e.first); err == nil {
			s.icmpErrorLocked(e.first, &h, icmpTimeExceeded, icmpReasmExceeded, [4]byte{}, false)
		}
	}
}
