package hostroutes

import (
	"net/netip"
	"testing"
	"time"
)

// SPEC: KB-6 — the trace's router reports next-hop MTU 320 for a 373-byte
// DF datagram; the correct sender lowers its PMTU to 320 (MSS 280) and the
// router's repeats of the same ICMP change nothing, the count stays 1.
func TestKB6TraceNextHopMTU320(t *testing.T) {
	tb, clk := newTable(DefaultMaxIcmpHostRoutes)
	client := netip.MustParseAddr("198.18.45.12") // the trace's CLIENT, mapped into 198.18.0.0/15
	// Frame 011: quoted header total length 373, Next-Hop MTU 0x140.
	if got := tb.UpdatePMTU(client, 0x140, 373, 1500); got != 320 {
		t.Fatalf("PMTU after frame 011 = %d, want 320", got)
	}
	if mss := MSSForMTU(tb.PathMTU(client, 1500)); mss != 280 {
		t.Fatalf("MSS = %d, want 280 (333 bytes resent as 280 + 53)", mss)
	}
	// Frames 015, 017, 019: the router repeats the ICMP.
	for range 3 {
		clk.Advance(300 * time.Millisecond)
		if got := tb.UpdatePMTU(client, 320, 373, 1500); got != 320 {
			t.Fatalf("repeat ICMP: PMTU %d, want 320", got)
		}
	}
	s := tb.Stats()
	if tb.Len() != 1 || s.Creates != 1 || s.Modifies != 3 || s.Lowered != 1 {
		t.Fatalf("len %d stats %+v, want 1 entry, 1 create, 3 modifies", tb.Len(), s)
	}
	checkInvariants(t, tb)
}

// SPEC: AMB-2 — an ICMP-learned MTU is clamped at 88, not RFC 1191's 68.
func TestReportedMTUBelowFloorClampsTo88(t *testing.T) {
	for _, rep := range []int{87, 68, 20, 1} {
		tb, _ := newTable(10)
		dst := addr(1)
		if got := tb.UpdatePMTU(dst, rep, 1500, 1500); got != 88 {
			t.Errorf("reported %d: PMTU %d, want 88", rep, got)
		}
		if e, _ := tb.Lookup(dst); e.PMTU != 88 {
			t.Errorf("reported %d: entry PMTU %d, want 88", rep, e.PMTU)
		}
		if tb.Stats().Clamped != 1 {
			t.Errorf("reported %d: Clamped %d, want 1", rep, tb.Stats().Clamped)
		}
	}
	if MSSForMTU(88) != 48 || MSSForMTU(1500) != 1460 || MSSForMTU(10) != 0 {
		t.Fatal("MSSForMTU is not mtu-40 floored at 0")
	}
}

// SPEC: ICMP-6 — routers that report no next-hop MTU: RFC 1191's plateau
// below the quoted datagram's total length.
func TestPlateauEstimate(t *testing.T) {
	cases := []struct{ quoted, want int }{
		{65535, 32000}, {65536, 65535}, {32000, 17914}, {17914, 8166},
		{9000, 8166}, {4470, 4352}, {4352, 2002}, {2002, 1492}, {1500, 1492},
		{1492, 1006}, {1006, 508}, {576, 508}, {552, 508}, {508, 296},
		{400, 296}, {296, 88 /* 68, clamped (AMB-2) */}, {90, 88}, {40, 88},
	}
	for _, c := range cases {
		tb, _ := newTable(10)
		if got := tb.UpdatePMTU(addr(2), 0, c.quoted, 70000); got != c.want {
			t.Errorf("quoted %d, no next-hop MTU: PMTU %d, want %d", c.quoted, got, c.want)
		}
	}
	if PlateauBelow(1500) != 1492 || PlateauBelow(69) != 68 || PlateauBelow(68) != 68 {
		t.Fatal("PlateauBelow")
	}
}

