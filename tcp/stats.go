package tcp

import "sync/atomic"

// Stats are MIB-II TCP counters (RFC 1213) plus Stapel drop counters.
type Stats struct {
	ActiveOpens  uint64 // tcpActiveOpens
	PassiveOpens uint64 // tcpPassiveOpens
	AttemptFails uint64 // tcpAttemptFails
	EstabResets  uint64 // tcpEstabResets
	CurrEstab    uint64 // tcpCurrEstab (gauge)
	InSegs       uint64 // tcpInSegs
	OutSegs      uint64 // tcpOutSegs (here including retransmissions; see RetransSegs)
	RetransSegs  uint64 // tcpRetransSegs
	InErrs       uint64 // tcpInErrs
	OutRsts      uint64 // tcpOutRsts

	OutOfOrderDrops uint64 // tcpOooDrops: out-of-order segments beyond the queue bound
	BacklogDrops    uint64 // tcpListenDrops: SYNs refused with a full backlog
	BadOptions      uint64 // tcpBadOptions: segments with malformed options

	RetransBytes uint64 // tcpRetransBytes: payload bytes retransmitted
	FastRetrans  uint64 // tcpFastRetrans: recoveries entered on duplicate ACKs or SACK
	DSACKsIn     uint64 // tcpDSACKRecv: D-SACKs received (a retransmission was spurious, RFC 2883)
	DupSegsIn    uint64 // tcpDupSegsIn: segments carrying data already received (D-SACKed when SACK is on)
	Timeouts     uint64 // tcpTimeouts: retransmission timer expiries
	LostRetrans  uint64 // tcpLostRetrans: retransmissions found lost again during SACK recovery
	LossProbes   uint64 // tcpLossProbes: tail loss probes sent (Params.TailLossProbe)
}

type counters struct {
	activeOpens, passiveOpens, attemptFails, estabResets, currEstab     atomic.Int64
	inSegs, outSegs, retransSegs, inErrs, outRsts                       atomic.Uint64
	oooDrops, backlogDrops, badOptions                                  atomic.Uint64
	retransBytes, fastRetrans, dsacks, dupSegsIn, timeouts, lostRetrans atomic.Uint64
	tlps                                                                atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (p *Protocol) Stats() Stats {
	c := &p.stats
	return Stats{
		ActiveOpens:     uint64(c.activeOpens.Load()),
		PassiveOpens:    uint64(c.passiveOpens.Load()),
		AttemptFails:    uint64(c.attemptFails.Load()),
		EstabResets:     uint64(c.estabResets.Load()),
		CurrEstab:       uint64(max(c.currEstab.Load(), 0)),
		InSegs:          c.inSegs.Load(),
		OutSegs:         c.outSegs.Load(),
		RetransSegs:     c.retransSegs.Load(),
		InErrs:          c.inErrs.Load(),
		OutRsts:         c.outRsts.Load(),
		OutOfOrderDrops: c.oooDrops.Load(),
		BacklogDrops:    c.backlogDrops.Load(),
		BadOptions:      c.badOptions.Load(),
		RetransBytes:    c.retransBytes.Load(),
		FastRetrans:     c.fastRetrans.Load(),
		DSACKsIn:        c.dsacks.Load(),
		DupSegsIn:       c.dupSegsIn.Load(),
		Timeouts:        c.timeouts.Load(),
		LostRetrans:     c.lostRetrans.Load(),
		LossProbes:      c.tlps.Load(),
	}
}

// StatsMap returns the counters by MIB-II name.
func (p *Protocol) StatsMap() map[string]uint64 {
	s := p.Stats()
	return map[string]uint64{
		"tcpActiveOpens":  s.ActiveOpens,
		"tcpPassiveOpens": s.PassiveOpens,
		"tcpAttemptFails": s.AttemptFails,
		"tcpEstabResets":  s.EstabResets,
		"tcpCurrEstab":    s.CurrEstab,
		"tcpInSegs":       s.InSegs,
		"tcpOutSegs":      s.OutSegs,
		"tcpRetransSegs":  s.RetransSegs,
		"tcpInErrs":       s.InErrs,
		"tcpOutRsts":      s.OutRsts,
		"tcpOooDrops":     s.OutOfOrderDrops,
		"tcpListenDrops":  s.BacklogDrops,
		"tcpBadOptions":   s.BadOptions,
		"tcpRetransBytes": s.RetransBytes,
		"tcpFastRetrans":  s.FastRetrans,
		"tcpDSACKRecv":    s.DSACKsIn,
		"tcpDupSegsIn":    s.DupSegsIn,
		"tcpTimeouts":     s.Timeouts,
		"tcpLostRetrans":  s.LostRetrans,
		"tcpLossProbes":   s.LossProbes,
	}
}
