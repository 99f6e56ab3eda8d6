package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/services/netbt"
	"github.com/stapel-net/stapel/stack"
)

// netbtService is the daemon's NetBIOS name service: one B-node per
// NetBT-enabled interface, on the interface's first address (SPEC NBT-6).
type netbtService struct {
	log     *slog.Logger
	lmhosts string // LMHOSTS path, "" = EnableLmhosts off
	nodes   []nbtBinding
}

type nbtBinding struct {
	ifName string
	node   *netbt.Node
}

// netbtServices finds a stack's service from the control server's
// extHost (which only knows the stack) without widening the Daemon and
// extHost structs other parts of the daemon own.
var netbtServices sync.Map // *stack.Stack -> *netbtService

// startNetBT starts the name service on every interface whose
// NetbiosOptions does not disable it (SPEC NBT-11; 0, "from DHCP", counts
// as enabled since Stapel has no DHCP client yet). host is the host name:
// the computer name is its first 15 characters, upper-cased.
func startNetBT(st *stack.Stack, cfg *config.Config, host string, log *slog.Logger) error {
	nb := cfg.NetBT
	svc := &netbtService{log: log}
	if nb.EnableLmhosts {
		svc.lmhosts = nb.LmhostsFile
	}
	computer := strings.ToUpper(host)
	if i := strings.IndexByte(computer, '.'); i >= 0 {
		computer = computer[:i]
	}
	if len(computer) > netbt.MaxNameLen {
		computer = computer[:netbt.MaxNameLen]
	}
	if nb.NodeType == 2 || nb.NodeType == 8 || nb.NodeType == config.Absent && hasWINS(cfg) {
		log.Warn("netbt: no WINS client yet; registering and resolving by broadcast (B-node)", "NodeType", nb.NodeType)
	}
	lm := svc.readLmhosts()
	for _, ifc := range cfg.Interfaces {
		if ifc.NetbiosOptions == 2 {
			log.Info("netbt: disabled on interface", "interface", ifc.Name)
			continue
		}
		si := st.Interface(ifc.Name)
		if si == nil {
			continue
		}
		info := si.Info()
		if len(info.Addrs) == 0 {
			log.Warn("netbt: interface has no address; not bound", "interface", ifc.Name)
			continue
		}
		p := info.Addrs[0]
		bcast := subnetBroadcast(p, info.UseZeroBroadcast)
		if nb.BroadcastAddress != config.Absent {
			// SPEC NBT-13, AMB-21: the DWORD reads as the dotted address,
			// most significant byte first.
			v := uint32(nb.BroadcastAddress)
			bcast = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		}
		conn, err := st.ListenUDP(netip.AddrPortFrom(p.Addr(), netbt.Port))
		if err != nil {
			svc.close()
			return fmt.Errorf("netbt: interface %q: %w", ifc.Name, err)
		}
		conn.SetBroadcast(true)
		node, err := netbt.Start(netbt.Config{
			Conn: conn, Clock: st.Clock(), Logger: log, Addr: p.Addr(), Broadcast: bcast,
			MAC: info.MAC, ComputerName: computer, Workgroup: nb.Workgroup, Scope: nb.ScopeId,
			BcastQueryCount:       nb.BcastNameQueryCount,
			BcastQueryTimeout:     time.Duration(nb.BcastQueryTimeout) * time.Millisecond,
			CacheTimeout:          time.Duration(nb.CacheTimeout) * time.Millisecond,
			NoNameReleaseOnDemand: nb.NoNameReleaseOnDemand,
			Lmhosts:               lm,
			MaxPreload:            nb.MaxPreloadEntries,
			DisableQueries:        nb.UseDnsOnlyForNameResolutions,
		})
		if err != nil {
			conn.Close()
			svc.close()
			return fmt.Errorf("netbt: interface %q: %w", ifc.Name, err)
		}
		svc.nodes = append(svc.nodes, nbtBinding{ifName: ifc.Name, node: node})
		log.Info("netbt: name service bound", "interface", ifc.Name, "addr", p.Addr(), "broadcast", bcast,
			"computer", computer, "workgroup", nb.Workgroup)
	}
	netbtServices.Store(st, svc)
	return nil
}

func hasWINS(cfg *config.Config) bool {
	for _, ifc := range cfg.Interfaces {
		if len(ifc.NameServerList) > 0 {
			return true
		}
	}
	return false
}

// subnetBroadcast is the all-ones (or, with UseZeroBroadcast, all-zeros)
// host part of p.
func subnetBroadcast(p netip.Prefix, zero bool) netip.Addr {
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	host := uint32(1)<<(32-p.Bits()) - 1
	if p.Bits() == 0 {
		host = ^uint32(0)
	}
	if zero {
		v &^= host
	} else {
		v |= host
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// readLmhosts parses the LMHOSTS file; a missing file is no entries.
func (s *netbtService) readLmhosts() []netbt.LmhostsEntry {
	if s.lmhosts == "" {
		return nil
	}
	f, err := os.Open(s.lmhosts)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("netbt: lmhosts", "err", err)
		}
		return nil
	}
	defer f.Close()
	es, warns := netbt.ParseLmhosts(f)
	for _, w := range warns {
		s.log.Warn("netbt: " + w)
	}
	return es
}

