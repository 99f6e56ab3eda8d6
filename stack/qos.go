package stack

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// QoS (SPEC §16): what a host needs to mark and schedule its own flows.
//
//   - Flows and filters (QOS-1, QOS-5's "Traffic.dll / TC API" and packet
//     classifier): AddQoSFlow gives the datagrams a FlowFilter matches a
//     service type. UDPConn.SetQoS and the root package's Host.SetQoS are
//     the per-socket forms (GQoS's role, done as a Go API). TCP needs no
//     hook in tcp/: its segments are classified by their ports here.
//   - Marking (QOS-4): a classified datagram gets its service type's
//     DiffServ codepoint in the former TOS bits (ECN bits kept) on every
//     interface, and, where the interface allows 802.1p
//     (InterfaceConfig.QoS.Tag8021p), its frames get an 802.1Q tag with
//     VID 0 and the service type's priority.
//   - Packet scheduler (QOS-5), per interface, off by default as in
//     Table 1 (InterfaceConfig.QoS.PacketScheduler): one queue per class
//     served in strict priority order (network control > guaranteed >
//     controlled load > best effort; unclassified traffic is best effort),
//     paced to LinkSpeed, and a token-bucket shaper holding a flow's
//     non-conforming datagrams until they conform (bounded queues, drops
//     counted).
//
// RSVP signalling (QOS-3), admission control and policy servers (QOS-2
// steps 2-3) are not implemented: a flow is installed at once, as if its
// reservation had been granted, and is marked from then on (QOS-2 step 4).
//
// Choices where SPEC is silent ([AMB]-style):
//
//   - Codepoints and priorities are the Windows 2000 Packet Scheduler's
//     defaults (its DiffServByteMappingConforming and UserPriorityMapping
//     registry tables): best effort 0/0, controlled load 0x18 (CS3)/4,
//     guaranteed 0x28 (CS5)/5, network control 0x30 (CS6)/7, qualitative
//     0/0. They agree with RFC 2474's class selectors and the IEEE 802.1D
//     Annex G traffic types (4 controlled load, 5 video < 100 ms latency,
//     7 network control).
//   - Marking does not depend on the scheduler: a flow an application
//     asked for is always marked; the scheduler (off by default) only adds
//     queueing and shaping. Shaped datagrams wait until they conform, so
//     they keep the conforming marks (the non-conforming ones, DSCP 0 and
//     802.1p priority 1, are unused).
//   - Only classified flows are tagged, with their priority (0 included);
//     other frames stay untagged. 802.3 SNAP frames (ArpUseEtherSNAP) are
//     never tagged. Tagging lowers the interface's MTU by 4 bytes (QOS-4
//     "may lower the reported MTU by 4 bytes"), so a tagged frame is no
//     larger than an untagged full-sized one on any device.
//   - Received frames: priority-tagged (VID 0) frames are taken like
//     untagged ones; frames of another VLAN are counted as an unknown
//     protocol (wire.ParseEthernet).
//   - The scheduler carries what goes through the IP output stage
//     (transports, UDP, ICMP); ARP and datagrams released after ARP
//     resolution bypass it. With LinkSpeed 0 the link is never considered
//     busy, so only shaping delays anything.
//   - WS-5/IP-19: Stapel's sockets have no Winsock-style TOS option at all
//     (UDPConn and TCP conns offer none); QoS is the only way for an
//     application to mark its traffic, which is what DisableUserTOSSetting=1
//     amounts to. ping -v keeps setting the TOS of echo requests: a
//     diagnostic tool, not a socket option.

// ServiceType is a flowspec's service type (SPEC QOS-1).
type ServiceType uint8

// Service types, as GQoS names them.
const (
	ServiceBestEffort ServiceType = iota
	ServiceControlledLoad
	ServiceGuaranteed
	ServiceNetworkControl
	ServiceQualitative
	numServiceTypes
)

var serviceNames = [numServiceTypes]string{"best effort", "controlled load", "guaranteed", "network control", "qualitative"}

func (t ServiceType) String() string {
	if t < numServiceTypes {
		return serviceNames[t]
	}
	return "invalid"
}

