package main

import (
	"flag"
	"fmt"

	"github.com/stapel-net/stapel/daemon"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tcp"
)

// stapelProfile picks Stapel's TCP parameter set: the whitepaper's
// defaults, tcp.ModernParams (window scaling and timestamps initiated,
// 4 MiB window, IW10, CUBIC, tail loss probe), or both as two columns.
// -stapel-window still overrides the window.
var stapelProfile = flag.String("stapel-profile", "default",
	"Stapel's TCP parameters: default (whitepaper), modern (tcp.ModernParams: WS+TS, 4 MiB window, IW10, CUBIC) or both (two columns)")

// profileParams returns the TCP parameters of a profile name.
func profileParams(profile string) (tcp.Params, error) {
	switch profile {
	case "default", "":
		return tcp.DefaultParams(), nil
	case "modern":
		return tcp.ModernParams(), nil
	}
	return tcp.Params{}, fmt.Errorf("-stapel-profile %q: want default, modern or both", profile)
}

// stapelTCP joins TCP to the stack exactly as the daemon and the library
// (stapel.New) do, so the harness measures the glue users run.
func stapelTCP(st *stack.Stack, seed uint64, profile string, window int) (*tcp.Protocol, error) {
	params, err := profileParams(profile)
	if err != nil {
		return nil, err
	}
	if window > 0 {
		params.TcpWindowSize = window
	}
	return daemon.AttachTCPParams(st, params, seed), nil
}
