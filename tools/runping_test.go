package tools

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// pingHost emits two replies, then waits for Ctrl-C.
type pingHost struct{ Host }

func (pingHost) Ping(ctx context.Context, dst netip.Addr, o PingOptions, emit func(ProbeResult)) error {
	emit(ProbeResult{Kind: ProbeReply, From: dst, Bytes: o.Size, TTL: 128, RTT: 3 * time.Millisecond})
	emit(ProbeResult{Kind: ProbeReply, From: dst, Bytes: o.Size, TTL: 128, RTT: 5 * time.Millisecond})
	<-ctx.Done()
	return ctx.Err()
}

// Ctrl-C during ping -t prints the statistics, then "Control-C".
func TestRunPingControlC(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out strings.Builder
	done := make(chan *PingStats)
	go func() {
		st, _ := RunPing(ctx, pingHost{}, ipB, PingOptions{Continuous: true, Size: 32}, &out)
		done <- st
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	st := <-done
	want := `
Pinging 203.0.113.20 with 32 bytes of data:

Reply from 203.0.113.20: bytes=32 time=3ms TTL=128
Reply from 203.0.113.20: bytes=32 time=5ms TTL=128

Ping statistics for 203.0.113.20:
    Packets: Sent = 2, Received = 2, Lost = 0 (0% loss),
Approximate round trip times in milli-seconds:
    Minimum = 3ms, Maximum = 5ms, Average = 4ms
Control-C
^C
`
	if out.String() != want || st.Received != 2 {
		t.Fatalf("got:\n%s", out.String())
	}
}
