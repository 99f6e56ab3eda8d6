package daemon

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stapel-net/stapel/tools"
)

// netstat -an through the control socket lists the simple services' UDP
// sockets as `*:*` rows without a state, in local-address order.
// SPEC: TOOL-NETSTAT
func TestDaemonNetstatUDP(t *testing.T) {
	_, c, _ := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := c.Netstat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := tools.FormatConnections(info, tools.NetstatOptions{All: true, Numeric: true, Proto: "UDP"})
	var ports []string
	for _, line := range strings.Split(out, "\n") {
		if m := regexp.MustCompile(`^  UDP    0\.0\.0\.0:(\d+) +\*:\*$`).FindStringSubmatch(line); m != nil {
			ports = append(ports, m[1])
		} else if strings.HasPrefix(line, "  UDP") {
			if !regexp.MustCompile(`^  UDP    \S+ +\*:\*$`).MatchString(line) {
				t.Errorf("UDP row %q: want foreign *:* and no state", line)
			}
		}
	}
	if got := strings.Join(ports, " "); !strings.Contains(got, "7 9 13 17 19") {
		t.Fatalf("netstat -an -p UDP: wildcard ports %q, want 7 9 13 17 19:\n%s", got, out)
	}
	if strings.Contains(out, "TCP") {
		t.Fatalf("-p UDP shows TCP rows:\n%s", out)
	}
	// Without -a, UDP sockets are hidden as on Windows.
	if out := tools.FormatConnections(info, tools.NetstatOptions{Numeric: true}); strings.Contains(out, "UDP") {
		t.Fatalf("netstat -n shows UDP:\n%s", out)
	}
}
