package tcp

import "time"

// Params are the TCP tunables, named after the whitepaper's registry values
// (SPEC §22). The lead maps config.Tcpip onto them; DefaultParams gives
// the whitepaper defaults.
type Params struct {
	TcpInitialRtt                        time.Duration // TCP-RTX-1: initial RTO (3 s) [AMB-19]
	TcpMaxConnectRetransmissions         int           // TCP-RTX-1: SYN retransmissions (2)
	TcpMaxConnectResponseRetransmissions int           // TCP-RTX-3: SYN-ACK retransmissions (2)
	TcpMaxDataRetransmissions            int           // TCP-RTX-2: data retransmissions (5)
	TcpDelAckTicks                       int           // TCP-ACK-1: ×100 ms, 0 disables (2)
	TcpMaxDupAcks                        int           // TCP-RTX-4: dup ACKs for fast retransmit (2) [AMB-11]
	TcpTimedWaitDelay                    time.Duration // TCP-TW-1: 2MSL (240 s, 30–300 s)
	KeepAliveTime                        time.Duration // TCP-KA-1: idle before first probe (2 h)
	KeepAliveInterval                    time.Duration // TCP-KA-1: between unanswered probes (1 s)
	TcpWindowSize                        int           // TCP-WIN-2: 0 = computed default [AMB-6]
	GlobalMaxTcpWindowSize               int           // TCP-WIN-2: 0 = absent
	MaxUserPort                          int           // TCP-PORT-1: highest ephemeral port (5000)
	TcpNumConnections                    int           // TCP-3: max connections (0xFFFFFE)
	MaxFreeTWTcbs                        int           // TCP-TW-1: TIME-WAIT list cap (1000)
	NumTcbTablePartitions                int           // TCP-3: demux table partitions (4)
	TcpUseRFC1122UrgentPointer           bool          // TCP-URG-1: false = BSD semantics
	SynAttackProtect                     int           // SEC-2/3: 0, 1, 2
	TcpMaxHalfOpen                       int           // SEC-2: SYN-RCVD count that triggers protection (100)
	TcpMaxHalfOpenRetried                int           // SEC-2: SYN-RCVD with a retransmitted SYN-ACK (80)
	TcpMaxPortsExhausted                 int           // SEC-2: refused connects (full backlog) (5)
	EnablePMTUDiscovery                  bool          // TCP-PMTU-2: DF on segments (true)
	Tcp1323Opts                          int           // TCP-WIN-3/4: -1 absent (accept, don't initiate) [AMB-7]; bit0 WS, bit1 TS
	SackOpts                             bool          // TCP-SACK-1: SACK (true)
	EnablePMTUBHDetect                   bool          // TCP-PMTU-4: black-hole detection (false) [AMB-8]
	EnableDeadGWDetect                   bool          // TCP-DGD-2: report stalled routes (true)
	DefaultTTL                           uint8         // IP TTL of segments (128)
	ListenBacklogMax                     int           // WS-2 [impl]: backlog cap (200 server, 5 workstation)

	// Stapel extensions (not whitepaper names).
	DefaultSendBuffer int // send buffer per socket (64 KiB)
	MaxOutOfOrder     int // out-of-order segments kept per connection (64)
	MSL               time.Duration

	// CongestionControl is "reno" (RFC 5681, the whitepaper's TCP-CC-1/2)
	// or "cubic" (RFC 9438). Empty or unknown means reno.
	CongestionControl string
	// InitialWindow is the initial congestion window in segments: 2 is
	// the whitepaper's (TCP-CC-1), 10 is RFC 6928's; clamped to 1..10.
	InitialWindow int
	// TailLossProbe enables RFC 8985's tail loss probe: when no ACK has
	// come for about two round trips while data is outstanding, resend
	// the last segment so the peer's SACKs reveal what was lost, instead
	// of waiting for the retransmission timer (at least 500 ms). Not in
	// the whitepaper; the modern profile turns it on.
	TailLossProbe bool
}

