package link

import "sync/atomic"

// Stats are an endpoint's frame counters. Every frame lost inside the
// endpoint is counted under exactly one drop cause.
type Stats struct {
	TxFrames, TxBytes uint64 // frames accepted by WriteFrame
	RxFrames, RxBytes uint64 // frames handed to the Dispatcher
	TxErrors          uint64 // WriteFrame refused (size, closed, device error)
	RxErrors          uint64 // device read errors and runt frames
	QueueDrops        uint64 // a bounded queue was full
	CarrierDrops      uint64 // written while the carrier was down
	Undelivered       uint64 // received with no Dispatcher attached, or after Close
}

// Counters is the concurrency-safe form of Stats, for endpoint
// implementations in other packages.
type Counters struct {
	TxFrames, TxBytes, RxFrames, RxBytes atomic.Uint64
	TxErrors, RxErrors, QueueDrops       atomic.Uint64
	CarrierDrops, Undelivered            atomic.Uint64
}

// Tx counts one frame of n bytes sent.
func (c *Counters) Tx(n int) { c.TxFrames.Add(1); c.TxBytes.Add(uint64(n)) }

// Rx counts one frame of n bytes delivered.
func (c *Counters) Rx(n int) { c.RxFrames.Add(1); c.RxBytes.Add(uint64(n)) }

// Snapshot reads all counters.
func (c *Counters) Snapshot() Stats {
	return Stats{
		TxFrames: c.TxFrames.Load(), TxBytes: c.TxBytes.Load(),
		RxFrames: c.RxFrames.Load(), RxBytes: c.RxBytes.Load(),
		TxErrors: c.TxErrors.Load(), RxErrors: c.RxErrors.Load(),
		QueueDrops: c.QueueDrops.Load(), CarrierDrops: c.CarrierDrops.Load(),
		Undelivered: c.Undelivered.Load(),
	}
}
