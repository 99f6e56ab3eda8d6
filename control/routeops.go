package control

import (
	"context"
	"encoding/json"
	"net"

	"github.com/stapel-net/stapel/tools"
)

// Routing-table ops (route print | add | delete | change).
const (
	// OpRoutePrint answers tools.RouteTable.
	OpRoutePrint = "route.print"
	// OpRouteChange applies a tools.RouteSpec given in Args.
	OpRouteChange = "route.change"
)

// routeOp handles the ops of this file; false = not one of them.
func (s *Server) routeOp(ctx context.Context, c net.Conn, req Request) bool {
	switch req.Op {
	case OpRoutePrint, OpRouteChange:
	default:
		return false
	}
	rh, ok := s.Host.(tools.RouteHost)
	if !ok {
		writeResp(c, Response{Error: "the routing table is not available in this daemon"})
		return true
	}
	if req.Op == OpRoutePrint {
		v, err := rh.RouteTable(ctx)
		writeResp(c, result(v, err))
		return true
	}
	var sp tools.RouteSpec
	if err := json.Unmarshal(req.Args, &sp); err != nil {
		writeResp(c, Response{Error: "bad route request: " + err.Error()})
		return true
	}
	writeResp(c, result(nil, rh.ChangeRoutes(ctx, sp)))
	return true
}

var _ tools.RouteHost = (*Client)(nil)

// RouteTable implements tools.RouteHost over the socket.
func (cl *Client) RouteTable(ctx context.Context) (tools.RouteTable, error) {
	var v tools.RouteTable
	err := cl.call(ctx, Request{Op: OpRoutePrint}, &v)
	return v, err
}

// ChangeRoutes implements tools.RouteHost over the socket.
func (cl *Client) ChangeRoutes(ctx context.Context, sp tools.RouteSpec) error {
	b, err := json.Marshal(sp)
	if err != nil {
		return err
	}
	return cl.call(ctx, Request{Op: OpRouteChange, Args: b}, nil)
}
