package main

import (
	"fmt"
	"sync"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// wireWatch wraps a station's port in the demo: it records every frame the
// station sends or receives to the shared capture, narrates ARP as seen on
// the wire, and counts IP fragments.
type wireWatch struct {
	link.Endpoint
	seg   string
	pw    *link.PcapWriter
	clk   clock.Clock
	say   func(format string, a ...any)
	quiet bool // narrate nothing (the router's ports: hosts' ports see it all)
	frags *int
	// mu serialises observe: the stack writes frames without its own
	// lock, so two goroutines may send through one port at once.
	mu sync.Mutex
}

func (w *wireWatch) WriteFrame(frame []byte) error {
	if err := w.Endpoint.WriteFrame(frame); err != nil {
		return err
	}
	w.observe(frame)
	return nil
}

func (w *wireWatch) Attach(d link.Dispatcher) { w.Endpoint.Attach(watchDispatcher{w, d}) }

type watchDispatcher struct {
	w *wireWatch
	d link.Dispatcher
}

func (wd watchDispatcher) DeliverFrame(f []byte) {
	wd.w.observe(f)
	wd.d.DeliverFrame(f)
}

func (wd watchDispatcher) LinkStateChanged(up bool) { wd.d.LinkStateChanged(up) }

func (w *wireWatch) observe(frame []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pw != nil {
		w.pw.WriteFrame(w.clk.Now(), frame)
	}
	if w.quiet {
		return
	}
	eh, payload, err := wire.ParseEthernet(frame)
	if err != nil {
		return
	}
	switch eh.Type {
	case wire.EtherTypeARP:
		a, err := wire.ParseARP(payload)
		if err != nil {
			return
		}
		switch {
		case a.Op == wire.ARPRequest && a.SenderIP == a.TargetIP:
			w.say("%s: ARP announcement: %s is-at %s (duplicate address check)", w.seg, a.SenderIP, a.SenderMAC.Windows())
		case a.Op == wire.ARPRequest:
			w.say("%s: ARP who-has %s tell %s", w.seg, a.TargetIP, a.SenderIP)
		case a.Op == wire.ARPReply:
			w.say("%s: ARP %s is-at %s", w.seg, a.SenderIP, a.SenderMAC.Windows())
		}
	case wire.EtherTypeIPv4:
		h, _, err := wire.ParseIPv4(payload)
		if err == nil && (h.MF || h.FragOff > 0) && w.frags != nil {
			*w.frags++
		}
	}
}

func (w *wireWatch) String() string { return fmt.Sprintf("watch(%s)", w.seg) }
