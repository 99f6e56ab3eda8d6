//go:build linux

package tap

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/stapel-net/stapel/link"
)

func randData(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(int64(n))).Read(b)
	return b
}

// kernelStream has a kernel TCP socket in ns connect to our peer (port
// 5001 at 198.18.0.2, routed via the TAP), write data in one call and
// close.
func kernelStream(t testing.TB, ns string, data []byte) {
	t.Helper()
	var c net.Conn
	if err := inNetns(ns, func() (err error) {
		c, err = net.DialTimeout("tcp4", "198.18.0.2:5001", 5*time.Second)
		return err
	}); err != nil {
		t.Fatalf("kernel connect through the TAP: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		c.Write(data)
		c.Close()
	}()
}

func streamTest(t *testing.T, offload, takeGSO bool) (*Device, peerView) {
	ns, dev := tapNet(t, offload)
	p := newPeer(dev, 5001, true)
	if takeGSO {
		dev.Attach(gsoPeer{p})
	} else {
		dev.Attach(p)
	}
	data := randData(64 << 10)
	kernelStream(t, ns, data)
	p.await(t, "the kernel's 64 KiB and FIN", 10*time.Second, func(p *peer) bool { return p.fin })
	v := p.view()
	if !bytes.Equal(v.data, data) {
		t.Fatalf("received %d bytes, not the %d sent", len(v.data), len(data))
	}
	if v.bad != 0 {
		t.Fatalf("%d frames handed over as complete had bad checksums", v.bad)
	}
	return dev, v
}

// With offload on and a receiver that takes super-frames, the kernel's
// big socket writes arrive as frames larger than the MTU, with GSO
// metadata, and the stream is intact.
// SPEC: LINK-7
func TestTapKernelStreamGSO(t *testing.T) {
	dev, p := streamTest(t, true, true)
	if !dev.Vnet() || !dev.Offloads().TSO || !dev.Offloads().TxChecksum || dev.Offloads().MaxGSOSize != 65535 {
		t.Fatalf("offloads not granted: vnet %v %+v", dev.Vnet(), dev.Offloads())
	}
	if len(p.gso) == 0 || p.gsoMax <= 1514 {
		t.Fatalf("no super-frame: %d GSO deliveries, largest %d bytes", len(p.gso), p.gsoMax)
	}
	big := 0
	for _, g := range p.gso {
		if g.Type != link.GSOTCPv4 {
			continue
		}
		big++
		if g.SegSize != 1460 || g.HdrLen != 14+20+20 || !g.NeedsCsum || g.CsumStart != 34 || g.CsumOffset != 16 {
			t.Fatalf("GSO metadata %+v, want SegSize 1460 (our MSS), HdrLen 54, checksum pending at 34+16", g)
		}
	}
	waitFor(t, "the GSO counter", func() bool { return dev.OffloadStats().RxGSOFrames == uint64(big) })
	st := dev.OffloadStats()
	if big == 0 || st.RxSegmented != 0 {
		t.Fatalf("%d GSO frames seen, stats %+v", big, st)
	}
	t.Logf("64 KiB in %d deliveries, %d super-frames, largest %d bytes; %+v", p.frames+len(p.gso), big, p.gsoMax, st)
}

// With offload on and a plain receiver, super-frames are cut in software:
// every frame fits the MTU and has checksums that verify.
// SPEC: LINK-7
func TestTapKernelStreamSegmented(t *testing.T) {
	dev, p := streamTest(t, true, false)
	if p.maxFrame > 1514 {
		t.Fatalf("plain dispatcher got a %d-byte frame", p.maxFrame)
	}
	st := dev.OffloadStats()
	if st.RxGSOFrames == 0 || st.RxSegmented <= st.RxGSOFrames || st.RxCsumPending == 0 || st.RxBadVnet != 0 {
		t.Fatalf("stats %+v: want super-frames cut in software and pending checksums completed", st)
	}
	if ds := dev.Stats(); ds.RxFrames < uint64(p.frames) {
		t.Fatalf("RxFrames %d, dispatcher saw %d", ds.RxFrames, p.frames)
	}
	t.Logf("64 KiB in %d frames; %+v", p.frames, st)
}

// Offload off (the default; DisableTaskOffload=1 maps here): plain frames
// as before, nothing offloaded.
// SPEC: LINK-7
func TestTapKernelStreamPlain(t *testing.T) {
	dev, p := streamTest(t, false, true)
	if dev.Vnet() || dev.Offloads() != (link.Offloads{}) {
		t.Fatalf("default device has vnet %v offloads %+v", dev.Vnet(), dev.Offloads())
	}
	if p.maxFrame > 1514 || len(p.gso) != 0 || dev.OffloadStats() != (OffloadStats{}) {
		t.Fatalf("largest frame %d, %d GSO deliveries, %+v", p.maxFrame, len(p.gso), dev.OffloadStats())
	}
}

// If the kernel refuses TUNSETOFFLOAD (here: an unknown flag makes it
// answer EINVAL) the virtio header stays but nothing is offloaded: the
// kernel sends wire-sized frames with complete checksums.
// SPEC: LINK-7
func TestTapOffloadRefused(t *testing.T) {
	saved := tunOffloads
	tunOffloads |= 0x4000_0000
	ns, dev := tapNet(t, true)
	tunOffloads = saved
	if !dev.Vnet() || dev.Offloads() != (link.Offloads{}) {
		t.Fatalf("vnet %v offloads %+v, want header on and no offloads", dev.Vnet(), dev.Offloads())
	}
	p := newPeer(dev, 5001, true)
	dev.Attach(gsoPeer{p})
	data := randData(64 << 10)
	kernelStream(t, ns, data)
	p.await(t, "the kernel's 64 KiB and FIN", 10*time.Second, func(p *peer) bool { return p.fin })
	if v := p.view(); !bytes.Equal(v.data, data) || v.bad != 0 || v.maxFrame > 1514 || len(v.gso) != 0 {
		t.Fatalf("%d bytes, %d bad, largest %d, %d GSO deliveries", len(v.data), v.bad, v.maxFrame, len(v.gso))
	}
	if err := dev.WriteGSO(p.dataFrame(make([]byte, 3000), 0), link.GSOInfo{Type: link.GSOTCPv4, SegSize: 1000}); !errors.Is(err, link.ErrGSOUnsupported) {
		t.Fatalf("WriteGSO without offloads: %v", err)
	}
}

// activeOpen connects our peer to a kernel listener at 198.18.0.1:5002
// and returns a channel with everything the kernel's socket reads until
// it has want bytes.
func activeOpen(t *testing.T, ns string, dev *Device, want int) (*peer, <-chan []byte) {
	t.Helper()
	var ln net.Listener
	if err := inNetns(ns, func() (err error) {
		ln, err = net.Listen("tcp4", "198.18.0.1:5002")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, want)
		n, _ := io.ReadFull(c, buf)
		got <- buf[:n]
	}()
	p := newPeer(dev, 40001, true)
	p.kmac = kernelMAC(t, ns)
	dev.Attach(p)
	syn := tcpFrame(ourMAC, p.kmac, [4]byte(ourIP.To4()), [4]byte(kernelIP.To4()), 40001, 5002, p.iss, 0, fSYN, mss1460, nil)
	p.mu.Lock()
	p.sndNxt = p.iss + 1
	p.mu.Unlock()
	if err := dev.WriteFrame(syn); err != nil {
		t.Fatal(err)
	}
	p.await(t, "the kernel's SYN-ACK", 5*time.Second, func(p *peer) bool { return p.synced })
	return p, got
}

func (p *peer) dataFrame(payload []byte, flags byte) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := tcpFrame(ourMAC, p.kmac, [4]byte(ourIP.To4()), [4]byte(kernelIP.To4()), p.port, p.kport,
		p.sndNxt, p.rcvNxt, fACK|flags, nil, payload)
	p.sndNxt += uint32(len(payload))
	return f
}

