package netbt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/stapel-net/stapel/clock"
)

// Port is the name service port (SPEC NBT-1).
const Port = 137

// Conn is the UDP socket a node uses (a *stack.UDPConn bound to the
// binding's address and port 137, broadcast enabled).
type Conn interface {
	ReadFromAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToAddrPort(b []byte, to netip.AddrPort) (int, error)
	Close() error
}

// RFC 1002 §6 B-node constants: registration is broadcast
// BCAST_REQ_RETRY_COUNT times, BCAST_REQ_RETRY_TIMEOUT apart.
const (
	regRetries  = 3
	regInterval = 250 * time.Millisecond
	// nameTTL is the TTL put in registrations and answers (Windows sends
	// 300000 s).
	nameTTL = 300000
)

// Config sets up a node: one per NetBT binding, which is one address per
// interface (SPEC NBT-6).
type Config struct {
	Conn   Conn
	Clock  clock.Clock
	Logger *slog.Logger
	// Addr is the binding's address; Broadcast where name packets go.
	Addr      netip.Addr
	Broadcast netip.Addr
	Port      uint16 // 0 = 137
	MAC       [6]byte
	// ComputerName is registered as [00] and [20] (unique); Workgroup as
	// [00] (group). Either may be empty.
	ComputerName string
	Workgroup    string
	Scope        string
	// BcastQueryCount tries, BcastQueryTimeout apart (SPEC NBT-5).
	BcastQueryCount   int
	BcastQueryTimeout time.Duration
	// CacheTimeout is the remote-name cache lifetime (SPEC NBT-7);
	// CacheSize bounds the number of entries (0 = 256).
	CacheTimeout time.Duration
	CacheSize    int
	// NoNameReleaseOnDemand ignores release demands (SPEC NBT-12).
	NoNameReleaseOnDemand bool
	// Lmhosts are the LMHOSTS entries (SPEC NBT-3); #PRE ones are
	// preloaded into the cache, up to MaxPreload (0 = 1000).
	Lmhosts    []LmhostsEntry
	MaxPreload int
	// DisableQueries is UseDnsOnlyForNameResolutions (SPEC NBT-11): no
	// NetBIOS name queries; registration goes on.
	DisableQueries bool
}

// NameState is a local name's status as nbtstat -n shows it.
type NameState int

// Name states.
const (
	Registering NameState = iota
	Registered
	Conflict
	Released
)

func (s NameState) String() string {
	return [...]string{"Registering", "Registered", "Conflict", "Released"}[s]
}

// LocalName is an entry of the local name table.
type LocalName struct {
	Name  Name
	Group bool
	State NameState
}

type localName struct {
	LocalName
	timer clock.Timer
	tries int
}

// CacheEntry is a remote-name cache entry; Life is the remaining lifetime
// (negative = permanent, a #PRE entry).
type CacheEntry struct {
	Name  Name
	Group bool
	Addrs []netip.Addr
	Life  time.Duration
}

type cacheEntry struct {
	name    Name
	group   bool
	addrs   []netip.Addr
	expires time.Time // zero = permanent (#PRE)
}

// Stats are nbtstat -r's counters.
type Stats struct {
	ResolvedByBroadcast   int
	RegisteredByBroadcast int
	// ResolvedNames are the latest names resolved by broadcast, oldest
	// first (at most maxResolvedNames).
	ResolvedNames []Name
}

const maxResolvedNames = 32

// ErrNotFound is a name no method resolved.
var ErrNotFound = errors.New("netbt: name not found")

// Node is a B-node (SPEC NBT-4) on one binding.
type Node struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	names   []*localName
	cache   map[string]*cacheEntry
	pending map[uint16]chan *Packet
	nextID  uint16
	stats   Stats
	closed  bool
	done    chan struct{}
}