// stopNetBT releases the names (SPEC NBT-2: names are released when the
// host stops) while the stack can still send.
func stopNetBT(st *stack.Stack) {
	if v, ok := netbtServices.LoadAndDelete(st); ok {
		v.(*netbtService).close()
	}
}

func (s *netbtService) close() {
	for _, b := range s.nodes {
		b.node.Close()
	}
}

// Nbtstat implements control.NbtstatHost.
func (h extHost) Nbtstat(ctx context.Context, a control.NbtstatArgs) (control.NbtstatReply, error) {
	v, ok := netbtServices.Load(h.Stack())
	if !ok {
		return control.NbtstatReply{}, errors.New("nbtstat: NetBIOS over TCP/IP is not running")
	}
	return v.(*netbtService).nbtstat(ctx, a)
}

func nbtName(n netbt.Name) control.NbtName {
	return control.NbtName{Name: n.Base(), Suffix: n.Suffix()}
}

func (s *netbtService) nbtstat(ctx context.Context, a control.NbtstatArgs) (control.NbtstatReply, error) {
	var r control.NbtstatReply
	switch a.Mode {
	case control.NbtStats:
		st := &control.NbtStatistics{}
		for _, b := range s.nodes {
			x := b.node.Stats()
			st.ResolvedByBroadcast += x.ResolvedByBroadcast
			st.RegisteredByBroadcast += x.RegisteredByBroadcast
			for _, n := range x.ResolvedNames {
				st.Resolved = append(st.Resolved, nbtName(n))
			}
		}
		r.Stats = st
		return r, nil
	case control.NbtPurge:
		lm := s.readLmhosts()
		for _, b := range s.nodes {
			b.node.PurgeCache(lm)
		}
		return r, nil
	case control.NbtLocalNames, control.NbtCache, control.NbtAdapterIP, control.NbtAdapterNm:
	default:
		return r, fmt.Errorf("nbtstat: unknown mode %q", a.Mode)
	}
	var target netbt.Name
	if a.Mode == control.NbtAdapterNm {
		var err error
		if target, err = netbt.NewName(a.Name, a.Suffix); err != nil {
			return r, err
		}
	}
	if a.Mode == control.NbtAdapterIP && !a.IP.Is4() {
		return r, errors.New("nbtstat: -A needs an IPv4 address")
	}
	for _, b := range s.nodes {
		ad := control.NbtAdapter{Interface: b.ifName, Addr: b.node.Addr(), Scope: b.node.Scope()}
		switch a.Mode {
		case control.NbtLocalNames:
			for _, ln := range b.node.Names() {
				n := nbtName(ln.Name)
				n.Group, n.Status = ln.Group, ln.State.String()
				ad.Local = append(ad.Local, n)
			}
		case control.NbtCache:
			for _, e := range b.node.Cache() {
				n := nbtName(e.Name)
				n.Group = e.Group
				life := -1
				if e.Life >= 0 {
					life = int(e.Life / time.Second)
				}
				ad.Cache = append(ad.Cache, control.NbtCacheEntry{NbtName: n, Addr: e.Addrs[0], Life: life})
			}
		case control.NbtAdapterIP, control.NbtAdapterNm:
			ip := a.IP
			if a.Mode == control.NbtAdapterNm {
				addrs, err := b.node.Resolve(ctx, target)
				if err != nil {
					if ctx.Err() != nil {
						return r, ctx.Err()
					}
					r.Adapters = append(r.Adapters, ad)
					continue
				}
				ip = addrs[0]
			}
			st, err := b.node.NodeStatus(ctx, ip)
			if err == nil {
				rm := &control.NbtRemote{MAC: strings.ToUpper(strings.ReplaceAll(fmt.Sprintf("% x", st.UnitID[:]), " ", "-"))}
				for _, nn := range st.Names {
					rm.Names = append(rm.Names, control.NbtName{Name: nn.Base(), Suffix: nn.Suffix(),
						Group: nn.Flags&netbt.FlagGroup != 0, Status: nodeNameStatus(nn.Flags)})
				}
				ad.Remote = rm
			} else if ctx.Err() != nil {
				return r, ctx.Err()
			}
		}
		r.Adapters = append(r.Adapters, ad)
	}
	return r, nil
}

// nodeNameStatus is nbtstat's status column for NAME_FLAGS.
func nodeNameStatus(f uint16) string {
	switch {
	case f&netbt.FlagConflict != 0:
		return "Conflict"
	case f&netbt.FlagDeregistr != 0:
		return "Deregistered"
	case f&netbt.FlagActive != 0:
		return "Registered"
	}
	return "Registering"
}
