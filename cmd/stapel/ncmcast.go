package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"

	"github.com/stapel-net/stapel/control"
)

// ncMulticast holds nc's multicast flags: --join GROUP (repeatable) and
// --ttl N for datagrams to groups (SPEC MCAST-4, MCAST-5).
type ncMulticast struct {
	joins groupList
	ttl   int
}

func (m *ncMulticast) register(fs *flag.FlagSet) {
	fs.Var(&m.joins, "join", "join multicast group (UDP; repeatable)")
	fs.IntVar(&m.ttl, "ttl", -1, "TTL of datagrams to multicast groups (UDP; default 1)")
}

// options says what to ask the daemon for; ok false: no multicast flag.
func (m *ncMulticast) options(src netip.Addr) (control.UDPMulticast, bool, error) {
	if len(m.joins) == 0 && m.ttl < 0 {
		return control.UDPMulticast{}, false, nil
	}
	if m.ttl > 255 {
		return control.UDPMulticast{}, false, usagef("bad TTL %d", m.ttl)
	}
	o := control.UDPMulticast{Join: m.joins, IfAddr: src}
	if m.ttl >= 0 {
		o.TTL = &m.ttl
	}
	return o, true, nil
}

type groupList []netip.Addr

func (g *groupList) String() string {
	var s []string
	for _, a := range *g {
		s = append(s, a.String())
	}
	return strings.Join(s, ",")
}

func (g *groupList) Set(v string) error {
	a, err := netip.ParseAddr(v)
	if err != nil || !a.Is4() || !a.IsMulticast() {
		return fmt.Errorf("bad multicast group %q", v)
	}
	*g = append(*g, a)
	return nil
}
