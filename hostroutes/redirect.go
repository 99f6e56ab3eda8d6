package hostroutes

import "net/netip"

// SetRedirect installs an accepted ICMP redirect: dst's first hop is
// gateway for RedirectLifetime (10 minutes, SPEC ICMP-3). Validating the
// redirect (it came from the current first hop, gateway is on-link) is
// the stack's job. A repeated redirect restarts the lifetime. Like a PMTU
// update it creates or modifies dst's entry and is never refused for lack
// of room. Non-IPv4 addresses are dropped and counted as Invalid.
func (t *Table) SetRedirect(dst, gateway netip.Addr) {
	dst, gateway = dst.Unmap(), gateway.Unmap()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !dst.Is4() || !gateway.Is4() {
		t.st.Invalid++
		return
	}
	now := t.clk.Now()
	n := t.live(dst, now)
	if n == nil {
		n = t.create(dst, now)
	} else {
		t.st.Modifies++
		t.touch(n, now)
	}
	n.e.Gateway = gateway
	n.e.RedirectExpires = now.Add(lifetime(t.RedirectLifetime, DefaultRedirectLifetime))
	t.schedule(redirList, n)
}