// Start opens the node: it preloads LMHOSTS #PRE entries, starts reading
// and begins broadcasting the registrations of the computer and
// workgroup names.
func Start(cfg Config) (*Node, error) {
	if cfg.Conn == nil || !cfg.Addr.Is4() {
		return nil, errors.New("netbt: need a socket and an IPv4 address")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Port == 0 {
		cfg.Port = Port
	}
	if !cfg.Broadcast.IsValid() {
		cfg.Broadcast = netip.IPv4Unspecified()
	}
	if cfg.BcastQueryCount <= 0 {
		cfg.BcastQueryCount = 3
	}
	if cfg.BcastQueryTimeout <= 0 {
		cfg.BcastQueryTimeout = 750 * time.Millisecond
	}
	if cfg.CacheTimeout <= 0 {
		cfg.CacheTimeout = 10 * time.Minute
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 256
	}
	if cfg.MaxPreload <= 0 {
		cfg.MaxPreload = 1000
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("netbt", cfg.Addr), cache: map[string]*cacheEntry{},
		pending: map[uint16]chan *Packet{}, nextID: uint16(cfg.Clock.Now().UnixNano()), done: make(chan struct{})}
	add := func(base string, suffix byte, group bool) error {
		if base == "" {
			return nil
		}
		nm, err := NewName(base, suffix)
		if err != nil {
			return err
		}
		n.names = append(n.names, &localName{LocalName: LocalName{Name: nm.WithScope(cfg.Scope), Group: group}})
		return nil
	}
	if err := errors.Join(add(cfg.ComputerName, SuffixWorkstation, false), add(cfg.ComputerName, SuffixServer, false),
		add(cfg.Workgroup, SuffixWorkstation, true)); err != nil {
		return nil, err
	}
	n.preload()
	go n.readLoop()
	n.mu.Lock()
	for _, ln := range n.names {
		n.registerStepLocked(ln)
	}
	n.mu.Unlock()
	return n, nil
}

// Addr is the binding's address.
func (n *Node) Addr() netip.Addr { return n.cfg.Addr }

// Scope is the scope ID in use.
func (n *Node) Scope() string { return n.cfg.Scope }

// registerStepLocked sends one registration broadcast and schedules the
// next; after regRetries unanswered tries the name is ours (RFC 1001
// §15.2.1 B-node registration), announced with a NAME OVERWRITE DEMAND.
func (n *Node) registerStepLocked(ln *localName) {
	if n.closed || ln.State != Registering {
		return
	}
	if ln.tries == regRetries {
		ln.State = Registered
		n.stats.RegisteredByBroadcast++
		n.log.Info("netbt: name registered", "name", ln.Name.String(), "group", ln.Group)
		n.sendLocked(n.registration(ln, false), n.bcast())
		return
	}
	ln.tries++
	n.sendLocked(n.registration(ln, true), n.bcast())
	ln.timer = n.cfg.Clock.AfterFunc(regInterval, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.registerStepLocked(ln)
	})
}

func (n *Node) bcast() netip.AddrPort { return netip.AddrPortFrom(n.cfg.Broadcast, n.cfg.Port) }

// nbFlags is our NB_FLAGS for a name: G bit, ONT 00 (B-node).
func nbFlags(group bool) uint16 {
	if group {
		return FlagGroup
	}
	return 0
}

func (n *Node) registration(ln *localName, rd bool) *Packet {
	return &Packet{ID: n.newIDLocked(), Opcode: OpRegistration, RD: rd, B: true,
		Questions:  []Question{{Name: ln.Name, Type: TypeNB, Class: ClassIN}},
		Additional: []Resource{{Name: ln.Name, Type: TypeNB, Class: ClassIN, TTL: nameTTL, RData: NBRData(NBEntry{nbFlags(ln.Group), n.cfg.Addr})}}}
}

func (n *Node) newIDLocked() uint16 {
	n.nextID++
	return n.nextID
}

func (n *Node) sendLocked(p *Packet, to netip.AddrPort) {
	b, err := p.Marshal()
	if err == nil {
		_, err = n.cfg.Conn.WriteToAddrPort(b, to)
	}
	if err != nil {
		n.log.Debug("netbt: send failed", "to", to, "err", err)
	}
}

// Names returns the local name table.
func (n *Node) Names() []LocalName {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]LocalName, len(n.names))
	for i, ln := range n.names {
		out[i] = ln.LocalName
	}
	return out
}

// Stats returns nbtstat -r's counters.
func (n *Node) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.stats
	s.ResolvedNames = append([]Name(nil), s.ResolvedNames...)
	return s
}

// Cache lists the live remote-name cache entries, sorted by name.
func (n *Node) Cache() []CacheEntry {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.cfg.Clock.Now()
	var out []CacheEntry
	for k, e := range n.cache {
		life := time.Duration(-1)
		if !e.expires.IsZero() {
			if life = e.expires.Sub(now); life <= 0 {
				delete(n.cache, k)
				continue
			}
		}
		out = append(out, CacheEntry{Name: e.name, Group: e.group, Addrs: append([]netip.Addr(nil), e.addrs...), Life: life})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name.key() < out[j].Name.key() })
	return out
}

// PurgeCache empties the remote-name cache and preloads the #PRE entries
// of lmhosts again (nbtstat -R).
func (n *Node) PurgeCache(lmhosts []LmhostsEntry) {
	n.mu.Lock()
	n.cache = map[string]*cacheEntry{}
	n.cfg.Lmhosts = lmhosts
	n.mu.Unlock()
	n.preload()
}

