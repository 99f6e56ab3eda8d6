// Package link defines how the stack meets a network device: an Endpoint
// carries whole Ethernet II frames in both directions.
package link

import "github.com/stapel-net/stapel/wire"

// Endpoint is one network device (TAP, in-memory pipe, loopback, or a
// wrapper such as the pcap sniffer or the fault injector).
type Endpoint interface {
	// Name is a short human-readable device name ("stptap0", "pipe0").
	Name() string
	// MTU is the largest IP datagram the device carries (Ethernet: 1500),
	// not counting the 14-byte Ethernet header.
	MTU() int
	// MAC is the device's hardware address.
	MAC() wire.MAC
	// WriteFrame sends one complete Ethernet frame. The endpoint must not
	// keep frame after returning, and must never call back into its
	// Dispatcher from inside WriteFrame (delivery is always asynchronous),
	// so a caller may hold its own locks while writing.
	WriteFrame(frame []byte) error
	// Attach starts delivering received frames and link-state changes to d.
	// It is called once, before any traffic.
	Attach(d Dispatcher)
	// Close releases the device; no callbacks happen after it returns.
	Close() error
}

// Dispatcher receives what an Endpoint reads.
type Dispatcher interface {
	// DeliverFrame hands over one received Ethernet frame. frame is only
	// valid during the call; the receiver copies what it keeps.
	DeliverFrame(frame []byte)
	// LinkStateChanged reports carrier (media sense) changes.
	LinkStateChanged(up bool)
}
