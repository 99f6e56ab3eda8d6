package link

import (
	"encoding/binary"
	"io"
	"sync"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/wire"
)

// pcap file format constants (LINKTYPE_ETHERNET, microsecond timestamps).
const (
	pcapMagic      = 0xa1b2c3d4
	pcapSnapLen    = 262144
	linkTypeEthern = 1
	pcapRecHdrLen  = 16
)

// PcapWriter writes Ethernet frames to a pcap stream. It is safe for
// concurrent use; each record is one Write, so records never interleave.
// After the first write error it records nothing more (see Err).
type PcapWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
	err error
	n   uint64
}

// NewPcapWriter writes the pcap file header to w at once.
func NewPcapWriter(w io.Writer) *PcapWriter {
	p := &PcapWriter{w: w}
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], pcapMagic)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], pcapSnapLen)
	binary.LittleEndian.PutUint32(h[20:], linkTypeEthern)
	_, p.err = w.Write(h[:])
	return p
}

// WriteFrame appends one record stamped t.
func (p *PcapWriter) WriteFrame(t time.Time, frame []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	n := min(len(frame), pcapSnapLen)
	b := append(p.buf[:0], make([]byte, pcapRecHdrLen)...)
	binary.LittleEndian.PutUint32(b[0:], uint32(t.Unix()))
	binary.LittleEndian.PutUint32(b[4:], uint32(t.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(b[8:], uint32(n))
	binary.LittleEndian.PutUint32(b[12:], uint32(len(frame)))
	b = append(b, frame[:n]...)
	p.buf = b
	if _, p.err = p.w.Write(b); p.err == nil {
		p.n++
	}
	return p.err
}

// Err returns the first write error, if any.
func (p *PcapWriter) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Records returns the number of frames written.
func (p *PcapWriter) Records() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// Sniffer is an Endpoint that records every frame it sends and receives
// to a pcap stream readable by tcpdump and Wireshark, then passes it on.
type Sniffer struct {
	inner Endpoint
	clk   clock.Clock
	pw    *PcapWriter
}

var _ Endpoint = (*Sniffer)(nil)

// NewSniffer wraps inner, stamping records with the real time.
func NewSniffer(inner Endpoint, w io.Writer) *Sniffer {
	return NewSnifferClock(inner, w, clock.Real{})
}

// NewSnifferClock wraps inner, stamping records with clk's time (use the
// simulation's virtual clock to get simulated timestamps). The pcap file
// header is written at once. A capture write error stops the capture,
// never the traffic.
func NewSnifferClock(inner Endpoint, w io.Writer, clk clock.Clock) *Sniffer {
	return &Sniffer{inner: inner, clk: clk, pw: NewPcapWriter(w)}
}

func (s *Sniffer) record(frame []byte) { s.pw.WriteFrame(s.clk.Now(), frame) }

// Err returns the first error writing the capture, if any.
func (s *Sniffer) Err() error { return s.pw.Err() }

// Records returns the number of frames recorded.
func (s *Sniffer) Records() uint64 { return s.pw.Records() }

// Inner returns the wrapped endpoint.
func (s *Sniffer) Inner() Endpoint { return s.inner }

func (s *Sniffer) Name() string  { return s.inner.Name() }
func (s *Sniffer) MTU() int      { return s.inner.MTU() }
func (s *Sniffer) MAC() wire.MAC { return s.inner.MAC() }

// WriteFrame records frame if the inner endpoint accepts it.
func (s *Sniffer) WriteFrame(frame []byte) error {
	if err := s.inner.WriteFrame(frame); err != nil {
		return err
	}
	s.record(frame)
	return nil
}

// Attach records received frames before handing them to d.
func (s *Sniffer) Attach(d Dispatcher) { s.inner.Attach(sniffDispatcher{s, d}) }

// Close closes the inner endpoint; the writer is the caller's to close.
func (s *Sniffer) Close() error { return s.inner.Close() }

type sniffDispatcher struct {
	s *Sniffer
	d Dispatcher
}

func (sd sniffDispatcher) DeliverFrame(f []byte) {
	sd.s.record(f)
	sd.d.DeliverFrame(f)
}

func (sd sniffDispatcher) LinkStateChanged(up bool) { sd.d.LinkStateChanged(up) }