// A next-hop MTU not below the quoted length cannot be why the datagram
// was dropped; the plateau table is used instead. With no quoted length
// either, the estimate steps one plateau below the MTU in force.
func TestInconsistentReportUsesPlateau(t *testing.T) {
	tb, _ := newTable(10)
	if got := tb.UpdatePMTU(addr(3), 1500, 1500, 1500); got != 1492 {
		t.Fatalf("reported = quoted = 1500: PMTU %d, want 1492", got)
	}
	if got := tb.UpdatePMTU(addr(3), 0, 0, 1500); got != 1006 {
		t.Fatalf("no MTU, no quoted length: PMTU %d, want 1006 (plateau below 1492)", got)
	}
	if got := tb.UpdatePMTU(addr(4), 0, 0, 0); got != 65535 {
		t.Fatalf("nothing known at all: PMTU %d, want 65535", got)
	}
	if s := tb.Stats(); s.Estimated != 3 {
		t.Fatalf("Estimated %d, want 3", s.Estimated)
	}
}

// RFC 1191 §3: an ICMP never raises the PMTU; a report at or above it
// only restarts the aging. The link MTU caps every estimate, and a report
// that does not go below the link MTU creates no entry.
func TestNoIncreaseAndLinkClamp(t *testing.T) {
	tb, clk := newTable(10)
	dst := addr(5)
	if got := tb.UpdatePMTU(dst, 9000, 0, 1500); got != 1500 || tb.Len() != 0 {
		t.Fatalf("report above link: got %d len %d, want 1500 and no entry", got, tb.Len())
	}
	tb.UpdatePMTU(dst, 1300, 1500, 1500)
	e0, _ := peek(tb, dst)
	clk.Advance(7 * time.Minute)
	if got := tb.UpdatePMTU(dst, 1400, 1500, 1500); got != 1300 {
		t.Fatalf("higher report: %d, want 1300 kept", got)
	}
	e1, _ := peek(tb, dst)
	if want := e0.PMTUExpires.Add(7 * time.Minute); !e1.PMTUExpires.Equal(want) {
		t.Fatalf("aging not restarted: expires %v, want %v", e1.PMTUExpires, want)
	}
	clk.Advance(7 * time.Minute) // 14 min after the first report, 7 after the last
	if got := tb.PathMTU(dst, 1500); got != 1300 {
		t.Fatalf("PMTU %d, want 1300 still in force", got)
	}
	// The link MTU can drop below a learned PMTU; the smaller rules.
	if got := tb.PathMTU(dst, 1200); got != 1200 {
		t.Fatalf("PathMTU over a 1200 link = %d", got)
	}
	if got := tb.UpdatePMTU(dst, 1250, 1300, 1200); got != 1200 {
		t.Fatalf("report above a lowered link MTU: %d, want 1200", got)
	}
	checkInvariants(t, tb)
}

func TestInvalidAddressesDropped(t *testing.T) {
	tb, _ := newTable(10)
	if got := tb.UpdatePMTU(netip.Addr{}, 576, 1500, 1500); got != 1500 {
		t.Fatalf("invalid dst: %d", got)
	}
	tb.UpdatePMTU(netip.MustParseAddr("2001:db8::1"), 576, 1500, 1500)
	tb.SetRedirect(addr(1), netip.Addr{})
	tb.SetRedirect(netip.Addr{}, addr(2))
	if s := tb.Stats(); tb.Len() != 0 || s.Invalid != 4 {
		t.Fatalf("len %d invalid %d, want 0 and 4", tb.Len(), s.Invalid)
	}
	// An IPv4-mapped IPv6 address is the same destination as the IPv4 one.
	tb.UpdatePMTU(netip.MustParseAddr("::ffff:198.18.0.9"), 576, 1500, 1500)
	if e, ok := tb.Lookup(addr(9)); !ok || e.PMTU != 576 {
		t.Fatalf("mapped address not unified: %+v %v", e, ok)
	}
}
