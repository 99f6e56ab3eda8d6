package tools

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
)

// TracertOptions are tracert's switches (SPEC TOOL-TRACERT).
type TracertOptions struct {
	MaxHops int           // -h, default 30
	Timeout time.Duration // -w, default 4 s
	NoDNS   bool          // -d (Stapel resolves no names either way)
	Probes  int           // probes per hop, 3
	Size    int           // echo payload, 32
	Name    string        // the name the user gave, for the header
}

// WithDefaults fills zero fields.
func (o TracertOptions) WithDefaults() TracertOptions {
	if o.MaxHops <= 0 {
		o.MaxHops = 30
	}
	if o.Timeout <= 0 {
		o.Timeout = 4 * time.Second
	}
	if o.Probes <= 0 {
		o.Probes = 3
	}
	if o.Size <= 0 {
		o.Size = 32
	}
	return o
}

// Hop is one line of tracert: the probes' outcomes and who answered.
type Hop struct {
	TTL    int
	Probes []ProbeResult
	From   netip.Addr // first responder, invalid if none
	Done   bool       // the destination (or an unreachable) answered
}

// TraceHop sends the probes for one TTL.
func TraceHop(ctx context.Context, h Host, dst netip.Addr, ttl int, o TracertOptions) (Hop, error) {
	hop := Hop{TTL: ttl}
	po := PingOptions{Count: o.Probes, Size: o.Size, TTL: ttl, Timeout: o.Timeout, Interval: time.Millisecond}
	err := h.Ping(ctx, dst, po, func(r ProbeResult) {
		hop.Probes = append(hop.Probes, r)
		if !hop.From.IsValid() && r.From.IsValid() {
			hop.From = r.From
		}
		if r.Kind == ProbeReply || r.Kind == ProbeUnreachable || r.Kind == ProbeNeedsFrag {
			hop.Done = true
		}
	})
	return hop, err
}

// FormatHop renders one tracert line: "  1    <1 ms    <1 ms    <1 ms  198.51.100.1".
func FormatHop(hp Hop) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%3d", hp.TTL)
	for _, p := range hp.Probes {
		switch {
		case p.Kind == ProbeTimeout:
			b.WriteString("     *   ")
		case p.RTT < time.Millisecond:
			b.WriteString("    <1 ms")
		default:
			fmt.Fprintf(&b, "  %4d ms", p.RTT/time.Millisecond)
		}
	}
	switch {
	case !hp.From.IsValid():
		b.WriteString("  Request timed out.")
	default:
		fmt.Fprintf(&b, "  %s", hp.From)
		for _, p := range hp.Probes {
			if p.Kind == ProbeUnreachable || p.Kind == ProbeNeedsFrag {
				fmt.Fprintf(&b, " reports: %s", strings.TrimSuffix(FormatProbe(ProbeResult{Kind: p.Kind, Code: p.Code}), "\n"))
				break
			}
		}
	}
	b.WriteByte('\n')
	return b.String()
}

// RunTracert traces the route to dst and prints it as tracert does. It
// returns the hops it found.
func RunTracert(ctx context.Context, h Host, dst netip.Addr, o TracertOptions, w io.Writer) ([]Hop, error) {
	o = o.WithDefaults()
	fmt.Fprintf(w, "\nTracing route to %s\nover a maximum of %d hops:\n\n", Target(o.Name, dst), o.MaxHops)
	var hops []Hop
	for ttl := 1; ttl <= o.MaxHops; ttl++ {
		hp, err := TraceHop(ctx, h, dst, ttl, o)
		if err != nil {
			return hops, err
		}
		hops = append(hops, hp)
		io.WriteString(w, FormatHop(hp))
		if hp.Done {
			break
		}
	}
	io.WriteString(w, "\nTrace complete.\n")
	return hops, nil
}
