package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// SPEC: DNS-3 — with nobody answering, the query goes to the first
// server, then to every server in order, after 1, 2, 2, 4 and 8 seconds;
// the lookup fails after their sum (17 s).
func TestExchangeTimeoutSchedule(t *testing.T) {
	f, c := newFake()
	type res struct {
		err error
		at  time.Duration
	}
	r := run(t, f.clk, func() res {
		_, _, err := c.Exchange(context.Background(), []netip.Addr{srv1, srv2}, "host.example.test", TypeA)
		return res{err, f.clk.Now().Sub(t0)}
	})
	if !errors.Is(r.err, ErrTimeout) || r.at != 17*time.Second {
		t.Fatalf("err %v at %v, want timeout at 17s", r.err, r.at)
	}
	var got []string
	for _, s := range f.sends() {
		got = append(got, s.at.String()+" "+s.server.String())
	}
	want := []string{"0s 198.18.0.1", "1s 198.18.0.1", "1s 198.18.0.3", "3s 198.18.0.1", "3s 198.18.0.3",
		"5s 198.18.0.1", "5s 198.18.0.3", "9s 198.18.0.1", "9s 198.18.0.3"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sends\n got %v\nwant %v", got, want)
	}
	// Configured timeouts replace the default list.
	f2, c2 := newFake()
	c2.Timeouts = []time.Duration{3 * time.Second}
	run(t, f2.clk, func() error {
		_, _, err := c2.Exchange(context.Background(), []netip.Addr{srv1}, "x.example.test", TypeA)
		return err
	})
	if got := f2.clk.Now().Sub(t0); got != 3*time.Second || len(f2.sends()) != 1 {
		t.Fatalf("custom timeouts: ended at %v after %d sends", got, len(f2.sends()))
	}
}

// Answers with a wrong ID or question, or that are not responses, are
// ignored; the matching one is taken. IDs and source ports are random.
func TestExchangeRejectsMismatchedAnswers(t *testing.T) {
	f, c := newFake()
	from := netip.AddrPortFrom(srv1, Port)
	f.serve = func(_ netip.Addr, q *Message) []fakeReply {
		badID := answer(q, 0, aRR("host.example.test", 60, "203.0.113.66"))
		badID.ID++
		badQ := answer(q, 0, aRR("evil.example.test", 60, "203.0.113.66"))
		badQ.Questions = []Question{{Name: "evil.example.test", Type: TypeA, Class: ClassIN}}
		notResp := answer(q, 0, aRR("host.example.test", 60, "203.0.113.66"))
		notResp.Response = false
		good := answer(q, 0, aRR("host.example.test", 60, "198.51.100.7"))
		return []fakeReply{{from, badID}, {from, badQ}, {from, notResp}, {from, good}}
	}
	ids := map[uint16]bool{}
	for i := 0; i < 20; i++ {
		m := run(t, f.clk, func() *Message {
			m, _, err := c.Exchange(context.Background(), []netip.Addr{srv1}, "HOST.example.test", TypeA)
			if err != nil {
				t.Fatal(err)
			}
			return m
		})
		if m.Answers[0].Addr.String() != "198.51.100.7" {
			t.Fatalf("took answer %v", m.Answers[0])
		}
	}
	for _, s := range f.sends() {
		ids[s.q.ID] = true
		if !s.q.RecursionDesired {
			t.Error("query without RD")
		}
	}
	ports := map[uint16]bool{}
	for _, p := range f.ports {
		ports[p] = true
		if p < 49152 {
			t.Errorf("source port %d outside the dynamic range", p)
		}
	}
	if len(ids) < 18 || len(ports) < 18 {
		t.Errorf("%d distinct IDs, %d distinct ports in 20 queries: not random", len(ids), len(ports))
	}
}

// SPEC: DNS-5 — QueryIpMatching=1 accepts an answer only from the queried
// address; with 0 an answer from another address is taken.
func TestQueryIPMatching(t *testing.T) {
	other := netip.AddrPortFrom(netip.MustParseAddr("198.18.0.9"), Port)
	for _, matching := range []bool{false, true} {
		f, c := newFake()
		c.QueryIPMatching = matching
		f.serve = func(_ netip.Addr, q *Message) []fakeReply {
			return []fakeReply{{other, answer(q, 0, aRR("host.example.test", 60, "198.51.100.7"))}}
		}
		err := run(t, f.clk, func() error {
			_, _, err := c.Exchange(context.Background(), []netip.Addr{srv1}, "host.example.test", TypeA)
			return err
		})
		if matching != errors.Is(err, ErrTimeout) {
			t.Errorf("QueryIpMatching=%v: err %v", matching, err)
		}
	}
}

