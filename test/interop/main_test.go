package interop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// scapyPython is Debian's interpreter: the python3 on PATH may be another
// one (pyenv) without scapy.
const scapyPython = "/usr/bin/python3"

// envRequired makes a missing prerequisite a failure instead of a skip.
const envRequired = "STAPEL_INTEROP_REQUIRED"

var (
	repoRoot string // directory holding go.mod
	binDir   string // temporary directory for the stapel binary

	prereqOnce sync.Once
	prereqErr  error // why the interop tests cannot run here

	buildOnce sync.Once
	stapelBin string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := run(m)
	os.Exit(code)
}

func run(m *testing.M) int {
	// ip and tcpdump live in sbin, which a CI user's PATH may lack.
	os.Setenv("PATH", os.Getenv("PATH")+":/usr/local/sbin:/usr/sbin:/sbin")
	var err error
	if repoRoot, err = findRepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	if binDir, err = os.MkdirTemp("", "stapel-interop-"); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(binDir)
	return m.Run()
}

func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for i := 0; i < 10; i++ {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		dir = filepath.Dir(dir)
	}
	return "", errors.New("go.mod not found above the test directory")
}

// requireInterop skips (or fails, under STAPEL_INTEROP_REQUIRED=1) when this
// machine cannot run the interop tests, and builds the daemon once.
func requireInterop(t *testing.T) {
	t.Helper()
	prereqOnce.Do(func() { prereqErr = checkPrereqs() })
	if prereqErr != nil {
		if os.Getenv(envRequired) == "1" {
			t.Fatalf("%s=1 but the interop tests cannot run: %v", envRequired, prereqErr)
		}
		t.Skipf("interop test skipped: %v", prereqErr)
	}
	buildOnce.Do(buildStapel)
	if buildErr != nil {
		t.Fatalf("building cmd/stapel: %v", buildErr)
	}
}

// checkPrereqs says what is missing, naming the Debian package to install.
func checkPrereqs() error {
	if os.Geteuid() != 0 {
		return errors.New("not root: network namespaces and TAP devices need root (run ./test.sh as root)")
	}
	var missing []string
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		missing = append(missing, "/dev/net/tun (kernel TUN/TAP support)")
	}
	for _, c := range []struct{ cmd, pkg string }{
		{"ip", "iproute2"},
		{"ping", "iputils-ping"},
		{"socat", "socat"},
		{"tcpdump", "tcpdump"},
		{"go", "golang (Go toolchain)"},
	} {
		if _, err := exec.LookPath(c.cmd); err != nil {
			missing = append(missing, c.cmd+" (Debian package "+c.pkg+")")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, scapyPython, "-c", "import scapy.all").CombinedOutput(); err != nil {
		missing = append(missing, fmt.Sprintf("%s with scapy (Debian package python3-scapy): %v %s",
			scapyPython, err, strings.TrimSpace(string(out))))
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s; ./test.sh installs them", strings.Join(missing, ", "))
	}
	return nil
}

// buildStapel builds the daemon without -race: the harness is what runs
// under the race detector, the daemon is the program under test.
// STAPEL_BIN names a prebuilt binary to test instead.
func buildStapel() {
	if b := os.Getenv("STAPEL_BIN"); b != "" {
		stapelBin, buildErr = filepath.Abs(b)
		return
	}
	bin := filepath.Join(binDir, "stapel")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/stapel")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("%v\n%s", err, out)
		return
	}
	stapelBin = bin
}
