package main

import (
	"context"
	"io"

	"github.com/stapel-net/stapel/tools"
)

// netstatRoutes prints the route table as netstat -r does (the same text
// as route print; SPEC TOOL-NETSTAT "-r routing table plus active
// connections").
func netstatRoutes(ctx context.Context, sock string, stdout io.Writer) error {
	rt, err := client(sock).RouteTable(ctx)
	if err != nil {
		return err
	}
	io.WriteString(stdout, tools.FormatRoutePrint(rt))
	return nil
}
