package dns

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// updZone is a small RFC 2136 server for example.test: it answers SOA
// queries (and ns.example.test's A) and applies UPDATEs with the
// prerequisites Register uses.
type updZone struct {
	mu      sync.Mutex
	a       map[string][]netip.Addr
	ttl     map[string]uint32
	ptr     map[string]string
	updates []fakeSent
	refuse  bool
	clk     interface{ Now() time.Time }
}

const nsAddr = "198.18.0.3" // ns.example.test, the zone's primary (srv2)

var revSOA = RR{Name: "18.198.in-addr.arpa", Type: TypeSOA, Class: ClassIN, TTL: 60,
	SOA: &SOA{MName: "ns.example.test", RName: "hostmaster.example.test", Serial: 1, Minimum: 60}}

var zoneSOA = RR{Name: "example.test", Type: TypeSOA, Class: ClassIN, TTL: 60,
	SOA: &SOA{MName: "ns.example.test", RName: "hostmaster.example.test", Serial: 1, Minimum: 60}}

func (z *updZone) serve(s netip.Addr, q *Message) []fakeReply {
	z.mu.Lock()
	defer z.mu.Unlock()
	from := netip.AddrPortFrom(s, Port)
	qq := q.Questions[0]
	if q.Opcode == OpcodeQuery {
		switch {
		case qq.Type == TypeSOA && EqualNames(qq.Name, "example.test"):
			return []fakeReply{{from, answer(q, 0, zoneSOA)}}
		case qq.Type == TypeA && EqualNames(qq.Name, "ns.example.test"):
			return []fakeReply{{from, answer(q, 0, aRR("ns.example.test", 60, nsAddr))}}
		}
		m := answer(q, RCodeNXDomain)
		if _, ok := z.a[CanonicalName(qq.Name)]; ok {
			m.RCode = 0
		}
		m.Authority = []RR{zoneSOA}
		if strings.HasSuffix(qq.Name, ".in-addr.arpa") {
			m.Authority = []RR{revSOA}
		}
		return []fakeReply{{from, m}}
	}
	z.updates = append(z.updates, fakeSent{at: z.clk.Now().Sub(t0), server: s, q: q})
	resp := &Message{Header: Header{ID: q.ID, Response: true, Opcode: OpcodeUpdate}, Questions: q.Questions}
	if z.refuse {
		resp.RCode = RCodeRefused
		return []fakeReply{{from, resp}}
	}
	if !EqualNames(qq.Name, "example.test") && !EqualNames(qq.Name, revSOA.Name) || qq.Type != TypeSOA {
		resp.RCode = RCodeNotZone
		return []fakeReply{{from, resp}}
	}
	want := map[string][]netip.Addr{}
	for _, p := range q.Answers {
		n := CanonicalName(p.Name)
		switch {
		case p.Class == ClassNONE && p.Type == TypeANY:
			if len(z.a[n]) > 0 {
				resp.RCode = RCodeYXDomain
				return []fakeReply{{from, resp}}
			}
		case p.Class == ClassIN && p.Type == TypeA:
			want[n] = append(want[n], p.Addr)
		}
	}
	for n, addrs := range want {
		if !sameAddrs(addrs, z.a[n]) {
			resp.RCode = RCodeNXRRSet
			return []fakeReply{{from, resp}}
		}
	}
	for _, u := range q.Authority {
		n := CanonicalName(u.Name)
		switch {
		case u.Class == ClassANY && u.Type == TypeA:
			delete(z.a, n)
		case u.Class == ClassIN && u.Type == TypeA:
			z.a[n] = append(z.a[n], u.Addr)
			z.ttl[n] = u.TTL
		case u.Class == ClassANY && u.Type == TypePTR:
			delete(z.ptr, n)
		case u.Class == ClassIN && u.Type == TypePTR:
			z.ptr[n] = u.Target
		}
	}
	return []fakeReply{{from, resp}}
}

func sameAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func newUpdZone() (*fakeNet, *Client, *updZone) {
	f, c := newFake()
	z := &updZone{a: map[string][]netip.Addr{}, ttl: map[string]uint32{}, ptr: map[string]string{}, clk: f.clk}
	f.serve = z.serve
	return f, c, z
}

var me = netip.MustParseAddr("198.18.0.2")

func register(t *testing.T, f *fakeNet, c *Client, r Registration) error {
	t.Helper()
	return run(t, f.clk, func() error { return c.Register(context.Background(), []netip.Addr{srv1}, r) })
}

