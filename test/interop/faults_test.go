package interop

import (
	"regexp"
	"strconv"
	"testing"
	"time"
)

var lossRe = regexp.MustCompile(`(\d+(?:\.\d+)?)% packet loss`)

// TestFaultInjection: `stapel run --faults lan0:loss=0.3,seed=N` drops
// frames on the TAP in both directions: some pings are lost, not all.
func TestFaultInjection(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{DaemonArgs: []string{"--faults", "lan0:loss=0.3,seed=7"}})
	e.StapelMAC(t) // retried until ARP gets through the loss
	out, _ := e.NS(t, 30*time.Second, "ping", "-n", "-c", "40", "-i", "0.05", "-W", "1", stapelIP)
	m := lossRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no loss figure in ping output:\n%s", out)
	}
	loss, _ := strconv.ParseFloat(m[1], 64)
	// Each echo survives two crossings: about 1-0.7² = 51% loss expected.
	if loss <= 0 || loss >= 100 {
		t.Fatalf("with 30%% frame loss each way, ping lost %v%% of 40 echoes; want some but not all:\n%s", loss, out)
	}
	t.Logf("ping loss with loss=0.3 each way: %v%%", loss)
}
