package daemon

import (
	"reflect"
	"strings"
	"time"

	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tcp"
)

// TCPParams maps the configuration onto the TCP tunables: every
// whitepaper parameter tcp.Params has, under the same name. The
// per-interface TcpDelAckTicks, TcpInitialRTT and TcpWindowSize apply to
// the whole host here (tcp.Params is global): the first interface's
// values are used; the global TcpWindowSize wins when set. Values out of
// range are clamped by the tcp package as by the config loader.
//
// The Stapel keys: CongestionControl ("reno"/"cubic") and
// InitialCongestionWindow (segments, 1..10) set tcp.Params'
// CongestionControl and InitialWindow. TcpProfile picks the base:
// "whitepaper" (the default) starts from tcp.DefaultParams and applies
// every key; "modern" starts from tcp.ModernParams (window scaling and
// timestamps, a 4 MiB window and send buffer, IW10, CUBIC, tail loss
// probe) and then applies the keys the configuration file gives, even
// with their default value (config.IsSet), and any that differ from the
// default (a security profile's) — so under "modern" an explicit
// CongestionControl = "reno" or InitialCongestionWindow = 2 wins.
//
// Not from the config: TcpInitialRtt has no global key (the interface's
// TcpInitialRTT is used), ListenBacklogMax keeps the server profile (200,
// WS-2), and the other Stapel extensions (DefaultSendBuffer,
// MaxOutOfOrder, TailLossProbe) keep the profile's values. AFD's
// DefaultSendWindow (8 KiB) is deliberately not the send buffer: with
// Go's blocking writes it would cap a connection at 8 KiB in flight.
func TCPParams(cfg *config.Config) tcp.Params {
	if cfg == nil {
		return tcp.DefaultParams()
	}
	p := mapTCPParams(cfg)
	if !strings.EqualFold(cfg.Tcpip.TcpProfile, "modern") {
		return p
	}
	// The same mapping of an all-defaults configuration tells which
	// tcp.Params fields the configuration changed.
	def := config.Default()
	if len(cfg.Interfaces) > 0 {
		def.Interfaces = []config.Interface{config.DefaultInterface()}
	}
	base := mapTCPParams(def)
	m := tcp.ModernParams()
	pv, bv, mv := reflect.ValueOf(p), reflect.ValueOf(base), reflect.ValueOf(&m).Elem()
	for i := range pv.NumField() {
		f := pv.Type().Field(i)
		if !f.IsExported() || !f.Type.Comparable() {
			continue
		}
		if !pv.Field(i).Equal(bv.Field(i)) || setInConfig(cfg, f.Name) {
			mv.Field(i).Set(pv.Field(i))
		}
	}
	return m
}

// setInConfig reports whether the configuration file gave the key behind
// a tcp.Params field — globally or on the first interface — even with its
// default value, so that under TcpProfile = "modern" an explicit
// CongestionControl = "reno" or InitialCongestionWindow = 2 wins.
func setInConfig(cfg *config.Config, field string) bool {
	key := field
	switch field {
	case "InitialWindow":
		key = "InitialCongestionWindow"
	case "TcpInitialRtt":
		key = "TcpInitialRTT"
	}
	if cfg.IsSet("Tcpip.Parameters." + key) {
		return true
	}
	return len(cfg.Interfaces) > 0 && cfg.IsSet("Interface[0]."+key)
}

// mapTCPParams applies every key to tcp.DefaultParams.
func mapTCPParams(cfg *config.Config) tcp.Params {
	p := tcp.DefaultParams()
	t := cfg.Tcpip
	p.TcpMaxConnectRetransmissions = t.TcpMaxConnectRetransmissions
	p.TcpMaxConnectResponseRetransmissions = t.TcpMaxConnectResponseRetransmissions
	p.TcpMaxDataRetransmissions = t.TcpMaxDataRetransmissions
	p.TcpMaxDupAcks = t.TcpMaxDupAcks
	if t.TcpTimedWaitDelay > 0 {
		p.TcpTimedWaitDelay = time.Duration(t.TcpTimedWaitDelay) * time.Second
	}
	if t.KeepAliveTime > 0 {
		p.KeepAliveTime = time.Duration(t.KeepAliveTime) * time.Millisecond
	}
	if t.KeepAliveInterval > 0 {
		p.KeepAliveInterval = time.Duration(t.KeepAliveInterval) * time.Millisecond
	}
	if t.GlobalMaxTcpWindowSize > 0 {
		p.GlobalMaxTcpWindowSize = t.GlobalMaxTcpWindowSize
	}
	if t.MaxUserPort > 0 {
		p.MaxUserPort = t.MaxUserPort
	}
	if t.TcpNumConnections > 0 {
		p.TcpNumConnections = t.TcpNumConnections
	}
	if t.MaxFreeTWTcbs > 0 {
		p.MaxFreeTWTcbs = t.MaxFreeTWTcbs
	}
	if t.NumTcbTablePartitions > 0 {
		p.NumTcbTablePartitions = t.NumTcbTablePartitions
	}
	p.TcpUseRFC1122UrgentPointer = t.TcpUseRFC1122UrgentPointer
	p.SynAttackProtect = t.SynAttackProtect
	if t.TcpMaxHalfOpen > 0 {
		p.TcpMaxHalfOpen = t.TcpMaxHalfOpen
	}
	if t.TcpMaxHalfOpenRetried > 0 {
		p.TcpMaxHalfOpenRetried = t.TcpMaxHalfOpenRetried
	}
	if t.TcpMaxPortsExhausted > 0 {
		p.TcpMaxPortsExhausted = t.TcpMaxPortsExhausted
	}
	p.Tcp1323Opts = t.Tcp1323Opts // -1 = absent: honour, do not initiate (AMB-7)
	p.SackOpts = t.SackOpts
	p.EnablePMTUDiscovery = t.EnablePMTUDiscovery
	p.EnablePMTUBHDetect = t.EnablePMTUBHDetect
	p.EnableDeadGWDetect = t.EnableDeadGWDetect
	if t.DefaultTTL > 0 && t.DefaultTTL <= 255 {
		p.DefaultTTL = uint8(t.DefaultTTL)
	}
	if t.TcpWindowSize > 0 {
		p.TcpWindowSize = t.TcpWindowSize
	}
	p.CongestionControl = strings.ToLower(t.CongestionControl)
	if t.InitialCongestionWindow > 0 {
		p.InitialWindow = min(t.InitialCongestionWindow, 10)
	}
	if len(cfg.Interfaces) > 0 {
		ifc := cfg.Interfaces[0]
		p.TcpDelAckTicks = ifc.TcpDelAckTicks
		if ifc.TcpInitialRTT > 0 {
			p.TcpInitialRtt = time.Duration(ifc.TcpInitialRTT) * time.Second
		}
		if p.TcpWindowSize == 0 && ifc.TcpWindowSize > 0 {
			p.TcpWindowSize = ifc.TcpWindowSize
		}
	}
	return p
}

// AttachTCPConfig is AttachTCP with the configuration's parameters.
func AttachTCPConfig(s *stack.Stack, cfg *config.Config, seed uint64) *tcp.Protocol {
	return AttachTCPParams(s, TCPParams(cfg), seed)
}
