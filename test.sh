#!/usr/bin/env bash
# The whole test run: tools, formatting, vet, unit + simulation + interop
# tests under the race detector, then every fuzz target for a few seconds.
# Works as root on a fresh Debian machine with Go, with CI=true and no stdin.
#
# Environment:
#   STAPEL_INTEROP_REQUIRED  1 (default): interop tests fail, not skip, when
#                            they cannot run; 0 lets them skip (not root).
#   FUZZTIME                 per fuzz target (default 5s).
#   SKIP_FUZZ=1              skip the fuzz phase.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
# ip, tcpdump and iptables live in sbin; Go may be only in /usr/local/go.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
export STAPEL_INTEROP_REQUIRED="${STAPEL_INTEROP_REQUIRED:-1}"
FUZZTIME="${FUZZTIME:-5s}"
export GOFLAGS="${GOFLAGS:-}"

start_all=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -a summary=()
failed=0
step_fail=0 # failed steps that are not counted as tests (gofmt, vet, ...)
tests_pass=0 tests_fail=0 tests_skip=0

# step NAME CMD...: run one step, time it, record the outcome, keep going.
step() {
	local name=$1
	shift
	local t0 rc=0
	t0=$(date +%s)
	echo
	echo "=== $name"
	"$@" || rc=$?
	local dt=$(($(date +%s) - t0))
	if [ "$rc" -eq 0 ]; then
		summary+=("$(printf '  %-6s %-32s %5ss' PASS "$name" "$dt")")
	else
		summary+=("$(printf '  %-6s %-32s %5ss (exit %s)' FAIL "$name" "$dt" "$rc")")
		failed=1
		case $name in
		go\ test* | fuzz*) ;;
		*) step_fail=$((step_fail + 1)) ;;
		esac
	fi
}

# --- 1. Debian packages the tests need -------------------------------------
# package:probe, where probe is a command or a file that shows it installed.
packages=(
	iproute2:ip
	iputils-ping:ping
	iputils-tracepath:tracepath
	socat:socat
	netcat-openbsd:/bin/nc.openbsd
	tcpdump:tcpdump
	python3-scapy:/usr/lib/python3/dist-packages/scapy/__init__.py
	curl:curl
	iperf3:iperf3
	iptables:iptables
	dnsmasq-base:dnsmasq
	samba-common-bin:nmblookup
)

