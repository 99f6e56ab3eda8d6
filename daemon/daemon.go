// Package daemon wires a Stapel host together for `stapel run`: config,
// stack, TAP devices (with optional pcap capture and fault injection), the
// simple services and the control socket.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/link/tap"
	"github.com/stapel-net/stapel/services/simple"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/tcp"
	"github.com/stapel-net/stapel/tools"
	"github.com/stapel-net/stapel/tools/stackhost"
)

// Options configure a daemon.
type Options struct {
	Config *config.Config
	// Control is the socket path; "" = $STAPEL_CONTROL, else the config's
	// Control.ControlSocket.
	Control string
	// PcapDir, when set, captures each interface to DIR/<Name>.pcap.
	PcapDir string
	Faults  []FaultSpec
	Logger  *slog.Logger
	// Clock defaults to real time.
	Clock clock.Clock
	// OpenLink opens an interface's device; nil opens its TAP. Tests pass
	// in-memory links here.
	OpenLink func(ifc config.Interface) (link.Endpoint, error)
	Seed     int64
	// StateDir holds what outlives the process: DIR/persistent-routes
	// keeps "route add -p" routes (SPEC IP-5) across restarts. "" keeps
	// them in memory only.
	StateDir string
}

// PersistentRoutesName is the file in Options.StateDir holding the
// persistent routes.
const PersistentRoutesName = "persistent-routes"

// Daemon is a running host.
type Daemon struct {
	o        Options
	log      *slog.Logger
	st       *stack.Stack
	host     *stackhost.Host
	tcp      *tcp.Protocol
	services *simple.Server
	ln       net.Listener
	sock     string
	files    []io.Closer
	cancel   context.CancelFunc
	served   chan error
	once     sync.Once
}

