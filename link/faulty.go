package link

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/wire"
)

// Direction selects which way a FaultConfig applies.
type Direction int

const (
	Both     Direction = iota // frames written and frames received
	Outbound                  // frames written (WriteFrame, toward the wire)
	Inbound                   // frames received (toward the Dispatcher)
)

// DefaultReorderDelay is how long a frame picked for reordering is held
// back (on top of Delay and Jitter) when ReorderDelay is zero.
const DefaultReorderDelay = 5 * time.Millisecond

// FaultConfig describes the impairments of one direction. Probabilities
// are in 0..1 and drawn per frame.
type FaultConfig struct {
	Delay, Jitter time.Duration // each frame waits Delay + uniform[0, Jitter)
	Loss          float64       // frame silently dropped
	Duplicate     float64       // frame sent twice
	Reorder       float64       // frame held back by ReorderDelay so later ones overtake it
	ReorderDelay  time.Duration // 0 = DefaultReorderDelay
	Corrupt       float64       // one byte of the IP datagram (after the Ethernet header) flipped
	// MTU > 0 drops IPv4 datagrams longer than MTU: a router that cannot
	// forward them (the black hole of PMTU discovery).
	MTU int
	// DropICMPFragNeeded drops ICMP "fragmentation needed" errors, as a
	// firewall hiding a black-hole router does.
	DropICMPFragNeeded bool
	// Direction says where the config applies (NewFaulty, SetConfig).
	Direction Direction
	// QueueLen bounds the delayed frames in flight (0 = DefaultQueueLen).
	QueueLen int
}

// FaultCounts counts what happened to frames in one direction. Frames =
// Passed + Lost + MTUDrops + ICMPDrops + QueueDrops + Undelivered; Duplicated
// copies are counted only there.
type FaultCounts struct {
	Frames      uint64 // frames offered
	Passed      uint64 // frames passed on (not counting duplicates)
	Lost        uint64
	Duplicated  uint64
	Reordered   uint64
	Corrupted   uint64
	Delayed     uint64
	MTUDrops    uint64
	ICMPDrops   uint64
	QueueDrops  uint64 // too many delayed frames in flight
	Undelivered uint64 // delayed frame fell due after Close
}

// FaultStats holds the counts of both directions.
type FaultStats struct{ Out, In FaultCounts }

type faultCounters struct {
	frames, passed, lost, duplicated, reordered, corrupted atomic.Uint64
	delayed, mtuDrops, icmpDrops, queueDrops, undelivered  atomic.Uint64
}

func (c *faultCounters) snapshot() FaultCounts {
	return FaultCounts{
		Frames: c.frames.Load(), Passed: c.passed.Load(), Lost: c.lost.Load(),
		Duplicated: c.duplicated.Load(), Reordered: c.reordered.Load(),
		Corrupted: c.corrupted.Load(), Delayed: c.delayed.Load(),
		MTUDrops: c.mtuDrops.Load(), ICMPDrops: c.icmpDrops.Load(),
		QueueDrops: c.queueDrops.Load(), Undelivered: c.undelivered.Load(),
	}
}

// Faulty is an Endpoint wrapper that impairs traffic: delay, jitter,
// loss, duplication, reordering, corruption, an MTU black hole and
// filtering of ICMP "fragmentation needed". Its random choices come from
// one seeded generator, so with a virtual clock a run is reproducible.
type Faulty struct {
	inner Endpoint
	clk   clock.Clock

	rmu sync.Mutex // guards rng and cfg
	rng *rand.Rand
	cfg [2]FaultConfig // [out, in]

	dmu    sync.Mutex // held while calling d
	d      Dispatcher
	closed atomic.Bool

	inflight [2]atomic.Int64
	cnt      [2]faultCounters
}

const (
	dirOut = 0
	dirIn  = 1
)

var _ Endpoint = (*Faulty)(nil)

