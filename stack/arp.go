package stack

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/wire"
)

// ARPType says how an ARP entry was made.
type ARPType uint8

const (
	ARPDynamic    ARPType = iota // learned, aged (SPEC ARP-3/4/5)
	ARPStatic                    // manual, never aged
	ARPIncomplete                // resolution in progress
)

func (t ARPType) String() string {
	switch t {
	case ARPDynamic:
		return "dynamic"
	case ARPStatic:
		return "static"
	}
	return "invalid"
}

// ARPEntry is one line of arp -a.
type ARPEntry struct {
	IfIndex int
	IfAddr  netip.Addr // the interface's address ("Interface: x --- 0x2")
	IP      netip.Addr
	MAC     wire.MAC
	Type    ARPType
}

type arpEntry struct {
	ip      netip.Addr
	mac     wire.MAC
	typ     ARPType
	created time.Time // when it was resolved
	// lastRef is the last outgoing datagram's time (created if none yet)
	// as an offset from created: atomic, since senders holding only the
	// read lock record it (lookupLocked).
	lastRef atomic.Int64
	timer   clock.Timer
	tries   int
	pending [][]byte // datagrams with maxLinkHeader headroom (SPEC ARP-6)
	local   []bool   // whether each pending datagram was ours
	waiters []chan error
}

// arpCache is one interface's cache (SPEC ARP-2). Guarded by s.mu.
type arpCache struct {
	ifc *Interface
	m   map[netip.Addr]*arpEntry
	buf [maxLinkHeader + wire.ARPLen]byte
}

func (c *arpCache) init(ifc *Interface) {
	c.ifc = ifc
	c.m = make(map[netip.Addr]*arpEntry)
}

func (c *arpCache) flushLocked() {
	for ip, e := range c.m {
		if e.typ == ARPStatic {
			continue
		}
		c.dropLocked(ip, e, ErrHostUnreachable)
	}
}

func (c *arpCache) dropLocked(ip netip.Addr, e *arpEntry, err error) {
	if e.timer != nil {
		e.timer.Stop()
	}
	for _, w := range e.waiters {
		w <- err
	}
	delete(c.m, ip)
}

func (c *arpCache) addStaticLocked(ip netip.Addr, mac wire.MAC) {
	if e := c.m[ip]; e != nil {
		c.completeLocked(e, mac)
		if e.timer != nil {
			e.timer.Stop()
		}
		e.typ = ARPStatic
		return
	}
	c.m[ip] = &arpEntry{ip: ip, mac: mac, typ: ARPStatic}
}

// resolveLocked returns the MAC for next hop ip and marks the entry
// referenced (SPEC ARP-3), or queues a copy of datagram d while it is
// resolved (SPEC ARP-1, ARP-6) and returns false.
func (c *arpCache) resolveLocked(ip netip.Addr, d []byte, forwarded bool) (wire.MAC, bool) {
	s := c.ifc.s
	e := c.m[ip]
	if e != nil && e.typ != ARPIncomplete {
		if e.typ == ARPDynamic && d != nil {
			e.touch(s.clk.Now())
		}
		return e.mac, true
	}
	if e == nil {
		if e = c.startLocked(ip); e == nil {
			inc(&s.st.IPOutDiscards)
			return wire.MAC{}, false
		}
	}
	if d == nil {
		return wire.MAC{}, false
	}
	if len(e.pending) >= s.p.arpPendingLen && !e.sameDatagramLocked(d) {
		inc(&s.st.ARPQueueDrops)
		inc(&s.st.IPOutDiscards)
		c.ifc.ctr.txDiscards.Add(1)
		s.log.Debug("arp: pending queue full, datagram dropped", "if", c.ifc.name, "ip", ip)
		return wire.MAC{}, false
	}
	e.pending = append(e.pending, copyDatagram(d))
	e.local = append(e.local, !forwarded)
	return wire.MAC{}, false
}

// lookupLocked is resolveLocked's hit path for a sender that may hold
// only the read lock: the MAC of a resolved entry, marked referenced
// (SPEC ARP-3); false if the entry is missing or incomplete.
func (c *arpCache) lookupLocked(ip netip.Addr) (wire.MAC, bool) {
	e := c.m[ip]
	if e == nil || e.typ == ARPIncomplete {
		return wire.MAC{}, false
	}
	if e.typ == ARPDynamic {
		e.touch(c.ifc.s.clk.Now())
	}
	return e.mac, true
}

