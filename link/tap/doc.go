// Package tap attaches Stapel to a Linux TAP device, so the userspace stack
// sits on a real Ethernet segment whose other end is the kernel.
//
// The Device's MAC is Stapel's own station address on that segment, not the
// kernel side's (the kernel interface has its own address). Carrier (media
// sense) is polled once a second over rtnetlink: the link counts as up
// while the interface is administratively up and has carrier (IFF_UP and
// IFF_LOWER_UP). Polling uses sockets opened with the device, so it keeps
// working when Open was called from a thread inside another network
// namespace.
package tap
