#!/bin/sh
# Runs the side-by-side benchmark (Stapel, gVisor's netstack, Linux).
# Needs root for the Linux and TAP rows (namespaces stpbA/stpbB/stpbK, devices
# stpb*, addresses in 198.18.0.0/15; all removed by name afterwards).
# Quick run:      bench/run.sh
# Issue-4 sizes:  bench/run.sh -bytes 1073741824 -time 60s
# One scenario:   bench/run.sh -only lossy -v      (see -h for the list)
set -eu
cd "$(dirname "$0")"
bin=$(mktemp -d)/stapel-bench
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" .
"$bin" "$@"