// DefaultParams returns the whitepaper defaults.
func DefaultParams() Params {
	return Params{
		TcpInitialRtt:                        3 * time.Second,
		TcpMaxConnectRetransmissions:         2,
		TcpMaxConnectResponseRetransmissions: 2,
		TcpMaxDataRetransmissions:            5,
		TcpDelAckTicks:                       2,
		TcpMaxDupAcks:                        2,
		TcpTimedWaitDelay:                    240 * time.Second,
		KeepAliveTime:                        2 * time.Hour,
		KeepAliveInterval:                    time.Second,
		MaxUserPort:                          5000,
		TcpNumConnections:                    0xFFFFFE,
		MaxFreeTWTcbs:                        1000,
		NumTcbTablePartitions:                4,
		TcpMaxHalfOpen:                       100,
		TcpMaxHalfOpenRetried:                80,
		TcpMaxPortsExhausted:                 5,
		EnablePMTUDiscovery:                  true,
		Tcp1323Opts:                          -1,
		SackOpts:                             true,
		EnableDeadGWDetect:                   true,
		DefaultTTL:                           128,
		ListenBacklogMax:                     200,
		DefaultSendBuffer:                    64 << 10,
		MaxOutOfOrder:                        64,
		CongestionControl:                    CCReno,
		InitialWindow:                        2,
	}
}

// ModernParams is the "modern defaults" profile: the whitepaper's
// parameters with today's high-performance choices switched on —
//   - Tcp1323Opts = 3: initiate window scaling and timestamps (RFC 7323);
//   - TcpWindowSize = 4 MiB (scaled, shift 7) and a 4 MiB send buffer,
//     enough for ~650 Mbit/s at 50 ms RTT;
//   - InitialWindow = 10 (RFC 6928);
//   - CongestionControl = "cubic" (RFC 9438);
//   - MaxOutOfOrder = 4096 segments, so a lossy window of that size can
//     be SACKed and repaired without dropping what arrived.
//
// SackOpts is on in both profiles. Everything else is as DefaultParams.
func ModernParams() Params {
	p := DefaultParams()
	p.Tcp1323Opts = 3
	p.TcpWindowSize = 4 << 20
	p.DefaultSendBuffer = 4 << 20
	p.InitialWindow = 10
	p.CongestionControl = CCCubic
	p.MaxOutOfOrder = 4096
	p.TailLossProbe = true
	return p
}

// normalize clamps values into the whitepaper's ranges.
func (p *Params) normalize() {
	if p.TcpInitialRtt <= 0 {
		p.TcpInitialRtt = 3 * time.Second
	}
	if p.TcpMaxDupAcks < 1 {
		p.TcpMaxDupAcks = 1
	} else if p.TcpMaxDupAcks > 3 {
		p.TcpMaxDupAcks = 3
	}
	if p.TcpDelAckTicks < 0 {
		p.TcpDelAckTicks = 0
	} else if p.TcpDelAckTicks > 6 {
		p.TcpDelAckTicks = 6
	}
	if p.TcpTimedWaitDelay < 30*time.Second {
		p.TcpTimedWaitDelay = 30 * time.Second
	} else if p.TcpTimedWaitDelay > 300*time.Second {
		p.TcpTimedWaitDelay = 300 * time.Second
	}
	if p.MaxUserPort < 5000 {
		p.MaxUserPort = 5000
	} else if p.MaxUserPort > 65534 {
		p.MaxUserPort = 65534
	}
	if p.KeepAliveTime <= 0 {
		p.KeepAliveTime = 2 * time.Hour
	}
	if p.KeepAliveInterval <= 0 {
		p.KeepAliveInterval = time.Second
	}
	if p.TcpNumConnections <= 0 {
		p.TcpNumConnections = 0xFFFFFE
	}
	if p.NumTcbTablePartitions <= 0 {
		p.NumTcbTablePartitions = 4
	}
	if p.MaxFreeTWTcbs <= 0 {
		p.MaxFreeTWTcbs = 1000
	}
	if p.ListenBacklogMax <= 0 {
		p.ListenBacklogMax = 200
	}
	if p.DefaultSendBuffer <= 0 {
		p.DefaultSendBuffer = 64 << 10
	}
	if p.MaxOutOfOrder <= 0 {
		p.MaxOutOfOrder = 64
	}
	if p.Tcp1323Opts < -1 || p.Tcp1323Opts > 3 {
		p.Tcp1323Opts = -1
	}
	if p.DefaultTTL == 0 {
		p.DefaultTTL = 128
	}
	if p.TcpMaxHalfOpen <= 0 {
		p.TcpMaxHalfOpen = 100
	}
	if p.TcpMaxHalfOpenRetried <= 0 {
		p.TcpMaxHalfOpenRetried = 80
	}
	if p.TcpMaxPortsExhausted <= 0 {
		p.TcpMaxPortsExhausted = 5
	}
	if p.CongestionControl != CCCubic {
		p.CongestionControl = CCReno
	}
	if p.InitialWindow <= 0 {
		p.InitialWindow = 2
	} else if p.InitialWindow > 10 {
		p.InitialWindow = 10
	}
}