// ParseServiceType reads a service type by its name ("controlled load";
// dashes or underscores for the spaces, any case, and "be", "cl", "g",
// "nc", "q" are accepted).
func ParseServiceType(name string) (ServiceType, bool) {
	n := strings.NewReplacer("-", " ", "_", " ").Replace(strings.ToLower(strings.TrimSpace(name)))
	for t, s := range serviceNames {
		if n == s || n == abbrev[t] {
			return ServiceType(t), true
		}
	}
	return 0, false
}

var abbrev = [numServiceTypes]string{"be", "cl", "g", "nc", "q"}

// Windows 2000 Packet Scheduler defaults (see the choices above).
var (
	serviceDSCP     = [numServiceTypes]uint8{0x00, 0x18, 0x28, 0x30, 0x00}
	servicePriority = [numServiceTypes]uint8{0, 4, 5, 7, 0}
	serviceClass    = [numServiceTypes]int{classBestEffort, classControlledLoad, classGuaranteed, classNetworkControl, classBestEffort}
)

// DSCP is the DiffServ codepoint a conforming datagram of the service
// type carries (SPEC QOS-4).
func (t ServiceType) DSCP() uint8 { return serviceDSCP[t%numServiceTypes] }

// Priority is the 802.1p priority of its frames (SPEC QOS-4).
func (t ServiceType) Priority() uint8 { return servicePriority[t%numServiceTypes] }

// Scheduler classes, lowest first (SPEC QOS-5).
const (
	classBestEffort = iota
	classControlledLoad
	classGuaranteed
	classNetworkControl
	numClasses
)

// QoSSpec is the part of a flowspec Stapel acts on (SPEC QOS-1).
type QoSSpec struct {
	Service ServiceType
	// TokenRate is the agreed rate in bytes per second; 0 = not shaped.
	// Shaping needs the interface's packet scheduler.
	TokenRate int64
	// BucketSize is the token bucket depth in bytes (the burst allowed);
	// 0 means one full-sized frame.
	BucketSize int
}

// FlowFilter selects a flow's datagrams (the TC API's filter): any field
// left zero (Proto 0, an invalid or unspecified address, port 0) matches
// anything. Local is the source, Remote the destination.
type FlowFilter struct {
	Proto         uint8
	Local, Remote netip.AddrPort
}

// QoSFlow is an installed flow; Close removes it.
type QoSFlow struct {
	s      *Stack
	filter FlowFilter
	spec   QoSSpec
	tos    uint8 // DSCP << 2
	pcp    uint8
	class  int

	sent, delayed, dropped atomic.Uint64
}

// QoSFlowStats counts a flow's datagrams: Sent marked, Delayed by the
// shaper, Dropped by full scheduler queues.
type QoSFlowStats struct {
	Sent, Delayed, Dropped uint64
}

// ErrQoSInvalid reports a bad QoS request.
var ErrQoSInvalid = errors.New("stack: invalid QoS request")

// qosTable is the stack's flow list, copied on write so the send path
// reads it with one atomic load (nil: no flows, nothing to classify).
type qosTable struct {
	mu    sync.Mutex
	flows atomic.Pointer[[]*QoSFlow]
}

// AddQoSFlow installs a flow: datagrams the filter matches are marked
// with spec's DSCP and 802.1p priority and scheduled in its class (SPEC
// QOS-1, QOS-2 step 4). The first matching flow wins.
func (s *Stack) AddQoSFlow(f FlowFilter, spec QoSSpec) (*QoSFlow, error) {
	if spec.Service >= numServiceTypes || spec.TokenRate < 0 || spec.BucketSize < 0 {
		return nil, ErrQoSInvalid
	}
	fl := &QoSFlow{s: s, filter: f, spec: spec, tos: spec.Service.DSCP() << 2,
		pcp: spec.Service.Priority(), class: serviceClass[spec.Service]}
	t := &s.qos
	t.mu.Lock()
	defer t.mu.Unlock()
	var l []*QoSFlow
	if p := t.flows.Load(); p != nil {
		l = append(l, *p...)
	}
	l = append(l, fl)
	t.flows.Store(&l)
	return fl, nil
}

// Close removes the flow; its datagrams are no longer marked.
func (fl *QoSFlow) Close() error {
	t := &fl.s.qos
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.flows.Load()
	if p == nil {
		return nil
	}
	var l []*QoSFlow
	for _, x := range *p {
		if x != fl {
			l = append(l, x)
		}
	}
	if len(l) == 0 {
		t.flows.Store(nil)
	} else {
		t.flows.Store(&l)
	}
	return nil
}

