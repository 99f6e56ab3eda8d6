package stack

import "sync/atomic"

// InterfaceStats are the per-interface counters netstat -e prints
// (SPEC TOOL-NETSTAT: bytes, unicast and non-unicast packets, discards,
// errors, unknown protocols).
type InterfaceStats struct {
	RxBytes, RxUnicast, RxNonUnicast, RxDiscards, RxErrors, RxUnknownProtos uint64
	TxBytes, TxUnicast, TxNonUnicast, TxDiscards, TxErrors                  uint64
}

type ifCounters struct {
	rxBytes, rxUnicast, rxNonUnicast, rxDiscards, rxErrors, rxUnknown atomic.Uint64
	txBytes, txUnicast, txNonUnicast, txDiscards, txErrors            atomic.Uint64
}

func (c *ifCounters) snapshot() InterfaceStats {
	return InterfaceStats{
		RxBytes: c.rxBytes.Load(), RxUnicast: c.rxUnicast.Load(), RxNonUnicast: c.rxNonUnicast.Load(),
		RxDiscards: c.rxDiscards.Load(), RxErrors: c.rxErrors.Load(), RxUnknownProtos: c.rxUnknown.Load(),
		TxBytes: c.txBytes.Load(), TxUnicast: c.txUnicast.Load(), TxNonUnicast: c.txNonUnicast.Load(),
		TxDiscards: c.txDiscards.Load(), TxErrors: c.txErrors.Load(),
	}
}