func (n *Node) preload() {
	n.mu.Lock()
	defer n.mu.Unlock()
	count := 0
	for _, e := range n.cfg.Lmhosts {
		if !e.Pre {
			continue
		}
		for _, nm := range e.names(n.cfg.Scope) {
			if count == n.cfg.MaxPreload {
				n.log.Warn("netbt: MaxPreloadEntries reached; further #PRE entries are not preloaded")
				return
			}
			count++
			n.cache[nm.key()] = &cacheEntry{name: nm, addrs: []netip.Addr{e.Addr}}
		}
	}
}

// addCacheLocked stores a resolved name; a full cache evicts the entry
// closest to expiry (never a #PRE one).
func (n *Node) addCacheLocked(nm Name, group bool, addrs []netip.Addr) {
	now := n.cfg.Clock.Now()
	k := nm.key()
	if _, ok := n.cache[k]; !ok && len(n.cache) >= n.cfg.CacheSize {
		var victim string
		var first time.Time
		for vk, e := range n.cache {
			if e.expires.IsZero() {
				continue
			}
			if victim == "" || e.expires.Before(first) {
				victim, first = vk, e.expires
			}
		}
		if victim == "" {
			return // all permanent
		}
		delete(n.cache, victim)
	}
	n.cache[k] = &cacheEntry{name: nm, group: group, addrs: addrs, expires: now.Add(n.cfg.CacheTimeout)}
}

func (n *Node) lookupCacheLocked(nm Name) []netip.Addr {
	e, ok := n.cache[nm.key()]
	if !ok {
		return nil
	}
	if !e.expires.IsZero() && !n.cfg.Clock.Now().Before(e.expires) {
		delete(n.cache, nm.key())
		return nil
	}
	return e.addrs
}

// Resolve finds the addresses of name (scope applied): the remote-name
// cache, then BcastNameQueryCount broadcast queries BcastQueryTimeout
// apart, then LMHOSTS (SPEC NBT-3, NBT-4 B-node, NBT-5).
func (n *Node) Resolve(ctx context.Context, name Name) ([]netip.Addr, error) {
	name = name.WithScope(n.cfg.Scope)
	n.mu.Lock()
	if a := n.lookupCacheLocked(name); a != nil {
		n.mu.Unlock()
		return a, nil
	}
	for _, ln := range n.names {
		if ln.Name.Equal(name) && ln.State == Registered {
			n.mu.Unlock()
			return []netip.Addr{n.cfg.Addr}, nil
		}
	}
	disabled := n.cfg.DisableQueries
	n.mu.Unlock()
	if !disabled {
		q := &Packet{Opcode: OpQuery, RD: true, B: true, Questions: []Question{{Name: name, Type: TypeNB, Class: ClassIN}}}
		resp, err := n.transact(ctx, q, n.bcast(), func(p *Packet) bool {
			return p.Opcode == OpQuery && p.Rcode == RcodeOK && len(p.Answers) > 0 && p.Answers[0].Type == TypeNB
		})
		if err == nil {
			es, perr := resp.Answers[0].NBEntries()
			if perr == nil {
				addrs := make([]netip.Addr, len(es))
				for i, e := range es {
					addrs[i] = e.Addr
				}
				n.mu.Lock()
				n.addCacheLocked(name, es[0].Group(), addrs)
				n.stats.ResolvedByBroadcast++
				n.stats.ResolvedNames = append(n.stats.ResolvedNames, name)
				if len(n.stats.ResolvedNames) > maxResolvedNames {
					n.stats.ResolvedNames = n.stats.ResolvedNames[1:]
				}
				n.mu.Unlock()
				return addrs, nil
			}
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range n.cfg.Lmhosts {
		for _, nm := range e.names(n.cfg.Scope) {
			if nm.Equal(name) {
				return []netip.Addr{e.Addr}, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: %v", ErrNotFound, name)
}

// NodeStatus asks addr for its name table (nbtstat -A), trying
// BcastQueryCount times BcastQueryTimeout apart.
func (n *Node) NodeStatus(ctx context.Context, addr netip.Addr) (NodeStatus, error) {
	q := &Packet{Opcode: OpQuery, Questions: []Question{{Name: MustName("*", 0).WithScope(n.cfg.Scope), Type: TypeNBSTAT, Class: ClassIN}}}
	resp, err := n.transact(ctx, q, netip.AddrPortFrom(addr, n.cfg.Port), func(p *Packet) bool {
		return len(p.Answers) > 0 && p.Answers[0].Type == TypeNBSTAT
	})
	if err != nil {
		return NodeStatus{}, err
	}
	return resp.Answers[0].NodeStatus()
}

// transact sends q (a fresh ID each call) up to BcastQueryCount times and
// returns the first response accept takes; ErrNotFound when none came.
func (n *Node) transact(ctx context.Context, q *Packet, to netip.AddrPort, accept func(*Packet) bool) (*Packet, error) {
	ch := make(chan *Packet, 4)
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, errors.New("netbt: node closed")
	}
	q.ID = n.newIDLocked()
	n.pending[q.ID] = ch
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.pending, q.ID)
		n.mu.Unlock()
	}()
	for range n.cfg.BcastQueryCount {
		tick := make(chan struct{})
		n.mu.Lock()
		n.sendLocked(q, to)
		t := n.cfg.Clock.AfterFunc(n.cfg.BcastQueryTimeout, func() { close(tick) })
		n.mu.Unlock()
	wait:
		for {
			select {
			case p := <-ch:
				if accept(p) {
					t.Stop()
					return p, nil
				}
			case <-tick:
				break wait
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-n.done:
				t.Stop()
				return nil, errors.New("netbt: node closed")
			}
		}
	}
	return nil, ErrNotFound
}

// Close releases the registered names with one broadcast NAME RELEASE
// REQUEST each (RFC 1001 §15.5.1) and closes the socket.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	for _, ln := range n.names {
		if ln.timer != nil {
			ln.timer.Stop()
		}
		if ln.State != Registered {
			continue
		}
		n.sendLocked(&Packet{ID: n.newIDLocked(), Opcode: OpRelease, B: true,
			Questions:  []Question{{Name: ln.Name, Type: TypeNB, Class: ClassIN}},
			Additional: []Resource{{Name: ln.Name, Type: TypeNB, Class: ClassIN, RData: NBRData(NBEntry{nbFlags(ln.Group), n.cfg.Addr})}}}, n.bcast())
		ln.State = Released
	}
	n.closed = true
	close(n.done)
	n.mu.Unlock()
	return n.cfg.Conn.Close()
}

