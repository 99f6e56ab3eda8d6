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
//
// With Config.Offload the fd carries a virtio_net_hdr per frame
// (IFF_VNET_HDR) and the kernel is told we do checksums and TSO
// (TUNSETOFFLOAD): it then sends TCP as 64 KiB super-frames with checksums
// pending, which reach a link.GSODispatcher whole and any other Dispatcher
// cut and completed in software (link.Dispatch), and WriteGSO hands it
// super-frames the same way. One read or write syscall then moves up to
// 64 KiB instead of one MTU. With Config.Queues > 1 the TAP is
// multiqueue, one reader goroutine per queue.
package tap
