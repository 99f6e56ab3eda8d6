package stapel

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// net/http over an impaired cable (2 % loss, 2 % reordering, 2 %
// duplication, 1 % corruption each way, real time): GET and POST bodies
// arrive intact.
// SPEC: TCP-RTX-4, TCP-1
func TestHTTPOverLossyStapel(t *testing.T) {
	ea, eb := link.NewPipe(clock.Real{}, 1500, wire.MAC{2, 0, 0, 0, 0, 1}, wire.MAC{2, 0, 0, 0, 0, 2})
	faults := link.FaultConfig{Loss: 0.02, Reorder: 0.02, Duplicate: 0.02, Corrupt: 0.01, ReorderDelay: time.Millisecond}
	fa := link.NewFaulty(ea, clock.Real{}, faults, 11)
	a, err := New(hostCfg(ipA), WithLink("lan0", fa), WithSeed(1))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := New(hostCfg(ipB), WithLink("lan0", eb), WithSeed(2))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ln, err := b.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: testHandler()}
	go srv.Serve(ln)
	defer srv.Close()
	cl := &http.Client{Transport: a.HTTPTransport(), Timeout: 90 * time.Second}

	const n = 1 << 20
	start := time.Now()
	resp, err := cl.Get(fmt.Sprintf("http://%s/big/%d", ipB, n))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, pattern(n)) {
		t.Fatalf("GET over a lossy path: %d bytes, %v", len(got), err)
	}
	up := pattern(n / 2)
	resp, err = cl.Post("http://"+ipB+"/sum", "application/octet-stream", bytes.NewReader(up))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("%x %d", sha256.Sum256(up), len(up)); string(body) != want {
		t.Fatalf("POST over a lossy path: %q want %q", body, want)
	}
	st := fa.Stats()
	t.Logf("1.5 MiB over the impaired cable in %v; faults out %+v in %+v; retransmitted a %d b %d",
		time.Since(start).Round(time.Millisecond), st.Out, st.In, a.TCP().Stats().RetransSegs, b.TCP().Stats().RetransSegs)
	if st.Out.Lost+st.In.Lost == 0 {
		t.Fatal("the fault injector lost nothing: the test proves nothing")
	}
}
