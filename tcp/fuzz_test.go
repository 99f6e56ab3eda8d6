package tcp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stapel-net/stapel/wire"
)

// fuzzTarget brings a fresh pair into the state picked by which and
// returns the host and connection 4-tuple (as seen by the target) that
// fuzzed segments are sent to.
func fuzzTarget(t testing.TB, which int) (*fakeNet, *fakeHost, connID, *Conn) {
	n := newFakeNet(5*time.Millisecond, 1)
	params := DefaultParams()
	if which&16 != 0 { // RFC 1323 on, scaled windows
		params.Tcp1323Opts = 3
		params.TcpWindowSize = 256 << 10
	}
	if which&32 != 0 {
		params.SackOpts = false
	}
	a := n.host(addrA, params, 1)
	b := n.host(addrB, params, 2)
	n.record = false
	ln, _ := b.p.Listen(netip.AddrPortFrom(addrB, 80), 5)
	id := func(c *Conn) connID { return c.id }
	dropAll := func(wireSeg) bool { return false }
	switch which % 11 {
	case 0: // LISTEN
		return n, b, connID{local: netip.AddrPortFrom(addrB, 80), remote: netip.AddrPortFrom(addrA, 3000)}, nil
	case 1: // SYN-SENT
		n.filter = dropAll
		c := a.dialNB(t, netip.AddrPortFrom(addrB, 80))
		return n, a, id(c), c
	case 2: // SYN-RECEIVED (the client's ACK is lost)
		n.filter = func(w wireSeg) bool { return w.src == addrB || w.tcp().SYN }
		c := a.dialNB(t, netip.AddrPortFrom(addrB, 80))
		n.run(100 * time.Millisecond)
		n.filter = dropAll
		return n, b, connID{local: c.id.remote, remote: c.id.local}, nil
	case 10: // closed port
		return n, b, connID{local: netip.AddrPortFrom(addrB, 81), remote: netip.AddrPortFrom(addrA, 3000)}, nil
	}
	c := a.dialNB(t, netip.AddrPortFrom(addrB, 80))
	n.run(100 * time.Millisecond)
	s := ln.tryAccept()
	c.Write([]byte("some data"))
	n.run(time.Second)
	switch which % 11 {
	case 3: // ESTABLISHED
	case 4: // FIN-WAIT-1
		n.filter = dropAll
		c.CloseWrite()
	case 5: // FIN-WAIT-2
		c.CloseWrite()
	case 6: // CLOSE-WAIT
		s.CloseWrite()
	case 7: // LAST-ACK
		s.CloseWrite()
		n.run(time.Second)
		n.filter = dropAll
		c.CloseWrite()
	case 8: // TIME-WAIT
		c.CloseWrite()
		n.run(time.Second)
		s.CloseWrite()
	case 9: // CLOSING: FINs cross, their ACKs are lost
		n.filter = func(w wireSeg) bool { return w.tcp().FIN }
		c.CloseWrite()
		s.CloseWrite()
	}
	n.run(time.Second)
	n.filter = dropAll
	return n, a, id(c), c
}

// FuzzSegment sends segments with any flags, sequence numbers near the
// connection's, and option garbage into every state: no panic, and the
// connection's invariants hold.
func FuzzSegment(f *testing.F) {
	f.Add(uint8(3), uint8(0x12), int32(0), int32(0), uint16(1000), uint16(0), []byte{2, 4, 5, 0xb4}, []byte("x"))
	f.Add(uint8(1), uint8(0x12), int32(0), int32(1), uint16(0), uint16(0), []byte{3, 3, 14, 1, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8}, []byte(nil))
	f.Add(uint8(8), uint8(0x11), int32(-1), int32(0), uint16(1), uint16(5), []byte{1, 1, 255}, []byte("abc"))
	f.Add(uint8(2), uint8(0x04), int32(0), int32(0), uint16(1), uint16(0), []byte{}, []byte{})
	f.Add(uint8(9), uint8(0x3f), int32(1<<30), int32(-5), uint16(0), uint16(0xffff), []byte{5, 10, 0, 0, 0, 0, 0, 0, 0, 0}, []byte("urgent"))
	f.Add(uint8(16+3), uint8(0x10), int32(0), int32(0), uint16(7), uint16(0), []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 5, 10, 0, 0, 0, 0, 0, 0, 0, 9}, []byte("ts"))
	f.Add(uint8(16+4), uint8(0x11), int32(3), int32(0), uint16(0), uint16(0), []byte{5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 255, 255, 255, 0, 255, 255, 255, 255}, []byte("sack"))
	f.Fuzz(func(t *testing.T, which, flags uint8, dseq, dack int32, win, urg uint16, opts, payload []byte) {
		watchdog := time.AfterFunc(10*time.Second, func() {
			panic(fmt.Sprintf("stuck: which=%d flags=%#x dseq=%d dack=%d win=%d urg=%d opts=%x payload=%x",
				which, flags, dseq, dack, win, urg, opts, payload))
		})
		defer watchdog.Stop()
		n, h, id, c := fuzzTarget(t, int(which))
		if len(opts) > 40 {
			opts = opts[:40]
		}
		if len(payload) > 3000 {
			payload = payload[:3000]
		}
		var seq, ack uint32
		if c != nil {
			c.mu.Lock()
			seq, ack = c.rcvNxt, c.sndUna
			c.mu.Unlock()
		}
		hl := 20 + (len(opts)+3)&^3
		b := make([]byte, hl+len(payload))
		copy(b[hl:], payload)
		wh := wire.TCPHeader{SrcPort: id.remote.Port(), DstPort: id.local.Port(), Seq: seq + uint32(dseq),
			Ack: ack + uint32(dack), Flags: wire.TCPFlags(flags), Window: win, Urgent: urg, Options: opts}
		wh.Put(b, id.remote.Addr(), id.local.Addr())
		h.p.HandleSegment(id.remote.Addr(), id.local.Addr(), b)
		// Raw garbage with a valid checksum too.
		if len(payload) >= 4 {
			g := append([]byte(nil), payload...)
			if len(g) >= 18 {
				binary.BigEndian.PutUint16(g[16:], 0)
				binary.BigEndian.PutUint16(g[16:], wire.Checksum(g, wire.PseudoHeaderSum(id.remote.Addr(), id.local.Addr(), 6, len(g))))
			}
			h.p.HandleSegment(id.remote.Addr(), id.local.Addr(), g)
		}
		h.p.HandleICMP(3, 4, int(win), id.local.Addr(), id.remote.Addr(), b)
		n.run(10 * time.Minute)
		if c != nil {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.rcv.len() > c.rcvCap+3000 || seqGT(c.sndUna, c.sndMax) || c.sndMSS < 48 && c.sndMSS != 0 {
				t.Fatalf("invariants broken: rcv %d/%d una %d max %d mss %d", c.rcv.len(), c.rcvCap, c.sndUna, c.sndMax, c.sndMSS)
			}
		}
	})
}
