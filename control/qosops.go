package control

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
)

// QoS ops: the Traffic Control API's role (SPEC QOS-5, "flows and filters,
// also for non-QoS apps"): install a flow for traffic a filter selects,
// list and delete flows. See stack/qos.go.
const (
	// OpQoSAdd installs a flow (Args QoSFlowArgs) and answers its QoSFlowInfo.
	OpQoSAdd = "qos.add"
	// OpQoSList answers []QoSFlowInfo.
	OpQoSList = "qos.list"
	// OpQoSDelete removes the flow whose ID is in Args (QoSFlowArgs.ID).
	OpQoSDelete = "qos.delete"
)

// QoSFlowArgs describe a flow: a filter (zero fields match anything) and
// the flowspec's service type and shaping.
type QoSFlowArgs struct {
	ID         int            `json:"id,omitempty"`
	Proto      string         `json:"proto,omitempty"` // "tcp", "udp" or "" (any)
	Local      netip.AddrPort `json:"local,omitzero"`
	Remote     netip.AddrPort `json:"remote,omitzero"`
	Service    string         `json:"service"` // best-effort, controlled-load, guaranteed, network-control, qualitative
	TokenRate  int64          `json:"tokenRate,omitempty"`
	BucketSize int            `json:"bucketSize,omitempty"`
}

// QoSFlowInfo is an installed flow with its marks and counters.
type QoSFlowInfo struct {
	QoSFlowArgs
	DSCP     uint8  `json:"dscp"`
	Priority uint8  `json:"priority"`
	Sent     uint64 `json:"sent"`
	Delayed  uint64 `json:"delayed"`
	Dropped  uint64 `json:"dropped"`
}

// QoSHost is what the daemon's host implements for the QoS ops.
type QoSHost interface {
	AddQoSFlow(ctx context.Context, a QoSFlowArgs) (QoSFlowInfo, error)
	QoSFlows(ctx context.Context) ([]QoSFlowInfo, error)
	DeleteQoSFlow(ctx context.Context, id int) error
}

// qosOp handles the ops of this file; false = not one of them.
func (s *Server) qosOp(ctx context.Context, c net.Conn, req Request) bool {
	switch req.Op {
	case OpQoSAdd, OpQoSList, OpQoSDelete:
	default:
		return false
	}
	h, ok := s.Host.(QoSHost)
	if !ok {
		writeResp(c, Response{Error: "QoS is not available in this daemon"})
		return true
	}
	var a QoSFlowArgs
	if len(req.Args) > 0 {
		if err := json.Unmarshal(req.Args, &a); err != nil {
			writeResp(c, Response{Error: req.Op + ": bad args: " + err.Error()})
			return true
		}
	}
	switch req.Op {
	case OpQoSAdd:
		v, err := h.AddQoSFlow(ctx, a)
		writeResp(c, result(v, err))
	case OpQoSList:
		v, err := h.QoSFlows(ctx)
		writeResp(c, result(v, err))
	case OpQoSDelete:
		writeResp(c, result(nil, h.DeleteQoSFlow(ctx, a.ID)))
	}
	return true
}

var _ QoSHost = (*Client)(nil)

// AddQoSFlow implements QoSHost over the socket.
func (cl *Client) AddQoSFlow(ctx context.Context, a QoSFlowArgs) (QoSFlowInfo, error) {
	var v QoSFlowInfo
	b, err := json.Marshal(a)
	if err != nil {
		return v, err
	}
	err = cl.call(ctx, Request{Op: OpQoSAdd, Args: b}, &v)
	return v, err
}

// QoSFlows implements QoSHost over the socket.
func (cl *Client) QoSFlows(ctx context.Context) ([]QoSFlowInfo, error) {
	var v []QoSFlowInfo
	err := cl.call(ctx, Request{Op: OpQoSList}, &v)
	return v, err
}

// DeleteQoSFlow implements QoSHost over the socket.
func (cl *Client) DeleteQoSFlow(ctx context.Context, id int) error {
	b, err := json.Marshal(QoSFlowArgs{ID: id})
	if err != nil {
		return err
	}
	return cl.call(ctx, Request{Op: OpQoSDelete, Args: b}, nil)
}
