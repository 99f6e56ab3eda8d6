//go:build linux

package tap

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// tunPath is the clone device; major 10, minor 200.
const tunPath = "/dev/net/tun"

// Config says how to open a TAP device. Zero values take defaults.
type Config struct {
	Name string   // device name; "" lets the kernel pick (tap%d)
	MTU  int      // 0 keeps the device's current MTU
	MAC  wire.MAC // Stapel's address; zero picks a random locally administered one
	// CarrierPoll is the media-sense polling period (default 1 s).
	CarrierPoll time.Duration
	// Offload asks for IFF_VNET_HDR with checksum offload and TSO
	// (TUNSETOFFLOAD CSUM|TSO4|TSO_ECN), so the kernel sends up to 64 KiB
	// TCP super-frames and WriteGSO can send them. If the kernel lacks
	// it the Device stays plain; Offloads() says what was granted.
	Offload bool
	// Queues > 1 opens a multiqueue TAP (IFF_MULTI_QUEUE) with one reader
	// per queue; the kernel spreads flows over them by hash. Deliveries
	// then run in parallel only for a link.ConcurrentDispatcher; others
	// still get one callback at a time. 0 or 1: one queue. At most
	// MaxQueues.
	Queues int
}

// MaxQueues bounds Config.Queues (the kernel allows 256).
const MaxQueues = 16

// Device is a TAP device seen as a link.Endpoint.
type Device struct {
	name    string
	mtu     int
	mac     wire.MAC
	created bool
	q       []*queue // q[0] also carries non-IP writes and ioctls
	ctl     int      // AF_INET socket for interface ioctls, in the device's namespace
	nl      *rtnl    // rtnetlink socket for carrier polling, same namespace
	index   int
	cnt     link.Counters

	vnet     bool          // fd carries virtio_net_hdr
	offloads link.Offloads // granted by TUNSETOFFLOAD
	ocnt     offloadCounters

	// mu is read-held around every callback and write-held to change the
	// dispatcher or report carrier, so those never overlap a delivery;
	// serial additionally serialises callbacks for ordinary dispatchers.
	mu         sync.RWMutex
	serial     sync.Mutex
	d          link.Dispatcher
	rx         link.Dispatcher // d wrapped to count deliveries
	rxGSO      bool            // d takes super-frames whole
	concurrent bool            // d is a ConcurrentDispatcher
	carrier    bool            // last state reported (endpoints start up)

	attach   chan struct{} // closed by Attach
	done     chan struct{}
	wg       sync.WaitGroup
	poll     time.Duration
	once     sync.Once
	closeErr error
}

var (
	_ link.Endpoint  = (*Device)(nil)
	_ link.Offloader = (*Device)(nil)
)

// Open creates the TAP device name (or attaches to it if it exists), sets
// its MTU and brings the kernel side up. Close removes a device Open
// created unless it was made persistent by someone else.
func Open(name string, mtu int) (*Device, error) {
	return OpenConfig(Config{Name: name, MTU: mtu})
}

// OpenConfig is Open with every option.
func OpenConfig(cfg Config) (*Device, error) {
	if len(cfg.Name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("tap: device name %q longer than %d bytes", cfg.Name, unix.IFNAMSIZ-1)
	}
	if cfg.MTU < 0 || cfg.MTU > 65535 {
		return nil, fmt.Errorf("tap: MTU %d out of range 68..65535", cfg.MTU)
	}
	if cfg.Queues < 0 || cfg.Queues > MaxQueues {
		return nil, fmt.Errorf("tap: %d queues out of range 0..%d", cfg.Queues, MaxQueues)
	}
	ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tap: control socket: %w", err)
	}
	dev := &Device{ctl: ctl, mac: cfg.MAC, carrier: true, poll: cfg.CarrierPoll,
		attach: make(chan struct{}), done: make(chan struct{})}
	if dev.poll <= 0 {
		dev.poll = time.Second
	}
	if dev.nl, err = openRtnl(); err != nil {
		unix.Close(ctl)
		return nil, err
	}
	if err := dev.open(cfg); err != nil {
		unix.Close(ctl)
		dev.nl.close()
		for _, q := range dev.q {
			q.f.Close()
		}
		return nil, err
	}
	dev.wg.Add(1 + len(dev.q))
	for _, q := range dev.q {
		go dev.readLoop(q)
	}
	go dev.pollLoop()
	return dev, nil
}

func (dev *Device) open(cfg Config) error {
	existed := cfg.Name != "" && dev.exists(cfg.Name)
	name := cfg.Name
	for i := range max(1, cfg.Queues) {
		q, err := dev.openQueue(cfg, name, i, existed)
		if err != nil {
			return err
		}
		dev.q = append(dev.q, q)
		name = q.name // the kernel named the device on the first queue
	}
	dev.name = name
	dev.created = !existed
	var err error
	if dev.mac == (wire.MAC{}) {
		dev.mac = RandomMAC()
	}
	if cfg.MTU > 0 {
		if err := dev.setMTU(cfg.MTU); err != nil {
			return err
		}
	}
	if dev.mtu, err = dev.getMTU(); err != nil {
		return err
	}
	if dev.index, err = dev.getIndex(); err != nil {
		return err
	}
	return dev.setUp()
}

