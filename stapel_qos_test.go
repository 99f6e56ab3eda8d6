package stapel

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stapel-net/stapel/stack"
)

// SetQoS classifies a dialled UDP socket, a dialled TCP connection and an
// accepted one: their datagrams count in their flows (SPEC QOS-1; the
// marks on the wire are tested in stack/qos_test.go and test/interop).
func TestSetQoS(t *testing.T) {
	a, b := pair(t)
	u, err := a.Dial("udp", ipB+":5353")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	fu, err := a.SetQoS(u, stack.QoSSpec{Service: ServiceGuaranteed})
	if err != nil {
		t.Fatal(err)
	}
	defer fu.Close()
	u.Write([]byte("x"))
	if fu.Stats().Sent != 1 {
		t.Fatalf("udp flow %+v", fu.Stats())
	}

	ln, err := b.Listen("tcp", ":7000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			var fl *stack.QoSFlow
			if fl, err = b.SetQoS(c, stack.QoSSpec{Service: ServiceControlledLoad}); err == nil {
				c.Write([]byte("back"))
				io.Copy(io.Discard, c)
				if fl.Stats().Sent == 0 {
					err = io.ErrUnexpectedEOF
				}
				fl.Close()
			}
			c.Close()
		}
		acc <- err
	}()
	c, err := a.Dial("tcp", ipB+":7000")
	if err != nil {
		t.Fatal(err)
	}
	ft, err := a.SetQoS(c, stack.QoSSpec{Service: ServiceNetworkControl})
	if err != nil {
		t.Fatal(err)
	}
	defer ft.Close()
	c.Write([]byte("hello"))
	buf := make([]byte, 4)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-acc; err != nil {
		t.Fatalf("accepted side: %v", err)
	}
	if ft.Stats().Sent == 0 {
		t.Fatalf("tcp flow %+v", ft.Stats())
	}
	if _, err := a.SetQoS(fakeConn{}, stack.QoSSpec{}); err == nil {
		t.Fatal("a non-TCP/UDP connection was accepted")
	}
}

type fakeConn struct{}

func (fakeConn) LocalAddr() net.Addr { return &net.IPAddr{} }
