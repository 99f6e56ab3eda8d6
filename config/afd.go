package config

// AFD holds the Winsock kernel (AFD) parameters, registry key AFD\Parameters,
// TOML table [AFD.Parameters]. Memory-class values are the large class.
type AFD struct {
	// Receive bytes buffered per socket before flow control (SO_RCVBUF default).
	DefaultReceiveWindow int
	// Send bytes buffered per socket (SO_SNDBUF default).
	DefaultSendWindow int
	// Forbid SO_REUSEADDR address sharing.
	DisableAddressSharing bool
	// Skip the administrator check for raw sockets (TCP/IP enforces its own).
	DisableRawSecurity bool
	// Free connections created when more are needed (obsolete).
	DynamicBacklogGrowthDelta int
	// Double-copy versus lock-and-map threshold on receive.
	FastCopyReceiveThreshold int
	// Datagrams smaller than this are buffered on send.
	FastSendDatagramThreshold int
	// Treat every received segment as pushed.
	IgnorePushBitOnReceives bool
	// IRP stack locations used by AFD (kernel internal).
	IrpStackSize int
	// Size of AFD large buffers (PAGE_SIZE).
	LargeBufferSize int
	// Look-aside depth for large buffers (large memory class).
	LargeBufferListDepth int
	// Concurrent TransmitFile requests; 0 = unlimited.
	MaxActiveTransmitFileCount int
	// Maximum TransmitFile bytes sent on the fast path.
	MaxFastTransmit int
	// Maximum size sent on the fast path by copying.
	MaxFastCopyTransmit int
	// Size of AFD medium buffers.
	MediumBufferSize int
	// Look-aside depth for medium buffers (large memory class).
	MediumBufferListDepth int
	// Granularity of charging buffer overhead to processes (one page; power of two).
	OverheadChargeGranularity int
	// Thread priority boost on I/O completion (kernel internal).
	PriorityBoost int
	// Look-aside depth for small buffers (large memory class).
	SmallBufferListDepth int
	// Size of AFD small buffers.
	SmallBufferSize int
	// Typical TDI address length.
	StandardAddressLength int
	// Default read/send size for TransmitFile (large memory class).
	TransmitIoLength int
	// TransmitFile worker: 0x10 system threads, 0x20 kernel APC.
	TransmitWorker int
}

func defaultAFD() AFD {
	return AFD{
		DefaultReceiveWindow:      8192,
		DefaultSendWindow:         8192,
		FastCopyReceiveThreshold:  1024,
		FastSendDatagramThreshold: 1024,
		IrpStackSize:              4,
		LargeBufferSize:           4096,
		LargeBufferListDepth:      10,
		MaxFastTransmit:           65536,
		MaxFastCopyTransmit:       128,
		MediumBufferSize:          1504,
		MediumBufferListDepth:     24,
		OverheadChargeGranularity: 4096,
		PriorityBoost:             2,
		SmallBufferListDepth:      32,
		SmallBufferSize:           128,
		StandardAddressLength:     22,
		TransmitIoLength:          65536,
		TransmitWorker:            16,
	}
}
