package dns

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stapel-net/stapel/clock"
)

// Port is the DNS server port.
const Port = 53

// PacketConn is the UDP socket the resolver uses; *stack.UDPConn has
// these methods (deadlines on the stack's clock).
type PacketConn interface {
	ReadFromAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToAddrPort(b []byte, to netip.AddrPort) (int, error)
	SetReadDeadline(t time.Time) error
	Close() error
}

// Transport opens the resolver's sockets (the daemon: the stack's UDP
// and TCP).
type Transport interface {
	// ListenUDP opens a UDP socket on laddr (port 0 = any).
	ListenUDP(laddr netip.AddrPort) (PacketConn, error)
	// DialTCP connects for the TCP retry of a truncated answer; it may
	// return an error when the host has no TCP.
	DialTCP(ctx context.Context, raddr netip.AddrPort) (net.Conn, error)
}

// Errors of a lookup.
var (
	// ErrNXDomain: the name does not exist (RCODE 3).
	ErrNXDomain = errors.New("Non-existent domain")
	// ErrNoData: the name exists but has no record of the asked type.
	ErrNoData = errors.New("No answer")
	// ErrTimeout: no server answered within DNSQueryTimeouts (DNS-3).
	ErrTimeout = errors.New("timed-out")
	// ErrServerFailure: every queried server answered SERVFAIL, REFUSED,
	// NOTIMP or FORMERR.
	ErrServerFailure = errors.New("Server failed")
	// ErrNetFailure: a query within NetFailureCacheTime of all servers
	// timing out fails at once (DNS-6).
	ErrNetFailure = errors.New("DNS servers unreachable (network failure cached)")
	// ErrNoServers: no DNS server is configured.
	ErrNoServers = errors.New("no DNS servers configured")
)

// DefaultTimeouts is DNSQueryTimeouts' default "1 2 2 4 8" (DNS-3).
var DefaultTimeouts = []time.Duration{time.Second, 2 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// Client sends queries and checks answers: the wire half of the stub
// resolver.
type Client struct {
	Net   Transport
	Clock clock.Clock
	// Timeouts per attempt (DNS-3); nil = DefaultTimeouts.
	Timeouts []time.Duration
	// QueryIPMatching accepts an answer only from an address that was
	// queried, on port 53 (DNS-5).
	QueryIPMatching bool

	mu  sync.Mutex
	rng *rand.Rand
}

// SetSeed makes IDs and ports repeatable (tests); by default they come
// from a generator seeded by crypto/rand, since predictable IDs and ports
// invite cache poisoning.
func (c *Client) SetSeed(seed uint64) {
	c.mu.Lock()
	c.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	c.mu.Unlock()
}

func (c *Client) rand16() uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rng == nil {
		var s [32]byte
		crand.Read(s[:])
		c.rng = rand.New(rand.NewChaCha8(s))
	}
	return uint16(c.rng.Uint32())
}

// openSocket binds a random source port in 49152..65535, trying a few
// before taking whatever the stack gives.
func (c *Client) openSocket() (PacketConn, error) {
	for i := 0; i < 8; i++ {
		p := 49152 + c.rand16()%16384
		if pc, err := c.Net.ListenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), p)); err == nil {
			return pc, nil
		}
	}
	return c.Net.ListenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
}

// Exchange asks servers for (name, qtype) following DNS-3: the first
// attempt goes to the first server, each later one to every server in
// order, each attempt waiting its DNSQueryTimeouts entry. An answer must
// carry our ID and question (and, with QueryIPMatching, come from a
// queried server). It returns the accepted answer and its sender.
func (c *Client) Exchange(ctx context.Context, servers []netip.Addr, name string, qtype uint16) (*Message, netip.Addr, error) {
	if len(servers) == 0 {
		return nil, netip.Addr{}, ErrNoServers
	}
	q := &Message{Header: Header{RecursionDesired: true},
		Questions: []Question{{Name: name, Type: qtype, Class: ClassIN}}}
	return c.roundTrip(ctx, servers, q, true)
}

