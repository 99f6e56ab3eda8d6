package interop

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Capture is tcpdump running on stptap0 inside the namespace. It sees every
// frame in both directions, including those the kernel would filter out.
type Capture struct {
	e    *Env
	proc *Proc
	file string
}

// StartCapture starts tcpdump with a BPF filter ("" = everything) and waits
// until it is listening.
func (e *Env) StartCapture(t *testing.T, filter string) *Capture {
	t.Helper()
	file := filepath.Join(e.Dir, "cap-"+randHex(3)+".pcap")
	args := []string{"tcpdump", "--immediate-mode", "-i", tapName, "-U", "-n", "-s", "0", "-w", file}
	if filter != "" {
		args = append(args, filter)
	}
	c := &Capture{e: e, proc: e.BackgroundNS(t, args...), file: file}
	e.WaitFor(t, 10*time.Second, "tcpdump to start listening", func() (bool, string) {
		if c.proc.Exited() {
			t.Fatalf("tcpdump exited: %s", c.proc.Stderr())
		}
		s := c.proc.Stderr()
		return strings.Contains(s, "listening on"), s
	})
	return c
}

// Stop ends the capture and returns its frames decoded with gopacket.
func (c *Capture) Stop(t *testing.T) []gopacket.Packet {
	t.Helper()
	// --immediate-mode and -U hand over and write each frame at once; a
	// short pause lets the last ones in before SIGINT ends the loop.
	time.Sleep(300 * time.Millisecond)
	c.proc.Stop()
	f, err := os.Open(c.file)
	if err != nil {
		t.Fatalf("opening capture: %v", err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("reading capture %s: %v", c.file, err)
	}
	var pkts []gopacket.Packet
	for i := 0; i < 1_000_000; i++ {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading capture %s: %v", c.file, err)
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		p.Metadata().CaptureInfo = ci
		pkts = append(pkts, p)
	}
	c.e.logf("capture %s: %d frames; tcpdump: %s", c.file, len(pkts), strings.Join(strings.Fields(c.proc.Stderr()), " "))
	return pkts
}

// ipv4 returns a packet's IPv4 layer or nil.
func ipv4(p gopacket.Packet) *layers.IPv4 {
	l, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	return l
}

// eth returns a packet's Ethernet layer or nil.
func eth(p gopacket.Packet) *layers.Ethernet {
	l, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	return l
}

// arp returns a packet's ARP layer or nil.
func arp(p gopacket.Packet) *layers.ARP {
	l, _ := p.Layer(layers.LayerTypeARP).(*layers.ARP)
	return l
}

// isFragment reports whether an IPv4 header belongs to a fragment.
func isFragment(ip *layers.IPv4) bool {
	return ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0
}
