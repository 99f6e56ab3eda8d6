package stack

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/wire"
)

// IGMP host side (RFC 1112, RFC 2236; SPEC MCAST-1..MCAST-4).
//
// Per interface and joined group a small state machine runs on the
// stack's clock: "delaying member" while a report timer is pending,
// "idle member" otherwise. The first join sends an unsolicited report at
// once and repeats it once after a random delay of up to the Unsolicited
// Report Interval; a query (re)starts the timer with a random delay in
// [0, Max Resp Time]; hearing another host's report for the group stops
// our timer (suppression) and clears the "last reporter" flag; the last
// leave sends Leave Group to 224.0.0.2 when we were the last reporter and
// no IGMPv1 router is present. 224.0.0.1 is joined on every interface and
// never reported.
//
// Choices where RFC 2236 leaves room: only one unsolicited repetition;
// the "last reporter" flag is cleared by another host's report in either
// state (not only while delaying), so the Leave, which the RFC lets us
// skip then, goes only from the host that reported last; our own reports
// are not looped back to ourselves (IGMP and the report's group).

const (
	igmpUnsolicitedInterval = 10 * time.Second  // RFC 2236 8.10
	igmpV1RouterTimeout     = 400 * time.Second // RFC 2236 8.11
	igmpV1MaxResp           = 10 * time.Second  // RFC 2236 4: a v1 query's Max Resp Time
)

// IGMPLevel values (SPEC MCAST-1).
const (
	IGMPLevelNone     = 0 // no multicast
	IGMPLevelSendOnly = 1 // send only: no joins, no IGMP
	IGMPLevelFull     = 2 // send and receive, full IGMP (default)
)

// ErrMulticastDisabled: IGMPLevel forbids the operation (0: any
// multicast; 1: joining groups).
var ErrMulticastDisabled = errors.New("stack: multicast disabled by IGMPLevel")

// routerAlert is the IP Router Alert option (RFC 2113) every IGMP message
// carries (RFC 2236 2).
var routerAlert = []byte{wire.IPv4OptRA, 4, 0, 0}

// igmpIface is an interface's IGMP state (guarded by s.mu).
type igmpIface struct {
	groups  map[netip.Addr]*igmpGroup
	v1Until time.Time // an IGMPv1 router is present until then
	// rng draws the report delays. It mixes in the MAC so that hosts
	// started with the same seed still pick different delays, which
	// report suppression depends on.
	rng *rand.Rand
}

// igmpGroup is one reported group on an interface.
type igmpGroup struct {
	timer        clock.Timer // pending report: "delaying member"
	due          time.Time
	lastReporter bool
}

// igmpStartLocked joins the all-systems group (RFC 1112 7.2, never
// reported) on a new interface. Called from AddInterface.
func (ifc *Interface) igmpStartLocked() {
	if ifc.s.p.igmpLevel < IGMPLevelFull {
		return
	}
	ifc.igmp.groups = make(map[netip.Addr]*igmpGroup)
	var m [8]byte
	copy(m[2:], ifc.mac[:])
	ifc.igmp.rng = rand.New(rand.NewPCG(ifc.s.rng.Uint64(), binary.BigEndian.Uint64(m[:])))
	ifc.groups[allSystemsGroup]++
	ifc.mcastMACs[wire.MulticastMAC(allSystemsGroup)]++
}

// igmpStopLocked cancels the interface's timers (RemoveInterface).
func (ifc *Interface) igmpStopLocked() {
	for _, g := range ifc.igmp.groups {
		if g.timer != nil {
			g.timer.Stop()
		}
	}
	clear(ifc.igmp.groups)
}

// igmpJoinLocked runs after the interface's first join of group: the
// unsolicited report and its repetition (RFC 2236 3).
func (ifc *Interface) igmpJoinLocked(group netip.Addr) {
	if ifc.igmp.groups == nil || group == allSystemsGroup {
		return
	}
	g := &igmpGroup{}
	ifc.igmp.groups[group] = g
	ifc.igmpReportLocked(group, g)
	ifc.igmpDelayLocked(group, g, igmpUnsolicitedInterval)
}

// igmpLeaveLocked runs after the interface's last leave of group.
func (ifc *Interface) igmpLeaveLocked(group netip.Addr) {
	g := ifc.igmp.groups[group]
	if g == nil {
		return
	}
	delete(ifc.igmp.groups, group)
	if g.timer != nil {
		g.timer.Stop()
	}
	// RFC 2236 3: no Leave to an IGMPv1 router; skip it if another host
	// reported after us (it is still a member, as far as we know).
	if g.lastReporter && !ifc.igmpV1Locked() {
		ifc.igmpSendLocked(wire.IGMPLeaveGroup, group, allRoutersGroup)
	}
}