// Filter returns the flow's filter.
func (fl *QoSFlow) Filter() FlowFilter { return fl.filter }

// Spec returns the flow's QoS request.
func (fl *QoSFlow) Spec() QoSSpec { return fl.spec }

// Stats returns the flow's counters.
func (fl *QoSFlow) Stats() QoSFlowStats {
	return QoSFlowStats{Sent: fl.sent.Load(), Delayed: fl.delayed.Load(), Dropped: fl.dropped.Load()}
}

// SetQoS gives the socket's datagrams a service type: a flow matching its
// local address and port (and remote one when connected). Close the
// returned flow when done; closing the socket does not remove it.
func (c *UDPConn) SetQoS(spec QoSSpec) (*QoSFlow, error) {
	fl, err := c.s.AddQoSFlow(FlowFilter{Proto: wire.ProtoUDP, Local: c.laddr, Remote: c.raddr}, spec)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	closed := c.closed
	if !closed {
		c.qosFlows = append(c.qosFlows, fl) // ended by Close
	}
	c.mu.Unlock()
	if closed {
		fl.Close()
		return nil, c.opErr("set qos", net.ErrClosed)
	}
	return fl, nil
}

// closeQoSFlows ends the flows SetQoS installed (Close calls it).
func (c *UDPConn) closeQoSFlows() {
	c.mu.Lock()
	fls := c.qosFlows
	c.qosFlows = nil
	c.mu.Unlock()
	for _, fl := range fls {
		fl.Close()
	}
}

// stop cancels the scheduler's timer: frames still queued are dropped
// with the interface.
func (q *ifQoS) stop() {
	if q == nil || q.sched == nil {
		return
	}
	sc := q.sched
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.timer != nil {
		sc.timer.Stop()
	}
	sc.timerAt = time.Time{}
	for c := range sc.queues {
		sc.queues[c] = nil
	}
}

// matches: the filter selects a datagram from src:sport to dst:dport.
func (f *FlowFilter) matches(proto uint8, src netip.Addr, sport uint16, dst netip.Addr, dport uint16) bool {
	if f.Proto != 0 && f.Proto != proto {
		return false
	}
	if a := f.Local.Addr(); a.IsValid() && !a.IsUnspecified() && a != src {
		return false
	}
	if a := f.Remote.Addr(); a.IsValid() && !a.IsUnspecified() && a != dst {
		return false
	}
	if p := f.Local.Port(); p != 0 && p != sport {
		return false
	}
	if p := f.Remote.Port(); p != 0 && p != dport {
		return false
	}
	return true
}

// classify is the packet classifier (SPEC QOS-5): it marks r with the
// first flow whose filter matches (the DSCP goes into r.tos now, the
// priority and class travel with the plan to the link). A datagram whose
// source is not chosen yet matches only filters without a local address.
func (s *Stack) classify(r *txReq, segLen int, flows []*QoSFlow) {
	var sport, dport uint16
	if (r.proto == wire.ProtoTCP || r.proto == wire.ProtoUDP) && segLen >= 4 {
		seg := r.buf[txHeadroom:]
		sport = uint16(seg[0])<<8 | uint16(seg[1])
		dport = uint16(seg[2])<<8 | uint16(seg[3])
	}
	for _, fl := range flows {
		if fl.filter.matches(r.proto, r.src, sport, r.dst, dport) {
			r.tos = fl.tos | r.tos&3 // SPEC QOS-4: DSCP in the former TOS bits
			r.qos = fl
			fl.sent.Add(1)
			return
		}
	}
}

// InterfaceQoS configures marking and scheduling on one interface.
type InterfaceQoS struct {
	// Tag8021p allows 802.1p priority tags on classified flows' frames
	// (and lowers the MTU by 4 bytes, SPEC QOS-4).
	Tag8021p bool
	// PacketScheduler turns the packet scheduler on (SPEC QOS-5; off by
	// default, Table 1).
	PacketScheduler bool
	// LinkSpeed is the rate in bits per second the scheduler paces the
	// link to; 0 = the device's pace (queues fill only while shaping).
	LinkSpeed int64
	// QueueLen bounds each class queue and each flow's shaping queue in
	// datagrams; 0 means 64.
	QueueLen int
}

