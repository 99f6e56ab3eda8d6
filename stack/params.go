package stack

import (
	"time"

	"github.com/stapel-net/stapel/config"
)

// params is the stack's view of config.Tcpip, converted once to the units
// the code uses. Keeping the conversion here isolates the rest of the
// package from the config struct's field types.
type params struct {
	defaultTTL          uint8
	arpLife             time.Duration // ArpCacheLife (L)
	arpRefLife          time.Duration // ArpCacheMinReferencedLife (R)
	arpDADProbes        int           // ArpRetryCount: total gratuitous ARPs
	arpSNAP             bool
	bcastArpReply       bool
	arpPendingLen       int
	arpRequestTries     int // total ARP requests before giving up
	arpRequestInterval  time.Duration
	router              bool
	srcRouting          int // DisableIPSourceRouting 0/1/2
	addrMaskReply       bool
	reasmTimeout        time.Duration
	reasmMaxBytes       int
	reasmMaxDatagrams   int
	maxUserPort         uint16
	mediaSenseDamping   time.Duration
	disableMediaSense   bool // DisableDHCPMediaSense: keep addresses on disconnect
	mediaSenseNoLog     bool // DisableMediaSenseEventLog
	icmpRateBurst       int
	icmpRateInterval    time.Duration
	arpCacheMaxEntries  int
	loopbackQueueLen    int
	udpRecvQueueBytes   int
	udpRecvQueuePackets int
	// Issue 5: routing and the ICMP control plane.
	pmtuDiscovery    bool // EnablePMTUDiscovery (TCP-PMTU-2/5)
	icmpRedirects    bool // EnableICMPRedirects (ICMP-3)
	deadGWDetect     bool // EnableDeadGWDetect (TCP-DGD-1)
	maxIcmpHostRoute int  // MaxIcmpHostRoutes (KB-3)
	persistentRoutes []string
	igmpLevel        int  // IGMPLevel (MCAST-1), igmp.go
	securityFilters  bool // EnableSecurityFilters (IP-21, filter.go)
}

// Defaults for Stapel extensions that SPEC leaves open; see doc.go.
const (
	defaultArpRequestTries   = 3                // 1 request + 2 retries
	defaultArpRequestSpacing = time.Second      // ~1 s apart (W2K behaviour)
	defaultReasmTimeout      = 60 * time.Second // RFC 1122 3.3.2 allows 60..120
	defaultReasmMaxBytes     = 1 << 20          // all datagrams being reassembled
	defaultReasmMaxDatagrams = 64
	defaultICMPBurst         = 50
	defaultICMPInterval      = 10 * time.Millisecond // 100 errors/s sustained
	defaultArpCacheMax       = 4096
	defaultLoopbackQueue     = 512
	defaultUDPRecvBytes      = 256 << 10
	defaultUDPRecvPackets    = 512
	mediaSenseDamping        = 3 * time.Second  // SPEC LINK-8
	arpDefendInterval        = 10 * time.Second // RFC 5227 DEFEND_INTERVAL
	dadProbeInterval         = time.Second
)

func paramsFrom(t *config.Tcpip) params {
	p := params{
		defaultTTL:          uint8(clampInt(t.DefaultTTL, 1, 255)),
		arpRefLife:          secs(t.ArpCacheMinReferencedLife, 600),
		arpDADProbes:        clampInt(t.ArpRetryCount, 1, 3),
		arpSNAP:             t.ArpUseEtherSNAP,
		bcastArpReply:       t.EnableBcastArpReply,
		arpPendingLen:       t.ArpPendingQueueLen,
		arpRequestTries:     defaultArpRequestTries,
		arpRequestInterval:  defaultArpRequestSpacing,
		router:              t.IPEnableRouter,
		srcRouting:          t.DisableIPSourceRouting,
		addrMaskReply:       t.EnableAddrMaskReply,
		reasmTimeout:        defaultReasmTimeout,
		reasmMaxBytes:       defaultReasmMaxBytes,
		reasmMaxDatagrams:   defaultReasmMaxDatagrams,
		maxUserPort:         uint16(clampInt(t.MaxUserPort, 5000, 65534)),
		mediaSenseDamping:   mediaSenseDamping,
		disableMediaSense:   t.DisableDHCPMediaSense,
		mediaSenseNoLog:     t.DisableMediaSenseEventLog,
		icmpRateBurst:       defaultICMPBurst,
		icmpRateInterval:    defaultICMPInterval,
		arpCacheMaxEntries:  defaultArpCacheMax,
		loopbackQueueLen:    defaultLoopbackQueue,
		udpRecvQueueBytes:   defaultUDPRecvBytes,
		udpRecvQueuePackets: defaultUDPRecvPackets,
		pmtuDiscovery:       t.EnablePMTUDiscovery,
		icmpRedirects:       t.EnableICMPRedirects,
		deadGWDetect:        t.EnableDeadGWDetect,
		maxIcmpHostRoute:    t.MaxIcmpHostRoutes,
		persistentRoutes:    t.PersistentRoutes,
		igmpLevel:           clampInt(t.IGMPLevel, 0, 2),
		securityFilters:     t.EnableSecurityFilters,
	}
	// SPEC ARP-4/ARP-5: ArpCacheLife absent (0) means 2 min unreferenced.
	p.arpLife = secs(t.ArpCacheLife, 120)
	if t.ArpRequestRetries >= 0 {
		p.arpRequestTries = 1 + t.ArpRequestRetries
	}
	if t.ArpRequestTimeoutMs > 0 {
		p.arpRequestInterval = time.Duration(t.ArpRequestTimeoutMs) * time.Millisecond
	}
	if t.ArpCacheMaxEntries > 0 {
		p.arpCacheMaxEntries = t.ArpCacheMaxEntries
	}
	if t.ReassemblyMaxDatagrams > 0 {
		p.reasmMaxDatagrams = t.ReassemblyMaxDatagrams
	}
	if t.ReassemblyTimeout > 0 {
		p.reasmTimeout = time.Duration(t.ReassemblyTimeout) * time.Second
	}
	if t.ReassemblyMaxBytes > 0 {
		p.reasmMaxBytes = t.ReassemblyMaxBytes
	}
	if p.arpPendingLen <= 0 {
		p.arpPendingLen = 1 // SPEC ARP-6
	}
	if p.srcRouting < 0 || p.srcRouting > 2 {
		p.srcRouting = 1
	}
	return p
}

func secs(v, def int) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(v) * time.Second
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
