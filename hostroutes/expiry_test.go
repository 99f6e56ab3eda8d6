package hostroutes

import (
	"net/netip"
	"testing"
	"time"
)

var gw = netip.MustParseAddr("192.0.2.254")

// SPEC: ICMP-3 — a redirect host route lives exactly 10 minutes.
func TestRedirectLifetimeExactly10Minutes(t *testing.T) {
	tb, clk := newTable(10)
	dst := addr(7)
	tb.SetRedirect(dst, gw)
	if next, ok := tb.NextExpiry(); !ok || !next.Equal(epoch.Add(10*time.Minute)) {
		t.Fatalf("NextExpiry %v %v, want epoch+10m", next, ok)
	}
	clk.Advance(10*time.Minute - time.Nanosecond)
	if e, ok := tb.Lookup(dst); !ok || e.Gateway != gw {
		t.Fatalf("redirect gone before 10 min: %+v %v", e, ok)
	}
	clk.Advance(time.Nanosecond)
	if e, ok := tb.Lookup(dst); ok {
		t.Fatalf("redirect still there at 10 min: %+v", e)
	}
	s := tb.Stats()
	if s.RedirectsExpired != 1 || s.Expiries != 1 || tb.Len() != 0 {
		t.Fatalf("stats %+v", s)
	}
	if _, ok := tb.NextExpiry(); ok {
		t.Fatal("NextExpiry with an empty table")
	}
}

// SPEC: ICMP-3 — a repeated redirect restarts the lifetime; a lookup does not.
func TestRedirectRefresh(t *testing.T) {
	tb, clk := newTable(10)
	dst := addr(8)
	gw2 := netip.MustParseAddr("192.0.2.253")
	tb.SetRedirect(dst, gw)
	clk.Advance(6 * time.Minute)
	tb.SetRedirect(dst, gw2)
	clk.Advance(6 * time.Minute)
	if e, ok := tb.Lookup(dst); !ok || e.Gateway != gw2 {
		t.Fatalf("refreshed redirect lost: %+v %v", e, ok)
	}
	clk.Advance(4 * time.Minute)
	if tb.Sweep() != 1 || tb.Len() != 0 {
		t.Fatal("redirect outlived 10 min after its last refresh")
	}
	if s := tb.Stats(); s.Creates != 1 || s.Modifies != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// SPEC: TCP-PMTU-3, RFC 1191 §6.3 — a PMTU estimate ages out after
// PMTUAgeInterval so the interface MTU is probed again, and a redirect
// and a PMTU in one entry expire independently.
func TestPMTURaisedAfterAging(t *testing.T) {
	tb, clk := newTable(10)
	dst := addr(9)
	tb.UpdatePMTU(dst, 1006, 1500, 1500)
	clk.Advance(DefaultPMTUAgeInterval - time.Nanosecond)
	if got := tb.PathMTU(dst, 1500); got != 1006 {
		t.Fatalf("PMTU %d before aging, want 1006", got)
	}
	clk.Advance(time.Nanosecond)
	if got := tb.PathMTU(dst, 1500); got != 1500 {
		t.Fatalf("PMTU %d after aging, want the link MTU 1500", got)
	}
	if tb.Len() != 0 {
		t.Fatal("empty entry kept")
	}

	// Both in one entry: the redirect outlives the PMTU estimate.
	tb.UpdatePMTU(dst, 576, 1500, 1500)
	clk.Advance(time.Minute)
	tb.SetRedirect(dst, gw)
	clk.Advance(9 * time.Minute)
	if n := tb.Sweep(); n != 0 {
		t.Fatalf("Sweep removed %d, want 0 (redirect still live)", n)
	}
	e, ok := tb.Lookup(dst)
	if !ok || e.PMTU != 0 || e.Gateway != gw {
		t.Fatalf("after PMTU aging: %+v %v, want the redirect only", e, ok)
	}
	if next, _ := tb.NextExpiry(); !next.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("NextExpiry %v", next)
	}
	clk.Advance(time.Minute)
	if n := tb.Sweep(); n != 1 || tb.Len() != 0 {
		t.Fatalf("Sweep removed %d, len %d", n, tb.Len())
	}
	checkInvariants(t, tb)
}

// The aging interval is a field; a changed lifetime keeps the expiry
// lists ordered, so Sweep still finds everything due.
func TestChangedLifetimeKeepsOrder(t *testing.T) {
	tb, clk := newTable(100)
	for i := range 20 {
		if i == 10 {
			tb.PMTUAgeInterval = time.Minute
		}
		tb.UpdatePMTU(addr(i), 1000, 1500, 1500)
		clk.Advance(time.Second)
	}
	checkInvariants(t, tb)
	if next, _ := tb.NextExpiry(); !next.Equal(epoch.Add(10*time.Second + time.Minute)) {
		t.Fatalf("NextExpiry %v, want the first short-lived entry", next)
	}
	clk.Advance(2 * time.Minute)
	if n := tb.Sweep(); n != 10 {
		t.Fatalf("Sweep removed %d, want the 10 short-lived entries", n)
	}
	checkInvariants(t, tb)
}

func TestDeleteFlushEntries(t *testing.T) {
	tb, clk := newTable(10)
	for i := range 5 {
		tb.UpdatePMTU(addr(4-i), 1000+i, 1500, 1500)
	}
	tb.SetRedirect(addr(2), gw)
	es := tb.Entries()
	if len(es) != 5 || es[0].Dst != addr(0) || es[4].Dst != addr(4) || es[2].Gateway != gw {
		t.Fatalf("Entries %+v", es)
	}
	if !tb.Delete(addr(3)) || tb.Delete(addr(3)) {
		t.Fatal("Delete")
	}
	if n := tb.DeleteIf(func(e Entry) bool { return e.Gateway == gw }); n != 1 {
		t.Fatalf("DeleteIf %d", n)
	}
	clk.Advance(time.Hour)
	if len(tb.Entries()) != 0 || tb.Len() != 0 {
		t.Fatal("Entries shows expired entries")
	}
	tb.UpdatePMTU(addr(1), 600, 1500, 1500)
	if tb.Flush() != 1 || tb.Len() != 0 {
		t.Fatal("Flush")
	}
	tb.SetMax(0)
	if tb.Max() != DefaultMaxIcmpHostRoutes {
		t.Fatal("SetMax(0) is not the default")
	}
	for i := range 8 {
		tb.UpdatePMTU(addr(i), 600, 1500, 1500)
	}
	tb.SetMax(3)
	if tb.Len() != 3 {
		t.Fatalf("SetMax(3): len %d", tb.Len())
	}
	if _, ok := peek(tb, addr(7)); !ok {
		t.Fatal("SetMax dropped the most recent entry")
	}
	checkInvariants(t, tb)
}
