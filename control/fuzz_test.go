package control

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/stapel-net/stapel/tools"
)

func TestFrameRoundTrip(t *testing.T) {
	var b bytes.Buffer
	peer := netip.MustParseAddrPort("203.0.113.20:7")
	WriteFrame(&b, peer, []byte("abc"))
	WriteFrame(&b, netip.AddrPort{}, nil)
	buf := make([]byte, maxFrame)
	n, p, err := ReadFrame(&b, buf)
	if err != nil || string(buf[:n]) != "abc" || p != peer {
		t.Fatalf("%q %v %v", buf[:n], p, err)
	}
	n, p, err = ReadFrame(&b, buf)
	if err != nil || n != 0 || p.IsValid() {
		t.Fatalf("%d %v %v", n, p, err)
	}
	if err := WriteFrame(&b, peer, make([]byte, tools.MaxDatagram+1)); err == nil {
		t.Fatal("oversized datagram framed")
	}
}

// Control input is untrusted: frames and request lines never panic.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 0, 0, 9, 203, 0, 113, 20, 0, 7, 'a', 'b', 'c'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		buf := make([]byte, maxFrame)
		r := bytes.NewReader(data)
		for i := 0; i < 4; i++ {
			if _, _, err := ReadFrame(r, buf); err != nil {
				return
			}
		}
	})
}

func FuzzRequest(f *testing.F) {
	f.Add(`{"op":"ping","dst":"203.0.113.20","ping":{"count":2}}` + "\n")
	f.Add(`{"op":"udp","local":"0.0.0.0:0","remote":"bad"}` + "\n")
	f.Fuzz(func(t *testing.T, s string) {
		readRequest(bufio.NewReaderSize(strings.NewReader(s), 64))
	})
}