func (n *Node) readLoop() {
	buf := make([]byte, 1500)
	for {
		m, from, err := n.cfg.Conn.ReadFromAddrPort(buf)
		if err != nil {
			n.mu.Lock()
			closed := n.closed
			n.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return
			}
			n.log.Debug("netbt: read", "err", err)
			continue
		}
		p, err := ParseNameServicePacket(buf[:m])
		if err != nil {
			n.log.Debug("netbt: dropped malformed packet", "from", from, "err", err)
			continue
		}
		n.handle(p, from)
	}
}

// handle processes one packet from the network.
func (n *Node) handle(p *Packet, from netip.AddrPort) {
	if from.Addr() == n.cfg.Addr {
		return // our own broadcast looped back
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	if p.Response {
		n.handleResponseLocked(p, from)
		return
	}
	if len(p.Questions) != 1 {
		return
	}
	q := p.Questions[0]
	switch p.Opcode {
	case OpQuery:
		switch q.Type {
		case TypeNB:
			n.answerQueryLocked(p, q, from)
		case TypeNBSTAT:
			n.answerStatusLocked(p, q, from)
		}
	case OpRegistration, OpMultiHomed, OpRefresh, OpRefreshAlt:
		n.defendLocked(p, q, from)
	case OpRelease:
		n.releaseLocked(p, q, from)
	}
}

func (n *Node) findLocked(nm Name) *localName {
	for _, ln := range n.names {
		if ln.Name.Equal(nm) {
			return ln
		}
	}
	return nil
}

// answerQueryLocked answers a NAME QUERY REQUEST for a registered name of
// ours with our address (SPEC NBT-6: the binding's one address). An
// unknown name is ignored when broadcast and refused (NAM_ERR) when
// asked directly.
func (n *Node) answerQueryLocked(p *Packet, q Question, from netip.AddrPort) {
	ln := n.findLocked(q.Name)
	if ln == nil || ln.State != Registered {
		if !p.B {
			n.sendLocked(&Packet{ID: p.ID, Response: true, Opcode: OpQuery, AA: true, RD: p.RD, Rcode: RcodeName,
				Answers: []Resource{{Name: q.Name, Type: TypeNULL, Class: ClassIN}}}, from)
		}
		return
	}
	n.sendLocked(&Packet{ID: p.ID, Response: true, Opcode: OpQuery, AA: true, RD: p.RD,
		Answers: []Resource{{Name: q.Name, Type: TypeNB, Class: ClassIN, TTL: nameTTL, RData: NBRData(NBEntry{nbFlags(ln.Group), n.cfg.Addr})}}}, from)
}

// answerStatusLocked answers a NODE STATUS REQUEST for "*" or one of our
// names with the local name table and the MAC as unit ID.
func (n *Node) answerStatusLocked(p *Packet, q Question, from netip.AddrPort) {
	if q.Name.Base() != "*" && n.findLocked(q.Name) == nil {
		return
	}
	st := NodeStatus{UnitID: n.cfg.MAC}
	for _, ln := range n.names {
		if ln.State == Released {
			continue
		}
		f := uint16(FlagActive)
		if ln.Group {
			f |= FlagGroup
		}
		if ln.State == Conflict {
			f |= FlagConflict
		}
		st.Names = append(st.Names, NodeName{Name: ln.Name.Raw, Flags: f})
	}
	rd, err := st.Marshal()
	if err != nil {
		return
	}
	n.sendLocked(&Packet{ID: p.ID, Response: true, Opcode: OpQuery, AA: true,
		Answers: []Resource{{Name: q.Name, Type: TypeNBSTAT, Class: ClassIN, RData: rd}}}, from)
}

// defendLocked answers another node's registration of a unique name we
// hold with a NEGATIVE NAME REGISTRATION RESPONSE (ACT_ERR). Group names
// are shared and not defended.
func (n *Node) defendLocked(p *Packet, q Question, from netip.AddrPort) {
	ln := n.findLocked(q.Name)
	if ln == nil || ln.Group || ln.State != Registered {
		return
	}
	n.log.Warn("netbt: defending name against registration", "name", ln.Name.String(), "from", from.Addr())
	n.sendLocked(&Packet{ID: p.ID, Response: true, Opcode: OpRegistration, AA: true, RD: p.RD, RA: p.RD, Rcode: RcodeActive,
		Answers: []Resource{{Name: q.Name, Type: TypeNB, Class: ClassIN, RData: NBRData(NBEntry{nbFlags(false), n.cfg.Addr})}}}, from)
}

// releaseLocked handles a NAME RELEASE REQUEST: another node giving up
// its name drops it from our cache; one naming our address is a release
// demand, obeyed (the name goes into conflict) unless
// NoNameReleaseOnDemand (SPEC NBT-12).
func (n *Node) releaseLocked(p *Packet, q Question, from netip.AddrPort) {
	var es []NBEntry
	if len(p.Additional) > 0 {
		es, _ = p.Additional[0].NBEntries()
	}
	if e, ok := n.cache[q.Name.key()]; ok && !e.expires.IsZero() {
		for _, ne := range es {
			for _, a := range e.addrs {
				if a == ne.Addr {
					delete(n.cache, q.Name.key())
				}
			}
		}
	}
	ln := n.findLocked(q.Name)
	if ln == nil || ln.Group || ln.State != Registered || len(es) == 0 || es[0].Addr != n.cfg.Addr {
		return
	}
	if n.cfg.NoNameReleaseOnDemand {
		n.log.Warn("netbt: ignored a name release demand (NoNameReleaseOnDemand)", "name", ln.Name.String(), "from", from.Addr())
		return
	}
	n.log.Warn("netbt: name released on demand", "name", ln.Name.String(), "from", from.Addr())
	ln.State = Conflict
}

func (n *Node) handleResponseLocked(p *Packet, from netip.AddrPort) {
	if p.Opcode == OpRegistration && (p.Rcode == RcodeActive || p.Rcode == RcodeCFT) {
		nm, ok := p.answerName()
		if ln := n.findLocked(nm); ok && ln != nil && !ln.Group && (ln.State == Registering || ln.State == Registered) {
			n.log.Error("netbt: name conflict: another node owns the name", "name", ln.Name.String(), "owner", from.Addr())
			ln.State = Conflict
			if ln.timer != nil {
				ln.timer.Stop()
			}
		}
		return
	}
	if p.Opcode == OpRelease && p.Rcode == RcodeCFT { // NAME CONFLICT DEMAND
		if nm, ok := p.answerName(); ok {
			if ln := n.findLocked(nm); ln != nil && !ln.Group && ln.State == Registered {
				n.log.Error("netbt: name conflict demand", "name", ln.Name.String(), "from", from.Addr())
				ln.State = Conflict
			}
		}
		return
	}
	if ch, ok := n.pending[p.ID]; ok {
		select {
		case ch <- p:
		default:
		}
	}
}

// answerName is the name a response is about (answer, else question).
func (p *Packet) answerName() (Name, bool) {
	if len(p.Answers) > 0 {
		return p.Answers[0].Name, true
	}
	if len(p.Questions) > 0 {
		return p.Questions[0].Name, true
	}
	return Name{}, false
}
