package stack

import (
	"net/netip"
	"reflect"
	"testing"
)

// UDPEndpoints lists bound sockets sorted by local address, with the peer
// only for connected ones, and forgets closed ones. SPEC: TOOL-NETSTAT
func TestUDPEndpoints(t *testing.T) {
	_, _, a, _ := twoHosts(t)
	if got := a.UDPEndpoints(); len(got) != 0 {
		t.Fatalf("fresh stack: %v", got)
	}
	l1, err := a.ListenUDP(addrPort("0.0.0.0:19"))
	if err != nil {
		t.Fatal(err)
	}
	l2, err := a.ListenUDP(addrPort("192.0.2.1:7"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := a.DialUDP(netip.AddrPort{}, addrPort("192.0.2.2:53"))
	if err != nil {
		t.Fatal(err)
	}
	want := []UDPEndpointInfo{
		{Local: addrPort("0.0.0.0:19")},
		{Local: addrPort("192.0.2.1:7")},
		{Local: d.LocalAddrPort(), Remote: addrPort("192.0.2.2:53")},
	}
	if got := a.UDPEndpoints(); !reflect.DeepEqual(got, want) {
		t.Fatalf("endpoints %v, want %v", got, want)
	}
	if d.LocalAddrPort().Addr() != ip("192.0.2.1") || d.LocalAddrPort().Port() < firstEphemeral {
		t.Fatalf("dialled socket bound to %v", d.LocalAddrPort())
	}
	l2.Close()
	d.Close()
	if got := a.UDPEndpoints(); !reflect.DeepEqual(got, want[:1]) {
		t.Fatalf("after close %v", got)
	}
	l1.Close()
}