// ifQoS is an interface's QoS stage; nil when tagging and the scheduler
// are both off, which is the fast path's only cost (one nil check).
type ifQoS struct {
	tag   bool
	sched *scheduler
}

func newIfQoS(ifc *Interface, c InterfaceQoS) *ifQoS {
	if !c.Tag8021p && !c.PacketScheduler {
		return nil
	}
	q := &ifQoS{tag: c.Tag8021p}
	if c.PacketScheduler {
		n := c.QueueLen
		if n <= 0 {
			n = 64
		}
		q.sched = &scheduler{ifc: ifc, clk: ifc.s.clk, rate: c.LinkSpeed / 8, limit: n,
			shapers: make(map[*QoSFlow]*shaper)}
	}
	return q
}

// transmitQoS is txPlan.transmit through the interface's QoS stage.
func (p *txPlan) transmitQoS(q *ifQoS, buf []byte) error {
	o := qosOut{ifc: p.ifc, q: q, flow: p.qos}
	if p.gsoSegs == 0 {
		return p.ifc.transmitVia(p.dstMAC, buf[:p.end], p.off, p.mtu, &o)
	}
	if !o.tagged() && q.sched == nil {
		return p.ifc.writeGSO(p.dstMAC, buf[:p.end], p.off, p.gsoSize, p.gsoSegs)
	}
	// Tags and queues work on wire-sized frames: cut the super-segment
	// in software and send each piece like any other datagram.
	eh := wire.EthernetHeader{Dst: p.dstMAC, Src: p.ifc.mac, Type: wire.EtherTypeIPv4}
	start := p.off - eh.Len()
	eh.Put(buf[start:p.off])
	fbp := fragBufPool.Get().(*[]byte)
	defer fragBufPool.Put(fbp)
	fb := *fbp
	var werr error
	_, err := link.SegmentTCP(buf[start:p.end], link.GSOInfo{Type: link.GSOTCPv4, SegSize: p.gsoSize}, func(seg []byte) {
		if werr == nil {
			n := copy(fb[maxLinkHeader:], seg[wire.EthernetHeaderLen:])
			werr = o.frame(p.dstMAC, fb[:maxLinkHeader+n], maxLinkHeader)
		}
	})
	if err != nil {
		return err
	}
	return werr
}

// transmitQueuedQoS is transmitLocked through the QoS stage, for a
// datagram that waited for ARP: its flow is found again from its headers
// (it already carries the DSCP, and was counted when it was sent).
func (ifc *Interface) transmitQueuedQoS(dstMAC wire.MAC, buf []byte, off int) error {
	o := qosOut{ifc: ifc, q: ifc.qos}
	if fl := ifc.s.qos.flows.Load(); fl != nil {
		if h, payload, err := wire.ParseIPv4(buf[off:]); err == nil {
			var sport, dport uint16
			if (h.Protocol == wire.ProtoTCP || h.Protocol == wire.ProtoUDP) && h.FragOff == 0 && len(payload) >= 4 {
				sport = uint16(payload[0])<<8 | uint16(payload[1])
				dport = uint16(payload[2])<<8 | uint16(payload[3])
			}
			for _, f := range *fl {
				if f.filter.matches(h.Protocol, h.Src, sport, h.Dst, dport) {
					o.flow = f
					break
				}
			}
		}
	}
	return ifc.transmitVia(dstMAC, buf, off, ifc.mtu, &o)
}

// qosOut is where transmitVia hands frames when the QoS stage is on.
type qosOut struct {
	ifc  *Interface
	q    *ifQoS
	flow *QoSFlow
}

func (o *qosOut) tagged() bool { return o.q.tag && o.flow != nil && !o.ifc.s.p.arpSNAP }

// frame puts the link header (with the 802.1Q tag when due) in front of
// the datagram buf[off:] and writes or queues it. off >= maxLinkHeader.
func (o *qosOut) frame(dstMAC wire.MAC, buf []byte, off int) error {
	ifc := o.ifc
	eh := wire.EthernetHeader{Dst: dstMAC, Src: ifc.mac, Type: wire.EtherTypeIPv4, SNAP: ifc.s.p.arpSNAP}
	if o.tagged() { // SPEC QOS-4: priority tag, VID 0
		eh.Tagged, eh.Priority = true, o.flow.pcp
	}
	start := off - eh.Len()
	eh.Put(buf[start:off])
	if eh.SNAP {
		wire.PutSNAPLength(buf[start:], len(buf)-off)
	}
	if o.q.sched != nil {
		return o.q.sched.enqueue(buf[start:], o.flow)
	}
	return ifc.writeRaw(buf[start:])
}

