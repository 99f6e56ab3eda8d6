package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"
)

const (
	bulkPort = 5001
	cpsPort  = 5002
	idlePort = 5003
	dialWait = 5 * time.Second
)

// goMemory is the live Go heap plus goroutine stacks, after a full GC.
func goMemory() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// bulkResult is one one-way transfer as the receiver saw it.
type bulkResult struct {
	Bytes   int64
	Elapsed time.Duration
	Capped  bool // the time limit ended the run before all bytes arrived
}

func (r bulkResult) Mbps() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Bytes) * 8 / r.Elapsed.Seconds() / 1e6
}

// bulk sends size bytes from src to dst (dst listens, src dials) and
// measures goodput at the receiver, from the first byte written until EOF.
// The run stops at limit: then goodput is what arrived by then.
func bulk(src, dst Host, size int64, limit time.Duration) (bulkResult, error) {
	ln, err := dst.Listen(bulkPort)
	if err != nil {
		return bulkResult{}, fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	type acc struct {
		c   net.Conn
		err error
	}
	accepted := make(chan acc, 1)
	go func() {
		c, err := ln.Accept()
		accepted <- acc{c, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), dialWait)
	defer cancel()
	sc, err := src.Dial(ctx, netip.AddrPortFrom(dst.Addr(), bulkPort))
	if err != nil {
		return bulkResult{}, fmt.Errorf("dial: %w", err)
	}
	defer sc.Close()
	var rc net.Conn
	select {
	case a := <-accepted:
		if a.err != nil {
			return bulkResult{}, fmt.Errorf("accept: %w", a.err)
		}
		rc = a.c
	case <-time.After(dialWait):
		return bulkResult{}, errors.New("accept: timed out")
	}
	defer rc.Close()

	start := time.Now()
	deadline := start.Add(limit)
	sc.SetWriteDeadline(deadline)
	rc.SetReadDeadline(deadline)
	werr := make(chan error, 1)
	go func() {
		buf := make([]byte, 64<<10)
		for i := range buf {
			buf[i] = byte(i)
		}
		left := size
		for left > 0 {
			n := int64(len(buf))
			if left < n {
				n = left
			}
			w, err := sc.Write(buf[:n])
			left -= int64(w)
			if err != nil {
				werr <- err
				return
			}
		}
		werr <- sc.Close()
	}()
	var res bulkResult
	buf := make([]byte, 64<<10)
	for {
		n, err := rc.Read(buf)
		res.Bytes += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			if res.Bytes < size && isTimeout(err) {
				res.Capped = true
				break
			}
			return res, fmt.Errorf("read after %d bytes: %w", res.Bytes, err)
		}
	}
	res.Elapsed = time.Since(start)
	if res.Capped {
		res.Elapsed = limit
		sc.Close()
	}
	if err := <-werr; err != nil && !res.Capped {
		return res, fmt.Errorf("write: %w", err)
	}
	if !res.Capped && res.Bytes != size {
		return res, fmt.Errorf("received %d of %d bytes", res.Bytes, size)
	}
	return res, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// cpsResult is a connection-rate run.
type cpsResult struct {
	Conns   int
	Elapsed time.Duration
	Err     error // what stopped the run early, if anything
}

func (r cpsResult) Rate() float64 { return float64(r.Conns) / r.Elapsed.Seconds() }

// cps connects from a to b over and over, one at a time: connect, send one
// byte, read its echo, close. It stops after max connections or limit.
func cps(a, b Host, max int, limit time.Duration) (cpsResult, error) {
	ln, err := b.Listen(cpsPort)
	if err != nil {
		return cpsResult{}, fmt.Errorf("listen: %w", err)
	}
	var wg sync.WaitGroup
	defer func() { ln.Close(); wg.Wait() }()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(dialWait))
				var one [1]byte
				if _, err := io.ReadFull(c, one[:]); err != nil {
					return
				}
				if _, err := c.Write(one[:]); err != nil {
					return
				}
				io.Copy(io.Discard, c) // until the client's FIN
			}()
		}
	}()
	dst := netip.AddrPortFrom(b.Addr(), cpsPort)
	start := time.Now()
	var res cpsResult
	for res.Conns < max && time.Since(start) < limit {
		if err := echoOnce(a, dst); err != nil {
			res.Err = err
			break
		}
		res.Conns++
	}
	res.Elapsed = time.Since(start)
	if res.Conns == 0 {
		return res, res.Err
	}
	return res, nil
}

func echoOnce(a Host, dst netip.AddrPort) error {
	ctx, cancel := context.WithTimeout(context.Background(), dialWait)
	defer cancel()
	c, err := a.Dial(ctx, dst)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(dialWait))
	one := []byte{'x'}
	if _, err := c.Write(one); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if _, err := io.ReadFull(c, one); err != nil {
		return fmt.Errorf("read echo: %w", err)
	}
	return nil
}

// idleMemory opens n connections from a to b, keeps both ends open and
// idle, and returns the growth of mem() per connection (both ends).
func idleMemory(a, b Host, n int, mem func() (uint64, error)) (float64, error) {
	ln, err := b.Listen(idlePort)
	if err != nil {
		return 0, fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	accepted := make(chan net.Conn, n)
	go func() {
		for i := 0; i < n; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	before, err := mem()
	if err != nil {
		return 0, err
	}
	dst := netip.AddrPortFrom(b.Addr(), idlePort)
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), dialWait)
		c, err := a.Dial(ctx, dst)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("dial %d: %w", i, err)
		}
		conns = append(conns, c)
		select {
		case s := <-accepted:
			conns = append(conns, s)
		case <-time.After(dialWait):
			return 0, fmt.Errorf("accept %d: timed out", i)
		}
	}
	time.Sleep(200 * time.Millisecond) // let handshake ACKs and timers settle
	after, err := mem()
	if err != nil {
		return 0, err
	}
	runtime.KeepAlive(conns)
	return (float64(after) - float64(before)) / float64(n), nil
}