// NewFaulty wraps inner. Delays are scheduled on clk (real or virtual).
func NewFaulty(inner Endpoint, clk clock.Clock, cfg FaultConfig, seed int64) *Faulty {
	f := &Faulty{inner: inner, clk: clk,
		rng: rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x5354_4150_454c))}
	f.SetConfig(cfg)
	return f
}

// SetConfig replaces the impairments: for both directions, or, if
// cfg.Direction is Outbound or Inbound, for that one while the other
// becomes unimpaired.
func (f *Faulty) SetConfig(cfg FaultConfig) {
	var out, in FaultConfig
	switch cfg.Direction {
	case Outbound:
		out = cfg
	case Inbound:
		in = cfg
	default:
		out, in = cfg, cfg
	}
	f.SetConfigs(out, in)
}

// SetConfigs sets each direction's impairments separately.
func (f *Faulty) SetConfigs(out, in FaultConfig) {
	f.rmu.Lock()
	f.cfg = [2]FaultConfig{out, in}
	f.rmu.Unlock()
}

// Stats returns the counters of both directions.
func (f *Faulty) Stats() FaultStats {
	return FaultStats{Out: f.cnt[dirOut].snapshot(), In: f.cnt[dirIn].snapshot()}
}

// Inner returns the wrapped endpoint.
func (f *Faulty) Inner() Endpoint { return f.inner }

func (f *Faulty) Name() string  { return f.inner.Name() }
func (f *Faulty) MTU() int      { return f.inner.MTU() }
func (f *Faulty) MAC() wire.MAC { return f.inner.MAC() }

// WriteFrame applies the outbound impairments, then writes to the inner
// endpoint (now, or later from a timer). Size errors are reported at once.
func (f *Faulty) WriteFrame(frame []byte) error {
	if f.closed.Load() {
		return ErrClosed
	}
	if err := checkFrame(frame, f.inner.MTU()); err != nil {
		return err
	}
	f.apply(dirOut, frame)
	return nil
}

// Attach routes frames from the inner endpoint through the inbound
// impairments to d.
func (f *Faulty) Attach(d Dispatcher) {
	f.dmu.Lock()
	f.d = d
	f.dmu.Unlock()
	f.inner.Attach(faultyIn{f})
}

// Close closes the inner endpoint; delayed frames still pending are
// dropped (counted as Undelivered).
func (f *Faulty) Close() error {
	f.closed.Store(true)
	err := f.inner.Close()
	f.dmu.Lock() // wait out a callback in progress
	f.d = nil
	f.dmu.Unlock()
	return err
}

type faultyIn struct{ f *Faulty }

func (fi faultyIn) DeliverFrame(frame []byte) { fi.f.apply(dirIn, frame) }
func (fi faultyIn) LinkStateChanged(up bool) {
	fi.f.dmu.Lock()
	defer fi.f.dmu.Unlock()
	if fi.f.d != nil && !fi.f.closed.Load() {
		fi.f.d.LinkStateChanged(up)
	}
}

// verdict is what the dice decided for one frame.
type verdict struct {
	drop               *atomic.Uint64 // counter to bump if dropped
	copies             int
	delay              [2]time.Duration
	corruptAt          int // -1: none
	corruptXor         byte
	reordered, delayed bool
}