// writeRaw writes a complete frame and counts it as writeFrame does.
func (ifc *Interface) writeRaw(frame []byte) error {
	s := ifc.s
	if err := ifc.ep.WriteFrame(frame); err != nil {
		inc(&s.st.LinkTxErrors)
		ifc.ctr.txErrors.Add(1)
		return err
	}
	inc(&s.st.LinkTxFrames)
	ifc.ctr.txBytes.Add(uint64(len(frame)))
	if frame[0]&1 != 0 {
		ifc.ctr.txNonUnicast.Add(1)
	} else {
		ifc.ctr.txUnicast.Add(1)
	}
	return nil
}

// scheduler is one interface's packet scheduler (SPEC QOS-5): a shaper
// per shaped flow (conformance analyser and shaper), one FIFO per class,
// and a sequencer writing the highest non-empty class first whenever the
// link is free. Its mutex is taken after Stack.mu (sendLocked) and before
// the endpoint's locks; frames are written with it held, so the
// interface's output is serialised while the scheduler is on.
type scheduler struct {
	ifc   *Interface
	clk   clock.Clock
	rate  int64 // link bytes/s; 0 = unpaced
	limit int

	mu        sync.Mutex
	queues    [numClasses][][]byte
	shapers   map[*QoSFlow]*shaper
	busyUntil time.Time // the link is sending until then (rate > 0)
	timer     clock.Timer
	timerAt   time.Time // when timer fires; zero: not armed

	enqueued, dropped [numClasses]atomic.Uint64
}

// shaper is a flow's token bucket and the datagrams waiting for tokens.
type shaper struct {
	fl     *QoSFlow
	tokens float64
	last   time.Time
	q      [][]byte
}

// SchedulerStats are an interface's packet-scheduler counters by class
// (index 0 best effort .. 3 network control): frames that had to wait in
// a class queue, and frames dropped because a queue was full.
type SchedulerStats struct {
	Queued, Dropped [numClasses]uint64
}

// SchedulerStats returns the interface's scheduler counters (zero when
// the scheduler is off).
func (ifc *Interface) SchedulerStats() SchedulerStats {
	var st SchedulerStats
	if ifc.qos == nil || ifc.qos.sched == nil {
		return st
	}
	for c := range numClasses {
		st.Queued[c] = ifc.qos.sched.enqueued[c].Load()
		st.Dropped[c] = ifc.qos.sched.dropped[c].Load()
	}
	return st
}

func (sc *scheduler) bucket(fl *QoSFlow) float64 {
	if fl.spec.BucketSize > 0 {
		return float64(fl.spec.BucketSize)
	}
	return float64(sc.ifc.mtu + wire.EthernetHeaderLen + wire.Dot1QTagLen)
}

// refill adds the tokens earned since the last look.
func (sc *scheduler) refill(sh *shaper, now time.Time) {
	sh.tokens += float64(sh.fl.spec.TokenRate) * now.Sub(sh.last).Seconds()
	sh.tokens = min(sh.tokens, sc.bucket(sh.fl))
	sh.last = now
}

// need is what a frame costs the bucket; a frame larger than the bucket
// waits for a full one (and leaves it in debt) so it is not stuck forever.
func (sc *scheduler) need(sh *shaper, n int) float64 { return min(float64(n), sc.bucket(sh.fl)) }

