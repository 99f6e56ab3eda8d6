package control

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
)

// OpNbtstat queries the daemon's NetBIOS name service (SPEC §11, §18
// nbtstat). Args: NbtstatArgs; data: NbtstatReply.
const OpNbtstat = "nbtstat"

// nbtstat modes, named after the Windows options.
const (
	NbtLocalNames = "n" // local name table
	NbtCache      = "c" // remote-name cache
	NbtStats      = "r" // resolution and registration statistics
	NbtPurge      = "R" // purge the cache and reload #PRE entries
	NbtAdapterIP  = "A" // node status of an address
	NbtAdapterNm  = "a" // node status of a name
)

// NbtstatArgs are the args of OpNbtstat.
type NbtstatArgs struct {
	Mode string     `json:"mode"`
	IP   netip.Addr `json:"ip,omitzero"`    // -A
	Name string     `json:"name,omitempty"` // -a
	// Suffix is the 16th byte of Name for -a: Stapel resolves
	// NAME[Suffix] (default 00, the workstation name), then asks that
	// address for its node status.
	Suffix uint8 `json:"suffix,omitempty"`
}

// NbtName is one NetBIOS name with its type and status.
type NbtName struct {
	Name   string `json:"name"` // without padding
	Suffix uint8  `json:"suffix"`
	Group  bool   `json:"group,omitempty"`
	Status string `json:"status,omitempty"` // Registered, Registering, Conflict, Released
}

// NbtCacheEntry is a remote-name cache entry; Life in seconds, -1 for a
// permanent (#PRE) entry.
type NbtCacheEntry struct {
	NbtName
	Addr netip.Addr `json:"addr"`
	Life int        `json:"life"`
}

// NbtRemote is a node status answer (-A/-a).
type NbtRemote struct {
	Names []NbtName `json:"names"`
	MAC   string    `json:"mac"`
}

// NbtAdapter is one NetBT binding: an interface and its one address
// (SPEC NBT-6).
type NbtAdapter struct {
	Interface string          `json:"interface"`
	Addr      netip.Addr      `json:"addr"`
	Scope     string          `json:"scope,omitempty"`
	Local     []NbtName       `json:"local,omitempty"`
	Cache     []NbtCacheEntry `json:"cache,omitempty"`
	Remote    *NbtRemote      `json:"remote,omitempty"` // nil = host not found
}

// NbtStatistics are nbtstat -r's counters.
type NbtStatistics struct {
	ResolvedByBroadcast    int       `json:"resolvedByBroadcast"`
	ResolvedByNameServer   int       `json:"resolvedByNameServer"`
	RegisteredByBroadcast  int       `json:"registeredByBroadcast"`
	RegisteredByNameServer int       `json:"registeredByNameServer"`
	Resolved               []NbtName `json:"resolved,omitempty"`
}

// NbtstatReply is the data of OpNbtstat.
type NbtstatReply struct {
	Adapters []NbtAdapter   `json:"adapters"`
	Stats    *NbtStatistics `json:"stats,omitempty"`
}

// NbtstatHost is what OpNbtstat needs of the daemon.
type NbtstatHost interface {
	Nbtstat(ctx context.Context, a NbtstatArgs) (NbtstatReply, error)
}

// nbtstatOp handles OpNbtstat; false = another op.
func (s *Server) nbtstatOp(ctx context.Context, c net.Conn, req Request) bool {
	if req.Op != OpNbtstat {
		return false
	}
	h, ok := s.Host.(NbtstatHost)
	if !ok {
		writeResp(c, Response{Error: "nbtstat: this host has no NetBIOS name service"})
		return true
	}
	var a NbtstatArgs
	if err := json.Unmarshal(req.Args, &a); err != nil {
		writeResp(c, Response{Error: "nbtstat: bad args: " + err.Error()})
		return true
	}
	v, err := h.Nbtstat(ctx, a)
	writeResp(c, result(v, err))
	return true
}

// Nbtstat runs OpNbtstat.
func (cl *Client) Nbtstat(ctx context.Context, a NbtstatArgs) (NbtstatReply, error) {
	var out NbtstatReply
	b, err := json.Marshal(a)
	if err != nil {
		return out, err
	}
	err = cl.call(ctx, Request{Op: OpNbtstat, Args: b}, &out)
	return out, err
}
