package tcp

import (
	"bytes"
	"io"
	mrand "math/rand/v2"
	"net/netip"
	"sync"
	"testing"
)

// Many concurrent connections on the real clock (run with -race): an echo
// server, each client writes and reads concurrently.
func TestConcurrentEcho(t *testing.T) {
	for _, loss := range []float64{0, 0.02} {
		concurrentEcho(t, loss)
	}
}

// concurrentEcho runs the echo test; with loss, retransmission timers
// fire on the real clock's goroutines while users read and write.
func concurrentEcho(t *testing.T, loss float64) {
	n := &realNet{loss: loss, rng: mrand.New(mrand.NewPCG(1, 2))}
	defer n.close()
	a, b := n.host(addrA), n.host(addrB)
	ln, err := b.p.Listen(netip.AddrPortFrom(addrB, 7), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	const clients = 16
	var wg sync.WaitGroup
	errs := make(chan string, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := a.p.Dial(netip.AddrPort{}, netip.AddrPortFrom(addrB, 7))
			if err != nil {
				errs <- err.Error()
				return
			}
			defer c.Close()
			data := testData(50_000+i*1000, uint64(i))
			go func() {
				c.Write(data)
				c.CloseWrite()
			}()
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, data) {
				errs <- "echo mismatch"
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	t.Logf("loss %.2f: client retransmissions %d, server %d", loss, a.p.Stats().RetransSegs, b.p.Stats().RetransSegs)
	for e := range errs {
		t.Error(e)
	}
}
