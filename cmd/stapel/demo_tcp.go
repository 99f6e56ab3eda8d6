package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/daemon"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tcp"
	"github.com/stapel-net/stapel/tools"
	"github.com/stapel-net/stapel/wire"
)

// The TCP part of the demo (issue 3): hosta sends 16,000 bytes to hostb
// across the router. Every segment either host sends is narrated at the
// TCP layer: the three-way handshake, hostb's delayed ACKs, one data
// segment the demo drops on purpose and its recovery, the close, and then
// netstat on both hosts. TCP runs in virtual-clock callbacks and the demo
// only touches sockets while the clock stands still, so it replays exactly.

const (
	demoTCPPort  = 5001
	demoTCPBytes = 16000
	demoDropSeg  = 4 // hosta's 4th data segment is lost once
)

// tcpWatch is a tcp.Network over a stack that narrates each segment sent
// and can lose one.
type tcpWatch struct {
	s    *stack.Stack
	d    *demo
	name string
	isn  uint32 // own ISN, for relative sequence numbers
	peer uint32 // peer's ISN
	hi   uint32 // highest relative sequence number sent (end)
	nseg int    // data segments sent (first transmissions)
	drop int    // first-transmission index to lose (0 = none)
	lost bool
	// lastRx is when this host last received data (for delayed ACKs).
	lastRx time.Time
	other  *tcpWatch
	// lastAck is the last acknowledgment number this host sent.
	lastAck uint32
	// lostAt is when the lost segment was first sent.
	lostAt time.Time
}

func (w *tcpWatch) Clock() clock.Clock { return w.s.Clock() }

func (w *tcpWatch) Route(dst netip.Addr) (netip.Addr, int, error) {
	ri, err := w.s.Route(dst)
	return ri.Src, ri.MTU, err
}

func (w *tcpWatch) IsLocal(a netip.Addr) bool { return w.s.IsLocalAddr(a) }

func (w *tcpWatch) Output(src, dst netip.Addr, ttl, tos uint8, df bool, seg []byte) error {
	if w.narrate(seg) {
		return nil // "lost on the wire"
	}
	return w.s.WriteIP(stack.OutboundPacket{Src: src, Dst: dst, Proto: wire.ProtoTCP, TTL: ttl, TOS: tos, DF: df, Payload: seg})
}

// narrate describes seg and reports whether the demo loses it.
func (w *tcpWatch) narrate(seg []byte) (drop bool) {
	h, payload, err := wire.ParseTCPNoChecksum(seg)
	if err != nil {
		return false
	}
	if h.Flags&wire.SYN != 0 {
		w.isn = h.Seq
		if h.Flags&wire.ACK != 0 {
			w.peer = h.Ack - 1
		}
		opts, _ := wire.ParseTCPOptions(h.Options)
		what := "SYN: open, step 1 of the three-way handshake"
		if h.Flags&wire.ACK != 0 {
			what = "SYN-ACK: step 2, acknowledging hosta's SYN"
		}
		w.d.say("  %s > %-8s seq=%d mss=%d win=%d   %s", w.name, h.Flags, h.Seq, opts.MSS, h.Window, what)
		return false
	}
	if w.peer == 0 && h.Flags&wire.ACK != 0 {
		w.peer = h.Ack - 1
	}
	rel := h.Seq - w.isn
	rack := h.Ack - w.peer
	now := w.s.Clock().Now()
	var note string
	switch {
	case h.Flags&wire.RST != 0:
		note = "reset"
	case len(payload) > 0:
		end := rel + uint32(len(payload))
		if end <= w.hi {
			note = fmt.Sprintf("RETRANSMISSION, %v after the original", now.Sub(w.lostAt).Round(100*time.Microsecond))
		} else {
			w.nseg++
			w.hi = end
			note = "data"
			if h.Flags&wire.FIN != 0 {
				note = "last data + FIN: hosta has no more to send"
			}
			if w.nseg == w.drop && !w.lost {
				w.lost = true
				w.lostAt = now
				drop = true
				note = "data ** lost on the way (the demo drops it) **"
			}
		}
		if w.other != nil {
			w.other.lastRx = now
		}
	case h.Flags&wire.FIN != 0:
		note = "FIN: no more data from " + w.name
		if w.hi < rel+1 {
			w.hi = rel + 1
		}
	default:
		switch {
		case rel == 1 && rack == 1 && w.name == "hosta" && w.hi == 0:
			note = "ACK: step 3, connection ESTABLISHED"
		case !w.lastRx.IsZero() && now.Sub(w.lastRx) >= 100*time.Millisecond:
			note = fmt.Sprintf("delayed ACK: the timer fired %v after the data arrived", now.Sub(w.lastRx).Round(time.Millisecond))
		case h.Ack == w.lastAck && w.lastAck != 0:
			note = "duplicate ACK: a segment after a gap arrived, the gap is still open"
		default:
			note = "ACK"
		}
	}
	if h.Flags&wire.ACK != 0 {
		w.lastAck = h.Ack
	}
	flags := h.Flags &^ wire.PSH
	w.d.say("  %s > %-8s seq=%d ack=%d len=%d   %s", w.name, flags, rel, rack, len(payload), note)
	return drop
}

type demoTCPHandler struct{ p *tcp.Protocol }

func (h demoTCPHandler) HandlePacket(pk *stack.InboundPacket) {
	if !pk.Broadcast {
		h.p.HandleSegment(pk.Src, pk.Dst, pk.Payload)
	}
}

