package main

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/services/dns"
)

// resolveHost turns a tool's HOST argument into an IPv4 address: a
// literal as it is, a name through the daemon's resolver (hosts file,
// cache, DNS: SPEC DNS-1, gethostbyname's order). name is the argument
// when it was a name, for the "NAME [ADDR]" headers, else empty.
func resolveHost(ctx context.Context, cl *control.Client, host string) (addr netip.Addr, name string, err error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Is4() {
			return netip.Addr{}, "", fmt.Errorf("%s: not an IPv4 address", host)
		}
		return a, "", nil
	}
	r, err := cl.Nslookup(ctx, control.NslookupArgs{Name: host})
	if err != nil {
		return netip.Addr{}, "", err
	}
	if r.Error != "" {
		return netip.Addr{}, "", dns.ErrorOf(r.Error)
	}
	for _, rr := range r.Answer.Records {
		if rr.Type == dns.TypeA && rr.Addr.Is4() {
			return rr.Addr, host, nil
		}
	}
	return netip.Addr{}, "", fmt.Errorf("%s: no IPv4 address", host)
}