func (ifc *Interface) igmpV1Locked() bool {
	return ifc.s.clk.Now().Before(ifc.igmp.v1Until)
}

// igmpDelayLocked starts g's report timer with a random delay in
// [0, maxDelay], or shortens a pending one that would fire later
// (RFC 2236 3).
func (ifc *Interface) igmpDelayLocked(group netip.Addr, g *igmpGroup, maxDelay time.Duration) {
	s := ifc.s
	now := s.clk.Now()
	if g.timer != nil && !g.due.After(now.Add(maxDelay)) {
		return
	}
	if g.timer != nil {
		g.timer.Stop()
	}
	// Millisecond granularity: plenty for a timer of seconds.
	d := time.Duration(ifc.igmp.rng.Int64N(maxDelay.Milliseconds()+1)) * time.Millisecond
	g.due = now.Add(d)
	var t clock.Timer
	t = s.clk.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if ifc.removed || ifc.igmp.groups[group] != g || g.timer != t {
			return // left, rejoined or rescheduled meanwhile
		}
		g.timer = nil
		ifc.igmpReportLocked(group, g)
	})
	g.timer = t
}

// igmpReportLocked sends a membership report for group: v1 while an
// IGMPv1 router is present, else v2.
func (ifc *Interface) igmpReportLocked(group netip.Addr, g *igmpGroup) {
	typ := uint8(wire.IGMPV2Report)
	if ifc.igmpV1Locked() {
		typ = wire.IGMPV1Report
	}
	if ifc.igmpSendLocked(typ, group, group) {
		g.lastReporter = true
	}
}

// igmpSendLocked sends one IGMP message from the interface's primary
// address with TTL 1 and Router Alert (RFC 2236 2). Our own copy is not
// looped back: we would take it for another member's report.
func (ifc *Interface) igmpSendLocked(typ uint8, group, dst netip.Addr) bool {
	s := ifc.s
	src := ifc.primaryAddrLocked()
	if !src.IsValid() || !ifc.usableLocked() {
		return false
	}
	m := wire.IGMP{Type: typ, Group: group}
	m.Put(s.txSegLocked(wire.IGMPLen))
	if err := s.sendLocked(&txReq{src: src, dst: dst, proto: wire.ProtoIGMP, ttl: 1, opts: routerAlert, noLoop: true}, wire.IGMPLen); err != nil {
		return false
	}
	inc(&s.st.IGMPOutMsgs)
	switch typ {
	case wire.IGMPV2Report:
		inc(&s.st.IGMPOutReports)
	case wire.IGMPV1Report:
		inc(&s.st.IGMPOutV1Reports)
	case wire.IGMPLeaveGroup:
		inc(&s.st.IGMPOutLeaves)
	}
	return true
}

// igmpInput handles a received IGMP message (no stack lock held).
func (s *Stack) igmpInput(d *delivery) {
	inc(&s.st.IGMPInMsgs)
	m, err := wire.ParseIGMP(d.payload)
	if err != nil {
		inc(&s.st.IGMPInErrors)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ifc := s.ifaceByIndexLocked(d.ifIndex)
	if ifc == nil || ifc.igmp.groups == nil {
		inc(&s.st.IGMPInIgnored) // loopback, or IGMPLevel < 2
		return
	}
	switch m.Type {
	case wire.IGMPMembershipQuery:
		inc(&s.st.IGMPInQueries)
		maxResp := time.Duration(m.MaxRespTime) * 100 * time.Millisecond
		if m.MaxRespTime == 0 { // IGMPv1 query (RFC 2236 4)
			maxResp = igmpV1MaxResp
			ifc.igmp.v1Until = s.clk.Now().Add(igmpV1RouterTimeout)
		}
		if m.Group.IsUnspecified() { // general query
			for group, g := range ifc.igmp.groups {
				ifc.igmpDelayLocked(group, g, maxResp)
			}
		} else if g := ifc.igmp.groups[m.Group]; g != nil { // group-specific
			ifc.igmpDelayLocked(m.Group, g, maxResp)
		}
	case wire.IGMPV1Report, wire.IGMPV2Report:
		inc(&s.st.IGMPInReports)
		if _, ours := s.local[d.hdr.Src]; ours {
			return
		}
		if g := ifc.igmp.groups[m.Group]; g != nil {
			if g.timer != nil { // suppression (RFC 2236 3)
				g.timer.Stop()
				g.timer = nil
				inc(&s.st.IGMPReportsSuppressed)
			}
			g.lastReporter = false
		}
	case wire.IGMPLeaveGroup:
		inc(&s.st.IGMPInLeaves) // for routers; a host ignores them
	default:
		inc(&s.st.IGMPInIgnored) // IGMPv3 reports, DVMRP, ...
	}
}
