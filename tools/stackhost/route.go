package stackhost

import (
	"context"
	"fmt"

	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tools"
)

var _ tools.RouteHost = (*Host)(nil)

// RouteTable implements tools.RouteHost (route print).
func (h *Host) RouteTable(ctx context.Context) (tools.RouteTable, error) {
	rt := tools.RouteTable{Interfaces: []tools.RouteInterface{{Index: stack.LoopbackIndex, Description: "MS TCP Loopback interface"}}}
	for _, ifc := range h.s.Interfaces() {
		d := fmt.Sprintf("Stapel virtual Ethernet adapter (%s)", ifc.Name)
		if h.o.Describe != nil {
			d = h.o.Describe(ifc.Name)
		}
		rt.Interfaces = append(rt.Interfaces, tools.RouteInterface{Index: ifc.Index, MAC: ifc.MAC.String(), Description: d})
	}
	for _, r := range h.s.Routes() {
		rt.Active = append(rt.Active, tools.RouteEntry{Dst: r.Dst, Gateway: r.DisplayGateway(), Interface: r.IfAddr,
			Metric: r.Metric, Kind: r.Kind.String()})
	}
	if gw, ok := h.s.ActiveGateway(); ok {
		rt.DefaultGateway = gw
	}
	for _, r := range h.s.PersistentRoutes() {
		rt.Persistent = append(rt.Persistent, tools.RouteEntry{Dst: r.Dst, Gateway: r.Gateway, Metric: r.Metric})
	}
	return rt, nil
}

// ChangeRoutes implements tools.RouteHost (route add, delete, change).
func (h *Host) ChangeRoutes(ctx context.Context, sp tools.RouteSpec) error {
	r := stack.Route{Dst: sp.Dst, Gateway: sp.Gateway, Metric: sp.Metric, IfIndex: sp.IfIndex, Persistent: sp.Persistent}
	switch sp.Command {
	case tools.RouteAdd:
		return h.s.AddRoute(r)
	case tools.RouteDelete:
		return h.s.DeleteRoute(sp.Dst, sp.Gateway)
	case tools.RouteChange:
		return h.s.ChangeRoute(r)
	}
	return fmt.Errorf("route: unknown command %q", sp.Command)
}
