package sim

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// Switch limits, as on a small real switch.
const (
	MaxFDB   = 4096              // learned addresses per segment
	FDBAging = 300 * time.Second // an address not seen for this long is forgotten
)

// Segment is a broadcast domain: a learning switch. Broadcast, multicast
// and unknown unicast frames are flooded to every other port; source
// addresses are learned; frames larger than the segment's MTU are dropped
// by the switch (as a switch drops giants).
type Segment struct {
	net    *Network
	name   string
	mtu    int
	index  int
	faults link.FaultConfig

	mu      sync.Mutex
	ports   []*Port
	fdb     map[wire.MAC]fdbEntry
	capture *link.PcapWriter

	stats segmentCounters
}

type fdbEntry struct {
	port *Port
	seen time.Time
}

// SegmentStats counts the switch's decisions.
type SegmentStats struct {
	Frames     uint64 // frames entering the switch
	Forwarded  uint64 // unicast to a learned port
	Flooded    uint64 // broadcast, multicast or unknown destination
	Filtered   uint64 // destination learned on the sender's own port
	MTUDrops   uint64 // larger than the segment MTU
	QueueDrops uint64 // a destination port's queue was full
	FDBFull    uint64 // could not learn: table full
}

type segmentCounters struct {
	frames, forwarded, flooded, filtered, mtuDrops, queueDrops, fdbFull atomic.Uint64
}

func (s *Segment) Name() string { return s.name }
func (s *Segment) MTU() int     { return s.mtu }

// Stats returns the switch counters.
func (s *Segment) Stats() SegmentStats {
	c := &s.stats
	return SegmentStats{Frames: c.frames.Load(), Forwarded: c.forwarded.Load(),
		Flooded: c.flooded.Load(), Filtered: c.filtered.Load(), MTUDrops: c.mtuDrops.Load(),
		QueueDrops: c.queueDrops.Load(), FDBFull: c.fdbFull.Load()}
}

// NewPort plugs a station with address mac into the segment. Its MTU is
// the segment's.
func (s *Segment) NewPort(mac wire.MAC) *Port { return s.NewPortMTU(mac, s.mtu) }

// NewPortMTU plugs in a station configured with its own MTU; if that is
// larger than the segment's, its big frames vanish in the switch (an MTU
// mismatch).
func (s *Segment) NewPortMTU(mac wire.MAC, mtu int) *Port {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := len(s.ports)
	raw := &rawPort{seg: s, mac: mac, mtu: mtu, name: fmt.Sprintf("%s.%d", s.name, idx)}
	raw.carrier.Store(true)
	cfg := s.faults
	cfg.Direction = link.Outbound
	p := &Port{raw: raw, f: link.NewFaulty(raw, s.net.clk, cfg, subSeed(s.net.seed, s.index, idx))}
	raw.port = p
	s.ports = append(s.ports, p)
	return p
}

// Ports lists the ports in creation order.
func (s *Segment) Ports() []*Port {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Port(nil), s.ports...)
}

// SetFaults changes the segment's impairments for all its ports.
func (s *Segment) SetFaults(cfg link.FaultConfig) {
	s.mu.Lock()
	s.faults = cfg
	ports := append([]*Port(nil), s.ports...)
	s.mu.Unlock()
	cfg.Direction = link.Outbound
	for _, p := range ports {
		p.f.SetConfig(cfg)
	}
}

// Capture mirrors every frame entering the switch (after impairments) to
// a pcap stream, stamped with virtual time. nil stops capturing.
func (s *Segment) Capture(w io.Writer) *link.PcapWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.capture = nil
	if w != nil {
		s.capture = link.NewPcapWriter(w)
	}
	return s.capture
}

// Lookup returns the port where mac was last seen, if still learned.
func (s *Segment) Lookup(mac wire.MAC) (*Port, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.fdb[mac]
	if !ok || s.net.clk.Now().Sub(e.seen) >= FDBAging {
		return nil, false
	}
	return e.port, true
}

// forward is the switch: learn, then deliver to one port or flood.
// Delivery is scheduled, never synchronous.
func (s *Segment) forward(from *Port, frame []byte) {
	s.stats.frames.Add(1)
	if len(frame) > s.mtu+link.EthernetHeaderLen {
		s.stats.mtuDrops.Add(1)
		return
	}
	var dst, src wire.MAC
	copy(dst[:], frame[0:6])
	copy(src[:], frame[6:12])
	now := s.net.clk.Now()

	s.mu.Lock()
	if s.capture != nil {
		s.capture.WriteFrame(now, frame)
	}
	if !src.IsMulticast() {
		if _, known := s.fdb[src]; known || len(s.fdb) < MaxFDB {
			s.fdb[src] = fdbEntry{from, now}
		} else {
			s.stats.fdbFull.Add(1)
		}
	}
	var targets []*Port
	if e, ok := s.fdb[dst]; ok && !dst.IsMulticast() && now.Sub(e.seen) < FDBAging {
		if e.port == from {
			s.stats.filtered.Add(1)
		} else {
			s.stats.forwarded.Add(1)
			targets = []*Port{e.port}
		}
	} else {
		s.stats.flooded.Add(1)
		for _, p := range s.ports {
			if p != from {
				targets = append(targets, p)
			}
		}
	}
	s.mu.Unlock()
	for _, p := range targets {
		p.raw.enqueue(frame)
	}
}

// detach removes p from the switch and forgets what it learned there.
func (s *Segment) detach(p *Port) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.ports {
		if q == p {
			s.ports = append(s.ports[:i], s.ports[i+1:]...)
			break
		}
	}
	for mac, e := range s.fdb {
		if e.port == p {
			delete(s.fdb, mac)
		}
	}
}
