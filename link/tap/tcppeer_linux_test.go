//go:build linux

package tap

import (
	"encoding/binary"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// A minimal TCP endpoint living behind the TAP, just enough to make the
// kernel's TCP stream at us (and take our GSO writes): one connection,
// in-order data only, an ACK per delivery, no retransmission of its own.

type seg struct {
	smac            wire.MAC
	src, dst        [4]byte
	sport, dport    uint16
	seq, ack        uint32
	flags, ttl      byte
	payload         []byte
	ipOK, tcpOK     bool // checksums verify
	ipLen, frameLen int
}

func parseSeg(f []byte) (seg, bool) {
	var s seg
	if len(f) < 54 || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
		return s, false
	}
	ip := f[14:]
	ihl := int(ip[0]&15) * 4
	tot := int(binary.BigEndian.Uint16(ip[2:]))
	if ip[9] != 6 || ihl < 20 || tot < ihl+20 || 14+tot > len(f) {
		return s, false
	}
	ip = ip[:tot]
	tcp := ip[ihl:]
	doff := int(tcp[12]>>4) * 4
	if doff < 20 || doff > len(tcp) {
		return s, false
	}
	copy(s.smac[:], f[6:12])
	copy(s.src[:], ip[12:16])
	copy(s.dst[:], ip[16:20])
	s.sport, s.dport = binary.BigEndian.Uint16(tcp[0:]), binary.BigEndian.Uint16(tcp[2:])
	s.seq, s.ack = binary.BigEndian.Uint32(tcp[4:]), binary.BigEndian.Uint32(tcp[8:])
	s.flags, s.ttl = tcp[13], ip[8]
	s.payload = tcp[doff:]
	s.ipOK = wire.Checksum(ip[:ihl], 0) == 0
	s.tcpOK = wire.Checksum(tcp, wire.Sum(ip[12:20], 6+uint32(len(tcp)))) == 0
	s.ipLen, s.frameLen = tot, len(f)
	return s, true
}

const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
)

// tcpFrame builds a complete Ethernet/IPv4/TCP frame with checksums.
func tcpFrame(smac, dmac wire.MAC, src, dst [4]byte, sport, dport uint16, seq, ack uint32,
	flags byte, opts, payload []byte) []byte {
	doff := 20 + len(opts)
	f := make([]byte, 14+20+doff+len(payload))
	copy(f[0:], dmac[:])
	copy(f[6:], smac[:])
	f[12] = 0x08
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+doff+len(payload)))
	ip[6], ip[8], ip[9] = 0x40, 64, 6
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	binary.BigEndian.PutUint16(ip[10:], wire.Checksum(ip[:20], 0))
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12] = byte(doff/4) << 4
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	copy(tcp[20:], opts)
	copy(tcp[doff:], payload)
	binary.BigEndian.PutUint16(tcp[16:], wire.Checksum(tcp, wire.Sum(ip[12:20], 6+uint32(len(tcp)))))
	return f
}

var (
	mss1460 = []byte{2, 4, 0x05, 0xb4}
	// MSS 1460 and window scale 7 (the kernel's SYN always offers
	// scaling), so our 65535 means 8 MiB and the window never limits.
	synAckOpts = []byte{2, 4, 0x05, 0xb4, 1, 3, 3, 7}
)

type peer struct {
	dev  *Device
	port uint16 // ours
	keep bool   // keep the payload (tests) or only count it (benchmarks)

	mu       sync.Mutex
	kmac     wire.MAC
	kport    uint16
	iss      uint32
	rcvNxt   uint32
	sndNxt   uint32
	peerAck  uint32
	synced   bool
	fin      bool
	data     []byte
	nbytes   int
	frames   int // DeliverFrame calls
	maxFrame int
	bad      int // checksums that do not verify on frames claimed complete
	gso      []link.GSOInfo
	gsoMax   int
	sent     []string // replies, for failure messages
	wake     chan struct{}
}

func newPeer(dev *Device, port uint16, keep bool) *peer {
	return &peer{dev: dev, port: port, keep: keep, iss: 0x5eed0000, wake: make(chan struct{}, 1)}
}

func (p *peer) DeliverFrame(f []byte) {
	p.mu.Lock()
	p.frames++
	p.maxFrame = max(p.maxFrame, len(f))
	p.mu.Unlock()
	p.handle(f, true)
}

func (p *peer) LinkStateChanged(bool) {}

