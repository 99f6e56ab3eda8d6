package tools

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
)

// PathpingOptions are pathping's switches (SPEC TOOL-PATHPING).
type PathpingOptions struct {
	MaxHops int           // -h, default 30
	Queries int           // -q, probes per hop, default 100
	Period  time.Duration // -p, between probes, default 250 ms
	Timeout time.Duration // -w, default 3 s
	NoDNS   bool          // -n
	Name    string        // the name the user gave, for the header
}

// WithDefaults fills zero fields.
func (o PathpingOptions) WithDefaults() PathpingOptions {
	if o.MaxHops <= 0 {
		o.MaxHops = 30
	}
	if o.Queries <= 0 {
		o.Queries = 100
	}
	if o.Period <= 0 {
		o.Period = 250 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	return o
}

// HopStats is phase 2's result for one hop.
type HopStats struct {
	Hop        int
	Addr       netip.Addr
	Sent, Lost int
	RTT        time.Duration // average over replies
}

// RunPathping traces the path (phase 1), then probes every hop Queries
// times (phase 2) and prints per-hop and per-link loss. Loss on the link
// into hop i is what hop i loses beyond hop i−1; loss at node i is what
// it loses beyond hop i+1 (a router too busy to answer, though it
// forwards).
func RunPathping(ctx context.Context, h Host, local, dst netip.Addr, o PathpingOptions, w io.Writer) ([]HopStats, error) {
	o = o.WithDefaults()
	fmt.Fprintf(w, "\nTracing route to %s\nover a maximum of %d hops:\n", Target(o.Name, dst), o.MaxHops)
	fmt.Fprintf(w, "  0  %s\n", local)
	var addrs []netip.Addr
	to := TracertOptions{MaxHops: o.MaxHops, Timeout: o.Timeout, Probes: 1}.WithDefaults()
	for ttl := 1; ttl <= o.MaxHops; ttl++ {
		hp, err := TraceHop(ctx, h, dst, ttl, to)
		if err != nil {
			return nil, err
		}
		if !hp.From.IsValid() {
			fmt.Fprintf(w, "%3d     *\n", ttl)
			addrs = append(addrs, netip.Addr{})
			continue
		}
		fmt.Fprintf(w, "%3d  %s\n", ttl, hp.From)
		addrs = append(addrs, hp.From)
		if hp.Done {
			break
		}
	}
	secs := (time.Duration(len(addrs)*o.Queries) * o.Period).Round(time.Second) / time.Second
	fmt.Fprintf(w, "\nComputing statistics for %d seconds...\n", secs)
	stats := []HopStats{}
	for i, a := range addrs {
		hs := HopStats{Hop: i + 1, Addr: a}
		if a.IsValid() {
			var sum time.Duration
			po := PingOptions{Count: o.Queries, TTL: i + 1, Timeout: o.Timeout, Interval: o.Period, Size: 32}
			err := h.Ping(ctx, a, po, func(r ProbeResult) {
				hs.Sent++
				if (r.Kind == ProbeReply || r.Kind == ProbeTTLExpired) && r.From == a {
					sum += r.RTT
				} else {
					hs.Lost++
				}
			})
			if err != nil {
				return stats, err
			}
			if n := hs.Sent - hs.Lost; n > 0 {
				hs.RTT = sum / time.Duration(n)
			}
		}
		stats = append(stats, hs)
	}
	io.WriteString(w, FormatPathpingStats(local, stats))
	io.WriteString(w, "\nTrace complete.\n")
	return stats, nil
}

func pct(lost, sent int) string {
	p := 0
	if sent > 0 {
		p = lost * 100 / sent
	}
	return fmt.Sprintf("%4d/%4d = %3d%%", lost, sent, p)
}

// FormatPathpingStats is phase 2's table.
func FormatPathpingStats(local netip.Addr, st []HopStats) string {
	var b strings.Builder
	b.WriteString("            Source to Here   This Node/Link\n")
	b.WriteString("Hop  RTT    Lost/Sent = Pct  Lost/Sent = Pct  Address\n")
	fmt.Fprintf(&b, "%3d%45s%s\n", 0, "", local)
	prevLost := 0
	for i, s := range st {
		link := max(s.Lost-prevLost, 0)
		fmt.Fprintf(&b, "%30s%s  |\n", "", pct(link, s.Sent))
		node := s.Lost
		if i+1 < len(st) {
			node = max(s.Lost-st[i+1].Lost, 0)
		} else {
			node = 0
		}
		if !s.Addr.IsValid() {
			fmt.Fprintf(&b, "%3d  ---    %s  %s  [no reply]\n", s.Hop, pct(s.Sent, s.Sent), pct(s.Sent, s.Sent))
			prevLost = s.Lost
			continue
		}
		fmt.Fprintf(&b, "%3d %4dms  %s  %s  %s\n", s.Hop, s.RTT/time.Millisecond, pct(s.Lost, s.Sent), pct(node, s.Sent), s.Addr)
		prevLost = s.Lost
	}
	return b.String()
}
