package control

import (
	"context"
	"encoding/json"
	"net"

	"github.com/stapel-net/stapel/tools"
)

// DHCP client ops: ipconfig /release and /renew (SPEC §18 TOOL-IPCONFIG,
// DHCP-1..4). Both answer the host's ipconfig information afterwards.
const (
	OpDHCPRelease = "dhcp.release"
	OpDHCPRenew   = "dhcp.renew"
)

// DHCPArgs name the adapter ("" = every DHCP-enabled one).
type DHCPArgs struct {
	Interface string `json:"interface,omitempty"`
}

// DHCPHost is what the daemon's host implements for the DHCP ops.
type DHCPHost interface {
	DHCPRelease(ctx context.Context, ifName string) (tools.HostInfo, error)
	DHCPRenew(ctx context.Context, ifName string) (tools.HostInfo, error)
}

func (s *Server) dhcpOp(ctx context.Context, c net.Conn, req Request) bool {
	if req.Op != OpDHCPRelease && req.Op != OpDHCPRenew {
		return false
	}
	h, ok := s.Host.(DHCPHost)
	if !ok {
		writeResp(c, Response{Error: "the DHCP client is not available in this daemon"})
		return true
	}
	var a DHCPArgs
	if len(req.Args) > 0 {
		if err := json.Unmarshal(req.Args, &a); err != nil {
			writeResp(c, Response{Error: "dhcp: bad args: " + err.Error()})
			return true
		}
	}
	var v tools.HostInfo
	var err error
	if req.Op == OpDHCPRelease {
		v, err = h.DHCPRelease(ctx, a.Interface)
	} else {
		v, err = h.DHCPRenew(ctx, a.Interface)
	}
	writeResp(c, result(v, err))
	return true
}

var _ DHCPHost = (*Client)(nil)

// DHCPRelease implements DHCPHost over the socket.
func (cl *Client) DHCPRelease(ctx context.Context, ifName string) (tools.HostInfo, error) {
	return cl.dhcp(ctx, OpDHCPRelease, ifName)
}

// DHCPRenew implements DHCPHost over the socket.
func (cl *Client) DHCPRenew(ctx context.Context, ifName string) (tools.HostInfo, error) {
	return cl.dhcp(ctx, OpDHCPRenew, ifName)
}

func (cl *Client) dhcp(ctx context.Context, op, ifName string) (tools.HostInfo, error) {
	var v tools.HostInfo
	b, err := json.Marshal(DHCPArgs{Interface: ifName})
	if err != nil {
		return v, err
	}
	err = cl.call(ctx, Request{Op: op, Args: b}, &v)
	return v, err
}
