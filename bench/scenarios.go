package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// cell is one contender's figure in one row.
type cell struct {
	ok   bool
	v    float64
	note string // why there is no figure, or a qualifier (capped, veth)
}

// row is one measurement across contenders.
type row struct {
	name   string
	unit   string
	higher bool // higher is better (for reading the ratios)
	cells  map[string]cell
}

type scenario struct {
	key  string
	name string
	unit string
	high bool
	run  func(c Contender, o options) cell
}

func scenarios() []scenario {
	return []scenario{
		{"bulk1500", "bulk, in-memory link, MTU 1500", "Mbit/s", true, func(c Contender, o options) cell {
			return bulkPair(c, Path{MTU: 1500}, o.bytes, o.limit)
		}},
		{"bulk65535", "bulk, in-memory link, MTU 65535", "Mbit/s", true, func(c Contender, o options) cell {
			return bulkPair(c, Path{MTU: 65535}, o.bytes, o.limit)
		}},
		{"tapout", "bulk over TAP, stack → kernel", "Mbit/s", true, func(c Contender, o options) cell {
			return bulkTAP(c, o, true)
		}},
		{"tapin", "bulk over TAP, kernel → stack", "Mbit/s", true, func(c Contender, o options) cell {
			return bulkTAP(c, o, false)
		}},
		{"cps", "conn/s (connect, 1-byte echo, close)", "conn/s", true, func(c Contender, o options) cell {
			return withPair(c, Path{MTU: 1500}, func(p *Pair) cell {
				r, err := cps(p.A, p.B, o.cpsMax, o.cpsTime)
				if err != nil {
					return failed(err)
				}
				ce := cell{ok: true, v: r.Rate()}
				if r.Err != nil {
					ce.note = fmt.Sprintf("stopped after %d: %v", r.Conns, r.Err)
				}
				return ce
			})
		}},
		{"idle", "memory per idle connection (both ends)", "bytes", false, func(c Contender, o options) cell {
			return withPair(c, Path{MTU: 1500}, func(p *Pair) cell {
				v, err := idleMemory(p.A, p.B, o.idle, c.Memory)
				if err != nil {
					return failed(err)
				}
				return cell{ok: true, v: v}
			})
		}},
		{"rtt", "bulk, 50 ms RTT, no loss, MTU 1500", "Mbit/s", true, func(c Contender, o options) cell {
			return bulkPair(c, Path{MTU: 1500, Delay: 25 * time.Millisecond}, o.lossyBytes, o.limit)
		}},
		{"lossy", "goodput, 50 ms RTT, 1 % loss each way, MTU 1500", "Mbit/s", true, func(c Contender, o options) cell {
			return bulkPair(c, Path{MTU: 1500, Delay: 25 * time.Millisecond, Loss: 0.01, Seed: o.seed}, o.lossyBytes, o.limit)
		}},
	}
}

func scenarioKeys() []string {
	var ks []string
	seen := map[string]bool{}
	for _, s := range scenarios() {
		if !seen[s.key] {
			seen[s.key] = true
			ks = append(ks, s.key)
		}
	}
	return append(ks, "tap") // both TAP directions
}

func runAll(cs []Contender, o options) []row {
	var rows []row
	for _, s := range scenarios() {
		if len(o.only) > 0 && !o.only[s.key] && !(o.only["tap"] && strings.HasPrefix(s.key, "tap")) {
			continue
		}
		r := row{name: s.name, unit: s.unit, higher: s.high, cells: map[string]cell{}}
		for _, c := range cs {
			var got []cell
			for i := 0; i < max(o.runs, 1); i++ {
				start := time.Now()
				ce := s.run(c, o)
				got = append(got, ce)
				if o.verbose {
					fmt.Fprintf(os.Stderr, "  %-8s %-48s %s (%v)\n", c.Name(), s.name, ce.format(), time.Since(start).Round(time.Millisecond))
				}
				runtime.GC()
				if !ce.ok {
					break // n/a stays n/a; a stall or error is not retried
				}
			}
			r.cells[c.Name()] = median(got)
		}
		rows = append(rows, r)
	}
	return rows
}

// median picks the median of the runs that gave a figure (the machine is
// shared, so single runs are noisy), noting runs that failed.
func median(cs []cell) cell {
	var ok []cell
	for _, c := range cs {
		if c.ok {
			ok = append(ok, c)
		}
	}
	if len(ok) == 0 {
		return cs[len(cs)-1]
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i].v < ok[j].v })
	m := ok[(len(ok)-1)/2]
	if n := len(cs) - len(ok); n > 0 {
		if m.note != "" {
			m.note += "; "
		}
		m.note += fmt.Sprintf("%d of %d runs failed", n, len(cs))
	}
	return m
}

func failed(err error) cell {
	if errors.Is(err, errNotApplicable) {
		return cell{note: "n/a"}
	}
	return cell{note: "error: " + err.Error()}
}

func withPair(c Contender, p Path, fn func(*Pair) cell) cell {
	pair, err := c.Pair(p)
	if err != nil {
		return failed(err)
	}
	defer pair.Close()
	return fn(pair)
}

func bulkPair(c Contender, p Path, n int64, limit time.Duration) cell {
	return withPair(c, p, func(pair *Pair) cell {
		r, err := bulk(pair.A, pair.B, n, limit)
		return withDiagnosis(bulkCell(r, err), pair.A, pair.B)
	})
}

func bulkCell(r bulkResult, err error) cell {
	if err != nil {
		return failed(err)
	}
	if r.Capped && r.Bytes == 0 {
		return cell{note: fmt.Sprintf("stalled: no data in %v", r.Elapsed)}
	}
	ce := cell{ok: true, v: r.Mbps()}
	if r.Capped {
		ce.note = fmt.Sprintf("capped: %s in %v", size(r.Bytes), r.Elapsed)
	}
	return ce
}

// bulkTAP runs the contender on a TAP whose kernel side lives in nsK. The
// Linux column is kernel-to-kernel over veth, the ceiling.
func bulkTAP(c Contender, o options, toKernel bool) cell {
	if _, ok := c.(linuxContender); ok {
		ce := bulkPair(c, Path{MTU: o.tapMTU}, o.bytes, o.limit)
		if ce.ok {
			ce.note = "veth ceiling"
		}
		return ce
	}
	if o.skipLinux {
		return cell{note: "n/a (needs root)"}
	}
	if err := newNetns(nsK); err != nil {
		return failed(err)
	}
	defer run("ip", "netns", "del", nsK)
	h, closeHost, err := c.TAP(nsK, tapName, o.tapMTU, tapStack)
	if err != nil {
		return failed(err)
	}
	defer closeHost()
	if err := run("ip", "-n", nsK, "addr", "add", tapKern.String(), "dev", tapName); err != nil {
		return failed(err)
	}
	k, err := newKernelHost(nsK, tapKern.Addr())
	if err != nil {
		return failed(err)
	}
	defer k.t.stop()
	if toKernel {
		return withDiagnosis(bulkCell(bulk(h, k, o.bytes, o.limit)), h)
	}
	return withDiagnosis(bulkCell(bulk(k, h, o.bytes, o.limit)), h)
}

// withDiagnosis adds what the hosts know about a failed or capped run.
func withDiagnosis(c cell, hs ...Host) cell {
	if c.ok && c.note == "" {
		return c
	}
	if d := diagnosis(hs...); d != "" {
		if c.note != "" {
			c.note += "; "
		}
		c.note += d
	}
	return c
}

func gomaxprocs() int { return runtime.GOMAXPROCS(0) }
