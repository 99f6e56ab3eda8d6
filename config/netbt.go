package config

// NetBT holds NetBIOS over TCP/IP parameters, registry key NetBT\Parameters,
// TOML table [NetBT.Parameters].
type NetBT struct {
	// Connection blocks added when fewer than 2 are free on port 139.
	BacklogIncrement int
	// Broadcast name query attempts.
	BcastNameQueryCount int
	// Milliseconds between broadcast queries for a name.
	BcastQueryTimeout int
	// Little-endian DWORD forcing one broadcast address for all name packets; -1 = each subnet's broadcast (AMB-21).
	BroadcastAddress int
	// Keep the remote-name cache per adapter.
	CachePerAdapterEnabled bool
	// Lifetime in milliseconds of remote-name cache entries.
	CacheTimeout int
	// Restrict connections to the requesting adapter; no effect in the whitepaper either.
	ConnectOnRequestedInterfaceOnly bool
	// Query DNS for names WINS, broadcast and LMHOSTS did not resolve.
	EnableDns bool
	// As WINS proxy, answer negatively to registrations of names mapped elsewhere.
	EnableProxyRegCheck bool
	// Initial name refresh timeout in milliseconds; first refresh at 1/8 of it (AMB-13).
	InitialRefreshTO int
	// Timeout in milliseconds for LMHOSTS and DNS lookups made by NetBT.
	LMHOSTSTimeout int
	// Maximum NetBT connection blocks.
	MaxConnBackLog int
	// Maximum #PRE entries preloaded from LMHOSTS.
	MaxPreloadEntries int
	// Memory cap in bytes for outstanding datagram sends.
	MaxDgramBuffering int
	// Standby/hibernate refresh rule in milliseconds; Stapel never sleeps.
	MinimumRefreshSleepTime int
	// Free inbound connection handlers kept ready.
	MinimumFreeLowerConnections int
	// UDP destination port of WINS name packets (AMB-15: 0x89 = 137).
	NameServerPort int
	// WINS query attempts per name.
	NameSrvQueryCount int
	// Milliseconds between WINS queries for a name.
	NameSrvQueryTimeout int
	// Node type 1 B, 2 P, 4 M, 8 H; -1 = B without WINS servers, H with (NBT-4).
	NodeType int
	// Ignore name-release requests from the network.
	NoNameReleaseOnDemand bool
	// Multihomed: random local address in name-query responses.
	RandomAdapter bool
	// Opcode used in name-refresh packets.
	RefreshOpCode int
	// NetBIOS scope (dotted name); "*" = no scope; empty = none configured.
	ScopeId string
	// Session keepalive interval in milliseconds; 0xFFFFFFFF disables (AMB-13).
	SessionKeepAlive int
	// Multihomed: only one address in name-query responses.
	SingleResponse bool
	// Name table size class: 1 small, 2 medium, 3 large.
	Size int
	// Enable NetBIOS-less SMB on TCP 445.
	SMBDeviceEnabled bool
	// Query all WINS servers and try all addresses before failing.
	TryAllNameServers bool
	// Ping the sorted address list and connect to the first responder.
	TryAllIPAddrs bool
	// Disable NetBIOS name queries (registration and sessions still work).
	UseDnsOnlyForNameResolutions bool
	// Back-off in milliseconds before retrying WINS after a failure.
	WinsDownTimeout int
	// Use the LMHOSTS file after WINS and broadcast.
	EnableLmhosts bool
	// Act as WINS proxy for broadcast queries.
	EnableProxy bool
	// Workgroup (or domain) registered as the group name workgroup[00]; the computer name is Tcpip Hostname, upper-cased, first 15 characters.
	Workgroup string
	// LMHOSTS file read when EnableLmhosts is set (NBT-3); empty = none, so the machine's own lmhosts under DatabasePath is never read unless named here.
	LmhostsFile string
}

func defaultNetBT() NetBT {
	return NetBT{
		BacklogIncrement:            3,
		BcastNameQueryCount:         3,
		BcastQueryTimeout:           750,
		BroadcastAddress:            Absent,
		CachePerAdapterEnabled:      true,
		CacheTimeout:                600000,
		EnableDns:                   true,
		InitialRefreshTO:            960000,
		LMHOSTSTimeout:              6000,
		MaxConnBackLog:              1000,
		MaxPreloadEntries:           1000,
		MaxDgramBuffering:           131072,
		MinimumRefreshSleepTime:     21600000,
		MinimumFreeLowerConnections: 50,
		NameServerPort:              137,
		NameSrvQueryCount:           3,
		NameSrvQueryTimeout:         1500,
		NodeType:                    Absent,
		RefreshOpCode:               8,
		SessionKeepAlive:            3600000,
		Size:                        1,
		SMBDeviceEnabled:            true,
		TryAllIPAddrs:               true,
		WinsDownTimeout:             15000,
		EnableLmhosts:               true,
		Workgroup:                   "WORKGROUP",
	}
}
