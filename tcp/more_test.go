package tcp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/stapel-net/stapel/wire"
)

// inject builds a segment from the pair's client to the server host.
func inject(pr *pair, flags wire.TCPFlags, seq, ack uint32, payload []byte) {
	id := pr.cli.id
	b := make([]byte, 20+len(payload))
	copy(b[20:], payload)
	h := wire.TCPHeader{SrcPort: id.local.Port(), DstPort: id.remote.Port(), Seq: seq, Ack: ack, Flags: flags, Window: 1000}
	h.Put(b, id.local.Addr(), id.remote.Addr())
	pr.b.p.HandleSegment(id.local.Addr(), id.remote.Addr(), b)
}

// RFC 5961: an in-window RST that is not exact gets a challenge ACK; a
// SYN on an established connection too; only an exact RST resets.
func TestBlindResetProtection(t *testing.T) {
	pr := newPair(t, time.Millisecond, DefaultParams(), DefaultParams(), 20)
	pr.n.run(time.Second)
	pr.srv.mu.Lock()
	nxt := pr.srv.rcvNxt
	pr.srv.mu.Unlock()
	pr.n.clearTrace()
	inject(pr, wire.RST, nxt+100, 0, nil)
	inject(pr, wire.SYN, nxt+5, 0, nil)
	inject(pr, wire.RST, nxt+1<<30, 0, nil) // out of window: ignored silently
	pr.n.run(time.Second)
	if pr.srv.State() != StateEstablished {
		t.Fatalf("blind RST/SYN killed the connection: %v", pr.srv.State())
	}
	acks := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrB && tc.ACK && !tc.RST })
	if len(acks) != 2 {
		pr.n.dump(t)
		t.Fatalf("want 2 challenge ACKs, got %d", len(acks))
	}
	inject(pr, wire.RST, nxt, 0, nil)
	pr.n.run(time.Second)
	if pr.srv.State() != StateClosed {
		t.Fatalf("exact RST ignored: %v", pr.srv.State())
	}
	if _, err := pr.srv.Write([]byte("x")); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("write after reset: %v", err)
	}
}

// SPEC: TCP-PMTU-3 — ICMP Fragmentation Needed lowers the MSS and later
// segments fit; the floor is an 88-byte MTU (AMB-2).
func TestFragNeededLowersMSS(t *testing.T) {
	pr := newPair(t, time.Millisecond, DefaultParams(), DefaultParams(), 21)
	pr.cli.mu.Lock()
	una := pr.cli.sndUna
	pr.cli.mu.Unlock()
	quote := make([]byte, 8)
	quote[0], quote[1] = byte(pr.cli.id.local.Port()>>8), byte(pr.cli.id.local.Port())
	quote[2], quote[3] = 0, 80
	quote[4], quote[5], quote[6], quote[7] = byte(una>>24), byte(una>>16), byte(una>>8), byte(una)
	pr.a.p.HandleICMP(3, 4, 1000, addrA, addrB, quote)
	if m := pr.cli.MSS(); m != 960 {
		t.Fatalf("MSS %d after MTU 1000, want 960", m)
	}
	pr.a.p.HandleICMP(3, 4, 20, addrA, addrB, quote)
	if m := pr.cli.MSS(); m != 48 {
		t.Fatalf("MSS %d after MTU 20, want 48 (88-byte floor)", m)
	}
	// A quote with a sequence number not in flight is ignored (RFC 5927).
	quote[4] ^= 0x80
	pr.a.p.HandleICMP(3, 4, 68, addrA, addrB, quote)
	data := testData(5000, 1)
	pr.n.clearTrace()
	p := &pump{w: pr.cli, r: pr.srv, src: data}
	pr.n.runUntil(func() bool { p.step(); return len(p.got) == len(data) }, time.Minute)
	for _, w := range pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrA }) {
		if l := len(w.tcp().Payload); l > 48 {
			t.Fatalf("segment of %d bytes after PMTU 88", l)
		}
	}
}

// Port unreachable during connect is a soft error reported at timeout.
func TestSoftErrorOnConnect(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	a := n.host(addrA, DefaultParams(), 1)
	c := a.dialNB(t, netip.AddrPortFrom(addrX, 80))
	c.mu.Lock()
	iss := c.iss
	c.mu.Unlock()
	q := []byte{byte(c.id.local.Port() >> 8), byte(c.id.local.Port()), 0, 80, byte(iss >> 24), byte(iss >> 16), byte(iss >> 8), byte(iss)}
	a.p.HandleICMP(3, 1, 0, addrA, addrX, q)
	n.run(time.Minute)
	if _, err := c.Read(nil); !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Fatalf("error %v, want EHOSTUNREACH", err)
	}
}

