package interop

import (
	"bytes"
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

// daemonFrames decodes the daemon's own capture of lan0 so far. It starts
// before the kernel side can capture (the daemon creates the TAP), so it
// holds the start-up frames.
func (e *Env) daemonFrames(t *testing.T) []gopacket.Packet {
	t.Helper()
	f, err := os.Open(filepath.Join(e.PcapDir, "lan0.pcap"))
	if err != nil {
		return nil
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil // header not written yet
	}
	var pkts []gopacket.Packet
	for i := 0; i < 1_000_000; i++ {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || err != nil {
			break
		}
		pkts = append(pkts, gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default))
	}
	return pkts
}

// gratuitous counts ARP requests announcing ip (sender = target = ip).
func gratuitous(pkts []gopacket.Packet, ip []byte) int {
	n := 0
	for _, p := range pkts {
		if a := arp(p); a != nil && a.Operation == layers.ARPRequest &&
			bytes.Equal(a.SourceProtAddress, ip) && bytes.Equal(a.DstProtAddress, ip) {
			n++
		}
	}
	return n
}

// TestGratuitousARPCount: at start-up Stapel announces its address with
// ArpRetryCount gratuitous ARP requests in total (3 by default, 1 if set).
// SPEC: ARP-7
func TestGratuitousARPCount(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		config string
		want   int
	}{
		{"default", baseConfig, 3},
		{"ArpRetryCount=1", strings.Replace(baseConfig, "DefaultTTL = 128\n", "DefaultTTL = 128\nArpRetryCount = 1\n", 1), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := Start(t, Options{Config: c.config})
			ip := []byte{198, 18, 0, 2}
			e.WaitFor(t, 15*time.Second, "the gratuitous ARPs in the daemon's capture", func() (bool, string) {
				n := gratuitous(e.daemonFrames(t), ip)
				return n >= c.want, ""
			})
			// Give a fourth one time to show up if it were (wrongly) sent.
			time.Sleep(2500 * time.Millisecond)
			if n := gratuitous(e.daemonFrames(t), ip); n != c.want {
				t.Errorf("Stapel sent %d gratuitous ARPs for %s; ArpRetryCount makes it %d in total", n, stapelIP, c.want)
			}
		})
	}
}

// TestMediaSense: taking the kernel side of the TAP down disconnects the
// interface after the damping time (ipconfig shows the cable disconnected,
// addresses withdrawn); bringing it up restores the address and traffic.
// SPEC: LINK-8
func TestMediaSense(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{})
	e.StapelMAC(t)
	down := time.Now()
	e.MustNS(t, "ip", "link", "set", tapName, "down")
	e.WaitFor(t, 20*time.Second, "ipconfig to show the cable disconnected", func() (bool, string) {
		r := e.Tool(t, 10*time.Second, "ipconfig")
		return strings.Contains(r.Stdout, "Cable Disconnected"), r.Stdout
	})
	took := time.Since(down)
	t.Logf("disconnected after %v (1 s carrier poll + 3 s damping)", took.Round(100*time.Millisecond))
	if took < 2*time.Second {
		t.Errorf("interface disconnected after %v; the whitepaper damps for 3 s", took)
	}
	if !strings.Contains(e.DaemonLog(), "disconnected") {
		t.Errorf("the media-sense event should be logged")
	}
	e.MustNS(t, "ip", "link", "set", tapName, "up")
	e.WaitFor(t, 20*time.Second, "ipconfig to show the address again", func() (bool, string) {
		r := e.Tool(t, 10*time.Second, "ipconfig")
		f := ipconfigFields(r.Stdout)
		return has(f["IP Address"], stapelIP), r.Stdout
	})
	e.WaitFor(t, 20*time.Second, "Linux ping to work again", func() (bool, string) {
		out, err := e.NS(t, 10*time.Second, "ping", "-n", "-c", "1", "-W", "2", stapelIP)
		return err == nil, out
	})
}