// openTun opens the clone device, creating its node if a minimal /dev
// lacks it.
func openTun() (int, error) {
	fd, err := unix.Open(tunPath, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		if err := os.MkdirAll("/dev/net", 0o755); err != nil {
			return -1, fmt.Errorf("tap: create /dev/net: %w", err)
		}
		if err := unix.Mknod(tunPath, unix.S_IFCHR|0o666, int(unix.Mkdev(10, 200))); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, fmt.Errorf("tap: mknod %s: %w", tunPath, err)
		}
		fd, err = unix.Open(tunPath, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return -1, fmt.Errorf("tap: open %s: %w (needs root or CAP_NET_ADMIN)", tunPath, err)
	}
	return fd, nil
}

func (dev *Device) exists(name string) bool {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return false
	}
	return unix.IoctlIfreq(dev.ctl, unix.SIOCGIFINDEX, ifr) == nil
}

func (dev *Device) getIndex() (int, error) {
	ifr, _ := unix.NewIfreq(dev.name)
	if err := unix.IoctlIfreq(dev.ctl, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, fmt.Errorf("tap: index of %s: %w", dev.name, err)
	}
	return int(ifr.Uint32()), nil
}

func (dev *Device) setMTU(mtu int) error {
	ifr, _ := unix.NewIfreq(dev.name)
	ifr.SetUint32(uint32(mtu))
	if err := unix.IoctlIfreq(dev.ctl, unix.SIOCSIFMTU, ifr); err != nil {
		return fmt.Errorf("tap: set MTU of %s to %d: %w", dev.name, mtu, err)
	}
	return nil
}

func (dev *Device) getMTU() (int, error) {
	ifr, _ := unix.NewIfreq(dev.name)
	if err := unix.IoctlIfreq(dev.ctl, unix.SIOCGIFMTU, ifr); err != nil {
		return 0, fmt.Errorf("tap: read MTU of %s: %w", dev.name, err)
	}
	return int(ifr.Uint32()), nil
}

func (dev *Device) flags() (uint16, error) {
	ifr, _ := unix.NewIfreq(dev.name)
	if err := unix.IoctlIfreq(dev.ctl, unix.SIOCGIFFLAGS, ifr); err != nil {
		return 0, err
	}
	return ifr.Uint16(), nil
}

func (dev *Device) setUp() error {
	fl, err := dev.flags()
	if err != nil {
		return fmt.Errorf("tap: read flags of %s: %w", dev.name, err)
	}
	ifr, _ := unix.NewIfreq(dev.name)
	ifr.SetUint16(fl | unix.IFF_UP)
	if err := unix.IoctlIfreq(dev.ctl, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("tap: bring %s up: %w", dev.name, err)
	}
	return nil
}

// RandomMAC returns a random unicast, locally administered address.
func RandomMAC() wire.MAC {
	var m wire.MAC
	rand.Read(m[:])
	m[0] = m[0]&^0x01 | 0x02
	return m
}

func (dev *Device) Name() string  { return dev.name }
func (dev *Device) MTU() int      { return dev.mtu }
func (dev *Device) MAC() wire.MAC { return dev.mac }

// Created reports whether Open created the device (rather than attaching
// to one that existed), so only devices we made get removed.
func (dev *Device) Created() bool { return dev.created }

// Stats returns the frame counters.
func (dev *Device) Stats() link.Stats { return dev.cnt.Snapshot() }

// checkLen applies the frame-size rules of WriteFrame.
func (dev *Device) checkLen(frame []byte) error {
	if len(frame) < link.EthernetHeaderLen {
		dev.cnt.TxErrors.Add(1)
		return link.ErrFrameTooShort
	}
	if len(frame) > dev.mtu+link.EthernetHeaderLen {
		dev.cnt.TxErrors.Add(1)
		return link.ErrFrameTooLong
	}
	return nil
}

// WriteFrame hands one frame to the kernel side.
func (dev *Device) WriteFrame(frame []byte) error {
	if err := dev.checkLen(frame); err != nil {
		return err
	}
	q := dev.txQueue(frame)
	if dev.vnet {
		return dev.writeVnet(q, frame)
	}
	if _, err := q.f.Write(frame); err != nil {
		if errors.Is(err, unix.EIO) {
			// The kernel side is down: lost as on an unplugged cable; the
			// poller reports the carrier change.
			dev.cnt.CarrierDrops.Add(1)
			return nil
		}
		dev.cnt.TxErrors.Add(1)
		if errors.Is(err, os.ErrClosed) {
			return link.ErrClosed
		}
		return fmt.Errorf("tap: write %s: %w", dev.name, err)
	}
	dev.cnt.Tx(len(frame))
	return nil
}