// touch records a use of the entry at now.
func (e *arpEntry) touch(now time.Time) {
	off := int64(now.Sub(e.created))
	if e.lastRef.Load() != off { // spare the cache line when unchanged
		e.lastRef.Store(off)
	}
}

// Fragments of one datagram count as that datagram against the ARP-6
// bound (a router forwarding a fragmented datagram to a host it has not
// resolved yet would otherwise keep only its first fragment), up to
// maxPendingFragBytes.
const maxPendingFragBytes = 2 * maxDatagram

func (e *arpEntry) sameDatagramLocked(d []byte) bool {
	if len(e.pending) == 0 || len(d) < 20 {
		return false
	}
	f := e.pending[0][maxLinkHeader:]
	isFrag := func(b []byte) bool { return b[6]&0x3f != 0 || b[7] != 0 }
	if !isFrag(f) || !isFrag(d) || string(f[4:6]) != string(d[4:6]) || f[9] != d[9] ||
		string(f[12:20]) != string(d[12:20]) {
		return false
	}
	total := len(d)
	for _, p := range e.pending {
		total += len(p) - maxLinkHeader
	}
	return total <= maxPendingFragBytes
}

// startLocked creates an incomplete entry and sends the first request.
func (c *arpCache) startLocked(ip netip.Addr) *arpEntry {
	s := c.ifc.s
	if len(c.m) >= s.p.arpCacheMaxEntries {
		inc(&s.st.ARPCacheFull)
		return nil
	}
	e := &arpEntry{ip: ip, typ: ARPIncomplete, tries: 1}
	c.m[ip] = e
	c.sendRequestLocked(ip)
	e.timer = s.clk.AfterFunc(s.p.arpRequestInterval, func() { c.retry(e) })
	return e
}

// retry re-sends the request, or after ArpRequestRetries declares the
// host unreachable: queued datagrams are dropped with ICMP host
// unreachable to their (local) sender.
func (c *arpCache) retry(e *arpEntry) {
	s := c.ifc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.m[e.ip] != e || e.typ != ARPIncomplete || c.ifc.removed {
		return
	}
	if e.tries < s.p.arpRequestTries {
		e.tries++
		c.sendRequestLocked(e.ip)
		e.timer.Reset(s.p.arpRequestInterval)
		return
	}
	inc(&s.st.ARPResolveFailures)
	s.log.Debug("arp: resolution failed", "if", c.ifc.name, "ip", e.ip, "requests", e.tries)
	pending := e.pending
	e.pending = nil
	c.dropLocked(e.ip, e, ErrHostUnreachable)
	for _, p := range pending {
		inc(&s.st.ARPResolveQueueFailed)
		inc(&s.st.IPOutDiscards)
		d := p[maxLinkHeader:]
		if h, _, err := wire.ParseIPv4(d); err == nil {
			s.icmpErrorLocked(d, &h, icmpDestUnreachable, icmpHostUnreachable, [4]byte{}, false)
		}
	}
}

// completeLocked records the MAC, starts aging and sends what waited.
func (c *arpCache) completeLocked(e *arpEntry, mac wire.MAC) {
	s := c.ifc.s
	now := s.clk.Now()
	e.mac = mac
	if e.typ != ARPIncomplete {
		return
	}
	e.typ = ARPDynamic
	e.created = now
	e.lastRef.Store(0)
	if e.timer != nil {
		e.timer.Stop()
	}
	e.timer = s.clk.AfterFunc(s.p.arpLife, func() { c.age(e) })
	for _, w := range e.waiters {
		w <- nil
	}
	e.waiters = nil
	pending := e.pending
	e.pending, e.local = nil, nil
	for _, p := range pending {
		e.touch(now) // SPEC ARP-3: an outgoing datagram used it
		c.ifc.transmitLocked(mac, p, maxLinkHeader)
	}
}

// expiry implements SPEC ARP-4/ARP-5 (L = ArpCacheLife, R =
// ArpCacheMinReferencedLife): with L >= R every entry lives L; otherwise an
// entry lives L after its last use by an outgoing datagram (or after its
// creation if never used), but a referenced entry no longer than R.
func (e *arpEntry) expiry(L, R time.Duration) time.Time {
	if L >= R {
		return e.created.Add(L)
	}
	exp := e.created.Add(time.Duration(e.lastRef.Load())).Add(L)
	if capAt := e.created.Add(R); capAt.Before(exp) {
		exp = capAt
	}
	return exp
}

