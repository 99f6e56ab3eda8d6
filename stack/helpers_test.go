package stack

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/sim"
	"github.com/stapel-net/stapel/wire"
)

// logBuf collects log output for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type testHost struct {
	*Stack
	log  *logBuf
	ifc  *Interface
	port *sim.Port
}

var macCounter = 0

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

// newHost makes a stack with one interface on seg.
func newHost(t testing.TB, n *sim.Network, seg *sim.Segment, addr string, gw string, mod func(*config.Tcpip)) *testHost {
	t.Helper()
	p := config.Default().Tcpip
	if mod != nil {
		mod(&p)
	}
	lb := &logBuf{}
	s := New(Options{Clock: n.Clock(), Params: p, Logger: slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), Seed: 1})
	h := &testHost{Stack: s, log: lb}
	h.addIf(t, seg, "eth0", addr, gw)
	t.Cleanup(func() { s.Close() })
	return h
}

func (h *testHost) addIf(t testing.TB, seg *sim.Segment, name, addr, gw string) *Interface {
	t.Helper()
	macCounter++
	port := seg.NewPort(sim.MAC(macCounter))
	ic := InterfaceConfig{Name: name}
	if addr != "" {
		ic.Addrs = []netip.Prefix{pfx(addr)}
	}
	if gw != "" {
		ic.Gateways = []netip.Addr{ip(gw)}
	}
	ifc, err := h.AddInterface(ic, port)
	if err != nil {
		t.Fatal(err)
	}
	if h.ifc == nil {
		h.ifc, h.port = ifc, port
	}
	return ifc
}

// capture records every frame entering seg's switch.
type capture struct {
	buf bytes.Buffer
}

func startCapture(seg *sim.Segment) *capture {
	c := &capture{}
	seg.Capture(&c.buf)
	return c
}

// packets decodes the capture with gopacket (the independent oracle).
func (c *capture) packets(t testing.TB) []gopacket.Packet {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(c.buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var out []gopacket.Packet
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		p.Metadata().CaptureInfo = ci
		out = append(out, p)
	}
	return out
}

func arpOf(p gopacket.Packet) *layers.ARP {
	if l := p.Layer(layers.LayerTypeARP); l != nil {
		return l.(*layers.ARP)
	}
	return nil
}

func icmpOf(p gopacket.Packet) (*layers.IPv4, *layers.ICMPv4) {
	ipl, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	return ipl, ic
}

// waitEvent runs the network until the echo socket has an event.
func waitEvent(t testing.TB, n *sim.Network, es *EchoSocket, limit time.Duration) (EchoEvent, bool) {
	t.Helper()
	var ev EchoEvent
	got := false
	n.RunUntil(func() bool {
		select {
		case ev = <-es.Events():
			got = true
		default:
		}
		return got
	}, limit)
	return ev, got
}

// rawPort is a test station that records frames and can inject any.
type rawStation struct {
	mu     sync.Mutex
	frames [][]byte
	ep     link.Endpoint
}

func (r *rawStation) DeliverFrame(f []byte) {
	r.mu.Lock()
	r.frames = append(r.frames, bytes.Clone(f))
	r.mu.Unlock()
}
func (r *rawStation) LinkStateChanged(bool) {}

func newRawStation(seg *sim.Segment) *rawStation {
	macCounter++
	r := &rawStation{ep: seg.NewPort(sim.MAC(macCounter))}
	r.ep.Attach(r)
	return r
}

func (r *rawStation) mac() wire.MAC { return r.ep.MAC() }

func (r *rawStation) take() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.frames
	r.frames = nil
	return f
}

// ethIP builds an Ethernet frame with an IPv4 datagram via gopacket.
func buildFrame(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(buf.Bytes())
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func addrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func hw(m wire.MAC) net.HardwareAddr { return net.HardwareAddr(m[:]) }

func gopacketPayload(b []byte) gopacket.Payload { return gopacket.Payload(b) }
