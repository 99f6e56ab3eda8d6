package dhcp

import (
	"net/netip"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/stack"
)

// StackPinger is Config.Ping for a stack: one echo request, answered or
// not within timeout on clk (SPEC DHCP-3). The answer is looked for when
// the timeout fires, from the clock's callback, so the outcome does not
// depend on goroutine scheduling (and done never runs under the caller's
// lock).
func StackPinger(st *stack.Stack, clk clock.Clock) func(gw netip.Addr, timeout time.Duration, done func(bool)) {
	return func(gw netip.Addr, timeout time.Duration, done func(bool)) {
		es, err := st.NewEchoSocket()
		if err != nil {
			clk.AfterFunc(0, func() { done(false) })
			return
		}
		if err := es.Send(stack.EchoRequest{Dst: gw, Seq: 1, Size: 32}); err != nil {
			es.Close()
			clk.AfterFunc(0, func() { done(false) })
			return
		}
		clk.AfterFunc(timeout, func() {
			ok := false
			for more := true; more && !ok; {
				select {
				case ev := <-es.Events():
					ok = ev.Type == 0 && ev.From == gw
				default:
					more = false
				}
			}
			es.Close()
			done(ok)
		})
	}
}