// Start builds the stack and begins serving. On error everything opened
// so far is closed again.
func Start(o Options) (_ *Daemon, err error) {
	if o.Config == nil {
		return nil, errors.New("daemon: no configuration")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	cfg := o.Config
	for _, w := range cfg.Warnings {
		o.Logger.Warn("config: " + w)
	}
	faults := map[string]FaultSpec{}
	for _, f := range o.Faults {
		if _, ok := cfg.Interface(f.Interface); !ok {
			return nil, fmt.Errorf("--faults: no interface named %q in the configuration", f.Interface)
		}
		faults[f.Interface] = f
	}
	host := cfg.Tcpip.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	d := &Daemon{o: o, log: o.Logger, served: make(chan error, 1)}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	var persist string
	if o.StateDir != "" {
		persist = filepath.Join(o.StateDir, PersistentRoutesName)
		o.Logger.Info("persistent routes", "file", persist)
	} else {
		o.Logger.Warn("no state directory: persistent routes (route add -p) last only until the daemon stops")
	}
	d.st = stack.New(stack.Options{Clock: o.Clock, Params: cfg.Tcpip, Logger: o.Logger, Seed: o.Seed, HostName: host,
		PersistentRoutesFile: persist})
	byName := map[string]config.Interface{}
	wins := false
	for _, ifc := range cfg.Interfaces {
		byName[ifc.Name] = ifc
		wins = wins || len(ifc.NameServerList) > 0
		if err := d.addInterface(ifc, faults); err != nil {
			return nil, err
		}
	}
	tcpProto := AttachTCPConfig(d.st, cfg, uint64(o.Seed))
	d.tcp = tcpProto
	d.host = stackhost.New(d.st, stackhost.Options{
		IPRouting: cfg.Tcpip.IPEnableRouter,
		NodeType:  nodeType(cfg.NetBT.NodeType, wins),
		WINSProxy: cfg.NetBT.EnableProxy,
		DHCP:      func(n string) bool { return byName[n].DHCP() },
		DNS: func(n string) (string, []string) {
			return byName[n].Domain, byName[n].NameServer
		},
		TCP:      tcpProto,
		DHCPInfo: func(n string, a *tools.Adapter) { dhcpAdapterInfo(d.st, n, a) }, // dhcp.go
	})
	if cfg.Services.SimpleTcpip {
		var quotes []string
		if cfg.Services.Quote != "" {
			quotes = []string{cfg.Services.Quote}
		}
		d.services, err = simple.Start(d.host, d.host, simple.Config{
			Now: o.Clock.Now, Quotes: quotes, Logger: o.Logger, Seed: uint64(o.Seed),
		})
		if err != nil {
			return nil, err
		}
	}
	if err := startNetBT(d.st, cfg, host, o.Logger); err != nil { // netbt.go
		return nil, err
	}
	if err := d.startDNS(host); err != nil { // dns.go
		return nil, err
	}
	if err := d.startDHCP(host); err != nil { // dhcp.go
		return nil, err
	}
	d.sock = o.Control
	if d.sock == "" {
		d.sock = os.Getenv(control.EnvSocket)
	}
	if d.sock == "" {
		d.sock = cfg.Control.ControlSocket
	}
	if d.sock == "" {
		d.sock = control.DefaultSocket
	}
	if d.ln, err = control.Listen(d.sock); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	srv := &control.Server{Host: extHost{d.host, tcpProto}, Logger: o.Logger}
	go func() { d.served <- srv.Serve(ctx, d.ln) }()
	o.Logger.Info("stapel running", "host", host, "interfaces", len(cfg.Interfaces), "control", d.sock,
		"router", cfg.Tcpip.IPEnableRouter, "simpleServices", cfg.Services.SimpleTcpip)
	return d, nil
}

func (d *Daemon) addInterface(ifc config.Interface, faults map[string]FaultSpec) error {
	var (
		ep  link.Endpoint
		err error
	)
	if d.o.OpenLink != nil {
		ep, err = d.o.OpenLink(ifc)
	} else {
		ep, err = openTAP(ifc, !d.o.Config.Tcpip.DisableTaskOffload, d.log)
	}
	if err != nil {
		return fmt.Errorf("interface %q: %w", ifc.Name, err)
	}
	pcapPath := ifc.Pcap
	if d.o.PcapDir != "" {
		pcapPath = filepath.Join(d.o.PcapDir, ifc.Name+".pcap")
	}
	if pcapPath != "" {
		f, err := os.Create(pcapPath)
		if err != nil {
			ep.Close()
			return fmt.Errorf("interface %q: pcap: %w", ifc.Name, err)
		}
		d.files = append(d.files, f)
		ep = link.NewSnifferClock(ep, f, d.o.Clock)
		d.log.Info("capturing", "interface", ifc.Name, "file", pcapPath)
	}
	if f, ok := faults[ifc.Name]; ok {
		if ep, err = wrapFaults(ep, d.o.Clock, f); err != nil {
			ep.Close()
			return fmt.Errorf("interface %q: %w", ifc.Name, err)
		}
		d.log.Info("fault injection", "interface", ifc.Name, "loss", f.Loss, "reorder", f.Reorder,
			"dup", f.Duplicate, "corrupt", f.Corrupt, "delay", f.Delay, "seed", f.Seed)
	}
	ic, err := StackInterface(ifc, ep.MTU())
	if err != nil {
		ep.Close()
		return err
	}
	if _, err := d.st.AddInterface(ic, ep); err != nil {
		ep.Close()
		return fmt.Errorf("interface %q: %w", ifc.Name, err)
	}
	d.log.Info("interface up", "interface", ifc.Name, "device", ep.Name(), "mac", ep.MAC().String(),
		"mtu", ic.MTU, "addrs", fmt.Sprint(ic.Addrs), "gateways", fmt.Sprint(ic.Gateways))
	return nil
}

// StackInterface is the stack's view of a configured interface on a link
// whose device MTU is linkMTU.
func StackInterface(ifc config.Interface, linkMTU int) (stack.InterfaceConfig, error) {
	prefixes, err := ifc.Prefixes()
	if err != nil {
		return stack.InterfaceConfig{}, err
	}
	gws, err := ifc.Gateways()
	if err != nil {
		return stack.InterfaceConfig{}, err
	}
	ic := stack.InterfaceConfig{
		Name:             ifc.Name,
		Addrs:            prefixes,
		Gateways:         gws,
		GatewayMetrics:   ifc.GatewayMetrics(),
		MTU:              ifc.EffectiveMTU(linkMTU),
		UseZeroBroadcast: ifc.UseZeroBroadcast,
		// SPEC ICMP-2: 1 = on; 2 ("only if DHCP enables it") is off until
		// Stapel has a DHCP client, as is 0.
		RouterDiscovery:          ifc.PerformRouterDiscovery,
		SolicitationAddressBcast: ifc.SolicitationAddressBcast,
		// SPEC IP-21: used only with Tcpip.Parameters.EnableSecurityFilters.
		TCPAllowedPorts:     ifc.TcpAllowedPorts,
		UDPAllowedPorts:     ifc.UdpAllowedPorts,
		RawAllowedProtocols: ifc.RawIpAllowedProtocols,
		PPTPFiltering:       ifc.PPTPFiltering, // SEC-5
	}
	ic.QoS = stack.InterfaceQoS{ // SPEC QOS-4, QOS-5 (stack/qos.go)
		Tag8021p: ifc.QoS8021p, PacketScheduler: ifc.QoSPacketScheduler,
		LinkSpeed: int64(ifc.QoSLinkSpeedKbps) * 1000, QueueLen: ifc.QoSQueueLength,
	}
	if ifc.DontAddDefaultGateway {
		ic.Gateways, ic.GatewayMetrics = nil, nil
	}
	return ic, nil
}

// OpenTAP opens (or creates) the TAP device of ifc, with TSO/checksum
// offload when offload is set (config: !Tcpip.DisableTaskOffload).
func OpenTAP(ifc config.Interface, offload bool, log *slog.Logger) (link.Endpoint, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return openTAP(ifc, offload, log)
}

func openTAP(ifc config.Interface, offload bool, log *slog.Logger) (link.Endpoint, error) {
	mac, ok, err := ifc.MACAddr()
	if err != nil {
		return nil, err
	}
	if !ok {
		mac = tap.RandomMAC()
	}
	// DisableTaskOffload=0 (the default) lets the TAP carry TSO
	// super-frames with checksum offload; a capture or fault wrapper
	// hides the offload again, so those see ordinary frames.
	// Several queues (IFF_MULTI_QUEUE), one reader goroutine each: the
	// kernel's flow hash spreads flows over them and the stack's receive
	// path takes no exclusive lock, so flows are handled on several cores.
	cfg := tap.Config{Name: ifc.TapName(), MAC: mac, Offload: offload, Queues: tapQueues()}
	dev, err := tap.OpenConfig(cfg)
	if err != nil && cfg.Queues > 1 {
		// An existing single-queue TAP or a kernel without multiqueue
		// support: fall back to the one queue that always works.
		log.Info("tap: multiqueue refused, using one queue", "interface", ifc.Name, "queues", cfg.Queues, "err", err)
		cfg.Queues = 1
		dev, err = tap.OpenConfig(cfg)
	}
	if err != nil {
		return nil, err
	}
	log.Info("tap attached", "interface", ifc.Name, "tap", dev.Name(), "created", dev.Created(), "queues", cfg.Queues,
		"offloads", fmt.Sprintf("%+v", dev.Offloads()))
	return dev, nil
}

// maxTapQueues bounds the TAP queues the daemon opens: past a few, more
// reader goroutines than cores only add scheduling.
const maxTapQueues = 4

// tapQueues is how many queues a TAP gets: min(GOMAXPROCS, maxTapQueues).
func tapQueues() int { return min(runtime.GOMAXPROCS(0), maxTapQueues) }

// Host is the daemon's stack as the tools see it.
func (d *Daemon) Host() *stackhost.Host { return d.host }

// TCP is the daemon's TCP.
func (d *Daemon) TCP() *tcp.Protocol { return d.tcp }

// Stack is the daemon's stack.
func (d *Daemon) Stack() *stack.Stack { return d.st }

// SocketPath is where the control socket listens.
func (d *Daemon) SocketPath() string { return d.sock }

// Close stops serving, closes the services, the stack (and with it the
// devices: TAPs the daemon created disappear), the capture files and the
// socket file.
func (d *Daemon) Close() error {
	d.once.Do(func() {
		if d.cancel != nil {
			d.cancel()
			<-d.served
		}
		if d.ln != nil {
			os.Remove(d.sock)
		}
		if d.services != nil {
			d.services.Close()
		}
		if d.st != nil {
			stopNetBT(d.st) // netbt.go: release the names while the stack can send
			d.st.Close()
		}
		for _, f := range d.files {
			f.Close()
		}
		d.log.Info("stapel stopped")
	})
	return nil
}

// Run starts the daemon and serves until ctx ends.
func Run(ctx context.Context, o Options) error {
	d, err := Start(o)
	if err != nil {
		return err
	}
	<-ctx.Done()
	d.log.Info("shutting down", "reason", context.Cause(ctx))
	return d.Close()
}

// nodeType is ipconfig's Node Type for the NetBT NodeType parameter
// (SPEC NBT-4: absent = B-node without WINS servers, H-node with).
func nodeType(v int, wins bool) string {
	switch v {
	case 1:
		return "Broadcast"
	case 2:
		return "Peer-Peer"
	case 4:
		return "Mixed"
	case 8:
		return "Hybrid"
	}
	if wins {
		return "Hybrid"
	}
	return "Broadcast"
}
