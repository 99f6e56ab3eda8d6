package daemon

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tools"
	"github.com/stapel-net/stapel/wire"
)

// --faults with loss=1 black-holes the interface. The capture shows the
// wire: the sniffer sits between the device and the fault injector, so
// frames the injector dropped on the way out never appear.
func TestDaemonFaultsAndPcap(t *testing.T) {
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := wire.ParseMAC("02:00:00:00:00:0a")
	peerMAC, _ := wire.ParseMAC("02:00:00:00:00:01")
	a, b := link.NewPipe(clock.Real{}, 1500, mac, peerMAC)
	peer := stack.New(stack.Options{HostName: "stppeer"})
	defer peer.Close()
	peer.AddInterface(stack.InterfaceConfig{Name: "lan", Addrs: []netip.Prefix{netip.PrefixFrom(peerIP, 24)}}, b)
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	d, err := Start(Options{Config: cfg, Control: sock, PcapDir: dir,
		Faults:   []FaultSpec{{Interface: "lan", Loss: 1, Seed: 1}},
		OpenLink: func(config.Interface) (link.Endpoint, error) { return a, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c := &control.Client{Path: sock}
	var probes []tools.ProbeResult
	c.Ping(context.Background(), peerIP, tools.PingOptions{Count: 1, Timeout: 300 * time.Millisecond},
		func(r tools.ProbeResult) { probes = append(probes, r) })
	if len(probes) != 1 || probes[0].Kind == tools.ProbeReply {
		t.Fatalf("ping through a lossy link: %+v", probes)
	}
	d.Close()
	f, err := os.Open(filepath.Join(dir, "lan.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if len(data) >= 12 && [6]byte(data[6:12]) == [6]byte(mac) {
			t.Fatalf("a frame the injector dropped reached the capture: % x", data)
		}
	}
	if _, err := Start(Options{Config: cfg, Control: sock, Faults: []FaultSpec{{Interface: "nope"}}}); err == nil {
		t.Fatal("faults for an unknown interface accepted")
	}
}