func awaitBytes(t *testing.T, got <-chan []byte, want []byte) {
	t.Helper()
	select {
	case b := <-got:
		if !bytes.Equal(b, want) {
			t.Fatalf("kernel socket read %d bytes, not the %d sent", len(b), len(want))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("kernel socket read nothing")
	}
}

// WriteGSO hands the kernel one 20 KB super-frame: its TCP takes all of
// it whole (acknowledged, read by the socket), then a single frame with
// the checksum left to the kernel; a plain frame with a bad checksum is
// still caught, so the kernel is checking.
// SPEC: LINK-7
func TestTapWriteGSOToKernel(t *testing.T) {
	ns, dev := tapNet(t, true)
	payload := randData(21000)
	p, got := activeOpen(t, ns, dev, len(payload))

	super := p.dataFrame(payload[:20000], fPSH)
	orig := append([]byte(nil), super...)
	if err := dev.WriteGSO(super, link.GSOInfo{Type: link.GSOTCPv4, SegSize: 1460}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(super, orig) {
		t.Fatal("WriteGSO modified the caller's frame")
	}
	end := p.iss + 1 + 20000
	p.await(t, "the kernel's ACK of 20000 bytes", 5*time.Second, func(p *peer) bool { return p.peerAck == end })

	one := p.dataFrame(payload[20000:], fPSH)
	cs, err := link.PartialChecksum(one)
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.WriteGSO(one, cs); err != nil {
		t.Fatal(err)
	}
	awaitBytes(t, got, payload)
	st := dev.OffloadStats()
	if st.TxGSOFrames != 1 || st.TxCsumOffload != 1 {
		t.Fatalf("offload stats %+v", st)
	}

	csumErrs := snmpTCP(t, ns, "InCsumErrors")
	bad := p.dataFrame([]byte("corrupt"), fPSH)
	bad[len(bad)-1] ^= 0xff
	if err := dev.WriteFrame(bad); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the kernel to count the bad checksum", func() bool { return snmpTCP(t, ns, "InCsumErrors") > csumErrs })
}

// Bad metadata is refused before it reaches the kernel.
func TestTapWriteGSORejects(t *testing.T) {
	_, dev := tapNet(t, true)
	p := newPeer(dev, 40001, false)
	f := p.dataFrame(make([]byte, 5000), 0)
	for _, g := range []link.GSOInfo{
		{Type: link.GSOTCPv4, SegSize: 1461}, // segment over the MTU
		{Type: link.GSOTCPv4},
		{Type: 9, SegSize: 100},
		{NeedsCsum: true, CsumStart: 4990 + 54, CsumOffset: 16}, // field past the end
	} {
		if err := dev.WriteGSO(f[:min(len(f), 1514)], g); err == nil {
			t.Errorf("WriteGSO accepted %+v", g)
		}
	}
	if err := dev.WriteGSO(f[:40], link.GSOInfo{Type: link.GSOTCPv4, SegSize: 100}); !errors.Is(err, link.ErrGSOMalformed) {
		t.Errorf("runt GSO frame: %v", err)
	}
	if st := dev.Stats(); st.TxFrames != 0 || st.TxErrors != 5 {
		t.Fatalf("stats %+v", st)
	}
}

// Without offload, WriteGSO refuses and link.WriteOffloaded falls back to
// software segmentation: the kernel still gets all 20 KB.
func TestTapWriteOffloadedFallback(t *testing.T) {
	ns, dev := tapNet(t, false)
	payload := randData(20000)
	p, got := activeOpen(t, ns, dev, len(payload))
	super := p.dataFrame(payload, fPSH)
	gso := link.GSOInfo{Type: link.GSOTCPv4, SegSize: 1460}
	if err := dev.WriteGSO(super, gso); !errors.Is(err, link.ErrGSOUnsupported) {
		t.Fatalf("plain device WriteGSO: %v", err)
	}
	p.mu.Lock()
	before, repliesBefore := dev.Stats().TxFrames, len(p.sent)
	p.mu.Unlock()
	if err := link.WriteOffloaded(dev, super, gso); err != nil {
		t.Fatal(err)
	}
	// The peer's goroutine may answer the kernel (an ACK for its FIN) at
	// any moment: take its own frames out of the count.
	p.mu.Lock()
	n, replies := dev.Stats().TxFrames-before, len(p.sent)-repliesBefore
	p.mu.Unlock()
	if n-uint64(replies) != 14 {
		t.Fatalf("%d frames written (%d of them peer replies), want 14 segments", n, replies)
	}
	awaitBytes(t, got, payload)
}

// ARP still works both ways with the virtio header on the fd.
func TestTapVnetARP(t *testing.T) {
	ns, dev := tapNet(t, true)
	r := &rec{}
	dev.Attach(r)
	if err := dev.WriteFrame(arpRequest(t)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the kernel's ARP reply", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, f := range r.frames {
			if len(f) >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 {
				return true
			}
		}
		return false
	})
	_ = ns
}

