package control

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/stapel-net/stapel/tools"
)

// mcastHost's sockets record the multicast options they are given.
type mcastHost struct {
	*fakeHost
	mu    sync.Mutex
	calls []string
}

type mcastConn struct {
	*pipeConn
	h *mcastHost
}

func (h *mcastHost) OpenUDP(ctx context.Context, local, remote netip.AddrPort) (tools.DatagramConn, error) {
	pc, _ := h.fakeHost.OpenUDP(ctx, local, remote)
	return &mcastConn{pc.(*pipeConn), h}, nil
}

func (c *mcastConn) JoinGroup(group, ifAddr netip.Addr) error {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	c.h.calls = append(c.h.calls, "join "+group.String()+" "+ifAddr.String())
	return nil
}

func (c *mcastConn) SetMulticastTTL(ttl int) error {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	c.h.calls = append(c.h.calls, "ttl "+string(rune('0'+ttl)))
	return nil
}

// SPEC: MCAST-5 — nc -u --join/--ttl reach the daemon's socket.
func TestUDPMulticastOptions(t *testing.T) {
	h := &mcastHost{fakeHost: &fakeHost{}}
	c := serve(t, h, 0)
	ttl := 3
	uc, err := c.OpenUDPMulticast(context.Background(), netip.MustParseAddrPort("0.0.0.0:5000"), netip.AddrPort{},
		UDPMulticast{Join: []netip.Addr{netip.MustParseAddr("239.1.2.3")}, TTL: &ttl})
	if err != nil {
		t.Fatal(err)
	}
	uc.Close()
	h.mu.Lock()
	got := strings.Join(h.calls, "; ")
	h.mu.Unlock()
	if got != "ttl 3; join 239.1.2.3 invalid IP" {
		t.Fatalf("calls: %s", got)
	}
	// A host whose sockets have no multicast options says so.
	c = serve(t, &fakeHost{}, 0)
	if _, err := c.OpenUDPMulticast(context.Background(), netip.AddrPort{}, netip.AddrPort{},
		UDPMulticast{Join: []netip.Addr{netip.MustParseAddr("239.1.2.3")}}); err == nil || !strings.Contains(err.Error(), "multicast") {
		t.Fatalf("err %v", err)
	}
}