// SERVFAIL from every server fails at once instead of waiting out the
// timeouts.
func TestExchangeServerFailure(t *testing.T) {
	f, c := newFake()
	f.serve = func(s netip.Addr, q *Message) []fakeReply {
		return []fakeReply{{netip.AddrPortFrom(s, Port), answer(q, RCodeServFail)}}
	}
	err := run(t, f.clk, func() error {
		_, _, err := c.Exchange(context.Background(), []netip.Addr{srv1, srv2}, "host.example.test", TypeA)
		return err
	})
	if !errors.Is(err, ErrServerFailure) || f.clk.Now().Sub(t0) != time.Second {
		t.Fatalf("err %v after %v", err, f.clk.Now().Sub(t0))
	}
}

// A truncated UDP answer is asked again over TCP (RFC 1035 4.2.2).
func TestExchangeTCPFallback(t *testing.T) {
	f, c := newFake()
	f.serve = func(s netip.Addr, q *Message) []fakeReply {
		m := answer(q, 0)
		m.Truncated = true
		return []fakeReply{{netip.AddrPortFrom(s, Port), m}}
	}
	f.tcp = func(netip.AddrPort) (net.Conn, error) {
		a, b := net.Pipe()
		go func() {
			defer b.Close()
			var l [2]byte
			io.ReadFull(b, l[:])
			qb := make([]byte, binary.BigEndian.Uint16(l[:]))
			io.ReadFull(b, qb)
			q, _ := Parse(qb)
			var rrs []RR
			for i := 0; i < 40; i++ {
				rrs = append(rrs, aRR("big.example.test", 60, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String()))
			}
			p, _ := answer(q, 0, rrs...).Pack()
			b.Write(binary.BigEndian.AppendUint16(nil, uint16(len(p))))
			b.Write(p)
		}()
		return a, nil
	}
	m := run(t, f.clk, func() *Message {
		m, _, err := c.Exchange(context.Background(), []netip.Addr{srv1}, "big.example.test", TypeA)
		if err != nil {
			t.Error(err)
		}
		return m
	})
	if m == nil || len(m.Answers) != 40 || m.Truncated {
		t.Fatalf("TCP answer %+v", m)
	}
}

// SPEC: DNS-4 — suffixes, devolution to the second-level domain only, the
// bare name only with AllowUnqualifiedQuery, a trailing dot = FQDN.
func TestCandidates(t *testing.T) {
	s := Suffixes{Primary: "a.b.example.test", Adapter: []string{"lab.test", "a.b.example.test"}, Devolution: true}
	cases := []struct {
		s    Suffixes
		name string
		want []string
	}{
		{s, "host", []string{"host.a.b.example.test", "host.b.example.test", "host.example.test", "host.lab.test"}},
		{s, "host.", []string{"host"}},
		{s, "www.example.test.", []string{"www.example.test"}},
		{s, "www.sub", []string{"www.sub", "www.sub.a.b.example.test", "www.sub.b.example.test", "www.sub.example.test", "www.sub.lab.test"}},
		{Suffixes{Primary: "a.b.example.test"}, "host", []string{"host.a.b.example.test"}},
		{Suffixes{Primary: "example.test", Devolution: true}, "host", []string{"host.example.test"}},
		{Suffixes{Primary: "example.test", AllowUnqualified: true}, "host", []string{"host.example.test", "host"}},
		{Suffixes{}, "host", nil},
		{Suffixes{Primary: "p.example.test", SearchList: []string{"one.test", "two.test"}, Devolution: true}, "host",
			[]string{"host.one.test", "host.two.test"}},
	}
	for _, c := range cases {
		if got := c.s.Candidates(c.name); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v %q:\n got %q\nwant %q", c.s, c.name, got, c.want)
		}
	}
}
