// Package simple implements the "simple TCP/IP services" that Windows
// ships: echo (7, RFC 862), discard (9, RFC 863), daytime (13, RFC 867),
// quote of the day (17, RFC 865) and character generator (19, RFC 864).
// The protocol logic is in pure functions (Respond, chargen lines); the
// servers take listener-opening interfaces so UDP (now) and TCP (once the
// tcp package offers net.Listener) share it.
package simple

import (
	"math/rand/v2"
	"time"
)

// Well-known ports.
const (
	PortEcho    = 7
	PortDiscard = 9
	PortDaytime = 13
	PortQOTD    = 17
	PortChargen = 19
)

// Ports lists the services in start order.
var Ports = []uint16{PortEcho, PortDiscard, PortDaytime, PortQOTD, PortChargen}

// MaxQuote is RFC 865's limit on a quote's length.
const MaxQuote = 512

// DefaultQuotes are short enough for one datagram.
var DefaultQuotes = []string{
	"\"The network is the computer.\" - John Gage",
	"\"Be conservative in what you do, be liberal in what you accept from others.\" - Jon Postel, RFC 793",
	"\"We reject kings, presidents and voting. We believe in rough consensus and running code.\" - David Clark",
	"\"Any sufficiently advanced technology is indistinguishable from magic.\" - Arthur C. Clarke",
}

// DaytimeString is RFC 867's suggested format, e.g.
// "Tuesday, February 22, 1982 17:37:43-PST", with CRLF.
func DaytimeString(t time.Time) string {
	return t.Format("Monday, January 2, 2006 15:04:05-MST") + "\r\n"
}

// Quote picks the quote for t: one a day, as qotd servers traditionally do.
func Quote(quotes []string, t time.Time) string {
	if len(quotes) == 0 {
		quotes = DefaultQuotes
	}
	q := quotes[(t.Unix()/86400)%int64(len(quotes))]
	q += "\r\n"
	if len(q) > MaxQuote {
		q = q[:MaxQuote-2] + "\r\n"
	}
	return q
}

// Chargen produces RFC 864's pattern: 72-character lines of the 95
// printable ASCII characters, each line starting one character further on,
// each ended by CRLF.
type Chargen struct {
	line int // first character offset of the current line
	col  int // position within the current line (0..73)
}

const (
	chargenFirst = ' '
	chargenCount = 95
	chargenWidth = 72
)

// Read fills b with the continuing pattern and never fails.
func (c *Chargen) Read(b []byte) (int, error) {
	for i := range b {
		switch {
		case c.col < chargenWidth:
			b[i] = byte(chargenFirst + (c.line+c.col)%chargenCount)
		case c.col == chargenWidth:
			b[i] = '\r'
		default:
			b[i] = '\n'
		}
		c.col++
		if c.col == chargenWidth+2 {
			c.col = 0
			c.line = (c.line + 1) % chargenCount
		}
	}
	return len(b), nil
}

// Respond is the UDP behaviour of every service: the reply to one request
// datagram on port, or nil for none (discard, unknown port). gen keeps the
// chargen pattern rotating across datagrams; rng picks chargen's length.
func Respond(port uint16, req []byte, now time.Time, quotes []string, gen *Chargen, rng *rand.Rand) []byte {
	switch port {
	case PortEcho:
		return append([]byte(nil), req...)
	case PortDaytime:
		return []byte(DaytimeString(now))
	case PortQOTD:
		return []byte(Quote(quotes, now))
	case PortChargen:
		// RFC 864: a datagram of a random number (0 to 512) of characters.
		b := make([]byte, rng.IntN(513))
		gen.Read(b)
		return b
	}
	return nil
}
