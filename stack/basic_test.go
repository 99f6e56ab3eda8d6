package stack

import (
	"testing"
	"time"

	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
)

func TestPingSameSegment(t *testing.T) {
	n := sim.ForTest(t, 1)
	seg := n.NewSegment("lan", 1500, link.FaultConfig{})
	a := newHost(t, n, seg, "192.0.2.1/24", "", nil)
	b := newHost(t, n, seg, "192.0.2.2/24", "", nil)
	_ = b
	n.Run(5 * time.Second)
	es, err := a.NewEchoSocket()
	if err != nil {
		t.Fatal(err)
	}
	if err := es.Send(EchoRequest{Dst: ip("192.0.2.2"), Seq: 1, Size: 32}); err != nil {
		t.Fatal(err)
	}
	ev, ok := waitEvent(t, n, es, 2*time.Second)
	if !ok || ev.Type != 0 || ev.Seq != 1 || ev.Size != 32 || ev.From != ip("192.0.2.2") {
		t.Fatalf("event %+v ok=%v", ev, ok)
	}
	st := a.Stats()
	if st.ICMPOutEchos != 1 || st.ICMPInEchoReps != 1 {
		t.Fatalf("stats %+v", st)
	}
}