func (h demoTCPHandler) HandleError(e *stack.ControlError) {
	h.p.HandleICMP(e.Type, e.Code, e.MTU, e.Src, e.Dst, e.Payload)
}

func (d *demo) attachWatchedTCP(s *stack.Stack, name string, seed uint64) (*tcp.Protocol, *tcpWatch) {
	w := &tcpWatch{s: s, d: d, name: name}
	p := tcp.New(w, tcp.Options{Params: tcp.DefaultParams(), Seed: seed})
	s.RegisterTransport(wire.ProtoTCP, demoTCPHandler{p})
	return p, w
}

// tcpDemo runs the TCP transfer and shows netstat.
func (d *demo) tcpDemo(ctx context.Context, seed int64) error {
	fmt.Fprintf(d.out, "\n--- TCP: hosta sends %d bytes to hostb:%d across the router ---\n", demoTCPBytes, demoTCPPort)
	ta, wa := d.attachWatchedTCP(d.a, "hosta", uint64(seed)*10+1)
	tb, wb := d.attachWatchedTCP(d.b, "hostb", uint64(seed)*10+3)
	wa.other, wb.other = wb, wa
	wa.drop = demoDropSeg
	ln, err := tb.Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), demoTCPPort), 5)
	if err != nil {
		return err
	}
	defer ln.Close()

	d.prompt("hosta", fmt.Sprintf("connect to %s:%d", demoB.Addr(), demoTCPPort))
	d.say("the SYN carries MSS 1460 (MTU 1500 - 40) and hostb's SYN-ACK its 17,520-byte window (12 x MSS)")
	type res struct {
		c   *tcp.Conn
		err error
	}
	// StartDial hands the SYN to the network before it returns, with the
	// clock stopped: no goroutine races the virtual clock.
	c0, err := ta.StartDial(netip.AddrPort{}, netip.AddrPortFrom(demoB.Addr(), demoTCPPort))
	r := res{c0, err}
	established := func(p *tcp.Protocol) bool {
		for _, ci := range p.Connections() {
			if ci.State == tcp.StateEstablished {
				return true
			}
		}
		return false
	}
	// Both ends: hostb's socket is ready to accept once the ACK arrives.
	if r.err == nil && !d.n.RunUntil(func() bool { return established(ta) && established(tb) }, 30*time.Second) {
		return fmt.Errorf("demo: hosta's connection was not established")
	}
	if r.err != nil {
		return fmt.Errorf("demo: connect: %v", r.err)
	}
	c := r.c
	defer c.Close()
	srv, err := ln.AcceptTCP()
	if err != nil {
		return err
	}
	defer srv.Close()

	d.prompt("hosta", fmt.Sprintf("send %d bytes, then close", demoTCPBytes))
	d.say("(sequence numbers relative to each side's ISN from here on)")
	d.say("first a 100-byte request: one segment alone is not ACKed at once; hostb's delayed-ACK timer")
	d.say("(TcpDelAckTicks=2, 200 ms) sends the ACK")
	data := bytes.Repeat([]byte("Stapel TCP demo "), demoTCPBytes/16)
	if _, err := c.Write(data[:100]); err != nil {
		return err
	}
	if !d.n.RunUntil(func() bool { return wb.lastAck-wb.peer == 101 }, 5*time.Second) {
		return fmt.Errorf("demo: hostb did not acknowledge the request")
	}
	d.n.Run(50 * time.Millisecond)
	d.say("then the rest: slow start from 2 segments; hostb ACKs every second full segment. hosta's 4th")
	d.say("data segment is lost: each later segment draws a duplicate ACK for the same number, and the")
	d.say("original ACK plus two duplicates (TcpMaxDupAcks=2) trigger fast retransmit, long before the RTO")
	if _, err := c.Write(data[100:]); err != nil {
		return err
	}
	c.CloseWrite()
	closeWait := func() bool { return srv.State() == tcp.StateCloseWait }
	if !d.n.RunUntil(closeWait, 5*time.Minute) {
		return fmt.Errorf("demo: the transfer did not complete")
	}
	got2 := make([]byte, 0, demoTCPBytes)
	buf := make([]byte, 4096)
	for {
		n, err := srv.Read(buf)
		got2 = append(got2, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if !bytes.Equal(got2, data) {
		return fmt.Errorf("demo: hostb received %d bytes, not what hosta sent", len(got2))
	}
	d.say("hostb has all %d bytes in order (checked) and hosta's FIN: its socket is in CLOSE_WAIT; it closes too", len(got2))
	srv.Close()
	d.n.RunUntil(func() bool { return c.State() == tcp.StateTimeWait }, time.Minute)
	d.n.Run(10 * time.Millisecond) // hosta's last ACK reaches hostb
	sa, sb := ta.Stats(), tb.Stats()
	d.say("segments retransmitted: hosta %d, hostb %d; hosta's socket waits in TIME_WAIT for 2MSL (240 s)", sa.RetransSegs, sb.RetransSegs)

	for _, h := range []struct {
		name string
		s    *stack.Stack
		p    *tcp.Protocol
	}{{"hosta", d.a, ta}, {"hostb", d.b, tb}} {
		d.prompt(h.name, "netstat -an")
		io.WriteString(d.out, tools.FormatConnections(daemon.NetstatOf(h.s, h.p), tools.NetstatOptions{All: true, Numeric: true}))
	}
	d.prompt("hosta", "netstat -s -p tcp")
	m := ta.StatsMap()
	out, err := tools.FormatStatsProto(m, "tcp")
	if err != nil {
		return err
	}
	io.WriteString(d.out, strings.TrimPrefix(out, "\n"))
	return nil
}
