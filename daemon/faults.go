package daemon

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FaultSpec is one --faults flag: impairments for one interface. The
// config file has no [Interface.Faults] table, so the daemon takes them on
// its command line (a Stapel testing aid, not a whitepaper parameter).
type FaultSpec struct {
	Interface                         string
	Loss, Reorder, Duplicate, Corrupt float64
	Delay, Jitter                     time.Duration
	Seed                              int64
}

// ParseFaults reads "IF:loss=0.02,reorder=0.01,dup=0.01,corrupt=0,
// delay=1ms,jitter=1ms,seed=N".
func ParseFaults(s string) (FaultSpec, error) {
	var f FaultSpec
	name, rest, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return f, fmt.Errorf("--faults %q: want IF:key=value,... (keys loss, reorder, dup, corrupt, delay, jitter, seed)", s)
	}
	f.Interface = name
	for _, kv := range strings.Split(rest, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return f, fmt.Errorf("--faults %s: %q is not key=value", name, kv)
		}
		var err error
		prob := func(dst *float64) {
			var x float64
			x, err = strconv.ParseFloat(v, 64)
			if err == nil && (x < 0 || x > 1) {
				err = fmt.Errorf("out of range 0..1")
			}
			*dst = x
		}
		dur := func(dst *time.Duration) {
			var d time.Duration
			d, err = time.ParseDuration(v)
			if err == nil && (d < 0 || d > time.Minute) {
				err = fmt.Errorf("out of range 0..1m")
			}
			*dst = d
		}
		switch k {
		case "loss":
			prob(&f.Loss)
		case "reorder":
			prob(&f.Reorder)
		case "dup", "duplicate":
			prob(&f.Duplicate)
		case "corrupt":
			prob(&f.Corrupt)
		case "delay":
			dur(&f.Delay)
		case "jitter":
			dur(&f.Jitter)
		case "seed":
			f.Seed, err = strconv.ParseInt(v, 10, 64)
		default:
			return f, fmt.Errorf("--faults %s: unknown key %q (keys loss, reorder, dup, corrupt, delay, jitter, seed)", name, k)
		}
		if err != nil {
			return f, fmt.Errorf("--faults %s: %s = %q: %v", name, k, v, err)
		}
	}
	return f, nil
}
