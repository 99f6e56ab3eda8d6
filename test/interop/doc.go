// Package interop tests the stapel daemon against the Linux kernel's own
// TCP/IP stack. Each test creates a network namespace named stp<random>,
// starts `stapel run` inside it on a TAP device (stptap0) and talks to it
// from the kernel side of that TAP (198.18.0.1/24) with ping, socat, nc,
// tcpdump and scapy, and from the stapel tools through the control socket.
//
// The tests need root. Without root, or without a prerequisite, they skip
// with the reason; with STAPEL_INTEROP_REQUIRED=1 (set by ./test.sh) they
// fail instead, so CI cannot pass by skipping them.
package interop
