package stack

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Persistent routes (SPEC IP-5): "route add -p" routes, kept as lines
// "dest,mask,gateway,metric" (the registry value names of
// Tcpip\Parameters\PersistentRoutes) in Options.PersistentRoutesFile.
// A persistent route joins the lookup set whenever its gateway is on a
// connected subnet, so it survives interfaces coming and going.

// maxPersistentRoutes bounds the list (and the file we read).
const maxPersistentRoutes = 1024

// PersistentRoutes returns the persistent routes as configured (IfIndex
// 0 where the gateway is not reachable now), for route print.
func (s *Stack) PersistentRoutes() []Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Route, len(s.routes.persistent))
	copy(out, s.routes.persistent)
	return out
}

func (s *Stack) addPersistentLocked(r Route) error {
	if !r.Gateway.Is4() {
		return fmt.Errorf("stack: add persistent route %v: a gateway is required: %w", r.Dst, ErrInvalid)
	}
	for _, o := range s.routes.persistent {
		if o.Dst == r.Dst && o.Gateway == r.Gateway {
			return fmt.Errorf("stack: add route %v via %v: %w", r.Dst, r.Gateway, ErrExists)
		}
	}
	if len(s.routes.persistent) >= maxPersistentRoutes {
		return fmt.Errorf("stack: add route %v: %d persistent routes already: %w", r.Dst, maxPersistentRoutes, ErrInvalid)
	}
	s.routes.persistent = append(s.routes.persistent, Route{Dst: r.Dst, Gateway: r.Gateway, Metric: r.Metric,
		Kind: RouteStatic, Persistent: true})
	s.routes.rebuildAutoLocked(s)
	s.savePersistentLocked()
	return nil
}

// appendPersistentLocked adds the reachable persistent routes to rt.all.
func (rt *routeTable) appendPersistentLocked(s *Stack) {
	for _, p := range rt.persistent {
		r := p
		if ifc := s.local[p.Gateway]; ifc != nil { // IP-7: own address = on-link
			r.IfIndex, r.IfAddr, r.Gateway = ifc.index, p.Gateway, netip.Addr{}
		} else if ifc, a := s.onLinkLocked(p.Gateway); ifc != nil {
			r.IfIndex, r.IfAddr = ifc.index, a
		} else {
			continue
		}
		rt.all = append(rt.all, r)
	}
}

// onLinkLocked returns the usable interface (and its address) whose
// connected subnet contains a.
func (s *Stack) onLinkLocked(a netip.Addr) (*Interface, netip.Addr) {
	for _, ifc := range s.ifaces {
		if !ifc.usableLocked() {
			continue
		}
		for _, ad := range ifc.addrs {
			if ad.state == addrActive && ad.prefix.Bits() < 32 && ad.prefix.Contains(a) {
				return ifc, ad.prefix.Addr()
			}
		}
	}
	return nil, netip.Addr{}
}

// ParsePersistentRoute parses "dest,mask,gateway,metric" (SPEC IP-5).
func ParsePersistentRoute(line string) (Route, error) {
	f := strings.Split(strings.TrimSpace(line), ",")
	if len(f) != 4 {
		return Route{}, fmt.Errorf("persistent route %q: want dest,mask,gateway,metric: %w", line, ErrInvalid)
	}
	dst, err1 := netip.ParseAddr(strings.TrimSpace(f[0]))
	mask, err2 := netip.ParseAddr(strings.TrimSpace(f[1]))
	gw, err3 := netip.ParseAddr(strings.TrimSpace(f[2]))
	metric, err4 := strconv.Atoi(strings.TrimSpace(f[3]))
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || !dst.Is4() || !gw.Is4() {
		return Route{}, fmt.Errorf("persistent route %q: bad address or metric: %w", line, ErrInvalid)
	}
	bits, ok := MaskBits(mask)
	if !ok {
		return Route{}, fmt.Errorf("persistent route %q: mask %v is not contiguous: %w", line, mask, ErrInvalid)
	}
	if metric <= 0 {
		metric = 1
	}
	return Route{Dst: netip.PrefixFrom(dst, bits).Masked(), Gateway: gw, Metric: metric, Kind: RouteStatic, Persistent: true}, nil
}

// FormatPersistentRoute is ParsePersistentRoute's inverse.
func FormatPersistentRoute(r Route) string {
	return fmt.Sprintf("%v,%v,%v,%d", r.Dst.Addr(), prefixMask(r.Dst.Bits()), r.Gateway, r.Metric)
}

// MaskBits converts a contiguous netmask to a prefix length.
func MaskBits(mask netip.Addr) (int, bool) {
	if !mask.Is4() {
		return 0, false
	}
	b := mask.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	return n, v == 0
}

// loadPersistentRoutes reads Params.PersistentRoutes and the state file;
// bad lines are logged and skipped, never fatal.
func (s *Stack) loadPersistentRoutes() {
	lines := append([]string(nil), s.p.persistentRoutes...)
	if s.persistFn != "" {
		if b, err := os.ReadFile(s.persistFn); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() && len(lines) < 2*maxPersistentRoutes {
				if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
					lines = append(lines, l)
				}
			}
		} else if !os.IsNotExist(err) {
			s.log.Warn("persistent routes: cannot read state file", "file", s.persistFn, "err", err)
		}
	}
	for _, l := range lines {
		r, err := ParsePersistentRoute(l)
		if err != nil {
			s.log.Warn("persistent routes: skipping entry", "err", err)
			continue
		}
		dup := false
		for _, o := range s.routes.persistent {
			dup = dup || (o.Dst == r.Dst && o.Gateway == r.Gateway)
		}
		if !dup && len(s.routes.persistent) < maxPersistentRoutes {
			s.routes.persistent = append(s.routes.persistent, r)
		}
	}
}

// savePersistentLocked rewrites the state file (write, then rename, so a
// crash leaves the old or the new list, never half of one).
func (s *Stack) savePersistentLocked() {
	if s.persistFn == "" {
		return
	}
	var b strings.Builder
	b.WriteString("# Stapel persistent routes: dest,mask,gateway,metric (route add -p)\n")
	for _, r := range s.routes.persistent {
		b.WriteString(FormatPersistentRoute(r))
		b.WriteByte('\n')
	}
	tmp := s.persistFn + ".tmp"
	if err := os.MkdirAll(filepath.Dir(s.persistFn), 0o755); err != nil {
		s.log.Warn("persistent routes: cannot save", "file", s.persistFn, "err", err)
		return
	}
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		s.log.Warn("persistent routes: cannot save", "file", tmp, "err", err)
		return
	}
	if err := os.Rename(tmp, s.persistFn); err != nil {
		s.log.Warn("persistent routes: cannot save", "file", s.persistFn, "err", err)
	}
}
