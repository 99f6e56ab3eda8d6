// Package control is the daemon's API on a unix socket, used by the tools.
//
// Protocol: one request per connection. The client writes one JSON line
// (Request); the daemon answers with JSON lines (Response). A response with
// More=true is followed by further responses (ping streams one per probe
// and ends with More=false). After a successful "udp" response the
// connection carries length-prefixed datagram frames in both directions
// (see WriteFrame); TCP streams will carry raw bytes the same way.
package control

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/stapel-net/stapel/tools"
)

// Socket location defaults.
const (
	DefaultSocket = "/run/stapel/stapel.sock"
	EnvSocket     = "STAPEL_CONTROL"
)

// SocketPath picks the socket: the flag, else $STAPEL_CONTROL, else the
// default.
func SocketPath(flag string) string {
	if flag != "" {
		return flag
	}
	if p := os.Getenv(EnvSocket); p != "" {
		return p
	}
	return DefaultSocket
}

// Operations.
const (
	OpInfo      = "info"
	OpARPList   = "arp.list"
	OpARPAdd    = "arp.add"
	OpARPDelete = "arp.delete"
	OpStats     = "stats"
	OpPing      = "ping"
	OpUDP       = "udp"
)

// Limits.
const (
	MaxRequestBytes = 64 << 10
	MaxClients      = 32
	maxFrame        = 6 + tools.MaxDatagram
)

// Request is the single JSON line a client sends.
type Request struct {
	Op     string             `json:"op"`
	IP     netip.Addr         `json:"ip,omitzero"`
	MAC    string             `json:"mac,omitempty"`
	IfAddr netip.Addr         `json:"ifAddr,omitzero"`
	Dst    netip.Addr         `json:"dst,omitzero"`
	Ping   *tools.PingOptions `json:"ping,omitempty"`
	Local  netip.AddrPort     `json:"local,omitzero"`
	Remote netip.AddrPort     `json:"remote,omitzero"`
	// Args carries the parameters of ops defined in their own files
	// (tcpops.go).
	Args json.RawMessage `json:"args,omitempty"`
}

// Response is one JSON line from the daemon.
type Response struct {
	OK    bool            `json:"ok"`
	Error string          `json:"error,omitempty"`
	More  bool            `json:"more,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
}

// UDPOpened is the data of a successful udp response.
type UDPOpened struct {
	Local netip.AddrPort `json:"local"`
}

// WriteFrame writes one datagram frame: a 4-byte big-endian length, then
// the peer's IPv4 address (4 bytes) and port (2 bytes), then the payload.
// From the client an unspecified peer means the connected peer.
func WriteFrame(w io.Writer, peer netip.AddrPort, data []byte) error {
	if len(data) > tools.MaxDatagram {
		return fmt.Errorf("control: datagram of %d bytes exceeds %d", len(data), tools.MaxDatagram)
	}
	buf := make([]byte, 10+len(data))
	binary.BigEndian.PutUint32(buf, uint32(6+len(data)))
	if peer.Addr().Is4() {
		a := peer.Addr().As4()
		copy(buf[4:8], a[:])
	}
	binary.BigEndian.PutUint16(buf[8:10], peer.Port())
	copy(buf[10:], data)
	_, err := w.Write(buf)
	return err
}

// ReadFrame reads one frame into buf (at least 6+MaxDatagram bytes) and
// returns the payload length and peer.
func ReadFrame(r io.Reader, buf []byte) (int, netip.AddrPort, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, netip.AddrPort{}, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n < 6 || n > maxFrame || n > len(buf) {
		return 0, netip.AddrPort{}, errors.New("control: bad frame length")
	}
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		return 0, netip.AddrPort{}, err
	}
	ip := netip.AddrFrom4([4]byte(buf[:4]))
	port := binary.BigEndian.Uint16(buf[4:6])
	copy(buf, buf[6:n])
	peer := netip.AddrPortFrom(ip, port)
	if ip.IsUnspecified() && port == 0 {
		peer = netip.AddrPort{}
	}
	return n - 6, peer, nil
}

// OpTCP opens a TCP connection (remote set: dial; else accept one on
// local). After the ok line, whose data is TCPOpened, the connection
// carries the stream's raw bytes; the client's half-close (or close) sends
// FIN, the peer's FIN half-closes the unix socket.
const OpTCP = "tcp"

// TCPOpened is the data of a successful tcp response.
type TCPOpened struct {
	Local  netip.AddrPort `json:"local,omitzero"`
	Remote netip.AddrPort `json:"remote,omitzero"`
}