// A super-frame the kernel forwards to a device without TSO is cut by the
// kernel's own segmentation: what comes out of the second (plain) TAP is
// 14 wire-sized packets with valid checksums, TTL decremented, carrying
// the 20 KB in order.
// SPEC: LINK-7
func TestTapWriteGSOForwarded(t *testing.T) {
	ns, dev := tapNet(t, true)
	var out *Device
	if err := inNetns(ns, func() (err error) {
		out, err = OpenConfig(Config{Name: "stptap1", MTU: 1500})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ipn(t, ns, "addr", "add", "198.18.1.1/24", "dev", "stptap1")
	ipn(t, ns, "neigh", "replace", "198.18.1.2", "lladdr", out.MAC().String(), "dev", "stptap1", "nud", "permanent")
	if b, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1").CombinedOutput(); err != nil {
		t.Fatalf("enable forwarding: %v %s", err, b)
	}
	r := &rec{}
	out.Attach(r)
	dev.Attach(&rec{})

	payload := randData(20000)
	f := tcpFrame(ourMAC, kernelMAC(t, ns), [4]byte(ourIP.To4()), [4]byte{198, 18, 1, 2}, 40002, 5003,
		1000, 1, fACK|fPSH, nil, payload)
	if err := dev.WriteGSO(f, link.GSOInfo{Type: link.GSOTCPv4, SegSize: 1460}); err != nil {
		t.Fatal(err)
	}
	var segs []seg
	waitFor(t, "14 forwarded segments", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		segs = segs[:0]
		for _, fr := range r.frames {
			if s, ok := parseSeg(fr); ok && s.dport == 5003 {
				segs = append(segs, s)
			}
		}
		return len(segs) >= 14
	})
	var got []byte
	for i, s := range segs {
		if !s.ipOK || !s.tcpOK || s.frameLen > 1514 || s.ttl != 63 {
			t.Fatalf("segment %d: ip csum ok %v, tcp csum ok %v, %d bytes, TTL %d", i, s.ipOK, s.tcpOK, s.frameLen, s.ttl)
		}
		if s.seq != 1000+uint32(len(got)) || (s.flags&fPSH != 0) != (i == len(segs)-1) {
			t.Fatalf("segment %d: seq %d flags %#x", i, s.seq, s.flags)
		}
		got = append(got, s.payload...)
	}
	if len(segs) != 14 || !bytes.Equal(got, payload) {
		t.Fatalf("%d segments carrying %d bytes", len(segs), len(got))
	}
}
