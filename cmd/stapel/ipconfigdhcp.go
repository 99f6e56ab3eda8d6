package main

import (
	"io"

	"github.com/stapel-net/stapel/tools"
)

// ipconfigDHCP is `ipconfig /release [ADAPTER]` and `/renew [ADAPTER]`
// (SPEC §18 TOOL-IPCONFIG, DHCP-1): the DHCP client gives the lease back
// or gets one, then the configuration is shown as plain ipconfig does.
func ipconfigDHCP(w *winArgs, op string, stdout io.Writer) error {
	adapter := ""
	for {
		name, sw, ok, err := w.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if sw || adapter != "" {
			return usagef("unexpected %q after /%s", name, op)
		}
		adapter = name
	}
	ctx, cancel := signalContext()
	defer cancel()
	cl := client(w.control)
	var info tools.HostInfo
	var err error
	if op == "release" {
		info, err = cl.DHCPRelease(ctx, adapter)
	} else {
		info, err = cl.DHCPRenew(ctx, adapter)
	}
	if err != nil {
		return err
	}
	io.WriteString(stdout, tools.FormatIPConfig(info, false))
	return nil
}
