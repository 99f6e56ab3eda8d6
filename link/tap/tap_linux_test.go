//go:build linux

package tap

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/stapel-net/stapel/wire"
)

// netns creates a network namespace for one test and removes it by name.
func netns(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("tap: test needs root (creates a network namespace and a TAP device); run as root to exercise it")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("tap: test needs iproute2's ip command")
	}
	name := fmt.Sprintf("stptap%d", os.Getpid()%100000)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return name
}

// inNetns runs fn on an OS thread moved into namespace ns. The thread is
// never unlocked, so the runtime discards it afterwards.
func inNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

func ipn(t testing.TB, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
	return string(out)
}

type rec struct {
	mu     sync.Mutex
	frames [][]byte
	states []bool
}

func (r *rec) DeliverFrame(f []byte) {
	r.mu.Lock()
	r.frames = append(r.frames, append([]byte(nil), f...))
	r.mu.Unlock()
}
func (r *rec) LinkStateChanged(up bool) {
	r.mu.Lock()
	r.states = append(r.states, up)
	r.mu.Unlock()
}

// waitFor polls cond on the real clock: the kernel is the peer here.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var (
	ourMAC    = wire.MAC{0x02, 0x53, 0x54, 0x50, 0x00, 0x02}
	ourIP     = net.IP{198, 18, 0, 2}
	kernelIP  = net.IP{198, 18, 0, 1}
	broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

func arpRequest(t *testing.T) []byte {
	eth := &layers.Ethernet{SrcMAC: ourMAC[:], DstMAC: broadcast, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
		SourceHwAddress: ourMAC[:], SourceProtAddress: ourIP,
		DstHwAddress: make([]byte, 6), DstProtAddress: kernelIP}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{}, eth, arp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Both directions through a real TAP: our ARP request reaches the kernel,
// which answers it, and the answer reaches our Dispatcher.
func TestTapKernelARP(t *testing.T) {
	ns := netns(t)
	var dev *Device
	err := inNetns(ns, func() (err error) {
		dev, err = OpenConfig(Config{Name: "stptap0", MTU: 1400, MAC: ourMAC, CarrierPoll: 20 * time.Millisecond})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if !dev.Created() || dev.Name() != "stptap0" || dev.MTU() != 1400 || dev.MAC() != ourMAC {
		t.Fatalf("created=%v name=%q mtu=%d mac=%v", dev.Created(), dev.Name(), dev.MTU(), dev.MAC())
	}
	link := ipn(t, ns, "link", "show", "stptap0")
	if !strings.Contains(link, "mtu 1400") || !strings.Contains(link, "UP") {
		t.Fatalf("kernel side not configured: %s", link)
	}
	if strings.Contains(link, ourMAC.String()) {
		t.Fatalf("kernel side uses our MAC: %s", link)
	}
	ipn(t, ns, "addr", "add", "198.18.0.1/24", "dev", "stptap0")
	r := &rec{}
	dev.Attach(r)

	if err := dev.WriteFrame(arpRequest(t)); err != nil {
		t.Fatal(err)
	}
	var reply *layers.ARP
	waitFor(t, "the kernel's ARP reply", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, f := range r.frames {
			p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
			eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			a, _ := p.Layer(layers.LayerTypeARP).(*layers.ARP)
			if a != nil && a.Operation == layers.ARPReply && bytes.Equal(eth.DstMAC, ourMAC[:]) {
				reply = a
				return true
			}
		}
		return false
	})
	if !bytes.Equal(reply.SourceProtAddress, kernelIP) || !bytes.Equal(reply.DstProtAddress, ourIP) {
		t.Fatalf("reply %v -> %v", net.IP(reply.SourceProtAddress), net.IP(reply.DstProtAddress))
	}
	// The kernel learned our address from the request.
	if neigh := ipn(t, ns, "neigh", "show", "dev", "stptap0"); !strings.Contains(neigh, ourMAC.String()) {
		t.Fatalf("kernel neighbour table lacks our MAC: %s", neigh)
	}
	st := dev.Stats()
	if st.TxFrames != 1 || st.RxFrames == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Media sense: carrier changes via TUNSETCARRIER and via the kernel side
// going administratively down reach LinkStateChanged.
func TestTapCarrier(t *testing.T) {
	ns := netns(t)
	var dev *Device
	if err := inNetns(ns, func() (err error) {
		dev, err = OpenConfig(Config{Name: "stptap0", CarrierPoll: 20 * time.Millisecond})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if dev.MAC()[0]&0x03 != 0x02 {
		t.Fatalf("random MAC %v is not unicast locally administered", dev.MAC())
	}
	r := &rec{}
	dev.Attach(r)
	states := func() []bool { r.mu.Lock(); defer r.mu.Unlock(); return append([]bool(nil), r.states...) }
	if err := dev.SetCarrier(false); err != nil {
		t.Fatal(err)
	}
	if s := states(); len(s) != 1 || s[0] {
		t.Fatalf("after SetCarrier(false): %v", s)
	}
	if err := dev.SetCarrier(true); err != nil {
		t.Fatal(err)
	}
	if s := states(); len(s) != 2 || !s[1] {
		t.Fatalf("after SetCarrier(true): %v", s)
	}
	ipn(t, ns, "link", "set", "stptap0", "down")
	waitFor(t, "carrier down after ip link set down", func() bool { s := states(); return len(s) == 3 && !s[2] })
	if err := dev.WriteFrame(arpRequest(t)); err != nil || dev.Stats().CarrierDrops != 1 {
		t.Fatalf("write while down: %v, stats %+v", err, dev.Stats())
	}
	ipn(t, ns, "link", "set", "stptap0", "up")
	waitFor(t, "carrier up again", func() bool { s := states(); return len(s) == 4 && s[3] })
}

// Attaching to a device that already exists reports Created() false and
// leaves the device in place on Close; a device we create goes away.
func TestTapCreatedAndAttach(t *testing.T) {
	ns := netns(t)
	ipn(t, ns, "tuntap", "add", "dev", "stptap1", "mode", "tap")
	var dev, dev2 *Device
	if err := inNetns(ns, func() (err error) {
		if dev, err = Open("stptap1", 1500); err != nil {
			return err
		}
		dev2, err = Open("stptap2", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if dev.Created() {
		t.Fatal("Created() true for a pre-existing device")
	}
	if !dev2.Created() || dev2.MTU() != 1500 {
		t.Fatalf("stptap2: created=%v mtu=%d", dev2.Created(), dev2.MTU())
	}
	dev.Close()
	dev2.Close()
	if err := dev.WriteFrame(make([]byte, 60)); err == nil {
		t.Fatal("write after Close succeeded")
	}
	ipn(t, ns, "link", "show", "stptap1") // still there
	if out, err := exec.Command("ip", "-n", ns, "link", "show", "stptap2").CombinedOutput(); err == nil {
		t.Fatalf("created device survived Close: %s", out)
	}
}

func TestTapBadConfig(t *testing.T) {
	if _, err := Open("stp-this-name-is-too-long", 1500); err == nil {
		t.Fatal("accepted a 25-byte device name")
	}
	if _, err := Open("stptap9", -1); err == nil {
		t.Fatal("accepted MTU -1")
	}
}
