package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"github.com/stapel-net/stapel/tools"
)

// UDPMulticast are the multicast options of a "udp" request, carried in
// its Args (nc -u --join GROUP --ttl N; SPEC MCAST-4, MCAST-5).
type UDPMulticast struct {
	// Join are groups the socket joins, on the interface owning IfAddr
	// (unspecified: the one the route to the group uses).
	Join   []netip.Addr `json:"join,omitempty"`
	IfAddr netip.Addr   `json:"ifAddr,omitzero"`
	// TTL of datagrams to groups; nil keeps the default (1).
	TTL *int `json:"ttl,omitempty"`
}

// MulticastConn is what a host's DatagramConn implements to take the
// options (tools/stackhost).
type MulticastConn interface {
	JoinGroup(group, ifAddr netip.Addr) error
	SetMulticastTTL(ttl int) error
}

// OpenUDPMulticast is OpenUDP with multicast options applied before the
// socket carries data.
func (cl *Client) OpenUDPMulticast(ctx context.Context, local, remote netip.AddrPort, m UDPMulticast) (tools.DatagramConn, error) {
	args, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	s, closeFn, err := cl.open(ctx, Request{Op: OpUDP, Local: local, Remote: remote, Args: args})
	if err != nil {
		return nil, err
	}
	r, err := s.next()
	if err != nil {
		closeFn()
		return nil, err
	}
	var o UDPOpened
	json.Unmarshal(r.Data, &o)
	return &udpStream{s: s, closeFn: closeFn, local: o.Local, buf: make([]byte, maxFrame)}, nil
}

// applyMulticast sets a "udp" request's multicast options (in args, may
// be empty) on the opened socket.
func applyMulticast(uc tools.DatagramConn, args json.RawMessage) error {
	if len(args) == 0 {
		return nil
	}
	var m UDPMulticast
	if err := json.Unmarshal(args, &m); err != nil {
		return fmt.Errorf("control: bad udp options: %v", err)
	}
	if len(m.Join) == 0 && m.TTL == nil {
		return nil
	}
	mc, ok := uc.(MulticastConn)
	if !ok {
		return errors.New("multicast is not available in this daemon")
	}
	if m.TTL != nil {
		if err := mc.SetMulticastTTL(*m.TTL); err != nil {
			return err
		}
	}
	for _, g := range m.Join {
		if err := mc.JoinGroup(g, m.IfAddr); err != nil {
			return err
		}
	}
	return nil
}