// Time Exceeded during connect is a soft error too (SPEC ICMP-7; issue 5:
// TTL-exceeded messages reach the sockets they concern), reported at
// timeout as EHOSTUNREACH instead of ETIMEDOUT.
func TestSoftErrorTimeExceeded(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	a := n.host(addrA, DefaultParams(), 1)
	c := a.dialNB(t, netip.AddrPortFrom(addrX, 80))
	c.mu.Lock()
	iss := c.iss
	c.mu.Unlock()
	q := []byte{byte(c.id.local.Port() >> 8), byte(c.id.local.Port()), 0, 80, byte(iss >> 24), byte(iss >> 16), byte(iss >> 8), byte(iss)}
	a.p.HandleICMP(11, 0, 0, addrA, addrX, q)
	n.run(time.Minute)
	if _, err := c.Read(nil); !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Fatalf("error %v, want EHOSTUNREACH", err)
	}
}

// Deadlines use the injected clock; ctx cancels a dial.
func TestDeadlinesAndCancel(t *testing.T) {
	pr := newPair(t, time.Millisecond, DefaultParams(), DefaultParams(), 22)
	pr.cli.SetReadDeadline(pr.n.clk.Now().Add(5 * time.Second))
	errc := make(chan error, 1)
	go func() {
		_, err := pr.cli.Read(make([]byte, 10))
		errc <- err
	}()
	pr.n.clk.BlockUntil(1)
	pr.n.run(4 * time.Second)
	select {
	case err := <-errc:
		t.Fatalf("read returned early: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	pr.n.run(2 * time.Second)
	if err := <-errc; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v", err)
	}
	var ne net.Error
	pr.cli.SetReadDeadline(pr.n.clk.Now().Add(-time.Second))
	if _, err := pr.cli.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("past deadline: %v", err)
	}
	// Accept deadline.
	pr.ln.SetDeadline(pr.n.clk.Now())
	if _, err := pr.ln.Accept(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("accept: %v", err)
	}
	// Dial cancelled by its context.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		pr.n.clk.BlockUntil(1)
		cancel()
	}()
	if _, err := pr.a.p.DialContext(ctx, netip.AddrPort{}, netip.AddrPortFrom(addrX, 80)); !errors.Is(err, context.Canceled) {
		t.Fatalf("dial: %v", err)
	}
}

// Blocking Dial/Accept/Read/Write in goroutines with the virtual clock.
func TestBlockingAPI(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	a := n.host(addrA, DefaultParams(), 1)
	b := n.host(addrB, DefaultParams(), 2)
	ln, err := b.p.Listen(netip.AddrPort{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	data := testData(300_000, 1)
	done := make(chan error, 2)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		got, err := io.ReadAll(c)
		if err == nil && !bytes.Equal(got, data) {
			err = errors.New("data mismatch")
		}
		if err == nil {
			_, err = c.Write([]byte("thanks"))
		}
		c.Close()
		done <- err
	}()
	go func() {
		c, err := a.p.Dial(netip.AddrPort{}, netip.AddrPortFrom(addrB, uint16(port)))
		if err != nil {
			done <- err
			return
		}
		if _, err = c.Write(data); err != nil {
			done <- err
			return
		}
		c.CloseWrite()
		reply, err := io.ReadAll(c)
		if err == nil && string(reply) != "thanks" {
			err = errors.New("bad reply " + string(reply))
		}
		c.Close()
		done <- err
	}()
	// Drive virtual time while the goroutines work.
	for i := 0; i < 2; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			i++
		default:
			if _, ok := n.clk.Next(); ok {
				n.clk.Step()
			} else {
				time.Sleep(time.Millisecond)
			}
		}
	}
}

// Listener.Close resets queued connections; later SYNs get RST.
func TestListenerClose(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	a := n.host(addrA, DefaultParams(), 1)
	b := n.host(addrB, DefaultParams(), 2)
	ln, _ := b.p.Listen(netip.AddrPortFrom(addrB, 80), 5)
	c := a.dialNB(t, netip.AddrPortFrom(addrB, 80))
	n.run(time.Second)
	ln.Close()
	n.run(time.Second)
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("queued conn after listener close: %v", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept after close: %v", err)
	}
	c2 := a.dialNB(t, netip.AddrPortFrom(addrB, 80))
	n.run(time.Second)
	if _, err := c2.Read(nil); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial after close: %v", err)
	}
	if _, err := b.p.Listen(netip.AddrPortFrom(addrB, 80), 5); err != nil {
		t.Fatalf("relisten: %v", err)
	}
}

// SPEC: TCP-3 — TcpNumConnections bounds the connection table.
func TestNumConnectionsBound(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	p := DefaultParams()
	p.TcpNumConnections = 3
	a := n.host(addrA, p, 1)
	for i := 0; i < 3; i++ {
		a.dialNB(t, netip.AddrPortFrom(addrX, 80))
	}
	if _, err := a.p.startDial(netip.AddrPort{}, netip.AddrPortFrom(addrX, 80)); !errors.Is(err, syscall.ENOBUFS) {
		t.Fatalf("4th connection: %v", err)
	}
}