func (p *peer) handle(f []byte, verify bool) {
	s, ok := parseSeg(f)
	if !ok || s.dst != [4]byte(ourIP.To4()) || s.dport != p.port {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if verify && (!s.ipOK || !s.tcpOK) {
		p.bad++
		return
	}
	var reply []byte
	switch {
	case s.flags&fRST != 0:
		return
	case s.flags&fSYN != 0 && s.flags&fACK == 0: // passive open
		p.kmac, p.kport, p.rcvNxt, p.synced = s.smac, s.sport, s.seq+1, true
		p.sndNxt = p.iss + 1
		reply = tcpFrame(ourMAC, p.kmac, [4]byte(ourIP.To4()), [4]byte(kernelIP.To4()), p.port, p.kport,
			p.iss, p.rcvNxt, fSYN|fACK, synAckOpts, nil)
	case s.flags&fSYN != 0: // our active open answered
		p.kport, p.rcvNxt, p.synced, p.peerAck = s.sport, s.seq+1, true, s.ack
		reply = p.ackFrame()
	default:
		p.peerAck = s.ack
		if !p.synced || s.sport != p.kport {
			return
		}
		if s.seq == p.rcvNxt && len(s.payload) > 0 {
			p.rcvNxt += uint32(len(s.payload))
			p.nbytes += len(s.payload)
			if p.keep {
				p.data = append(p.data, s.payload...)
			}
		}
		if s.flags&fFIN != 0 && s.seq+uint32(len(s.payload)) == p.rcvNxt {
			p.rcvNxt++
			p.fin = true
		}
		if len(s.payload) == 0 && s.flags&fFIN == 0 {
			p.signal()
			return // do not ACK an ACK
		}
		reply = p.ackFrame()
	}
	p.signal()
	if p.keep {
		p.sent = append(p.sent, fmt.Sprintf("flags %#x to %d for seq %d len %d flags %#x", reply[47], p.kport, s.seq, len(s.payload), s.flags))
	}
	p.dev.WriteFrame(reply) // a Dispatcher may write from its callback
}

func (p *peer) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *peer) ackFrame() []byte {
	return tcpFrame(ourMAC, p.kmac, [4]byte(ourIP.To4()), [4]byte(kernelIP.To4()), p.port, p.kport,
		p.sndNxt, p.rcvNxt, fACK, nil, nil)
}

// peerView is a copy of what a peer saw, safe to read while frames flow.
type peerView struct {
	data                  []byte
	frames, maxFrame, bad int
	gso                   []link.GSOInfo
	gsoMax                int
}

func (p *peer) view() peerView {
	p.mu.Lock()
	defer p.mu.Unlock()
	return peerView{data: append([]byte(nil), p.data...), frames: p.frames, maxFrame: p.maxFrame,
		bad: p.bad, gso: append([]link.GSOInfo(nil), p.gso...), gsoMax: p.gsoMax}
}

// gsoPeer also takes super-frames whole.
type gsoPeer struct{ *peer }

func (g gsoPeer) DeliverGSO(f []byte, info link.GSOInfo) {
	g.mu.Lock()
	g.gso = append(g.gso, info)
	g.gsoMax = max(g.gsoMax, len(f))
	g.maxFrame = max(g.maxFrame, len(f))
	g.mu.Unlock()
	// A pending checksum came from the kernel's memory: nothing to verify.
	g.handle(f, !info.NeedsCsum)
}

// await waits (real time: the kernel is the peer) until cond holds.
func (p *peer) await(t testing.TB, what string, d time.Duration, cond func(p *peer) bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		ok := cond(p)
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-p.wake:
		case <-time.After(20 * time.Millisecond):
		case <-deadline.C:
			p.mu.Lock()
			defer p.mu.Unlock()
			t.Fatalf("timed out waiting for %s (bytes %d, frames %d, gso %d, bad %d)", what, p.nbytes, p.frames, len(p.gso), p.bad)
		}
	}
}

// tapNet opens a TAP in a fresh namespace with the kernel at 198.18.0.1
// and a permanent neighbour entry for our address, so no ARP is needed.
func tapNet(t testing.TB, offload bool) (string, *Device) {
	t.Helper()
	ns := netns(t)
	var dev *Device
	if err := inNetns(ns, func() (err error) {
		dev, err = OpenConfig(Config{Name: "stptap0", MTU: 1500, MAC: ourMAC, Offload: offload})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	ipn(t, ns, "addr", "add", "198.18.0.1/24", "dev", "stptap0")
	ipn(t, ns, "neigh", "replace", "198.18.0.2", "lladdr", ourMAC.String(), "dev", "stptap0", "nud", "permanent")
	return ns, dev
}

// kernelMAC reads the kernel side's address of the TAP.
func kernelMAC(t testing.TB, ns string) wire.MAC {
	t.Helper()
	out := ipn(t, ns, "link", "show", "stptap0")
	i := strings.Index(out, "link/ether ")
	if i < 0 {
		t.Fatalf("no MAC in %s", out)
	}
	hw, err := net.ParseMAC(strings.Fields(out[i+len("link/ether "):])[0])
	if err != nil {
		t.Fatal(err)
	}
	return wire.MAC(hw)
}

// snmpTCP reads one counter of the namespace's /proc/net/snmp Tcp line.
func snmpTCP(t testing.TB, ns, name string) int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "cat", "/proc/net/snmp").CombinedOutput()
	if err != nil {
		t.Fatalf("read snmp: %v %s", err, out)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Tcp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == name && i < len(f) {
				var v int
				fmt.Sscan(f[i], &v)
				return v
			}
		}
	}
	t.Fatalf("no Tcp %s in snmp", name)
	return 0
}