// SPEC: DNS-7 — a new name is registered with one UPDATE to the zone's
// primary (found from the SOA), carrying DefaultRegistrationTTL.
func TestRegisterNewName(t *testing.T) {
	f, c, z := newUpdZone()
	if err := register(t, f, c, Registration{Name: "stphost.example.test", Addrs: []netip.Addr{me}, TTL: DefaultRegistrationTTL}); err != nil {
		t.Fatal(err)
	}
	if len(z.updates) != 1 || z.updates[0].server.String() != nsAddr {
		t.Fatalf("updates %+v", z.updates)
	}
	u := z.updates[0].q
	if u.Opcode != OpcodeUpdate || u.Questions[0].Name != "example.test" || u.Answers[0].Class != ClassNONE ||
		u.Answers[0].Type != TypeANY || u.Authority[0].TTL != 1200 {
		t.Errorf("update message %+v", u)
	}
	if got := z.a["stphost.example.test"]; len(got) != 1 || got[0] != me || z.ttl["stphost.example.test"] != 1200 {
		t.Errorf("zone holds %v ttl %d", got, z.ttl["stphost.example.test"])
	}
	// Registering again finds the records already there: no change.
	if err := register(t, f, c, Registration{Name: "stphost.example.test", Addrs: []netip.Addr{me}, TTL: 1200}); err != nil {
		t.Fatal(err)
	}
	if len(z.updates) != 3 || len(z.a["stphost.example.test"]) != 1 {
		t.Errorf("re-registration: %d updates, zone %v", len(z.updates), z.a)
	}
}

// SPEC: DNS-7 — a name held with other addresses is replaced (last
// writer wins) unless DisableReplaceAddressesInConflicts.
func TestRegisterConflict(t *testing.T) {
	other := netip.MustParseAddr("203.0.113.9")
	for _, noReplace := range []bool{false, true} {
		f, c, z := newUpdZone()
		z.a["stphost.example.test"] = []netip.Addr{other}
		err := register(t, f, c, Registration{Name: "stphost.example.test", Addrs: []netip.Addr{me}, TTL: 1200, NoReplace: noReplace})
		got := z.a["stphost.example.test"]
		if noReplace {
			if !errors.Is(err, ErrUpdateConflict) || len(got) != 1 || got[0] != other {
				t.Errorf("NoReplace: err %v, zone %v", err, got)
			}
		} else if err != nil || len(got) != 1 || got[0] != me {
			t.Errorf("replace: err %v, zone %v", err, got)
		}
	}
}

// SPEC: DNS-7 — failed registrations are retried after 5 and 10 minutes,
// then at the refresh interval (24 h); successes refresh every 24 h.
func TestRegistrarSchedule(t *testing.T) {
	f, c, z := newUpdZone()
	z.refuse = true
	done := make(chan struct{}, 1)
	r := &Registrar{Client: c, Servers: []netip.Addr{srv1}, Refresh: 24 * time.Hour,
		Reg: func() Registration {
			return Registration{Name: "stphost.example.test", Addrs: []netip.Addr{me}, TTL: 1200}
		},
		attempted: func() { done <- struct{}{} }}
	r.Start()
	defer r.Stop()
	wait := func() {
		t.Helper()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
				if i > 20000 {
					t.Fatal("no registration attempt")
				}
				if f.clk.Pending() > 0 && i%10 == 9 {
					// Only the registrar's own start timer (0 s) is due.
					if n, ok := f.clk.Next(); ok && !n.After(f.clk.Now()) {
						f.clk.Step()
					}
				}
			}
		}
	}
	want := []time.Duration{0, 5 * time.Minute, 15 * time.Minute, 24*time.Hour + 15*time.Minute,
		24*time.Hour + 20*time.Minute}
	for i, at := range want {
		if i > 0 {
			next, ok := f.clk.Next()
			if !ok || next.Sub(t0) != at {
				t.Fatalf("attempt %d scheduled at %v, want %v", i+1, next.Sub(t0), at)
			}
			f.clk.AdvanceTo(next)
		}
		wait()
		if !errors.Is(r.Last(), ErrUpdateRefused) {
			t.Fatalf("attempt %d: %v", i+1, r.Last())
		}
	}
	// Success: the next one is 24 h later.
	z.mu.Lock()
	z.refuse = false
	z.mu.Unlock()
	next, _ := f.clk.Next()
	f.clk.AdvanceTo(next)
	wait()
	if r.Last() != nil {
		t.Fatal(r.Last())
	}
	if n, _ := f.clk.Next(); n.Sub(next) != 24*time.Hour {
		t.Errorf("refresh after success in %v, want 24h", n.Sub(next))
	}
}

// SPEC: DNS-7 — statically configured clients also register PTR records
// in the reverse zone (unless DisableReverseAddressRegistrations).
func TestRegisterPTR(t *testing.T) {
	f, c, z := newUpdZone()
	z.ptr["2.0.18.198.in-addr.arpa"] = "old.example.test"
	err := register(t, f, c, Registration{Name: "stphost.example.test", Addrs: []netip.Addr{me}, TTL: 1200, PTR: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := z.ptr["2.0.18.198.in-addr.arpa"]; got != "stphost.example.test" {
		t.Errorf("PTR %q", got)
	}
	last := z.updates[len(z.updates)-1]
	if last.q.Questions[0].Name != "18.198.in-addr.arpa" || last.server.String() != nsAddr {
		t.Errorf("PTR update %+v to %s", last.q.Questions, last.server)
	}
}
