package control

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"

	"github.com/stapel-net/stapel/services/dns"
)

// DNS resolver ops (SPEC §13, nslookup and ipconfig /displaydns,
// /flushdns of §18).
const (
	// OpNslookup resolves Args (NslookupArgs) through the daemon's
	// caching resolver (or one server directly) and answers a
	// dns.NslookupReply.
	OpNslookup = "dns.nslookup"
	// OpDNSCache answers the cache as []dns.CacheEntry.
	OpDNSCache = "dns.cache"
	// OpDNSFlush empties the cache.
	OpDNSFlush = "dns.flush"
)

// NslookupArgs are the args of OpNslookup.
type NslookupArgs struct {
	Name string `json:"name"`           // a host name, or an address for a reverse lookup
	Type string `json:"type,omitempty"` // "A" unless set
	// Server, when valid, is asked directly, bypassing the hosts file
	// and the cache (nslookup NAME SERVER).
	Server netip.Addr `json:"server,omitzero"`
	// Debug ("set debug") asks the server directly, bypassing the cache,
	// and returns the messages exchanged in the reply's Trace.
	Debug bool `json:"debug,omitempty"`
}

// An empty Name asks only for the server's name and address (the
// "Default Server:" banner of interactive nslookup).

// DNSHost is what the daemon's host implements for the DNS ops.
type DNSHost interface {
	Nslookup(ctx context.Context, a NslookupArgs) (dns.NslookupReply, error)
	DNSCache(ctx context.Context) ([]dns.CacheEntry, error)
	FlushDNS(ctx context.Context) error
}

// dnsOp handles the ops of this file; false = not one of them.
func (s *Server) dnsOp(ctx context.Context, c net.Conn, req Request) bool {
	switch req.Op {
	case OpNslookup, OpDNSCache, OpDNSFlush:
	default:
		return false
	}
	h, ok := s.Host.(DNSHost)
	if !ok {
		writeResp(c, Response{Error: "the DNS resolver is not available in this daemon"})
		return true
	}
	switch req.Op {
	case OpNslookup:
		var a NslookupArgs
		if err := json.Unmarshal(req.Args, &a); err != nil {
			writeResp(c, Response{Error: "nslookup: bad args: " + err.Error()})
			return true
		}
		v, err := h.Nslookup(ctx, a)
		writeResp(c, result(v, err))
	case OpDNSCache:
		v, err := h.DNSCache(ctx)
		writeResp(c, result(v, err))
	case OpDNSFlush:
		writeResp(c, result(nil, h.FlushDNS(ctx)))
	}
	return true
}

var _ DNSHost = (*Client)(nil)

// Nslookup implements DNSHost over the socket.
func (cl *Client) Nslookup(ctx context.Context, a NslookupArgs) (dns.NslookupReply, error) {
	var v dns.NslookupReply
	b, err := json.Marshal(a)
	if err != nil {
		return v, err
	}
	err = cl.call(ctx, Request{Op: OpNslookup, Args: b}, &v)
	return v, err
}

// DNSCache implements DNSHost over the socket.
func (cl *Client) DNSCache(ctx context.Context) ([]dns.CacheEntry, error) {
	var v []dns.CacheEntry
	err := cl.call(ctx, Request{Op: OpDNSCache}, &v)
	return v, err
}

// FlushDNS implements DNSHost over the socket.
func (cl *Client) FlushDNS(ctx context.Context) error {
	return cl.call(ctx, Request{Op: OpDNSFlush}, nil)
}