func (f *Faulty) decide(dir int, frame []byte) verdict {
	c := &f.cnt[dir]
	v := verdict{copies: 1, corruptAt: -1}
	f.rmu.Lock()
	defer f.rmu.Unlock()
	cfg := &f.cfg[dir]
	ipLen, icmpFragNeeded := inspectIPv4(frame)
	switch {
	case cfg.MTU > 0 && ipLen > cfg.MTU:
		v.drop = &c.mtuDrops
		return v
	case cfg.DropICMPFragNeeded && icmpFragNeeded:
		v.drop = &c.icmpDrops
		return v
	case cfg.Loss > 0 && f.rng.Float64() < cfg.Loss:
		v.drop = &c.lost
		return v
	}
	if cfg.Duplicate > 0 && f.rng.Float64() < cfg.Duplicate {
		v.copies = 2
	}
	if cfg.Corrupt > 0 && f.rng.Float64() < cfg.Corrupt && len(frame) > EthernetHeaderLen {
		end := len(frame)
		if ipLen > 0 && EthernetHeaderLen+ipLen < end {
			end = EthernetHeaderLen + ipLen // flip inside the datagram, not the padding
		}
		v.corruptAt = EthernetHeaderLen + f.rng.IntN(end-EthernetHeaderLen)
		v.corruptXor = byte(1 + f.rng.IntN(255))
	}
	for i := range v.copies {
		d := cfg.Delay
		if cfg.Jitter > 0 {
			d += time.Duration(f.rng.Int64N(int64(cfg.Jitter)))
		}
		if cfg.Reorder > 0 && f.rng.Float64() < cfg.Reorder {
			rd := cfg.ReorderDelay
			if rd <= 0 {
				rd = DefaultReorderDelay
			}
			d += rd
			v.reordered = true
		}
		v.delay[i] = max(d, 0)
		v.delayed = v.delayed || v.delay[i] > 0
	}
	return v
}

// apply runs one frame through direction dir's impairments.
func (f *Faulty) apply(dir int, frame []byte) {
	c := &f.cnt[dir]
	c.frames.Add(1)
	v := f.decide(dir, frame)
	if v.drop != nil {
		v.drop.Add(1)
		return
	}
	if v.corruptAt >= 0 {
		buf := getBuf(frame)
		(*buf)[v.corruptAt] ^= v.corruptXor
		defer putBuf(buf)
		frame = *buf
		c.corrupted.Add(1)
	}
	if v.copies == 2 {
		c.duplicated.Add(1)
	}
	if v.reordered {
		c.reordered.Add(1)
	}
	if v.delayed {
		c.delayed.Add(1)
	}
	f.rmu.Lock()
	qlen := int64(f.cfg[dir].QueueLen)
	f.rmu.Unlock()
	if qlen <= 0 {
		qlen = DefaultQueueLen
	}
	for i := range v.copies {
		if v.delay[i] == 0 {
			f.pass(dir, frame)
		} else if f.inflight[dir].Add(1) > qlen {
			f.inflight[dir].Add(-1)
			c.queueDrops.Add(1)
			continue
		} else {
			buf := getBuf(frame)
			f.clk.AfterFunc(v.delay[i], func() {
				f.inflight[dir].Add(-1)
				f.pass(dir, *buf)
				putBuf(buf)
			})
		}
		if i == 0 {
			c.passed.Add(1)
		}
	}
}

// pass hands a frame on: to the inner endpoint or to the Dispatcher.
func (f *Faulty) pass(dir int, frame []byte) {
	if f.closed.Load() {
		f.cnt[dir].undelivered.Add(1)
		return
	}
	if dir == dirOut {
		f.inner.WriteFrame(frame)
		return
	}
	f.dmu.Lock()
	defer f.dmu.Unlock()
	if f.d == nil || f.closed.Load() {
		f.cnt[dir].undelivered.Add(1)
		return
	}
	f.d.DeliverFrame(frame)
}

// inspectIPv4 returns the IPv4 total length of a DIX frame (0 if not
// IPv4) and whether it carries an ICMP fragmentation-needed error.
func inspectIPv4(frame []byte) (ipLen int, fragNeeded bool) {
	if len(frame) < EthernetHeaderLen+20 || binary.BigEndian.Uint16(frame[12:14]) != uint16(wire.EtherTypeIPv4) {
		return 0, false
	}
	ip := frame[EthernetHeaderLen:]
	if ip[0]>>4 != 4 {
		return 0, false
	}
	ipLen = int(binary.BigEndian.Uint16(ip[2:4]))
	ihl := int(ip[0]&0x0f) * 4
	firstFrag := binary.BigEndian.Uint16(ip[6:8])&0x1fff == 0
	if ip[9] == wire.ProtoICMP && firstFrag && ihl >= 20 && len(ip) >= ihl+2 {
		fragNeeded = ip[ihl] == 3 && ip[ihl+1] == 4
	}
	return ipLen, fragNeeded
}