// Attach starts delivery to d.
func (dev *Device) Attach(d link.Dispatcher) {
	dev.mu.Lock()
	first := dev.d == nil
	dev.d = d
	rc := rxCount{d: d, cnt: &dev.cnt}
	if g, ok := d.(link.GSODispatcher); ok {
		dev.rx, dev.rxGSO = &rxCountGSO{rxCount: rc, g: g}, true
	} else {
		dev.rx, dev.rxGSO = &rc, false
	}
	c, ok := d.(link.ConcurrentDispatcher)
	dev.concurrent = ok && c.ConcurrentDelivery()
	dev.mu.Unlock()
	if first {
		close(dev.attach)
	}
}

func (dev *Device) readLoop(q *queue) {
	defer dev.wg.Done()
	select { // frames before Attach stay in the kernel queue
	case <-dev.attach:
	case <-dev.done:
		return
	}
	hl := 0
	if dev.vnet {
		hl = vnetHdrLen
	}
	// One buffer, reused: a frame is only valid during its callback, so a
	// read costs one syscall and no allocation. It holds a 64 KiB GSO
	// super-frame plus a VLAN tag and one byte more, so a read that fills
	// it was truncated by the kernel and is dropped, never cut wrongly.
	buf := make([]byte, hl+maxGSOFrame+link.EthernetHeaderLen+4+1)
	for {
		n, err := q.f.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			dev.cnt.RxErrors.Add(1)
			select {
			case <-dev.done:
				return
			case <-time.After(10 * time.Millisecond): // e.g. EIO while the interface is down
			}
			continue
		}
		if n < hl+link.EthernetHeaderLen || n == len(buf) {
			dev.cnt.RxErrors.Add(1)
			continue
		}
		q.rx.Add(1)
		dev.deliver(buf[:hl], buf[hl:n])
	}
}

// deliver hands one read to the dispatcher, cut or completed as it needs.
func (dev *Device) deliver(vh, frame []byte) {
	var gso link.GSOInfo
	if len(vh) > 0 {
		var err error
		if gso, err = decodeVnet(vh); err != nil {
			dev.ocnt.rxBad.Add(1)
			dev.cnt.RxErrors.Add(1)
			return
		}
	}
	dev.mu.RLock()
	defer dev.mu.RUnlock()
	if dev.rx == nil {
		dev.cnt.Undelivered.Add(1)
		return
	}
	if !dev.concurrent {
		dev.serial.Lock()
		defer dev.serial.Unlock()
	}
	switch {
	case gso.Type == link.GSOTCPv4:
		dev.ocnt.rxGSO.Add(1)
	case gso.NeedsCsum:
		dev.ocnt.rxCsum.Add(1)
	}
	k, err := link.Dispatch(dev.rx, frame, gso)
	switch {
	case err != nil:
		dev.ocnt.rxBad.Add(1)
		dev.cnt.RxErrors.Add(1)
	case gso.Type == link.GSOTCPv4 && !dev.rxGSO:
		dev.ocnt.rxSeg.Add(uint64(k))
	}
}

func (dev *Device) pollLoop() {
	defer dev.wg.Done()
	tk := time.NewTicker(dev.poll)
	defer tk.Stop()
	for {
		select {
		case <-dev.done:
			return
		case <-tk.C:
			dev.checkCarrier()
		}
	}
}

// Carrier reports whether the interface is administratively up and has
// carrier (IFF_UP and IFF_LOWER_UP) right now.
func (dev *Device) Carrier() bool {
	fl, err := dev.nl.linkFlags(dev.index)
	return err == nil && fl&unix.IFF_UP != 0 && fl&unix.IFF_LOWER_UP != 0
}

// checkCarrier reports a change of Carrier to the dispatcher.
func (dev *Device) checkCarrier() {
	up := dev.Carrier()
	dev.mu.Lock()
	defer dev.mu.Unlock()
	if dev.d == nil || up == dev.carrier {
		return
	}
	dev.carrier = up
	dev.d.LinkStateChanged(up)
}

// SetCarrier switches the device's carrier (TUNSETCARRIER), as pulling
// the cable would, and reports the change at once. Meant for tests.
func (dev *Device) SetCarrier(up bool) error {
	v := 0
	if up {
		v = 1
	}
	var ierr error
	if err := dev.q[0].rc.Control(func(fd uintptr) { ierr = unix.IoctlSetPointerInt(int(fd), unix.TUNSETCARRIER, v) }); err != nil {
		return err
	}
	if ierr != nil {
		return fmt.Errorf("tap: TUNSETCARRIER on %s: %w", dev.name, ierr)
	}
	dev.checkCarrier()
	return nil
}

// Close stops reading and polling and closes the device; a device Open
// created disappears with it. No callbacks run after Close returns. It
// must not be called from inside a Dispatcher callback.
func (dev *Device) Close() error {
	dev.once.Do(func() {
		close(dev.done)
		for _, q := range dev.q {
			if err := q.f.Close(); err != nil && dev.closeErr == nil {
				dev.closeErr = err
			}
		}
		dev.wg.Wait()
		unix.Close(dev.ctl)
		dev.nl.close()
	})
	return dev.closeErr
}
