package stapel

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

const (
	ipA = "198.18.0.1"
	ipB = "198.18.0.2"
)

func hostCfg(addr string) *config.Config {
	cfg := config.Default()
	ifc := config.DefaultInterface()
	ifc.Name = "lan0"
	ifc.IPAddress = []string{addr}
	ifc.SubnetMask = []string{"255.255.255.0"}
	cfg.Interfaces = []config.Interface{ifc}
	cfg.Tcpip.Hostname = "host-" + addr
	return cfg
}

// pair is two hosts joined by an in-memory Ethernet cable on real time,
// the way net/http and crypto/tls need it (real goroutines, deadlines).
func pair(t testing.TB) (a, b *Host) {
	t.Helper()
	ea, eb := link.NewPipe(clock.Real{}, 1500, wire.MAC{2, 0, 0, 0, 0, 1}, wire.MAC{2, 0, 0, 0, 0, 2})
	var err error
	if a, err = New(hostCfg(ipA), WithLink("lan0", ea), WithSeed(1)); err != nil {
		t.Fatal(err)
	}
	if b, err = New(hostCfg(ipB), WithLink("lan0", eb), WithSeed(2)); err != nil {
		a.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func testHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /big/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		w.Header().Set("Content-Length", fmt.Sprint(n))
		w.Write(pattern(n))
	})
	mux.HandleFunc("POST /sum", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		fmt.Fprintf(w, "%x %d", h.Sum(nil), n)
	})
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.RemoteAddr)
	})
	return mux
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>11)
	}
	return b
}

// net/http server and client, unmodified, over Stapel TCP through two
// stacks: GET with a body of 3 MiB, POST with 2 MiB, keep-alive reuse.
// SPEC: WS-1
func TestHTTPOverStapel(t *testing.T) {
	a, b := pair(t)
	ln, err := b.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: testHandler()}
	go srv.Serve(ln)
	defer srv.Close()

	cl := &http.Client{Transport: a.HTTPTransport(), Timeout: 60 * time.Second}
	resp, err := cl.Get("http://" + ipB + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), "hello "+ipA+":") {
		t.Fatalf("hello: %q", body)
	}

	const big = 3 << 20
	resp, err = cl.Get("http://" + ipB + "/big/" + fmt.Sprint(big))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, pattern(big)) {
		t.Fatalf("GET body: %d bytes, err %v, equal %v", len(got), err, bytes.Equal(got, pattern(big)))
	}

	up := pattern(2 << 20)
	resp, err = cl.Post("http://"+ipB+"/sum", "application/octet-stream", bytes.NewReader(up))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	sum := sha256.Sum256(up)
	if want := hex.EncodeToString(sum[:]) + fmt.Sprintf(" %d", len(up)); string(got) != want {
		t.Fatalf("POST: got %q want %q", got, want)
	}
	// Keep-alive: the three requests shared connections; at most a few
	// were ever opened.
	if st := a.TCP().Stats(); st.ActiveOpens > 2 {
		t.Errorf("client opened %d connections for 3 keep-alive requests", st.ActiveOpens)
	}
}

// crypto/tls (TLS 1.3 and 1.2) handshakes and carries data over Stapel.
func TestTLSOverStapel(t *testing.T) {
	a, b := pair(t)
	cert := selfSigned(t)
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	for _, ver := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		ln, err := b.Listen("tcp", ":443")
		if err != nil {
			t.Fatal(err)
		}
		tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: ver, MaxVersion: ver})
		srv := &http.Server{Handler: testHandler()}
		go srv.Serve(tln)

		tr := a.HTTPTransport()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, ServerName: "stapel.test"}
		cl := &http.Client{Transport: tr, Timeout: 60 * time.Second}
		resp, err := cl.Get("https://" + ipB + "/big/1000000")
		if err != nil {
			srv.Close()
			t.Fatalf("TLS %x: %v", ver, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, pattern(1000000)) {
			t.Fatalf("TLS %x body: %d bytes, %v", ver, len(got), err)
		}
		if resp.TLS == nil || resp.TLS.Version != ver || !resp.TLS.HandshakeComplete {
			t.Fatalf("TLS state %+v", resp.TLS)
		}
		tr.CloseIdleConnections()
		srv.Close()
	}
}

// The library's Dial/Listen/ListenPacket give ordinary Go sockets.
func TestDialListenPacket(t *testing.T) {
	a, b := pair(t)
	pc, err := b.ListenPacket("udp", ":5353")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c, err := a.Dial("udp", ipB+":5353")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping"))
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 100)
	n, from, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("udp: %q %v", buf[:n], err)
	}
	if ap := from.(*net.UDPAddr).AddrPort(); ap.Addr().Unmap() != netip.MustParseAddr(ipA) {
		t.Fatalf("from %v", from)
	}
	if _, err := a.Dial("tcp", ipB+":9"); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("closed port: %v", err)
	}
	if _, err := a.Dial("sctp", ipB+":9"); err == nil {
		t.Fatal("sctp accepted")
	}
	if _, err := a.Dial("tcp", "example.invalid:80"); err == nil || !strings.Contains(err.Error(), "resolver") {
		t.Fatalf("name: %v", err)
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stapel.test"},
		DNSNames: []string{"stapel.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}