install_packages() {
	local missing=() p pkg probe
	for p in "${packages[@]}"; do
		pkg=${p%%:*}
		probe=${p#*:}
		if [[ $probe == /* ]]; then
			[ -e "$probe" ] && continue
		else
			PATH="$PATH:/usr/sbin:/sbin" command -v "$probe" >/dev/null 2>&1 && continue
		fi
		missing+=("$pkg")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		echo "all test packages present"
		return 0
	fi
	echo "missing Debian packages: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "not root: cannot install them (interop tests need root anyway)"
		[ "$STAPEL_INTEROP_REQUIRED" = 1 ] && return 1
		return 0
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq </dev/null || return 1
	apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
}

# --- 2. formatting ------------------------------------------------------------
check_gofmt() {
	local out
	out=$(gofmt -l . 2>&1)
	if [ -n "$out" ]; then
		echo "gofmt would change these files (run gofmt -w):"
		echo "$out"
		return 1
	fi
	echo "gofmt: clean"
}

# --- 3. tests -----------------------------------------------------------------
# gotest turns `go test -json` into the usual terse output (package lines,
# the output of failed tests) and counts tests.
build_gotest() {
	mkdir -p "$work/gotest"
	cat >"$work/gotest/main.go" <<'EOF'
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

type event struct {
	Action, Package, Test, Output string
}

// Since Go 1.24 compiler errors arrive as "build-output" events.

func main() {
	var pass, fail, skip, pkgFail int
	buf := map[string][]string{}
	failedTests := map[string]bool{} // packages with a failed test
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	for in.Scan() {
		var e event
		if json.Unmarshal(in.Bytes(), &e) != nil {
			fmt.Println(in.Text()) // anything that is not an event
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "build-output":
			fmt.Print(e.Output)
		case "output":
			if e.Test == "" {
				// Package lines: ok/FAIL/panic and build output.
				if !strings.HasPrefix(e.Output, "PASS") && !strings.HasPrefix(e.Output, "=== ") {
					fmt.Print(e.Output)
				}
			} else if len(buf[key]) < 5000 {
				buf[key] = append(buf[key], e.Output)
			}
		case "pass", "fail", "skip":
			if e.Test == "" {
				if e.Action == "fail" {
					// A crash, panic or timeout ends the package with
					// tests still open: show what they printed.
					for k, lines := range buf {
						if strings.HasPrefix(k, e.Package+" ") {
							fmt.Printf("--- unfinished %s:\n%s", k, strings.Join(lines, ""))
							delete(buf, k)
						}
					}
					if !failedTests[e.Package] {
						pkgFail++
					}
				}
				continue
			}
			switch e.Action {
			case "pass":
				pass++
			case "fail":
				fail++
				failedTests[e.Package] = true
				// Subtests print inside their parent; print top-level only.
				if !strings.Contains(e.Test, "/") {
					fmt.Print(strings.Join(buf[key], ""))
				}
			case "skip":
				skip++
				if !strings.Contains(e.Test, "/") {
					for _, l := range buf[key] {
						if strings.Contains(l, "skip") || strings.Contains(l, "SKIP") {
							fmt.Print(l)
						}
					}
				}
			}
			delete(buf, key)
		}
	}
	// A package that failed without a failing test (build error, crash,
	// timeout) counts as one failure.
	fail += pkgFail
	fmt.Printf("tests: %d passed, %d failed, %d skipped\n", pass, fail, skip)
	f, _ := os.Create(os.Args[1])
	fmt.Fprintf(f, "%d %d %d\n", pass, fail, skip)
	f.Close()
}
EOF
	(cd "$work/gotest" && go mod init gotest >/dev/null 2>&1 && go build -o "$work/gotest/gotest" .)
}

run_tests() {
	local rc=0
	build_gotest
	set +o pipefail
	# -count=1: never reuse cached results; the interop tests run a daemon
	# built at run time, which the test cache does not track.
	go test -race -count=1 -timeout 20m -json ./... 2>&1 | "$work/gotest/gotest" "$work/counts"
	rc=${PIPESTATUS[0]}
	set -o pipefail
	if [ -f "$work/counts" ]; then
		read -r tests_pass tests_fail tests_skip <"$work/counts"
	fi
	return "$rc"
}

# --- 4. fuzzing ---------------------------------------------------------------
fuzz_pass=0 fuzz_fail=0
# fuzz_one PKG NAME: fuzz one target. Go's fuzz coordinator sometimes stops
# its workers too late on a loaded machine and reports "context deadline
# exceeded" with no failing input after fuzzing for the whole time; such a
# run found nothing and counts as passed (it is said so). A real failure
# ("Failing input written to ...", a crash, a build error) always fails.
fuzz_one() {
	if go test -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" -parallel 1 "$1" >"$work/fuzz.log" 2>&1; then
		return 0
	fi
	if grep -q 'Failing input written' "$work/fuzz.log" || ! grep -q 'context deadline exceeded' "$work/fuzz.log"; then
		return 1
	fi
	if grep -q 'execs: [1-9]' "$work/fuzz.log"; then
		echo "    (fuzz engine stopped late with no failing input after fuzzing; counted as passed)"
		return 0
	fi
	return 1
}

run_fuzz() {
	local pkg name names rc=0
	# Only packages whose tests define Fuzz functions; names from go test -list.
	local pkgs
	pkgs=$(grep -rl --include='*_test.go' '^func Fuzz' . 2>/dev/null | xargs -r -n1 dirname | sort -u || true)
	for pkg in $pkgs; do
		if ! go test -list '^Fuzz' "$pkg" >"$work/list.log" 2>&1; then
			echo "--- fuzz $pkg: go test -list failed"
			tail -n 30 "$work/list.log"
			fuzz_fail=$((fuzz_fail + 1))
			rc=1
			continue
		fi
		names=$(grep '^Fuzz' "$work/list.log" || true)
		for name in $names; do
			echo "--- fuzz $pkg $name ($FUZZTIME)"
			if fuzz_one "$pkg" "$name"; then
				fuzz_pass=$((fuzz_pass + 1))
			else
				fuzz_fail=$((fuzz_fail + 1))
				rc=1
				tail -n 60 "$work/fuzz.log"
			fi
		done
	done
	echo "fuzz targets: $fuzz_pass passed, $fuzz_fail failed"
	return "$rc"
}

step "install test packages" install_packages
step "gofmt" check_gofmt
step "go vet" go vet ./...
step "go test -race (incl. interop)" run_tests
# The race detector allocates, so the zero-allocation checks of the data
# path skip under it; they run here once more without it.
step "allocation checks (no -race)" go test -count=1 -run 'NoAllocs|ZeroAllocs' ./wire/... ./tcp/... ./hostroutes/... ./stack/... ./link/...
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
	step "fuzz ($FUZZTIME per target)" run_fuzz
fi

echo
echo "=== summary ($(($(date +%s) - start_all))s)"
printf '%s\n' "${summary[@]}"
echo "  tests: $tests_pass passed, $tests_fail failed, $tests_skip skipped; fuzz targets: $fuzz_pass passed, $fuzz_fail failed"
if [ "$failed" -ne 0 ]; then
	echo "test.sh: FAILED"
fi
echo "$((tests_pass + fuzz_pass)) passed, $((tests_fail + fuzz_fail + step_fail)) failed, $tests_skip skipped"
exit "$failed"
