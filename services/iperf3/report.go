package iperf3

import (
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// Interval is one reporting interval of the local side's data.
type Interval struct {
	Start float64 `json:"start"` // seconds since TEST_RUNNING
	End   float64 `json:"end"`
	Bytes int64   `json:"bytes"`
	// Sender is true when the local side sends the data.
	Sender bool `json:"sender"`
}

// BitsPerSecond is the interval's rate.
func (iv Interval) BitsPerSecond() float64 { return rate(iv.Bytes, iv.End-iv.Start) }

// Report is one finished test as the local side saw it, with the
// peer's totals from the results exchange.
type Report struct {
	Local    string `json:"local"`
	Remote   string `json:"remote"`
	Reverse  bool   `json:"reverse"`
	Parallel int    `json:"parallel"`
	// Sender's and receiver's totals: the sending side's bytes written
	// and the receiving side's bytes read, each over its own time.
	SentBytes       int64   `json:"sentBytes"`
	SentSeconds     float64 `json:"sentSeconds"`
	ReceivedBytes   int64   `json:"receivedBytes"`
	ReceivedSeconds float64 `json:"receivedSeconds"`
	// Retransmits is the sender's count, -1 if it reports none.
	Retransmits int64 `json:"retransmits"`
}

// SenderBitsPerSecond and ReceiverBitsPerSecond are the test's rates.
func (r Report) SenderBitsPerSecond() float64 { return rate(r.SentBytes, r.SentSeconds) }

// ReceiverBitsPerSecond is the receiving side's rate.
func (r Report) ReceiverBitsPerSecond() float64 { return rate(r.ReceivedBytes, r.ReceivedSeconds) }

func rate(n int64, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(n) * 8 / secs
}

// PrintInterval writes an interval in iperf3's text layout.
func PrintInterval(w io.Writer, iv Interval) {
	fmt.Fprintf(w, "[SUM] %6.2f-%-6.2f sec  %s  %s\n", iv.Start, iv.End, human(float64(iv.Bytes), "Bytes", 1024), human(iv.BitsPerSecond(), "bits/sec", 1000))
}

// PrintReport writes the summary lines in iperf3's text layout.
func PrintReport(w io.Writer, r Report) {
	fmt.Fprintf(w, "- - - - - - - - - - - - - - - - - - - - - - - - -\n")
	retr := ""
	if r.Retransmits >= 0 {
		retr = fmt.Sprintf("  %4d", r.Retransmits)
	}
	fmt.Fprintf(w, "[SUM]   0.00-%-6.2f sec  %s  %s%s  sender\n", r.SentSeconds, human(float64(r.SentBytes), "Bytes", 1024), human(r.SenderBitsPerSecond(), "bits/sec", 1000), retr)
	fmt.Fprintf(w, "[SUM]   0.00-%-6.2f sec  %s  %s  receiver\n", r.ReceivedSeconds, human(float64(r.ReceivedBytes), "Bytes", 1024), human(r.ReceiverBitsPerSecond(), "bits/sec", 1000))
}

func human(v float64, unit string, base float64) string {
	prefixes := []string{"", "K", "M", "G", "T"}
	i := 0
	for v >= base && i < len(prefixes)-1 {
		v /= base
		i++
	}
	return fmt.Sprintf("%6.2f %s%s", v, prefixes[i], unit)
}

// meter counts a test's data and reports intervals once a second.
type meter struct {
	bytes  atomic.Int64
	start  time.Time
	last   time.Time
	lastN  int64
	sender bool
}

func (m *meter) tick(now time.Time, f func(Interval)) {
	n := m.bytes.Load()
	iv := Interval{Start: m.last.Sub(m.start).Seconds(), End: now.Sub(m.start).Seconds(), Bytes: n - m.lastN, Sender: m.sender}
	m.last, m.lastN = now, n
	if f != nil && iv.End-iv.Start >= 0.05 { // not the sliver after the last full second
		f(iv)
	}
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
