package tools

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"
)

// MaxDatagram is the largest UDP payload nc sends or receives.
const MaxDatagram = 65507

// NetcatOptions control nc's UDP mode.
type NetcatOptions struct {
	Listen bool
	// Linger is how long to keep receiving after stdin ends; negative
	// means until ctx ends.
	Linger time.Duration
	// Stderr gets notes (may be nil).
	Stderr io.Writer
}

// NetcatUDP copies in (each line, or each chunk of a longer line, is one
// datagram) to c and every datagram received from c to out. In listen mode
// stdin is read only once a first datagram names a peer, and goes to the
// latest peer.
func NetcatUDP(ctx context.Context, c DatagramConn, in io.Reader, out io.Writer, o NetcatOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		peer     netip.AddrPort
		havePeer = make(chan struct{})
		once     sync.Once
		rxErr    = make(chan error, 1)
	)
	go func() {
		buf := make([]byte, MaxDatagram)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				rxErr <- err
				return
			}
			mu.Lock()
			peer = from
			mu.Unlock()
			once.Do(func() { close(havePeer) })
			if _, err := out.Write(buf[:n]); err != nil {
				rxErr <- err
				return
			}
		}
	}()
	go func() {
		<-ctx.Done()
		c.Close()
	}()

	if o.Listen {
		select {
		case <-havePeer:
		case err := <-rxErr:
			return quiet(ctx, err)
		case <-ctx.Done():
			return nil
		}
	}
	r := bufio.NewReaderSize(in, MaxDatagram)
	for {
		chunk, err := r.ReadSlice('\n')
		if len(chunk) > 0 {
			to := netip.AddrPort{}
			if o.Listen {
				mu.Lock()
				to = peer
				mu.Unlock()
			}
			if _, werr := c.WriteTo(chunk, to); werr != nil && o.Stderr != nil {
				fmt.Fprintf(o.Stderr, "nc: send: %v\n", werr)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	// stdin ended: linger for replies.
	var linger <-chan time.Time
	if o.Linger >= 0 {
		t := time.NewTimer(o.Linger)
		defer t.Stop()
		linger = t.C
	}
	select {
	case <-linger:
		return nil
	case err := <-rxErr:
		return quiet(ctx, err)
	case <-ctx.Done():
		return nil
	}
}

func quiet(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
