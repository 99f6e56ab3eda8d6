package stack

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/hostroutes"
	"github.com/stapel-net/stapel/wire"
)

// Options configure a Stack.
type Options struct {
	// Clock drives every timer; nil means clock.Real{}.
	Clock clock.Clock
	// Params are the global Tcpip parameters; the zero value means
	// config.Default().Tcpip.
	Params config.Tcpip
	// Logger receives notable events; nil discards them.
	Logger *slog.Logger
	// Seed makes random choices (IP IDs, ephemeral ports) reproducible.
	Seed int64
	// HostName is the host's name (for tools and services).
	HostName string
	// PersistentRoutesFile, when set, keeps the persistent routes ("route
	// add -p", SPEC IP-5) across restarts: loaded at New (together with
	// Params.PersistentRoutes) and rewritten on every change.
	PersistentRoutesFile string
}

// Stack is one host (or simple router): interfaces, ARP, IPv4, ICMP, UDP,
// and the seam TCP plugs into. All methods are safe for concurrent use.
type Stack struct {
	clk  clock.Clock
	log  *slog.Logger
	p    params
	name string

	// st is updated atomically from any goroutine.
	st Stats

	// addMu serializes AddInterface/RemoveInterface; taken before mu.
	addMu sync.Mutex
	// mu guards the network-layer state below (see doc.go): read-locked
	// by the per-packet fast paths, write-locked by everything else.
	mu        sync.RWMutex
	closed    bool
	ifaces    []*Interface // ordered by index
	nextIndex int
	local     map[netip.Addr]*Interface // active unicast addresses
	routes    routeTable
	reasm     reassembler
	icmpRate  tokenBucket
	loop      loopback
	rng       *rand.Rand
	txBuf     []byte // datagram under construction (headroom for headers); exclusive mu only

	// ipID is the last IP identification handed out (low 16 bits).
	ipID atomic.Uint32
	// learnedAny is false only while the learned-route table is surely
	// empty, so the send fast path skips its mutex (hostroutes.Table).
	learnedAny atomic.Bool

	transports [256]atomic.Pointer[transportSlot]

	udp  udpTable
	echo echoTable
	raw  rawTable // raw.go: raw IP sockets
	qos  qosTable // qos.go: QoS flows (packet classifier)

	// Issue 5: ICMP-learned host routes (bounded, KB 898060), the
	// dead-gateway RCEs, router discovery and the persistent route file.
	learned    *hostroutes.Table
	rces       rceTable
	persistFn  string
	rdiscTimer clock.Timer
	localErrs  []localErr
}

type transportSlot struct {
	h       TransportHandler
	offload bool // h is an OffloadTransport that accepts offload
}

// txHeadroom leaves space for the largest link header (SNAP) and IP header.
const (
	maxLinkHeader = wire.SNAPHeaderLen
	maxIPHeader   = 60
	txHeadroom    = maxLinkHeader + maxIPHeader
	maxDatagram   = 65535
)

// New creates a stack with no interfaces (only the loopback routes).
func New(opts Options) *Stack {
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	params := opts.Params
	if reflect.ValueOf(params).IsZero() { // zero Params: use the defaults
		params = config.Default().Tcpip
	}
	s := &Stack{
		clk:       clk,
		log:       lg,
		p:         paramsFrom(&params),
		name:      opts.HostName,
		nextIndex: 2, // 1 is the internal loopback, as on Windows
		local:     make(map[netip.Addr]*Interface),
		rng:       rand.New(rand.NewPCG(uint64(opts.Seed), 0x5374617065)),
		txBuf:     make([]byte, txHeadroom+maxDatagram),
	}
	s.ipID.Store(s.rng.Uint32() & 0xffff)
	s.icmpRate.init(s.p.icmpRateBurst, s.p.icmpRateInterval, clk.Now())
	s.reasm.init(s)
	s.loop.init(s)
	s.udp.init(s)
	s.echo.init(s)
	s.hostRoutesInit()
	s.persistFn = opts.PersistentRoutesFile
	s.loadPersistentRoutes()
	s.mu.Lock()
	s.rebuildLocked()
	s.mu.Unlock()
	return s
}

// Clock is the stack's clock; transports schedule their timers on it.
func (s *Stack) Clock() clock.Clock { return s.clk }

// Logger is the stack's logger.
func (s *Stack) Logger() *slog.Logger { return s.log }

// HostName is the name given in Options.
func (s *Stack) HostName() string { return s.name }

// DefaultTTL is the configured DefaultTTL (SPEC IP-17).
func (s *Stack) DefaultTTL() uint8 { return s.p.defaultTTL }

// MaxUserPort is the top of the ephemeral port range (1024..MaxUserPort).
func (s *Stack) MaxUserPort() uint16 { return s.p.maxUserPort }

// Close removes every interface (closing their endpoints) and closes all
// sockets. The stack cannot be used afterwards.
func (s *Stack) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.rces.sweep != nil {
		s.rces.sweep.Stop()
	}
	if s.rdiscTimer != nil {
		s.rdiscTimer.Stop()
	}
	names := make([]string, 0, len(s.ifaces))
	for _, ifc := range s.ifaces {
		names = append(names, ifc.name)
	}
	s.mu.Unlock()
	for _, n := range names {
		s.removeInterface(n, true)
	}
	s.udp.closeAll()
	s.echo.closeAll()
	return nil
}

// nextIPIDs reserves n consecutive IP identifications and returns the
// first; atomic, so senders holding only the read lock get distinct IDs.
func (s *Stack) nextIPIDs(n int) uint16 {
	return uint16(s.ipID.Add(uint32(n)) - uint32(n) + 1)
}
