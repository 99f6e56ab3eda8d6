package stack

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/stapel-net/stapel/wire"
)

// EchoRequest is one ping (SPEC ICMP-5, TOOL-PING).
type EchoRequest struct {
	Dst netip.Addr
	// Src optionally fixes the source address.
	Src netip.Addr
	// ID 0 uses the socket's own identifier.
	ID, Seq uint16
	// Size is the number of data bytes (ping -l), filled with the
	// Windows pattern "abcdefghijklmnopqrstuvw...".
	Size int
	TTL  uint8 // 0 = DefaultTTL (ping -i)
	DF   bool  // ping -f
	TOS  uint8 // ping -v
}

// EchoEvent is a reply, or an ICMP error quoting one of our requests.
type EchoEvent struct {
	From netip.Addr
	Seq  uint16
	// Type/Code: 0 = echo reply; 11 = time exceeded (code 0 TTL, 1
	// reassembly); 3 = destination unreachable (code 4 = fragmentation
	// needed, MTU set).
	Type, Code uint8
	TTL        uint8 // of the reply datagram
	Size       int   // data bytes in the reply
	At         time.Time
	MTU        int
}

// EchoSocket sends echo requests and receives what answers them.
type EchoSocket struct {
	s      *Stack
	id     uint16
	events chan EchoEvent
	once   sync.Once
}

type echoTable struct {
	s    *Stack
	mu   sync.Mutex
	m    map[uint16]*EchoSocket
	next uint16
}

func (t *echoTable) init(s *Stack) {
	t.s = s
	t.m = make(map[uint16]*EchoSocket)
	t.next = uint16(s.rng.Uint32())
}

// echoEventQueue bounds undelivered events per socket.
const echoEventQueue = 256

// NewEchoSocket opens an echo socket with an identifier of its own.
func (s *Stack) NewEchoSocket() (*EchoSocket, error) {
	t := &s.echo
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= 65535 {
		return nil, ErrNoPorts
	}
	for {
		t.next++
		if t.next != 0 && t.m[t.next] == nil {
			break
		}
	}
	es := &EchoSocket{s: s, id: t.next, events: make(chan EchoEvent, echoEventQueue)}
	t.m[es.id] = es
	return es, nil
}

// ID is the echo identifier the socket uses.
func (es *EchoSocket) ID() uint16 { return es.id }

// Events delivers replies and errors; it is closed by Close.
func (es *EchoSocket) Events() <-chan EchoEvent { return es.events }

// Close stops delivery and closes Events.
func (es *EchoSocket) Close() error {
	t := &es.s.echo
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[es.id] == es {
		delete(t.m, es.id)
	}
	es.once.Do(func() { close(es.events) })
	return nil
}

const echoPattern = "abcdefghijklmnopqrstuvw"

// maxEchoData is the largest echo payload (65535 - 20 - 8).
const maxEchoData = maxDatagram - wire.IPv4MinHeaderLen - wire.ICMPv4HeaderLen

// Send transmits an echo request. A DF request larger than the route MTU
// fails with ErrNeedsFragmentation (SPEC IP-20).
func (es *EchoSocket) Send(r EchoRequest) error {
	if r.Size < 0 || r.Size > maxEchoData {
		return fmt.Errorf("stack: echo size %d: %w", r.Size, ErrMessageTooLong)
	}
	id := r.ID
	if id == 0 {
		id = es.id
	}
	s := es.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Src.IsValid() && !r.Src.IsUnspecified() {
		if _, ok := s.local[r.Src]; !ok && !isLoopback(r.Src) {
			return fmt.Errorf("stack: echo from %v: %w", r.Src, ErrAddrNotAvailable)
		}
	}
	seg := s.txSegLocked(wire.ICMPv4HeaderLen + r.Size)
	body := seg[wire.ICMPv4HeaderLen:]
	for i := range body {
		body[i] = echoPattern[i%len(echoPattern)]
	}
	m := wire.ICMPv4{Type: wire.ICMPEcho, Body: body}
	m.SetIDSeq(id, r.Seq)
	m.Put(seg)
	return s.sendICMPLocked(&txReq{src: r.Src, dst: r.Dst, proto: wire.ProtoICMP, ttl: r.TTL, tos: r.TOS, df: r.DF},
		wire.ICMPEcho, len(seg))
}

func (t *echoTable) deliver(ev EchoEvent, id uint16) {
	t.mu.Lock()
	defer t.mu.Unlock()
	es := t.m[id]
	if es == nil {
		return
	}
	select {
	case es.events <- ev:
	default:
		inc(&t.s.st.EchoEventDrops)
	}
}

func (t *echoTable) closeAll() {
	t.mu.Lock()
	socks := make([]*EchoSocket, 0, len(t.m))
	for _, es := range t.m {
		socks = append(socks, es)
	}
	t.mu.Unlock()
	for _, es := range socks {
		es.Close()
	}
}
