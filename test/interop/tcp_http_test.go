package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// curl on Linux fetches from Go's net/http server running on Stapel's TCP
// (`stapel httpd`), and uploads to it.
// SPEC: WS-1
func TestTCPCurlFromStapelHTTPServer(t *testing.T) {
	e := startTCP(t, 3*time.Minute)
	file, sum := e.randomFile(t, "page.bin", 4<<20, 1)
	srv := e.Background(t, nil, []string{"STAPEL_CONTROL=" + e.Sock}, stapelBin, "httpd", "-f", file, "8080")
	e.WaitFor(t, 15*time.Second, "stapel httpd to serve", func() (bool, string) {
		return strings.Contains(string(srv.Stdout()), "serving HTTP"), string(srv.Stdout()) + srv.Stderr()
	})
	out := filepath.Join(e.Dir, "curl.out")
	r := e.NSResult(t, 60*time.Second, nil, "curl", "-sS", "--fail", "-o", out, "-w", "%{http_code} %{size_download} %{speed_download}\n",
		"http://"+stapelIP+":8080/page.bin")
	if r.Err != nil {
		t.Fatalf("curl: %v\n%s", r.Err, r.Output())
	}
	got, n := fileSHA(t, out)
	if got != sum || n != 4<<20 {
		t.Fatalf("curl fetched %d bytes sha %s, want %d sha %s", n, got, 4<<20, sum)
	}
	t.Logf("curl GET: %s", strings.TrimSpace(r.Stdout))

	// POST the file back: the server answers its SHA-256 and length.
	r = e.NSResult(t, 60*time.Second, nil, "curl", "-sS", "--fail", "--data-binary", "@"+file, "http://"+stapelIP+":8080/upload")
	if r.Err != nil || strings.TrimSpace(r.Stdout) != sum+" 4194304" {
		t.Fatalf("curl POST: %v %q want %q", r.Err, r.Output(), sum+" 4194304")
	}
	// HEAD and a keep-alive pair of requests on one connection.
	r = e.NSResult(t, 30*time.Second, nil, "curl", "-sS", "--fail", "-I", "http://"+stapelIP+":8080/a",
		"--next", "-sS", "-o", "/dev/null", "-w", "%{num_connects}\n", "http://"+stapelIP+":8080/b")
	if r.Err != nil || !strings.Contains(r.Stdout, "HTTP/1.1 200 OK") || !strings.HasSuffix(strings.TrimSpace(r.Stdout), "0") {
		t.Fatalf("curl HEAD + keep-alive: %v\n%s", r.Err, r.Output())
	}
	srv.Stop()
}

// Stapel's net/http client (`stapel http-get`, the daemon's http.Client
// on Stapel TCP) fetches from a Linux HTTP server (python3 http.server).
// SPEC: WS-1
func TestTCPHTTPGetFromLinuxServer(t *testing.T) {
	e := startTCP(t, 3*time.Minute)
	dir := filepath.Join(e.Dir, "www")
	os.Mkdir(dir, 0o755)
	e.randomFile(t, "www/data.bin", 8<<20, 2)
	sum, _ := fileSHA(t, filepath.Join(dir, "data.bin"))
	py := e.BackgroundNS(t, "/usr/bin/python3", "-m", "http.server", "--bind", linuxIP, "--directory", dir, "8081")
	e.WaitFor(t, 20*time.Second, "python http.server to listen", func() (bool, string) {
		out, _ := e.NS(t, 5*time.Second, "ss", "-ltn", "sport = :8081")
		return strings.Contains(out, "8081"), out + py.Stderr()
	})
	out := filepath.Join(e.Dir, "get.out")
	start := time.Now()
	r := e.Tool(t, 90*time.Second, "http-get", "-o", out, "http://"+linuxIP+":8081/data.bin")
	el := time.Since(start)
	if r.Err != nil {
		t.Fatalf("stapel http-get: %v\n%s", r.Err, r.Output())
	}
	got, n := fileSHA(t, out)
	if got != sum || n != 8<<20 {
		t.Fatalf("http-get fetched %d bytes sha %s, want %d sha %s", n, got, 8<<20, sum)
	}
	t.Logf("stapel http-get of 8 MiB from Linux: %v, %s", el.Round(time.Millisecond), mibps(n, el))
	// A missing page: exit 1 with the status.
	r = e.Tool(t, 30*time.Second, "http-get", "http://"+linuxIP+":8081/nope")
	if r.Code != 1 || !strings.Contains(r.Stderr, "404") {
		t.Fatalf("http-get of a missing page: exit %d %q", r.Code, r.Output())
	}
}