// enqueue takes a frame (valid only during the call) from fl (nil:
// unclassified, best effort).
func (sc *scheduler) enqueue(frame []byte, fl *QoSFlow) error {
	cls := classBestEffort
	if fl != nil {
		cls = fl.class
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	now := sc.clk.Now()
	if fl != nil && fl.spec.TokenRate > 0 {
		sh := sc.shapers[fl]
		if sh == nil {
			sh = &shaper{fl: fl, tokens: sc.bucket(fl), last: now}
			sc.shapers[fl] = sh
		}
		sc.refill(sh, now)
		if len(sh.q) > 0 || sh.tokens < sc.need(sh, len(frame)) {
			// Non-conforming: wait for tokens (bounded).
			if len(sh.q) >= sc.limit {
				fl.dropped.Add(1)
				sc.dropped[cls].Add(1)
				sc.ifc.ctr.txDiscards.Add(1)
				return nil
			}
			sh.q = append(sh.q, append([]byte(nil), frame...))
			fl.delayed.Add(1)
			sc.armLocked(now)
			return nil
		}
		sh.tokens -= sc.need(sh, len(frame))
	}
	var err error
	if sc.linkFreeLocked(now) && sc.emptyLocked() {
		err = sc.writeLocked(frame, now) // nothing waits: no copy
	} else {
		sc.pushLocked(cls, append([]byte(nil), frame...), fl)
	}
	sc.pumpLocked(now)
	return err
}

func (sc *scheduler) linkFreeLocked(now time.Time) bool {
	return sc.rate == 0 || !now.Before(sc.busyUntil)
}

func (sc *scheduler) emptyLocked() bool {
	for c := range sc.queues {
		if len(sc.queues[c]) > 0 {
			return false
		}
	}
	return true
}

// pushLocked appends a frame it owns to its class queue (dropping it if
// the queue is full).
func (sc *scheduler) pushLocked(cls int, frame []byte, fl *QoSFlow) {
	if len(sc.queues[cls]) >= sc.limit {
		sc.dropped[cls].Add(1)
		sc.ifc.ctr.txDiscards.Add(1)
		if fl != nil {
			fl.dropped.Add(1)
		}
		return
	}
	sc.queues[cls] = append(sc.queues[cls], frame)
	sc.enqueued[cls].Add(1)
}

// writeLocked writes a frame and books the link for its duration.
func (sc *scheduler) writeLocked(frame []byte, now time.Time) error {
	if sc.rate > 0 { // called only when the link is free (busyUntil <= now)
		sc.busyUntil = now.Add(time.Duration(int64(len(frame)) * int64(time.Second) / sc.rate))
	}
	return sc.ifc.writeRaw(frame)
}

// pumpLocked moves conforming shaped frames to their class queues and
// writes queued frames, highest class first, while the link is free; it
// then arms the timer for the next event.
func (sc *scheduler) pumpLocked(now time.Time) {
	for fl, sh := range sc.shapers {
		sc.refill(sh, now)
		for len(sh.q) > 0 && sh.tokens >= sc.need(sh, len(sh.q[0])) {
			sh.tokens -= sc.need(sh, len(sh.q[0]))
			sc.pushLocked(fl.class, sh.q[0], fl)
			sh.q[0] = nil
			sh.q = sh.q[1:]
		}
		if len(sh.q) == 0 && sh.tokens >= sc.bucket(fl) {
			delete(sc.shapers, fl) // a full bucket is what a new shaper starts with
		}
	}
	for sc.linkFreeLocked(now) {
		c := numClasses - 1
		for c >= 0 && len(sc.queues[c]) == 0 {
			c--
		}
		if c < 0 {
			break
		}
		f := sc.queues[c][0]
		sc.queues[c][0] = nil
		sc.queues[c] = sc.queues[c][1:]
		sc.writeLocked(f, now) // errors are counted
	}
	sc.armLocked(now)
}

// armLocked sets the timer for the earliest of: the link becoming free
// with frames queued, and a shaped flow's head conforming.
func (sc *scheduler) armLocked(now time.Time) {
	var at time.Time
	if !sc.emptyLocked() && sc.rate > 0 {
		at = sc.busyUntil
	}
	for _, sh := range sc.shapers {
		if len(sh.q) == 0 {
			continue
		}
		rate := float64(sh.fl.spec.TokenRate)
		wait := (sc.need(sh, len(sh.q[0])) - sh.tokens) / rate
		t := now.Add(time.Duration(wait*float64(time.Second)) + 1)
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	if at.IsZero() || (!sc.timerAt.IsZero() && !sc.timerAt.After(at)) {
		return
	}
	sc.timerAt = at
	d := at.Sub(now)
	if sc.timer == nil {
		sc.timer = sc.clk.AfterFunc(d, sc.fire)
	} else {
		sc.timer.Reset(d)
	}
}

func (sc *scheduler) fire() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.timerAt = time.Time{}
	sc.pumpLocked(sc.clk.Now())
}
