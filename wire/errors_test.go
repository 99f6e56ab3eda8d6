package wire

import (
	"errors"
	"strings"
	"testing"
)

// Errors must name the layer for logs yet match their sentinel for
// counters, and no two sentinels may match each other.
func TestErrorsMatchSentinels(t *testing.T) {
	sentinels := []error{ErrTruncated, ErrBadChecksum, ErrBadVersion, ErrBadLength, ErrBadOption, ErrUnsupported, ErrSyntax}
	cases := []struct {
		err   error
		want  error
		layer string
	}{
		{errEthTruncated, ErrTruncated, "ethernet"},
		{errARPUnsupported, ErrUnsupported, "arp"},
		{errIPBadVersion, ErrBadVersion, "ipv4"},
		{errIPBadOption, ErrBadOption, "ipv4 options"},
		{errICMPBadChecksum, ErrBadChecksum, "icmp"},
		{errIGMPTruncated, ErrTruncated, "igmp"},
		{errUDPBadLength, ErrBadLength, "udp"},
		{errTCPBadOption, ErrBadOption, "tcp options"},
		{errMACSyntax, ErrSyntax, "mac"},
	}
	for _, c := range cases {
		if !strings.HasPrefix(c.err.Error(), "wire: "+c.layer+": ") {
			t.Errorf("message %q lacks layer %q", c.err, c.layer)
		}
		for _, s := range sentinels {
			if errors.Is(c.err, s) != (s == c.want) {
				t.Errorf("errors.Is(%v, %v) = %v", c.err, s, !(s == c.want))
			}
		}
	}
}
