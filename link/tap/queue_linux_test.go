//go:build linux

package tap

import (
	"bytes"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stapel-net/stapel/link"
)

// demux routes frames to per-port peers; it may be called concurrently.
type demux struct {
	peers      map[uint16]*peer
	concurrent bool
}

func dport(f []byte) uint16 {
	if len(f) < 38 || f[12] != 8 || f[13] != 0 {
		return 0
	}
	ihl := int(f[14]&15) * 4
	if len(f) < 14+ihl+4 {
		return 0
	}
	return binary.BigEndian.Uint16(f[14+ihl+2:])
}

func (d *demux) DeliverFrame(f []byte) {
	if p := d.peers[dport(f)]; p != nil {
		p.DeliverFrame(f)
	}
}

func (d *demux) DeliverGSO(f []byte, g link.GSOInfo) {
	if p := d.peers[dport(f)]; p != nil {
		gsoPeer{p}.DeliverGSO(f, g)
	}
}

func (d *demux) LinkStateChanged(bool)    {}
func (d *demux) ConcurrentDelivery() bool { return d.concurrent }

// flowPorts picks kernel source ports for n flows to our ports base..
// base+n-1 such that flow i is written on queue i, hence steered to it.
func flowPorts(dev *Device, base uint16, n int) []uint16 {
	var out []uint16
	kp := uint16(40000)
	for i := 0; i < n; i++ {
		for ; ; kp++ {
			f := tcpFrame(ourMAC, ourMAC, [4]byte(ourIP.To4()), [4]byte(kernelIP.To4()), base+uint16(i), kp, 0, 0, 0, nil, nil)
			if dev.txQueue(f) == dev.q[i%len(dev.q)] {
				out = append(out, kp)
				kp++
				break
			}
		}
	}
	return out
}

// multiStreams has the kernel stream size bytes on each of n flows,
// bound to ports that our writes steer to distinct queues.
func multiStreams(t testing.TB, ns string, dev *Device, n int, keep bool) (*demux, []net.Conn) {
	d := &demux{peers: map[uint16]*peer{}, concurrent: true}
	for i := 0; i < n; i++ {
		d.peers[5001+uint16(i)] = newPeer(dev, 5001+uint16(i), keep)
	}
	dev.Attach(d)
	var conns []net.Conn
	for i, kp := range flowPorts(dev, 5001, n) {
		var c net.Conn
		dl := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: kernelIP, Port: int(kp)}}
		if err := inNetns(ns, func() (err error) {
			c, err = dl.Dial("tcp4", net.JoinHostPort(ourIP.String(), strconv.Itoa(5001+i)))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	return d, conns
}

// Two kernel flows over a two-queue TAP land on different queues and are
// delivered concurrently to a ConcurrentDispatcher, each intact.
func TestTapMultiQueue(t *testing.T) {
	ns := netns(t)
	var dev *Device
	if err := inNetns(ns, func() (err error) {
		dev, err = OpenConfig(Config{Name: "stptap0", MTU: 1500, MAC: ourMAC, Offload: true, Queues: 2})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	ipn(t, ns, "addr", "add", "198.18.0.1/24", "dev", "stptap0")
	ipn(t, ns, "neigh", "replace", "198.18.0.2", "lladdr", ourMAC.String(), "dev", "stptap0", "nud", "permanent")
	if dev.Queues() != 2 || !strings.Contains(ipn(t, ns, "-d", "link", "show", "stptap0"), "multi_queue") {
		t.Fatalf("queues %d: %s", dev.Queues(), ipn(t, ns, "-d", "link", "show", "stptap0"))
	}
	d, conns := multiStreams(t, ns, dev, 2, true)
	var want [][]byte
	for i, c := range conns {
		data := randData(64<<10 + i)
		want = append(want, data)
		go func() { c.Write(data); c.Close() }()
	}
	for i := range conns {
		p := d.peers[5001+uint16(i)]
		p.await(t, "a stream and its FIN", 10*time.Second, func(p *peer) bool { return p.fin })
		if v := p.view(); !bytes.Equal(v.data, want[i]) || v.bad != 0 {
			t.Fatalf("flow %d: %d of %d bytes, %d bad", i, len(v.data), len(want[i]), v.bad)
		}
	}
	for i, q := range dev.q {
		if q.rx.Load() == 0 {
			t.Fatalf("queue %d read nothing: flows not spread", i)
		}
	}
	if _, err := OpenConfig(Config{Name: "stptap9", Queues: MaxQueues + 1}); err == nil {
		t.Fatal("accepted too many queues")
	}
}

// BenchmarkTapKernelTCPMulti: two kernel flows at once, offload on, into
// one queue or two; one op is 64 KiB on each flow.
func BenchmarkTapKernelTCPMulti(b *testing.B) {
	for _, queues := range []int{1, 2} {
		b.Run(strconv.Itoa(queues)+"q", func(b *testing.B) {
			ns := netns(b)
			var dev *Device
			if err := inNetns(ns, func() (err error) {
				dev, err = OpenConfig(Config{Name: "stptap0", MTU: 1500, MAC: ourMAC, Offload: true, Queues: queues})
				return err
			}); err != nil {
				b.Fatal(err)
			}
			defer dev.Close()
			ipn(b, ns, "addr", "add", "198.18.0.1/24", "dev", "stptap0")
			ipn(b, ns, "neigh", "replace", "198.18.0.2", "lladdr", ourMAC.String(), "dev", "stptap0", "nud", "permanent")
			d, conns := multiStreams(b, ns, dev, 2, false)
			chunk := make([]byte, 64<<10)
			b.SetBytes(int64(2 * len(chunk)))
			b.ResetTimer()
			for _, c := range conns {
				go func() {
					for i := 0; i < b.N; i++ {
						if _, err := c.Write(chunk); err != nil {
							return
						}
					}
				}()
			}
			total := b.N * len(chunk)
			for i := range conns {
				d.peers[5001+uint16(i)].await(b, "the streams", time.Minute, func(p *peer) bool { return p.nbytes >= total })
			}
		})
	}
}
