package hostroutes

import (
	"math"
	"net/netip"
)

// MinPMTU is the floor of a learned path MTU: the whitepaper's "smallest
// allowed MTU" that TCP enforces (SPEC TCP-PMTU-3, AMB-2; RFC 1191's 68
// is below it).
const MinPMTU = 88

// TCPIPHeaderLen is the IPv4 plus TCP header size without options.
const TCPIPHeaderLen = 40

// plateaus are RFC 1191 §7's MTU plateaus, largest first.
var plateaus = [...]int{65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68}

// PlateauBelow returns RFC 1191's estimate for a router that reported no
// next-hop MTU: the largest plateau below totalLen, the total length of
// the datagram that was too big; 68 if none is.
func PlateauBelow(totalLen int) int {
	for _, p := range plateaus {
		if p < totalLen {
			return p
		}
	}
	return plateaus[len(plateaus)-1]
}

// MSSForMTU is the classic MSS for a path MTU: mtu − 40 (TCP-PMTU-1/3),
// never negative.
func MSSForMTU(mtu int) int {
	return max(mtu-TCPIPHeaderLen, 0)
}

// UpdatePMTU applies an ICMP "fragmentation needed" for dst (ICMP-6,
// RFC 1191) and returns the MTU now in force towards dst.
//
// reportedMTU is the next-hop MTU field (0 from routers that predate RFC
// 1191), quotedTotalLen the total length of the quoted datagram (0 if
// unknown), linkMTU the MTU of the interface the route uses (≤ 0 if
// unknown: no upper clamp). The estimate is the reported MTU, or, if it
// is 0 or not below the quoted length (so cannot be why the datagram was
// too big), the plateau below the quoted length, or below the MTU in
// force if that is unknown too. It is clamped to [MinPMTU, linkMTU].
//
// An ICMP may only lower the PMTU (RFC 1191 §3): a report at or above the
// MTU in force changes nothing but restarts an existing estimate's aging,
// because no increase may be probed within minutes of a "datagram too big".
// Lowering creates or modifies dst's entry; a modify never changes the
// count, a create in a full table evicts the least recently used entry.
// The update is never ignored for lack of room (KB-4).
func (t *Table) UpdatePMTU(dst netip.Addr, reportedMTU, quotedTotalLen, linkMTU int) int {
	dst = dst.Unmap()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !dst.Is4() {
		t.st.Invalid++
		return linkMTU
	}
	now := t.clk.Now()
	n := t.live(dst, now)

	cur := math.MaxInt // the MTU in force; unknown link and no estimate = unbounded
	if linkMTU > 0 {
		cur = linkMTU
	}
	if n != nil && n.e.PMTU != 0 {
		cur = min(cur, n.e.PMTU)
	}

	est := reportedMTU
	if est <= 0 || (quotedTotalLen > 0 && est >= quotedTotalLen) {
		base := quotedTotalLen
		if base <= 0 {
			base = cur
		}
		est = PlateauBelow(base)
		t.st.Estimated++
	}
	if est < MinPMTU {
		est = MinPMTU
		t.st.Clamped++
	}
	if linkMTU > 0 {
		est = min(est, linkMTU)
	}

	if est >= cur {
		t.st.NotLowered++
		if n != nil {
			t.st.Modifies++
			if n.e.PMTU != 0 {
				n.e.PMTUExpires = now.Add(lifetime(t.PMTUAgeInterval, DefaultPMTUAgeInterval))
				t.schedule(pmtuList, n)
			}
			t.touch(n, now)
		}
		return cur
	}

	t.st.Lowered++
	if n == nil {
		n = t.create(dst, now)
	} else {
		t.st.Modifies++
		t.touch(n, now)
	}
	n.e.PMTU = est
	n.e.PMTUExpires = now.Add(lifetime(t.PMTUAgeInterval, DefaultPMTUAgeInterval))
	t.schedule(pmtuList, n)
	return est
}
