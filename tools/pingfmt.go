package tools

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// FormatPingHeader is the first line block of ping.
func FormatPingHeader(dst netip.Addr, size int) string {
	return FormatPingHeaderName("", dst, size)
}

// FormatPingHeaderName is FormatPingHeader for a target the user named.
func FormatPingHeaderName(name string, dst netip.Addr, size int) string {
	return fmt.Sprintf("\nPinging %s with %d bytes of data:\n\n", Target(name, dst), size)
}

// Target is how the Windows tools name a destination: "NAME [ADDR]" when
// the user gave a name, else the address.
func Target(name string, dst netip.Addr) string {
	if name == "" {
		return dst.String()
	}
	return fmt.Sprintf("%s [%s]", name, dst)
}

// FormatProbe is the line printed for one probe (with newline).
func FormatProbe(r ProbeResult) string {
	switch r.Kind {
	case ProbeReply:
		return fmt.Sprintf("Reply from %s: bytes=%d %s TTL=%d\n", r.From, r.Bytes, FormatRTT(r.RTT), r.TTL)
	case ProbeTimeout:
		return "Request timed out.\n"
	case ProbeTTLExpired:
		return fmt.Sprintf("Reply from %s: TTL expired in transit.\n", r.From)
	case ProbeReasmExpire:
		return fmt.Sprintf("Reply from %s: TTL expired during reassembly.\n", r.From)
	case ProbeNeedsFrag:
		return "Packet needs to be fragmented but DF set.\n"
	case ProbeUnreachable:
		if !r.From.IsValid() { // refused locally: no route
			return unreachableText(r.Code) + "\n"
		}
		return fmt.Sprintf("Reply from %s: %s\n", r.From, unreachableText(r.Code))
	default:
		if r.Err == "" {
			r.Err = "General failure."
		}
		return fmt.Sprintf("PING: transmit failed. %s\n", r.Err)
	}
}

func unreachableText(code int) string {
	switch code {
	case 0:
		return "Destination net unreachable."
	case 2:
		return "Destination protocol unreachable."
	case 3:
		return "Destination port unreachable."
	case 4:
		return "Packet needs to be fragmented but DF set."
	case 5:
		return "Source route failed."
	case 9, 10, 13:
		return "Communication administratively prohibited."
	default:
		return "Destination host unreachable."
	}
}

// FormatRTT is "time<1ms" below one millisecond, else "time=Nms".
func FormatRTT(d time.Duration) string {
	if d < time.Millisecond {
		return "time<1ms"
	}
	return fmt.Sprintf("time=%dms", d/time.Millisecond)
}

// FormatPingStats is the statistics block.
func FormatPingStats(dst netip.Addr, s *PingStats) string {
	out := fmt.Sprintf("\nPing statistics for %s:\n    Packets: Sent = %d, Received = %d, Lost = %d (%d%% loss),\n",
		dst, s.Sent, s.Received, s.Lost(), s.LossPercent())
	if s.Received > 0 {
		out += fmt.Sprintf("Approximate round trip times in milli-seconds:\n    Minimum = %dms, Maximum = %dms, Average = %dms\n",
			s.Min/time.Millisecond, s.Max/time.Millisecond, s.Average()/time.Millisecond)
	}
	return out
}

// RunPing prints a whole ping session against h to w and returns the
// statistics. Cancelling ctx (Ctrl-C) ends the loop; the statistics are
// still printed, followed by "Control-C" as Windows does.
func RunPing(ctx context.Context, h Host, dst netip.Addr, o PingOptions, w io.Writer) (*PingStats, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	io.WriteString(w, FormatPingHeaderName(o.Name, dst, o.Size))
	st := &PingStats{}
	err := h.Ping(ctx, dst, o, func(r ProbeResult) {
		st.Add(r)
		io.WriteString(w, FormatProbe(r))
	})
	if err != nil && ctx.Err() == nil && st.Sent == 0 {
		return st, err // failed before any probe: no statistics
	}
	io.WriteString(w, FormatPingStats(dst, st))
	if ctx.Err() != nil {
		io.WriteString(w, "Control-C\n^C\n")
		return st, nil
	}
	return st, err
}
