// Package iperf3 speaks the iperf3 protocol (TCP tests only) over any
// net.Listener and dialer, so a Stapel host can be tested with, and test,
// the stock iperf3 tool.
//
// The protocol, as learned from iperf3's documentation and sources: the
// client opens a control connection and sends a 37-byte cookie (36
// characters and a NUL). The server drives the test with one-byte states
// on it; parameters and results travel as a 4-byte big-endian length and
// a JSON object. Each data stream is a further connection to the same
// port that begins with the same cookie. Data flows client to server, or
// server to client with -R, until the client says TEST_END.
package iperf3

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// DefaultPort is iperf3's port.
const DefaultPort = 5201

// CookieLen is the cookie's length on the wire, NUL included.
const CookieLen = 37

// States sent on the control connection (iperf_api.h).
const (
	TestStart       int8 = 1
	TestRunning     int8 = 2
	TestEnd         int8 = 4
	ParamExchange   int8 = 9
	CreateStreams   int8 = 10
	ServerTerminate int8 = 11
	ClientTerminate int8 = 12
	ExchangeResults int8 = 13
	DisplayResults  int8 = 14
	IperfStart      int8 = 15
	IperfDone       int8 = 16
	AccessDenied    int8 = -1
	ServerError     int8 = -2
)

// Limits: everything a peer can make us hold is bounded.
const (
	MaxJSON      = 64 << 10 // parameters or results object
	MaxStreams   = 16       // parallel data streams per test
	MaxBlock     = 1 << 20  // write size (iperf3's -l)
	DefaultBlock = 128 << 10
	MaxDuration  = 3600 // seconds
)

// iperf3's error numbers we send with SERVER_ERROR.
const (
	errUnimplemented = 13 // IEUNIMP
	errNumStreams    = 6  // IENUMSTREAMS
	errBlockSize     = 7  // IEBLOCKSIZE
	errDuration      = 5  // IEDURATION
)

// Cookie is a test's identity, as sent on every connection.
type Cookie [CookieLen]byte

const cookieChars = "abcdefghijklmnopqrstuvwxyz234567"

// NewCookie makes a random cookie in iperf3's alphabet.
func NewCookie() Cookie {
	var c Cookie
	var r [CookieLen - 1]byte
	rand.Read(r[:])
	for i, b := range r {
		c[i] = cookieChars[int(b)%len(cookieChars)]
	}
	return c
}

func (c Cookie) String() string { return string(c[:CookieLen-1]) }

// Params is the client's parameter object. iperf3 tests the presence of
// flag keys (reverse, tcp), not their value, so they are pointers.
type Params struct {
	TCP           *bool  `json:"tcp,omitempty"`
	UDP           *bool  `json:"udp,omitempty"`
	SCTP          *bool  `json:"sctp,omitempty"`
	Omit          int    `json:"omit"`
	Time          int    `json:"time"`
	Num           int64  `json:"num"`
	BlockCount    int64  `json:"blockcount"`
	Parallel      int    `json:"parallel"`
	Reverse       *bool  `json:"reverse,omitempty"`
	Bidirectional *bool  `json:"bidirectional,omitempty"`
	Len           int    `json:"len"`
	PacingTimer   int    `json:"pacing_timer,omitempty"`
	ClientVersion string `json:"client_version,omitempty"`
}

// Results is the object each side sends at EXCHANGE_RESULTS.
type Results struct {
	CPUUtilTotal         float64        `json:"cpu_util_total"`
	CPUUtilUser          float64        `json:"cpu_util_user"`
	CPUUtilSystem        float64        `json:"cpu_util_system"`
	SenderHasRetransmits Int            `json:"sender_has_retransmits"`
	CongestionUsed       string         `json:"congestion_used,omitempty"`
	Streams              []StreamResult `json:"streams"`
}

// StreamResult is one stream's totals.
type StreamResult struct {
	ID          int     `json:"id"`
	Bytes       Int     `json:"bytes"`
	Retransmits Int     `json:"retransmits"`
	Jitter      float64 `json:"jitter"`
	Errors      Int     `json:"errors"`
	Packets     Int     `json:"packets"`
	StartTime   float64 `json:"start_time"`
	EndTime     float64 `json:"end_time"`
}

// Int is an integer as iperf3 writes them: cJSON prints some signed
// values through unsigned types (-1 arrives as 18446744073709551615),
// and large ones may come as floats.
type Int int64

// UnmarshalJSON accepts signed, wrapped unsigned and float forms.
func (v *Int) UnmarshalJSON(b []byte) error {
	s := string(b)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		*v = Int(i)
		return nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		*v = Int(int64(u)) // two's complement, as iperf3 meant it
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return fmt.Errorf("iperf3: %q is not a number", s)
	}
	*v = Int(max(min(f, math.MaxInt64), math.MinInt64))
	return nil
}

// streamID is iperf3's numbering of the i-th stream (0-based): 1, 3, 4,
// 5, ... (id 2 is skipped by the reference implementation); both sides
// number alike and match results by id.
func streamID(i int) int {
	if i == 0 {
		return 1
	}
	return i + 2
}

func writeState(w io.Writer, s int8) error {
	_, err := w.Write([]byte{byte(s)})
	return err
}

func readState(r io.Reader) (int8, error) {
	var b [1]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return int8(b[0]), nil
}

// writeJSON sends v as a length-prefixed JSON object.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	_, err = w.Write(buf)
	return err
}

// readJSON reads one length-prefixed JSON object of at most MaxJSON bytes.
func readJSON(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > MaxJSON {
		return fmt.Errorf("iperf3: JSON object of %d bytes (limit %d)", n, MaxJSON)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	// iperf3 (cJSON) NUL-terminates on some paths.
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("iperf3: bad JSON from peer: %v", err)
	}
	return nil
}

// ErrAccessDenied is the server refusing the test (busy, or bad cookie).
var ErrAccessDenied = errors.New("iperf3: the server is busy running a test (access denied)")

// ServerErr is SERVER_ERROR with iperf3's error number and errno.
type ServerErr struct{ Code, Errno int32 }

func (e ServerErr) Error() string {
	return fmt.Sprintf("iperf3: the server reported error %d (errno %d)", e.Code, e.Errno)
}
