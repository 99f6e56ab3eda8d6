package netbt

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
)

// hub is an in-memory subnet: datagrams to bcastAddr reach every other
// endpoint, others the endpoint with that address.
type hub struct {
	mu  sync.Mutex
	eps map[netip.Addr]*hubConn
}

var bcastAddr = netip.MustParseAddr("198.18.0.255")

type hubDatagram struct {
	b    []byte
	from netip.AddrPort
}

type hubConn struct {
	h      *hub
	addr   netip.Addr
	in     chan hubDatagram
	closed chan struct{}
	once   sync.Once
}

func newHub() *hub { return &hub{eps: map[netip.Addr]*hubConn{}} }

func (h *hub) conn(a string) *hubConn {
	c := &hubConn{h: h, addr: netip.MustParseAddr(a), in: make(chan hubDatagram, 256), closed: make(chan struct{})}
	h.mu.Lock()
	h.eps[c.addr] = c
	h.mu.Unlock()
	return c
}

func (c *hubConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-c.in:
		return copy(b, d.b), d.from, nil
	case <-c.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

func (c *hubConn) WriteToAddrPort(b []byte, to netip.AddrPort) (int, error) {
	d := hubDatagram{b: append([]byte(nil), b...), from: netip.AddrPortFrom(c.addr, Port)}
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	for a, ep := range c.h.eps {
		if a != c.addr && (to.Addr() == bcastAddr || to.Addr() == a) {
			select {
			case ep.in <- d:
			case <-ep.closed:
			}
		}
	}
	return len(b), nil
}

func (c *hubConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// next reads the next datagram a sniffer endpoint got, failing after 5 s.
func (c *hubConn) next(t *testing.T) (*Packet, netip.AddrPort) {
	t.Helper()
	select {
	case d := <-c.in:
		p, err := ParseNameServicePacket(d.b)
		if err != nil {
			t.Fatalf("bad packet from %v: %v", d.from, err)
		}
		return p, d.from
	case <-time.After(5 * time.Second):
		t.Fatal("no packet")
	}
	return nil, netip.AddrPort{}
}

func (c *hubConn) none(t *testing.T) {
	t.Helper()
	select {
	case d := <-c.in:
		p, _ := ParseNameServicePacket(d.b)
		t.Fatalf("unexpected packet %+v", p)
	case <-time.After(50 * time.Millisecond):
	}
}

func (c *hubConn) send(t *testing.T, p *Packet, to string) {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c.WriteToAddrPort(b, netip.AddrPortFrom(netip.MustParseAddr(to), Port))
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func startNode(t *testing.T, h *hub, clk clock.Clock, addr, name string, mod func(*Config)) *Node {
	t.Helper()
	cfg := Config{Conn: h.conn(addr), Clock: clk, Addr: netip.MustParseAddr(addr), Broadcast: bcastAddr,
		MAC: [6]byte{2, 0, 0, 0, 0, byte(netip.MustParseAddr(addr).As4()[3])}, ComputerName: name, Workgroup: "STAPELGRP"}
	if mod != nil {
		mod(&cfg)
	}
	n, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func states(n *Node) string {
	var s []string
	for _, ln := range n.Names() {
		s = append(s, ln.Name.String()+"="+ln.State.String())
	}
	return strings.Join(s, " ")
}

// registerAll lets the three registration broadcasts pass.
func registerAll(v *clock.Virtual) {
	for range regRetries {
		v.Advance(regInterval)
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// SPEC: NBT-4 — a B-node registers its names by broadcast: three NAME
// REGISTRATION REQUESTs 250 ms apart, then the name is its own (announced
// with an overwrite demand); names are computer[00], computer[20] unique
// and workgroup[00] group (NBT-2).
func TestBNodeRegistration(t *testing.T) {
	v := clock.NewVirtual(t0)
	h := newHub()
	sn := h.conn("198.18.0.1")
	n := startNode(t, h, v, "198.18.0.2", "stapelhost", nil)
	want := []string{"STAPELHOST<00>", "STAPELHOST<20>", "STAPELGRP<00>"}
	for round := range regRetries + 1 {
		for i, w := range want {
			p, _ := sn.next(t)
			if p.Opcode != OpRegistration || p.Response || !p.B || p.RD != (round < regRetries) {
				t.Fatalf("round %d: header %+v", round, p)
			}
			if p.Questions[0].Name.String() != w {
				t.Fatalf("round %d name %d: %v, want %s", round, i, p.Questions[0].Name, w)
			}
			es, err := p.Additional[0].NBEntries()
			if err != nil || es[0].Addr != n.Addr() || es[0].Group() != (i == 2) || es[0].Flags&ONTMask != 0 {
				t.Fatalf("NB %v %v", es, err)
			}
		}
		if round < regRetries {
			if got := states(n); !strings.Contains(got, "Registering") {
				t.Fatalf("round %d: %s", round, got)
			}
			v.Advance(regInterval)
		}
	}
	if got := states(n); got != "STAPELHOST<00>=Registered STAPELHOST<20>=Registered STAPELGRP<00>=Registered" {
		t.Fatal(got)
	}
	if s := n.Stats(); s.RegisteredByBroadcast != 3 {
		t.Fatalf("stats %+v", s)
	}
	sn.none(t)
}

// SPEC: NBT-6 — broadcast and unicast NAME QUERY requests for our names
// are answered with the binding's one address; unknown names are
// ignored when broadcast and refused when asked directly.
func TestAnswerQueries(t *testing.T) {
	v := clock.NewVirtual(t0)
	h := newHub()
	sn := h.conn("198.18.0.1")
	startNode(t, h, v, "198.18.0.2", "STAPELHOST", nil)
	for range 3 {
		sn.next(t) // first round of registrations
	}
	// Not answered while still registering.
	sn.send(t, &Packet{ID: 9, Opcode: OpQuery, B: true, RD: true, Questions: []Question{{Name: MustName("STAPELHOST", 0x20), Type: TypeNB, Class: ClassIN}}}, "198.18.0.255")
	sn.none(t)
	registerAll(v)
	for range 9 {
		sn.next(t) // registrations
	}
	sn.send(t, &Packet{ID: 10, Opcode: OpQuery, B: true, RD: true, Questions: []Question{{Name: MustName("stapelhost", 0x20), Type: TypeNB, Class: ClassIN}}}, "198.18.0.255")
	p, _ := sn.next(t)
	if p.ID != 10 || !p.Response || !p.AA || p.Rcode != 0 || len(p.Answers) != 1 {
		t.Fatalf("response %+v", p)
	}
	es, _ := p.Answers[0].NBEntries()
	if len(es) != 1 || es[0].Addr != netip.MustParseAddr("198.18.0.2") || p.Answers[0].Name.String() != "STAPELHOST<20>" {
		t.Fatalf("answer %+v", p.Answers[0])
	}
	// The group name is answered too, with the G bit.
	sn.send(t, &Packet{ID: 11, Opcode: OpQuery, Questions: []Question{{Name: MustName("STAPELGRP", 0), Type: TypeNB, Class: ClassIN}}}, "198.18.0.2")
	p, _ = sn.next(t)
	if es, _ := p.Answers[0].NBEntries(); p.ID != 11 || !es[0].Group() {
		t.Fatalf("group answer %+v", p)
	}
	sn.send(t, &Packet{ID: 12, Opcode: OpQuery, B: true, Questions: []Question{{Name: MustName("OTHER", 0), Type: TypeNB, Class: ClassIN}}}, "198.18.0.255")
	sn.none(t)
	sn.send(t, &Packet{ID: 13, Opcode: OpQuery, Questions: []Question{{Name: MustName("OTHER", 0), Type: TypeNB, Class: ClassIN}}}, "198.18.0.2")
	if p, _ = sn.next(t); p.ID != 13 || p.Rcode != RcodeName {
		t.Fatalf("negative %+v", p)
	}
	// A name in another scope is not ours.
	sn.send(t, &Packet{ID: 14, Opcode: OpQuery, B: true, Questions: []Question{{Name: MustName("STAPELHOST", 0).WithScope("x"), Type: TypeNB, Class: ClassIN}}}, "198.18.0.255")
	sn.none(t)
}

// SPEC: NBT-5, NBT-7 — resolution by broadcast fills the remote-name cache
// for CacheTimeout; a name nobody has costs BcastNameQueryCount queries
// BcastQueryTimeout apart.
func TestResolveByBroadcastAndCache(t *testing.T) {
	v := clock.NewVirtual(t0)
	h := newHub()
	sn := h.conn("198.18.0.9")
	a := startNode(t, h, v, "198.18.0.1", "PEER", func(c *Config) { c.Workgroup = "" })
	b := startNode(t, h, v, "198.18.0.2", "STAPELHOST", func(c *Config) { c.Workgroup = "" })
	registerAll(v)
	waitFor(t, "registration", func() bool { return !strings.Contains(states(a)+states(b), "Registering") })
	for range 16 {
		sn.next(t)
	}
	got := make(chan []netip.Addr, 1)
	go func() {
		addrs, err := b.Resolve(context.Background(), MustName("peer", 0x20))
		if err != nil {
			t.Error(err)
		}
		got <- addrs
	}()
	select {
	case addrs := <-got:
		if len(addrs) != 1 || addrs[0] != a.Addr() {
			t.Fatalf("resolved %v", addrs)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer")
	}
	c := b.Cache()
	if len(c) != 1 || c[0].Name.String() != "PEER<20>" || c[0].Life != 10*time.Minute || c[0].Addrs[0] != a.Addr() {
		t.Fatalf("cache %+v", c)
	}
	if s := b.Stats(); s.ResolvedByBroadcast != 1 || s.ResolvedNames[0].String() != "PEER<20>" {
		t.Fatalf("stats %+v", s)
	}
	v.Advance(10*time.Minute - time.Second)
	if c := b.Cache(); len(c) != 1 || c[0].Life != time.Second {
		t.Fatalf("cache %+v", c)
	}
	v.Advance(time.Second)
	if c := b.Cache(); len(c) != 0 {
		t.Fatalf("expired entry still cached: %+v", c)
	}

	// An unknown name: three broadcasts 750 ms apart, then not found.
	for range 2 { // drain the query and PEER's answer? (answers are unicast to b)
		select {
		case <-sn.in:
		default:
		}
	}
	errc := make(chan error, 1)
	start := v.Now()
	go func() {
		_, err := b.Resolve(context.Background(), MustName("NOBODY", 0))
		errc <- err
	}()
	for i := range 3 {
		p, _ := sn.next(t)
		if p.Opcode != OpQuery || !p.B || p.Questions[0].Name.String() != "NOBODY<00>" {
			t.Fatalf("query %d: %+v", i, p)
		}
		if d := v.Now().Sub(start); d != time.Duration(i)*750*time.Millisecond {
			t.Fatalf("query %d at %v", i, d)
		}
		v.BlockUntil(1)
		v.Advance(750 * time.Millisecond)
	}
	if err := <-errc; !errors.Is(err, ErrNotFound) {
		t.Fatalf("err %v", err)
	}
	sn.none(t)
}

// SPEC: NBT-4 — a unique name already owned is defended with a negative
// registration response; the newcomer marks its name in conflict.
func TestRegistrationConflict(t *testing.T) {
	v := clock.NewVirtual(t0)
	h := newHub()
	a := startNode(t, h, v, "198.18.0.1", "STAPELHOST", nil)
	registerAll(v)
	waitFor(t, "a registered", func() bool { return !strings.Contains(states(a), "Registering") })
	b := startNode(t, h, v, "198.18.0.2", "STAPELHOST", nil)
	waitFor(t, "b in conflict", func() bool {
		return states(b) == "STAPELHOST<00>=Conflict STAPELHOST<20>=Conflict STAPELGRP<00>=Registering"
	})
	registerAll(v)
	if got := states(b); got != "STAPELHOST<00>=Conflict STAPELHOST<20>=Conflict STAPELGRP<00>=Registered" {
		t.Fatal(got)
	}
	if got := states(a); strings.Contains(got, "Conflict") {
		t.Fatal(got)
	}
}

// Node status (nbtstat -A) lists the name table and the MAC.
func TestNodeStatus(t *testing.T) {
	v := clock.NewVirtual(t0)
	h := newHub()
	a := startNode(t, h, v, "198.18.0.1", "PEER", nil)
	b := startNode(t, h, v, "198.18.0.2", "STAPELHOST", nil)
	registerAll(v)
	waitFor(t, "registration", func() bool { return !strings.Contains(states(a)+states(b), "Registering") })
	st, err := b.NodeStatus(context.Background(), a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, nn := range st.Names {
		names = append(names, nn.String())
		if nn.Flags&FlagActive == 0 || (nn.Flags&FlagGroup != 0) != (nn.Base() == "STAPELGRP") {
			t.Errorf("%v flags %#x", nn, nn.Flags)
		}
	}
	if strings.Join(names, " ") != "PEER<00> PEER<20> STAPELGRP<00>" || st.UnitID != [6]byte{2, 0, 0, 0, 0, 1} {
		t.Fatalf("status %v %x", names, st.UnitID)
	}
}

// SPEC: NBT-12 — a release demand for our name puts it in conflict,
// unless NoNameReleaseOnDemand; a peer releasing its own name leaves our
// cache.
func TestReleaseOnDemandAndShutdown(t *testing.T) {
	for _, noRelease := range []bool{false, true} {
		v := clock.NewVirtual(t0)
		h := newHub()
		sn := h.conn("198.18.0.9")
		a := startNode(t, h, v, "198.18.0.1", "STAPELHOST", func(c *Config) { c.NoNameReleaseOnDemand = noRelease; c.Workgroup = "" })
		registerAll(v)
		waitFor(t, "registration", func() bool { return !strings.Contains(states(a), "Registering") })
		nm := MustName("STAPELHOST", 0)
		sn.send(t, &Packet{ID: 1, Opcode: OpRelease, Questions: []Question{{Name: nm, Type: TypeNB, Class: ClassIN}},
			Additional: []Resource{{Name: nm, Type: TypeNB, Class: ClassIN, RData: NBRData(NBEntry{0, a.Addr()})}}}, "198.18.0.1")
		want := "STAPELHOST<00>=Conflict STAPELHOST<20>=Registered"
		if noRelease {
			want = "STAPELHOST<00>=Registered STAPELHOST<20>=Registered"
		}
		// The demand is handled asynchronously; a later query shows it
		// has been (packets are handled in order).
		sn.send(t, &Packet{ID: 2, Opcode: OpQuery, Questions: []Question{{Name: MustName("STAPELHOST", 0x20), Type: TypeNB, Class: ClassIN}}}, "198.18.0.1")
		waitFor(t, "query answer", func() bool {
			select {
			case d := <-sn.in:
				p, _ := ParseNameServicePacket(d.b)
				return p.ID == 2
			default:
				return false
			}
		})
		if got := states(a); got != want {
			t.Fatalf("noRelease=%v: %s", noRelease, got)
		}
	}

	v := clock.NewVirtual(t0)
	h := newHub()
	sn := h.conn("198.18.0.9")
	a := startNode(t, h, v, "198.18.0.1", "PEER", func(c *Config) { c.Workgroup = "" })
	b := startNode(t, h, v, "198.18.0.2", "STAPELHOST", func(c *Config) { c.Workgroup = "" })
	registerAll(v)
	waitFor(t, "registration", func() bool { return !strings.Contains(states(a)+states(b), "Registering") })
	if _, err := b.Resolve(context.Background(), MustName("PEER", 0)); err != nil {
		t.Fatal(err)
	}
	for len(sn.in) > 0 {
		<-sn.in
	}
	a.Close()
	for _, w := range []string{"PEER<00>", "PEER<20>"} {
		p, from := sn.next(t)
		if p.Opcode != OpRelease || !p.B || p.Questions[0].Name.String() != w || from.Addr() != a.Addr() {
			t.Fatalf("release %+v from %v", p, from)
		}
	}
	waitFor(t, "cache entry released", func() bool { return len(b.Cache()) == 0 })
}

// SPEC: NBT-3 — LMHOSTS #PRE entries are preloaded permanently and
// reloaded by a purge (nbtstat -R); plain entries answer after broadcast.
func TestLmhosts(t *testing.T) {
	es, warn := ParseLmhosts(strings.NewReader(`# comment
198.18.0.7   fileserv   #PRE   #DOM:CORP
198.18.0.8   "DC             \0x1b"   #PRE
198.18.0.9   lateone
bogus line
`))
	if len(es) != 3 || len(warn) != 1 {
		t.Fatalf("%+v %v", es, warn)
	}
	if !es[1].Exact || es[1].Suffix != 0x1b || es[1].Name != "DC" || es[2].Pre {
		t.Fatalf("%+v", es)
	}
	v := clock.NewVirtual(t0)
	h := newHub()
	n := startNode(t, h, v, "198.18.0.2", "STAPELHOST", func(c *Config) { c.Lmhosts = es })
	c := n.Cache()
	var got []string
	for _, e := range c {
		got = append(got, e.Name.String())
		if e.Life >= 0 {
			t.Errorf("%v life %v", e.Name, e.Life)
		}
	}
	if strings.Join(got, " ") != "DC<1B> FILESERV<00> FILESERV<03> FILESERV<20>" {
		t.Fatal(got)
	}
	n.PurgeCache(es[1:])
	if c := n.Cache(); len(c) != 1 {
		t.Fatalf("after purge %+v", c)
	}
	registerAll(v)
	// lateone: broadcast first (nobody answers), then LMHOSTS.
	res := make(chan []netip.Addr)
	go func() {
		a, _ := n.Resolve(context.Background(), MustName("LATEONE", 0x20))
		res <- a
	}()
	for range 3 {
		v.BlockUntil(1)
		v.Advance(750 * time.Millisecond)
	}
	if a := <-res; len(a) != 1 || a[0] != netip.MustParseAddr("198.18.0.9") {
		t.Fatalf("lateone %v", a)
	}
}

// SPEC: NBT-7 — the cache is bounded: a full cache evicts the entry
// closest to expiry.
func TestCacheBound(t *testing.T) {
	v := clock.NewVirtual(t0)
	n := startNode(t, newHub(), v, "198.18.0.2", "STAPELHOST", func(c *Config) { c.CacheSize = 2 })
	n.mu.Lock()
	for i, s := range []string{"A", "B", "C"} {
		n.addCacheLocked(MustName(s, 0), false, []netip.Addr{netip.AddrFrom4([4]byte{198, 18, 0, byte(10 + i)})})
		n.mu.Unlock()
		v.Advance(time.Second)
		n.mu.Lock()
	}
	n.mu.Unlock()
	c := n.Cache()
	if len(c) != 2 || c[0].Name.Base() != "B" || c[1].Name.Base() != "C" {
		t.Fatalf("%+v", c)
	}
}

// SPEC: NBT-11 — UseDnsOnlyForNameResolutions stops NetBIOS name queries
// (resolution falls through to LMHOSTS at once) but not registration.
func TestDisableQueries(t *testing.T) {
	v := clock.NewVirtual(t0)
	h := newHub()
	sn := h.conn("198.18.0.9")
	n := startNode(t, h, v, "198.18.0.2", "STAPELHOST", func(c *Config) {
		c.DisableQueries = true
		c.Workgroup = ""
		c.Lmhosts = []LmhostsEntry{{Addr: netip.MustParseAddr("198.18.0.7"), Name: "FILESERV"}}
	})
	registerAll(v)
	if got := states(n); got != "STAPELHOST<00>=Registered STAPELHOST<20>=Registered" {
		t.Fatal(got)
	}
	for range 8 {
		sn.next(t)
	}
	a, err := n.Resolve(context.Background(), MustName("FILESERV", 0x20))
	if err != nil || a[0] != netip.MustParseAddr("198.18.0.7") {
		t.Fatalf("%v %v", a, err)
	}
	if _, err := n.Resolve(context.Background(), MustName("OTHER", 0)); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	sn.none(t)
}
