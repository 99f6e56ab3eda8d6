package control

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"

	"github.com/stapel-net/stapel/tools"
)

// TCP-level ops (netstat, and the HTTP helpers the interop tests use).
const (
	// OpNetstat answers tools.NetstatInfo.
	OpNetstat = "netstat"
	// OpHTTPGet makes the daemon fetch a URL with Go's net/http client
	// over Stapel TCP. Args: HTTPGetArgs. The ok line carries
	// HTTPResult, then the raw body follows until the daemon hangs up.
	OpHTTPGet = "http.get"
	// OpHTTPD makes the daemon serve HTTP with Go's net/http server on a
	// Stapel TCP port for as long as the client stays connected. Args:
	// HTTPDArgs. The ok line carries TCPOpened{Local}.
	OpHTTPD = "httpd"
)

// HTTPGetArgs are the args of OpHTTPGet.
type HTTPGetArgs struct {
	URL string `json:"url"`
}

// HTTPResult is the head of a fetched response.
type HTTPResult struct {
	Status     string      `json:"status"`
	StatusCode int         `json:"statusCode"`
	Proto      string      `json:"proto"`
	Header     http.Header `json:"header,omitempty"`
	// Length is Content-Length, -1 if unknown.
	Length int64 `json:"length"`
}

// HTTPDArgs are the args of OpHTTPD.
type HTTPDArgs struct {
	Port uint16 `json:"port"`
	// Path is a file (served at every URL) or a directory (served as a
	// file tree), read by the daemon. Empty serves a short text page.
	Path string `json:"path,omitempty"`
}

// WebHost is implemented by hosts that can run net/http over their TCP.
type WebHost interface {
	HTTPClient() *http.Client
	ListenTCP(port uint16) (net.Listener, error)
}

// extraOp handles the ops of this file; false = not one of them.
func (s *Server) extraOp(ctx context.Context, c net.Conn, br *bufio.Reader, req Request) bool {
	switch req.Op {
	case OpNetstat:
		nh, ok := s.Host.(tools.NetstatHost)
		if !ok {
			writeResp(c, Response{Error: "netstat is not available in this daemon"})
			return true
		}
		v, err := nh.Netstat(ctx)
		writeResp(c, result(v, err))
	case OpHTTPGet:
		s.httpGet(ctx, c, req)
	case OpHTTPD:
		s.httpd(ctx, c, br, req)
	default:
		return false
	}
	return true
}

func (s *Server) webHost(c net.Conn) (WebHost, bool) {
	wh, ok := s.Host.(WebHost)
	if !ok {
		writeResp(c, Response{Error: "HTTP over Stapel TCP is not available in this daemon"})
	}
	return wh, ok
}

func (s *Server) httpGet(ctx context.Context, c net.Conn, req Request) {
	wh, ok := s.webHost(c)
	if !ok {
		return
	}
	var a HTTPGetArgs
	if err := json.Unmarshal(req.Args, &a); err != nil || a.URL == "" {
		writeResp(c, Response{Error: "http.get: want args {\"url\": ...}"})
		return
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		writeResp(c, errResp(err))
		return
	}
	hreq.Header.Set("User-Agent", "stapel-http-get")
	resp, err := wh.HTTPClient().Do(hreq)
	if err != nil {
		writeResp(c, errResp(err))
		return
	}
	defer resp.Body.Close()
	head := HTTPResult{Status: resp.Status, StatusCode: resp.StatusCode, Proto: resp.Proto,
		Header: resp.Header, Length: resp.ContentLength}
	if writeResp(c, okData(head)) != nil {
		return
	}
	n, err := io.Copy(c, resp.Body)
	s.Logger.Info("control: http.get done", "url", a.URL, "status", resp.StatusCode, "bytes", n, "err", err)
}

func (s *Server) httpd(ctx context.Context, c net.Conn, br *bufio.Reader, req Request) {
	wh, ok := s.webHost(c)
	if !ok {
		return
	}
	var a HTTPDArgs
	if err := json.Unmarshal(req.Args, &a); err != nil || a.Port == 0 {
		writeResp(c, Response{Error: "httpd: want args {\"port\": N, \"path\": FILE|DIR}"})
		return
	}
	h, err := httpHandler(a.Path)
	if err != nil {
		writeResp(c, errResp(err))
		return
	}
	ln, err := wh.ListenTCP(a.Port)
	if err != nil {
		writeResp(c, errResp(err))
		return
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if writeResp(c, okData(TCPOpened{Local: addrPortOf(ln.Addr())})) == nil {
		s.Logger.Info("control: httpd serving", "port", a.Port, "path", a.Path)
		stop := context.AfterFunc(ctx, func() { c.Close() })
		io.Copy(io.Discard, br) // until the client hangs up
		stop()
	}
	shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(shut)
	srv.Close()
	<-done
	s.Logger.Info("control: httpd stopped", "port", a.Port)
}

// httpHandler serves path (file or directory) on GET; a POST to any URL
// answers "<sha256> <length>\n" of its body, so uploads can be checked.
func httpHandler(path string) (http.Handler, error) {
	var get http.Handler
	switch {
	case path == "":
		get = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "Hello from Stapel's net/http server\n")
		})
	default:
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("httpd: %w", err)
		}
		if st.IsDir() {
			get = http.FileServer(http.Dir(path))
		} else {
			get = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, path) })
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost || r.Method == http.MethodPut {
			h := sha256.New()
			n, err := io.Copy(h, r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			fmt.Fprintf(w, "%s %d\n", hex.EncodeToString(h.Sum(nil)), n)
			return
		}
		get.ServeHTTP(w, r)
	}), nil
}

// Netstat asks the daemon for its connections and interface counters.
func (cl *Client) Netstat(ctx context.Context) (tools.NetstatInfo, error) {
	var v tools.NetstatInfo
	err := cl.call(ctx, Request{Op: OpNetstat}, &v)
	return v, err
}

var _ tools.NetstatHost = (*Client)(nil)

// HTTPGet makes the daemon fetch url; the body streams from the returned
// reader (close it).
func (cl *Client) HTTPGet(ctx context.Context, url string) (HTTPResult, io.ReadCloser, error) {
	args, _ := json.Marshal(HTTPGetArgs{URL: url})
	s, closeFn, err := cl.open(ctx, Request{Op: OpHTTPGet, Args: args})
	if err != nil {
		return HTTPResult{}, nil, err
	}
	r, err := s.next()
	if err != nil {
		closeFn()
		return HTTPResult{}, nil, err
	}
	var head HTTPResult
	json.Unmarshal(r.Data, &head)
	return head, readCloser{s.br, closeFn}, nil
}

type readCloser struct {
	io.Reader
	closeFn func()
}

func (r readCloser) Close() error { r.closeFn(); return nil }

// HTTPD makes the daemon serve HTTP on port until ctx ends; ready is
// called with the listening address once it serves.
func (cl *Client) HTTPD(ctx context.Context, port uint16, path string, ready func(netip.AddrPort)) error {
	args, _ := json.Marshal(HTTPDArgs{Port: port, Path: path})
	s, closeFn, err := cl.open(ctx, Request{Op: OpHTTPD, Args: args})
	if err != nil {
		return err
	}
	defer closeFn()
	r, err := s.next()
	if err != nil {
		return err
	}
	var o TCPOpened
	json.Unmarshal(r.Data, &o)
	if ready != nil {
		ready(o.Local)
	}
	s.br.ReadByte() // the daemon never writes: this returns when it stops
	if ctx.Err() != nil {
		return nil // interrupted: closing the connection stops the server
	}
	return errors.New("httpd: the daemon stopped serving")
}
