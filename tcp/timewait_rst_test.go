package tcp

import (
	"testing"
	"time"

	"github.com/stapel-net/stapel/wire"
)

// SPEC: TCP-TW-1 — a RST does not cut TIME-WAIT short (RFC 1337). Linux
// answers our ACK of its retransmitted FIN with a RST once it has closed;
// TIME-WAIT still lasts the full 240 s.
func TestTimeWaitIgnoresRST(t *testing.T) {
	pr := newPair(t, 10*time.Millisecond, DefaultParams(), DefaultParams(), 12)
	pr.cli.Close()
	pr.n.runUntil(func() bool {
		pr.srv.mu.Lock()
		defer pr.srv.mu.Unlock()
		return pr.srv.finRcvd
	}, time.Minute)
	pr.srv.Close()
	pr.n.runUntil(func() bool { return pr.cli.State() == StateTimeWait }, time.Minute)
	twAt := pr.n.now()

	pr.cli.mu.Lock()
	id, seq := pr.cli.id, pr.cli.rcvNxt
	pr.cli.mu.Unlock()
	seg := make([]byte, wire.TCPMinHeaderLen)
	h := wire.TCPHeader{SrcPort: id.remote.Port(), DstPort: id.local.Port(), Seq: seq,
		DataOff: wire.TCPMinHeaderLen, Flags: wire.RST}
	h.Put(seg, id.remote.Addr(), id.local.Addr())
	pr.a.p.HandleSegment(id.remote.Addr(), id.local.Addr(), seg)
	if s := pr.cli.State(); s != StateTimeWait {
		t.Fatalf("after RST: %v, want TIME_WAIT", s)
	}
	pr.n.runUntil(func() bool { return pr.cli.State() == StateClosed }, 10*time.Minute)
	if d := pr.n.now() - twAt; d != 240*time.Second {
		t.Errorf("TIME-WAIT lasted %v, want 240s", d)
	}
}
