package tcp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
)

// realNet is a fake network on the real clock for tests that need real
// goroutines (net/http, crypto/tls): each host has an in-order delivery
// goroutine fed by a bounded queue.
type realNet struct {
	mu    sync.Mutex
	hosts map[netip.Addr]*realHost
	wg    sync.WaitGroup
	loss  float64 // drop probability
	rng   *mrand.Rand
}

type realHost struct {
	n    *realNet
	addr netip.Addr
	p    *Protocol
	in   chan realPkt
}

type realPkt struct {
	src, dst netip.Addr
	b        []byte
}

func (n *realNet) host(a netip.Addr) *realHost {
	h := &realHost{n: n, addr: a, in: make(chan realPkt, 4096)}
	h.p = New(h, Options{Params: DefaultParams()})
	n.mu.Lock()
	if n.hosts == nil {
		n.hosts = map[netip.Addr]*realHost{}
	}
	n.hosts[a] = h
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for p := range h.in {
			h.p.HandleSegment(p.src, p.dst, p.b)
		}
	}()
	return h
}

func (n *realNet) close() {
	n.mu.Lock()
	for _, h := range n.hosts {
		close(h.in)
	}
	n.hosts = nil
	n.mu.Unlock()
	n.wg.Wait()
}

func (h *realHost) Clock() clock.Clock { return clock.Real{} }
func (h *realHost) Route(dst netip.Addr) (netip.Addr, int, error) {
	return h.addr, 1500, nil
}
func (h *realHost) Output(src, dst netip.Addr, ttl, tos uint8, df bool, seg []byte) error {
	h.n.mu.Lock()
	defer h.n.mu.Unlock()
	to := h.n.hosts[dst]
	if to == nil {
		return nil
	}
	if h.n.loss > 0 && h.n.rng.Float64() < h.n.loss {
		return nil
	}
	select {
	case to.in <- realPkt{src, dst, append([]byte(nil), seg...)}:
	default: // queue full: dropped like on a real link
	}
	return nil
}

func selfSigned(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "stapel.test"},
		DNSNames:     []string{"stapel.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// net/http and crypto/tls run unchanged over Conn and Listener.
func TestHTTPAndTLS(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := "http"
		if useTLS {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			n := &realNet{}
			defer n.close()
			a, b := n.host(addrA), n.host(addrB)
			tl, err := b.p.Listen(netip.AddrPortFrom(addrB, 443), 0)
			if err != nil {
				t.Fatal(err)
			}
			var ln net.Listener = tl
			body := bytes.Repeat([]byte("stapel "), 40_000)
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				in, _ := io.ReadAll(r.Body)
				w.Header().Set("X-Got", strconv.Itoa(len(in)))
				w.Write(body)
			})}
			cfg := &tls.Config{}
			if useTLS {
				cert := selfSigned(t)
				ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
				pool := x509.NewCertPool()
				leaf, _ := x509.ParseCertificate(cert.Certificate[0])
				pool.AddCert(leaf)
				cfg = &tls.Config{RootCAs: pool, ServerName: "stapel.test"}
			}
			go srv.Serve(ln)
			defer srv.Close()
			tr := &http.Transport{
				DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
					ap, err := netip.ParseAddrPort(addr)
					if err != nil {
						return nil, err
					}
					return a.p.DialContext(ctx, netip.AddrPort{}, ap)
				},
				TLSClientConfig:   cfg,
				ForceAttemptHTTP2: false,
			}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr, Timeout: 20 * time.Second}
			url := "http://198.18.0.2:443/"
			if useTLS {
				url = "https://198.18.0.2:443/"
			}
			for i := 0; i < 3; i++ {
				resp, err := cl.Post(url, "application/octet-stream", bytes.NewReader(bytes.Repeat([]byte{'x'}, 100_000)))
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || !bytes.Equal(got, body) || resp.Header.Get("X-Got") != "100000" {
					t.Fatalf("request %d: err %v, %d bytes, X-Got %q", i, err, len(got), resp.Header.Get("X-Got"))
				}
			}
		})
	}
}