func (c *arpCache) age(e *arpEntry) {
	s := c.ifc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.m[e.ip] != e || e.typ != ARPDynamic {
		return
	}
	now := s.clk.Now()
	exp := e.expiry(s.p.arpLife, s.p.arpRefLife)
	if now.Before(exp) {
		e.timer.Reset(exp.Sub(now))
		return
	}
	inc(&s.st.ARPEntriesExpired)
	s.log.Debug("arp: entry expired", "if", c.ifc.name, "ip", e.ip, "mac", e.mac.String(),
		"age", now.Sub(e.created))
	delete(c.m, e.ip)
}

// sourceForLocked picks the interface address to use as ARP sender for ip.
func (ifc *Interface) sourceForLocked(ip netip.Addr) netip.Addr {
	for _, a := range ifc.addrs {
		if a.state == addrActive && a.prefix.Contains(ip) {
			return a.prefix.Addr()
		}
	}
	return ifc.primaryAddrLocked()
}

func (c *arpCache) sendRequestLocked(ip netip.Addr) {
	ifc := c.ifc
	inc(&ifc.s.st.ARPOutRequests)
	ifc.sendARPLocked(wire.BroadcastMAC, &wire.ARP{Op: wire.ARPRequest, SenderMAC: ifc.mac,
		SenderIP: ifc.sourceForLocked(ip), TargetIP: ip})
}

// sendARPLocked writes one ARP packet.
func (ifc *Interface) sendARPLocked(dst wire.MAC, a *wire.ARP) {
	b := ifc.arp.buf[:]
	a.Put(b[maxLinkHeader:])
	ifc.writeFrame(dst, wire.EtherTypeARP, b, maxLinkHeader)
}

// arpInputLocked handles a received ARP packet (RFC 826 merge, SPEC
// ARP-8/9/11).
func (ifc *Interface) arpInputLocked(eh *wire.EthernetHeader, b []byte) {
	s := ifc.s
	a, err := wire.ParseARP(b)
	if err != nil {
		inc(&s.st.ARPInErrors)
		return
	}
	switch a.Op {
	case wire.ARPRequest:
		inc(&s.st.ARPInRequests)
	case wire.ARPReply:
		inc(&s.st.ARPInReplies)
	default:
		inc(&s.st.ARPInErrors)
		return
	}
	if a.SenderMAC == ifc.mac {
		return // our own (or a repair ARP naming us)
	}
	if ia := ifc.ownsLocked(a.SenderIP); ia != nil {
		ifc.conflictLocked(ia, a.SenderMAC)
		return
	}
	validSender := a.SenderIP.IsValid() && !a.SenderIP.IsUnspecified() && !a.SenderMAC.IsMulticast()
	merged := false
	if e := ifc.arp.m[a.SenderIP]; e != nil && validSender && e.typ != ARPStatic {
		ifc.arp.completeLocked(e, a.SenderMAC)
		merged = true
	}
	ta := ifc.ownsLocked(a.TargetIP)
	if ta == nil || ta.state != addrActive || !ifc.connected {
		return
	}
	if !merged && validSender && a.SenderIP != a.TargetIP {
		if len(ifc.arp.m) < s.p.arpCacheMaxEntries {
			e := &arpEntry{ip: a.SenderIP, typ: ARPIncomplete}
			ifc.arp.m[a.SenderIP] = e
			ifc.arp.completeLocked(e, a.SenderMAC)
		} else {
			inc(&s.st.ARPCacheFull)
		}
	}
	if a.Op != wire.ARPRequest {
		return
	}
	// SPEC ARP-11: requests from a non-unicast MAC (NLB) only if allowed.
	if (a.SenderMAC.IsMulticast() || eh.Src.IsMulticast()) && !s.p.bcastArpReply {
		inc(&s.st.ARPBcastReplySkipped)
		return
	}
	inc(&s.st.ARPOutReplies)
	ifc.sendARPLocked(a.SenderMAC, &wire.ARP{Op: wire.ARPReply, SenderMAC: ifc.mac, SenderIP: a.TargetIP,
		TargetMAC: a.SenderMAC, TargetIP: a.SenderIP})
}