// SPEC: TCP-TW-1 — MaxFreeTWTcbs caps TIME-WAIT; the oldest goes first.
func TestTimeWaitCap(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	p := DefaultParams()
	p.MaxFreeTWTcbs = 2
	a := n.host(addrA, p, 1)
	b := n.host(addrB, DefaultParams(), 2)
	ln, _ := b.p.Listen(netip.AddrPortFrom(addrB, 80), 10)
	var cs []*Conn
	for i := 0; i < 3; i++ {
		c := a.dialNB(t, netip.AddrPortFrom(addrB, 80))
		n.run(time.Second)
		s := ln.tryAccept()
		c.Close()
		n.run(time.Second)
		s.Close()
		n.run(time.Second)
		cs = append(cs, c)
	}
	if cs[0].State() != StateClosed || cs[1].State() != StateTimeWait || cs[2].State() != StateTimeWait {
		t.Fatalf("states %v %v %v", cs[0].State(), cs[1].State(), cs[2].State())
	}
}

// A new SYN for a TIME-WAIT tuple with a higher sequence reopens it.
func TestTimeWaitReopen(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	a := n.host(addrA, DefaultParams(), 1)
	b := n.host(addrB, DefaultParams(), 2)
	ln, _ := b.p.Listen(netip.AddrPortFrom(addrB, 80), 10)
	c := a.dialNB(t, netip.AddrPortFrom(addrB, 80))
	n.run(time.Second)
	s := ln.tryAccept()
	s.Close() // server closes first: server in TIME-WAIT
	n.run(time.Second)
	c.Close()
	n.run(time.Second)
	if s.State() != StateTimeWait {
		t.Fatalf("server %v", s.State())
	}
	n.run(time.Minute) // the client's ISN clock moves on
	c2, err := a.p.startDial(c.id.local, c.id.remote)
	if err != nil {
		t.Fatal(err)
	}
	n.run(time.Second)
	if c2.State() != StateEstablished || ln.tryAccept() == nil {
		n.dump(t)
		t.Fatalf("reopen failed: %v", c2.State())
	}
}

// SetLinger(0) resets; SetReadBuffer changes the advertised window.
func TestLingerAndReadBuffer(t *testing.T) {
	pr := newPair(t, time.Millisecond, DefaultParams(), DefaultParams(), 23)
	pr.srv.SetReadBuffer(4000) // rounds up to 3 × 1460
	data := testData(40000, 1)
	p := &pump{w: pr.cli, r: pr.srv, src: data}
	pr.n.runUntil(func() bool { p.step(); return len(p.got) == len(data) }, time.Minute)
	// The window already offered is never shrunk; once it is used up the
	// offers respect the new buffer.
	wins := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrB && w.at > 100*time.Millisecond })
	if len(wins) == 0 {
		t.Fatal("no segments")
	}
	for _, w := range wins[len(wins)/2:] {
		if w.tcp().Window > 4380 {
			pr.n.dump(t)
			t.Fatalf("window %d not limited to 4380", w.tcp().Window)
		}
	}
	pr.n.clearTrace()
	pr.cli.SetLinger(0)
	pr.cli.Close()
	pr.n.run(time.Second)
	rst := pr.n.segs(func(w wireSeg, tc *layers.TCP) bool { return w.src == addrA && tc.RST })
	if len(rst) != 1 || pr.srv.State() != StateClosed {
		t.Fatalf("linger 0 close: %d RSTs, server %v", len(rst), pr.srv.State())
	}
}

// SPEC: TCP-NAGLE-1 — never Nagle on loopback.
func TestNoNagleOnLoopback(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	lo := netip.MustParseAddr("127.0.0.1")
	h := n.host(lo, DefaultParams(), 1)
	ln, _ := h.p.Listen(netip.AddrPortFrom(lo, 80), 5)
	c, err := h.p.startDial(netip.AddrPort{}, netip.AddrPortFrom(lo, 80))
	if err != nil {
		t.Fatal(err)
	}
	n.run(time.Second)
	ln.tryAccept()
	n.clearTrace()
	c.Write([]byte("a"))
	c.Write([]byte("b"))
	n.run(time.Second)
	data := n.segs(func(w wireSeg, tc *layers.TCP) bool { return len(tc.Payload) > 0 })
	if len(data) != 2 {
		t.Fatalf("loopback small writes: %d segments, want 2", len(data))
	}
}

// Routing failure is reported as ENETUNREACH.
func TestDialNoRoute(t *testing.T) {
	n := newFakeNet(time.Millisecond, 1)
	a := n.host(addrA, DefaultParams(), 1)
	if _, err := a.p.Dial(netip.AddrPort{}, netip.MustParseAddrPort("203.0.113.1:80")); !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("dial: %v", err)
	}
}
