//go:build linux

package tap

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// Benchmarks need root and make their own namespace, like the tests. Run
// them bounded, e.g.
//
//	go test -run XXX -bench Tap -benchtime 2s -timeout 300s ./link/tap/

// BenchmarkTapKernelTCP: a kernel TCP socket streams through the TAP into
// the test peer (which ACKs every delivery); one op is 64 KiB received.
func BenchmarkTapKernelTCP(b *testing.B) {
	for _, m := range []struct {
		name             string
		offload, takeGSO bool
	}{{"plain", false, false}, {"vnet-gso", true, true}, {"vnet-segmented", true, false}} {
		b.Run(m.name, func(b *testing.B) {
			ns, dev := tapNet(b, m.offload)
			p := newPeer(dev, 5001, false)
			if m.takeGSO {
				dev.Attach(gsoPeer{p})
			} else {
				dev.Attach(p)
			}
			var c net.Conn
			if err := inNetns(ns, func() (err error) {
				c, err = net.DialTimeout("tcp4", "198.18.0.2:5001", 5*time.Second)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			chunk := make([]byte, 64<<10)
			b.SetBytes(int64(len(chunk)))
			b.ResetTimer()
			start := dev.Stats()
			go func() {
				for i := 0; i < b.N; i++ {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			}()
			total := b.N * len(chunk)
			p.await(b, "the stream", time.Minute, func(p *peer) bool { return p.nbytes >= total })
			b.StopTimer()
			st := dev.Stats()
			b.ReportMetric(float64(st.RxFrames-start.RxFrames)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

type countRx struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (c *countRx) DeliverFrame([]byte) {
	if c.n.Add(1) == c.want {
		close(c.done)
	}
}
func (c *countRx) LinkStateChanged(bool) {}

// BenchmarkTapRead: the kernel injects 1514-byte frames into the TAP
// through an AF_PACKET socket as fast as it can; one op is one frame read
// and delivered. Frames the reader cannot keep up with are dropped by the
// kernel, so this is the reader's rate.
func BenchmarkTapRead(b *testing.B) {
	for _, m := range []struct {
		name    string
		offload bool
	}{{"plain", false}, {"vnet", true}} {
		b.Run(m.name, func(b *testing.B) {
			ns, dev := tapNet(b, m.offload)
			var fd int
			if err := inNetns(ns, func() (err error) {
				fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			defer unix.Close(fd)
			ifi, err := dev.getIndex()
			if err != nil {
				b.Fatal(err)
			}
			frame := make([]byte, 1514)
			copy(frame, ourMAC[:])
			copy(frame[6:], []byte{0x02, 0, 0, 0, 0, 0x99})
			frame[12], frame[13] = 0x88, 0xb5
			to := &unix.SockaddrLinklayer{Ifindex: ifi, Halen: 6}
			copy(to.Addr[:], ourMAC[:])
			rx := &countRx{want: int64(b.N), done: make(chan struct{})}
			dev.Attach(rx)
			b.SetBytes(int64(len(frame)))
			stop := make(chan struct{})
			b.ResetTimer()
			go func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					unix.Sendto(fd, frame, 0, to)
				}
			}()
			select {
			case <-rx.done:
			case <-time.After(time.Minute):
				b.Fatalf("only %d of %d frames", rx.n.Load(), b.N)
			}
			b.StopTimer()
			close(stop)
		})
	}
}

// BenchmarkTapWrite: our writes into the kernel, addressed to another
// station so the kernel drops them at once; one op is one frame (1514
// bytes) or one 64 KiB GSO super-frame.
func BenchmarkTapWrite(b *testing.B) {
	other := wire.MAC{0x02, 0, 0, 0, 0, 0x99}
	small := tcpFrame(ourMAC, other, [4]byte(ourIP.To4()), [4]byte(kernelIP.To4()), 1, 2, 0, 0, fACK, nil, make([]byte, 1460))
	big := tcpFrame(ourMAC, other, [4]byte(ourIP.To4()), [4]byte(kernelIP.To4()), 1, 2, 0, 0, fACK, nil, make([]byte, 65535-40))
	for _, m := range []struct {
		name    string
		offload bool
		frame   []byte
		gso     link.GSOInfo
	}{
		{"plain", false, small, link.GSOInfo{}},
		{"vnet", true, small, link.GSOInfo{}},
		{"vnet-gso-64k", true, big, link.GSOInfo{Type: link.GSOTCPv4, SegSize: 1460}},
		{"plain-segmented-64k", false, big, link.GSOInfo{Type: link.GSOTCPv4, SegSize: 1460}},
	} {
		b.Run(m.name, func(b *testing.B) {
			_, dev := tapNet(b, m.offload)
			dev.Attach(&countRx{want: -1})
			b.SetBytes(int64(len(m.frame)))
			b.ReportAllocs()
			for b.Loop() {
				if err := link.WriteOffloaded(dev, m.frame, m.gso); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
