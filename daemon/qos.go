package daemon

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/wire"
)

// QoS flows installed through the control socket (stapel qos, the TC
// API's role, SPEC QOS-5), numbered per stack.
type qosRegistry struct {
	mu    sync.Mutex
	next  int
	flows map[int]*stack.QoSFlow
}

var qosRegs sync.Map // *stack.Stack -> *qosRegistry

func qosRegOf(s *stack.Stack) *qosRegistry {
	r, _ := qosRegs.LoadOrStore(s, &qosRegistry{flows: make(map[int]*stack.QoSFlow)})
	return r.(*qosRegistry)
}

func qosInfo(id int, fl *stack.QoSFlow) control.QoSFlowInfo {
	f, sp, st := fl.Filter(), fl.Spec(), fl.Stats()
	proto := ""
	switch f.Proto {
	case wire.ProtoTCP:
		proto = "tcp"
	case wire.ProtoUDP:
		proto = "udp"
	}
	return control.QoSFlowInfo{
		QoSFlowArgs: control.QoSFlowArgs{ID: id, Proto: proto, Local: f.Local, Remote: f.Remote,
			Service: sp.Service.String(), TokenRate: sp.TokenRate, BucketSize: sp.BucketSize},
		DSCP: sp.Service.DSCP(), Priority: sp.Service.Priority(),
		Sent: st.Sent, Delayed: st.Delayed, Dropped: st.Dropped,
	}
}

// AddQoSFlow implements control.QoSHost.
func (h extHost) AddQoSFlow(ctx context.Context, a control.QoSFlowArgs) (control.QoSFlowInfo, error) {
	svc, ok := stack.ParseServiceType(a.Service)
	if !ok {
		return control.QoSFlowInfo{}, fmt.Errorf("unknown service type %q", a.Service)
	}
	f := stack.FlowFilter{Local: a.Local, Remote: a.Remote}
	switch a.Proto {
	case "", "any":
	case "tcp":
		f.Proto = wire.ProtoTCP
	case "udp":
		f.Proto = wire.ProtoUDP
	default:
		return control.QoSFlowInfo{}, fmt.Errorf("protocol %q: want tcp or udp", a.Proto)
	}
	fl, err := h.Stack().AddQoSFlow(f, stack.QoSSpec{Service: svc, TokenRate: a.TokenRate, BucketSize: a.BucketSize})
	if err != nil {
		return control.QoSFlowInfo{}, err
	}
	r := qosRegOf(h.Stack())
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	r.flows[r.next] = fl
	return qosInfo(r.next, fl), nil
}

// QoSFlows implements control.QoSHost.
func (h extHost) QoSFlows(ctx context.Context) ([]control.QoSFlowInfo, error) {
	r := qosRegOf(h.Stack())
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []control.QoSFlowInfo{}
	for id, fl := range r.flows {
		out = append(out, qosInfo(id, fl))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// DeleteQoSFlow implements control.QoSHost.
func (h extHost) DeleteQoSFlow(ctx context.Context, id int) error {
	r := qosRegOf(h.Stack())
	r.mu.Lock()
	defer r.mu.Unlock()
	fl, ok := r.flows[id]
	if !ok {
		return fmt.Errorf("no QoS flow %d", id)
	}
	delete(r.flows, id)
	return fl.Close()
}