// ARPEntries lists every interface's cache for arp -a, by interface then IP.
func (s *Stack) ARPEntries() []ARPEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ARPEntry
	for _, ifc := range s.ifaces {
		ifAddr := ifc.primaryAddrLocked()
		start := len(out)
		for _, e := range ifc.arp.m {
			out = append(out, ARPEntry{IfIndex: ifc.index, IfAddr: ifAddr, IP: e.ip, MAC: e.mac, Type: e.typ})
		}
		slices.SortFunc(out[start:], func(a, b ARPEntry) int { return a.IP.Compare(b.IP) })
	}
	return out
}

// AddStaticARP adds a static entry ("arp -s") on the interface that owns
// ifAddr, or (ifAddr unspecified) the one whose subnet contains ip.
func (s *Stack) AddStaticARP(ip netip.Addr, mac wire.MAC, ifAddr netip.Addr) error {
	if !ip.Is4() {
		return fmt.Errorf("stack: arp -s %v: %w", ip, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ifc := s.arpIfaceLocked(ip, ifAddr)
	if ifc == nil {
		return fmt.Errorf("stack: arp -s %v: no interface for it: %w", ip, ErrNoInterface)
	}
	ifc.arp.addStaticLocked(ip, mac)
	return nil
}

// DeleteARP removes ip from every interface's cache ("arp -d").
func (s *Stack) DeleteARP(ip netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	for _, ifc := range s.ifaces {
		if e := ifc.arp.m[ip]; e != nil {
			ifc.arp.dropLocked(ip, e, ErrHostUnreachable)
			found = true
		}
	}
	if !found {
		return fmt.Errorf("stack: arp -d %v: %w", ip, ErrNotFound)
	}
	return nil
}

func (s *Stack) arpIfaceLocked(ip, ifAddr netip.Addr) *Interface {
	for _, ifc := range s.ifaces {
		if ifAddr.IsValid() && !ifAddr.IsUnspecified() {
			if ifc.ownsLocked(ifAddr) != nil {
				return ifc
			}
			continue
		}
		for _, a := range ifc.addrs {
			if a.prefix.Contains(ip) {
				return ifc
			}
		}
	}
	if !ifAddr.IsValid() || ifAddr.IsUnspecified() {
		if rt, ok := s.routes.lookup(s, ip, netip.Addr{}); ok {
			return s.ifaceByIndexLocked(rt.IfIndex)
		}
	}
	return nil
}

// SendARP resolves ip on its connected subnet, like the IP Helper
// SendArp() (SPEC ARP-6), using the cache when it holds the answer.
func (s *Stack) SendARP(ctx context.Context, ip netip.Addr) (wire.MAC, error) {
	s.mu.Lock()
	rt, ok := s.routes.lookup(s, ip, netip.Addr{})
	var ifc *Interface
	if ok && !rt.Gateway.IsValid() && rt.Kind == RouteConnected {
		ifc = s.ifaceByIndexLocked(rt.IfIndex)
	}
	if ifc == nil {
		s.mu.Unlock()
		return wire.MAC{}, fmt.Errorf("stack: SendARP %v: %w", ip, ErrNotOnLink)
	}
	if mac, ok := ifc.arp.resolveLocked(ip, nil, false); ok {
		s.mu.Unlock()
		return mac, nil
	}
	e := ifc.arp.m[ip]
	if e == nil {
		s.mu.Unlock()
		return wire.MAC{}, fmt.Errorf("stack: SendARP %v: %w", ip, ErrHostUnreachable)
	}
	ch := make(chan error, 1)
	e.waiters = append(e.waiters, ch)
	s.mu.Unlock()
	select {
	case err := <-ch:
		if err != nil {
			return wire.MAC{}, fmt.Errorf("stack: SendARP %v: %w", ip, err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if e := ifc.arp.m[ip]; e != nil && e.typ != ARPIncomplete {
			return e.mac, nil
		}
		return wire.MAC{}, fmt.Errorf("stack: SendARP %v: %w", ip, ErrHostUnreachable)
	case <-ctx.Done():
		s.mu.Lock()
		if e := ifc.arp.m[ip]; e != nil {
			e.waiters = slices.DeleteFunc(e.waiters, func(w chan error) bool { return w == ch })
		}
		s.mu.Unlock()
		return wire.MAC{}, ctx.Err()
	}
}
