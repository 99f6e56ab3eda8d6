package daemon

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tcp"
	"github.com/stapel-net/stapel/tools"
	"github.com/stapel-net/stapel/tools/stackhost"
)

// NetstatOf collects netstat's view of a host: its TCP connections and
// listeners (with their states), its UDP sockets (no state; Remote only
// when connected) and its interface counters. p may be nil.
func NetstatOf(s *stack.Stack, p *tcp.Protocol) tools.NetstatInfo {
	info := tools.NetstatInfo{HostName: s.HostName()}
	if p != nil {
		for _, c := range p.Connections() {
			info.Conns = append(info.Conns, tools.NetConn{Proto: "TCP", Local: c.Local, Remote: c.Remote, State: c.State.String()})
		}
	}
	for _, u := range s.UDPEndpoints() {
		info.Conns = append(info.Conns, tools.NetConn{Proto: "UDP", Local: u.Local, Remote: u.Remote})
	}
	for _, ifc := range s.Interfaces() {
		st := ifc.Stats
		info.Interfaces = append(info.Interfaces, tools.IfCounters{Name: ifc.Name,
			RxBytes: st.RxBytes, RxUnicast: st.RxUnicast, RxNonUnicast: st.RxNonUnicast,
			RxDiscards: st.RxDiscards, RxErrors: st.RxErrors, RxUnknownProtos: st.RxUnknownProtos,
			TxBytes: st.TxBytes, TxUnicast: st.TxUnicast, TxNonUnicast: st.TxNonUnicast,
			TxDiscards: st.TxDiscards, TxErrors: st.TxErrors})
	}
	return info
}

// extHost is the control server's view of the daemon: the stack's tools
// plus netstat and the HTTP test helpers, which need TCP itself.
type extHost struct {
	*stackhost.Host
	tcp *tcp.Protocol
}

func (h extHost) Netstat(ctx context.Context) (tools.NetstatInfo, error) {
	return NetstatOf(h.Stack(), h.tcp), nil
}

// ListenTCP listens on port of every address (control op httpd).
func (h extHost) ListenTCP(port uint16) (net.Listener, error) {
	return h.tcp.Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), port), 0)
}

// HTTPClient is a net/http client whose connections are Stapel TCP
// connections (control op http.get).
func (h extHost) HTTPClient() *http.Client {
	return &http.Client{Transport: HTTPTransport(h.tcp), Timeout: 10 * time.Minute}
}

// HTTPTransport is an http.Transport dialling over p. Stapel has no
// resolver yet, so URLs must name IPv4 addresses.
func HTTPTransport(p *tcp.Protocol) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "Stapel has no resolver yet: use an IPv4 address", Name: addr}}
			}
			return p.DialContext(ctx, netip.AddrPort{}, ap)
		},
		ForceAttemptHTTP2:   false,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
}