// roundTrip sends m (its ID replaced by a random one) as Exchange
// describes and returns the first response matching its ID and its one
// question (an UPDATE's zone). With failOver, SERVFAIL-like answers are
// set aside while other servers may still answer; without it any answer
// is returned as is (an UPDATE's rcode is its result).
func (c *Client) roundTrip(ctx context.Context, servers []netip.Addr, m *Message, failOver bool) (*Message, netip.Addr, error) {
	if len(servers) == 0 {
		return nil, netip.Addr{}, ErrNoServers
	}
	id := c.rand16()
	m.ID = id
	name, qtype := m.Questions[0].Name, m.Questions[0].Type
	query, err := m.Pack()
	if err != nil {
		return nil, netip.Addr{}, err
	}
	pc, err := c.openSocket()
	if err != nil {
		return nil, netip.Addr{}, err
	}
	defer pc.Close()
	stop := context.AfterFunc(ctx, func() { pc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	timeouts := c.Timeouts
	if len(timeouts) == 0 {
		timeouts = DefaultTimeouts
	}
	queried := map[netip.Addr]bool{}
	failed := map[netip.Addr]bool{}
	buf := make([]byte, 65535)
	for attempt, to := range timeouts {
		if ctx.Err() != nil {
			return nil, netip.Addr{}, ctx.Err()
		}
		targets := servers
		if attempt == 0 {
			targets = servers[:1]
		}
		for _, s := range targets {
			queried[s] = true
			trace(ctx, true, s, query)
			pc.WriteToAddrPort(query, netip.AddrPortFrom(s, Port))
		}
		pc.SetReadDeadline(c.Clock.Now().Add(to))
		for {
			n, from, err := pc.ReadFromAddrPort(buf)
			if ctx.Err() != nil {
				return nil, netip.Addr{}, ctx.Err()
			}
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return nil, netip.Addr{}, err
				}
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break // next attempt
				}
				// An ICMP error (port unreachable) for one server:
				// another may still answer within this attempt's time.
				continue
			}
			src := from.Addr().Unmap()
			if c.QueryIPMatching && (!queried[src] || from.Port() != Port) {
				continue
			}
			m, err := Parse(buf[:n])
			if err != nil || !m.Response || m.ID != id || len(m.Questions) != 1 ||
				!EqualNames(m.Questions[0].Name, name) || m.Questions[0].Type != qtype || m.Questions[0].Class != ClassIN {
				continue // not an answer to this query: keep waiting
			}
			trace(ctx, false, src, buf[:n])
			if !failOver {
				return m, src, nil
			}
			switch m.RCode {
			case RCodeServFail, RCodeNotImp, RCodeRefused, RCodeFormErr:
				failed[src] = true
				if len(failed) >= len(servers) {
					return m, src, ErrServerFailure
				}
				continue
			}
			if m.Truncated && c.Net != nil {
				if tm, err := c.exchangeTCP(ctx, netip.AddrPortFrom(src, Port), query, id, name, qtype); err == nil {
					return tm, src, nil
				}
			}
			return m, src, nil
		}
	}
	return nil, netip.Addr{}, ErrTimeout
}

// exchangeTCP repeats a truncated query over TCP (RFC 1035 4.2.2: a
// two-byte length before each message).
func (c *Client) exchangeTCP(ctx context.Context, server netip.AddrPort, query []byte, id uint16, name string, qtype uint16) (*Message, error) {
	to := c.Timeouts
	if len(to) == 0 {
		to = DefaultTimeouts
	}
	ctx, cancel := context.WithTimeout(ctx, to[len(to)-1])
	defer cancel()
	conn, err := c.Net.DialTCP(ctx, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := conn.Write(binary.BigEndian.AppendUint16(nil, uint16(len(query)))); err != nil {
		return nil, err
	}
	trace(ctx, true, server.Addr(), query)
	if _, err := conn.Write(query); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(conn, b); err != nil {
		return nil, err
	}
	m, err := Parse(b)
	if err != nil {
		return nil, err
	}
	trace(ctx, false, server.Addr(), b)
	if !m.Response || m.ID != id || len(m.Questions) != 1 || !EqualNames(m.Questions[0].Name, name) || m.Questions[0].Type != qtype {
		return nil, fmt.Errorf("dns: TCP answer does not match the query")
	}
	return m, nil
}

// Suffixes configure how a name the user typed becomes the names queried
// (DNS-4).
type Suffixes struct {
	// Primary is the primary DNS suffix; Adapter the connection-specific
	// suffixes of the interfaces, in interface order.
	Primary string
	Adapter []string
	// SearchList, when set, replaces the primary and adapter suffixes.
	SearchList []string
	// Devolution (UseDomainNameDevolution) also tries the primary suffix
	// with leading labels stripped, down to the second-level domain.
	Devolution bool
	// AllowUnqualified (AllowUnqualifiedQuery) also queries a
	// single-label name as it is.
	AllowUnqualified bool
}

// Candidates lists the names to query for name, in order (DNS-4):
//   - a trailing dot means the name is fully qualified: only it is asked;
//   - a name with a dot is asked as it is, then with the suffixes;
//   - a single-label name gets the suffixes (SearchList if set, else the
//     primary suffix, its devolutions, then each adapter's suffix), and
//     itself last only with AllowUnqualified.
func (s Suffixes) Candidates(name string) []string {
	if strings.HasSuffix(name, ".") {
		return []string{strings.TrimSuffix(name, ".")}
	}
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if k := strings.ToLower(n); !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	dotted := strings.Contains(name, ".")
	if dotted {
		add(name)
	}
	if len(s.SearchList) > 0 {
		for _, sfx := range s.SearchList {
			if sfx = strings.Trim(sfx, "."); sfx != "" {
				add(name + "." + sfx)
			}
		}
	} else {
		if p := strings.Trim(s.Primary, "."); p != "" {
			add(name + "." + p)
			if s.Devolution {
				// Strip one label at a time while at least two remain:
				// a.b.example.test -> b.example.test -> example.test,
				// never the top-level domain alone.
				labels := strings.Split(p, ".")
				for i := 1; len(labels)-i >= 2; i++ {
					add(name + "." + strings.Join(labels[i:], "."))
				}
			}
		}
		for _, a := range s.Adapter {
			if a = strings.Trim(a, "."); a != "" {
				add(name + "." + a)
			}
		}
	}
	if !dotted && s.AllowUnqualified {
		add(name)
	}
	return out
}
