package daemon

import (
	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/link"
)

// wrapFaults puts the fault injector in front of ep (both directions).
func wrapFaults(ep link.Endpoint, clk clock.Clock, f FaultSpec) (link.Endpoint, error) {
	return link.NewFaulty(ep, clk, link.FaultConfig{
		Delay: f.Delay, Jitter: f.Jitter,
		Loss: f.Loss, Duplicate: f.Duplicate, Reorder: f.Reorder, Corrupt: f.Corrupt,
	}, f.Seed), nil
}
