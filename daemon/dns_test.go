package daemon

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/config"
	"github.com/stapel-net/stapel/control"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/services/dns"
	"github.com/stapel-net/stapel/stack"
	"github.com/stapel-net/stapel/wire"
)

// peerDNS is a DNS server on the peer stack, written with gopacket so the
// resolver's wire format is checked by an independent implementation.
type peerDNS struct {
	mu    sync.Mutex
	asked map[string]int
	added []dns.RR // by UPDATEs
}

func (p *peerDNS) count(q string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.asked[q]
}

// update accepts any UPDATE and remembers the records it adds.
func (p *peerDNS) update(c *stack.UDPConn, from netip.AddrPort, m *dns.Message) {
	p.mu.Lock()
	for _, rr := range m.Authority {
		if rr.Class == dns.ClassIN {
			p.added = append(p.added, rr)
		}
	}
	p.mu.Unlock()
	resp := &dns.Message{Header: dns.Header{ID: m.ID, Response: true, Opcode: dns.OpcodeUpdate}, Questions: m.Questions}
	b, _ := resp.Pack()
	c.WriteToAddrPort(b, from)
}

func (p *peerDNS) serve(t *testing.T, c *stack.UDPConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFromAddrPort(buf)
		if err != nil {
			return
		}
		if m, err := dns.Parse(buf[:n]); err == nil && m.Opcode == dns.OpcodeUpdate {
			p.update(c, from, m)
			continue
		}
		var q layers.DNS
		if err := q.DecodeFromBytes(buf[:n], gopacket.NilDecodeFeedback); err != nil || len(q.Questions) != 1 {
			t.Errorf("server got a bad query: %v", err)
			continue
		}
		qq := q.Questions[0]
		key := strings.ToLower(string(qq.Name)) + " " + qq.Type.String()
		p.mu.Lock()
		p.asked[key]++
		p.mu.Unlock()
		r := layers.DNS{ID: q.ID, QR: true, RD: q.RD, RA: true, Questions: q.Questions, ResponseCode: layers.DNSResponseCodeNXDomain}
		switch key {
		case "stpdaemon.example.test SOA":
			r.Authorities = []layers.DNSResourceRecord{{Name: []byte("example.test"), Type: layers.DNSTypeSOA,
				Class: layers.DNSClassIN, TTL: 60, SOA: layers.DNSSOA{MName: []byte("ns.example.test"),
					RName: []byte("hostmaster.example.test"), Serial: 1, Minimum: 60}}}
		case "host.example.test A":
			r.ResponseCode = layers.DNSResponseCodeNoErr
			r.Answers = []layers.DNSResourceRecord{{Name: qq.Name, Type: layers.DNSTypeA, Class: layers.DNSClassIN,
				TTL: 600, IP: net.IPv4(198, 51, 100, 7)}}
		case "7.100.51.198.in-addr.arpa PTR":
			r.ResponseCode = layers.DNSResponseCodeNoErr
			r.Answers = []layers.DNSResourceRecord{{Name: qq.Name, Type: layers.DNSTypePTR, Class: layers.DNSClassIN,
				TTL: 600, PTR: []byte("host.example.test")}}
		}
		sb := gopacket.NewSerializeBuffer()
		if err := r.SerializeTo(sb, gopacket.SerializeOptions{FixLengths: true}); err != nil {
			t.Error(err)
			continue
		}
		c.WriteToAddrPort(sb.Bytes(), from)
	}
}

// SPEC: DNS-1, DNS-2, DNS-4, DNS-6 — the daemon's resolver end to end
// over the stack's UDP: nslookup through the cache, reverse lookups, the
// hosts file, negative caching, /displaydns and /flushdns.
func TestDaemonDNS(t *testing.T) {
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	os.WriteFile(hosts, []byte("203.0.113.5 filed.example.test\n"), 0o644)
	cfgText := strings.Replace(testConfig, `Hostname = "stpdaemon"`, `Hostname = "stpdaemon"
HostsFile = "`+hosts+`"
DNSQueryTimeouts = [1, 1]`, 1)
	cfgText = strings.Replace(cfgText, `DefaultGateway = ["198.51.100.1"]`, `DefaultGateway = ["198.51.100.1"]
NameServer = ["198.51.100.1"]
Domain = "example.test"`, 1)
	cfg, err := config.Parse([]byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.Real{}
	mac, _ := wire.ParseMAC("02:00:00:00:00:0a")
	peerMAC, _ := wire.ParseMAC("02:00:00:00:00:01")
	a, b := link.NewPipe(clk, 1500, mac, peerMAC)
	peer := stack.New(stack.Options{Clock: clk, HostName: "stppeer", Seed: 2})
	if _, err := peer.AddInterface(stack.InterfaceConfig{Name: "lan",
		Addrs: []netip.Prefix{netip.PrefixFrom(peerIP, 24)}}, b); err != nil {
		t.Fatal(err)
	}
	uc, err := peer.ListenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), 53))
	if err != nil {
		t.Fatal(err)
	}
	srv := &peerDNS{asked: map[string]int{}}
	go srv.serve(t, uc)
	sock := filepath.Join(dir, "stapel.sock")
	d, err := Start(Options{Config: cfg, Control: sock, Seed: 1,
		OpenLink: func(config.Interface) (link.Endpoint, error) { return a, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	defer d.Close()
	c := &control.Client{Path: sock}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	look := func(name, typ string) (dns.NslookupReply, string) {
		t.Helper()
		r, err := c.Nslookup(ctx, control.NslookupArgs{Name: name, Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		qt := dns.TypeA
		if typ != "" {
			qt, _ = dns.ParseType(typ)
		}
		var rev netip.Addr
		if ip, err := netip.ParseAddr(name); err == nil {
			rev = ip
		}
		return r, dns.FormatNslookup(r, name, qt, rev)
	}
	want := "Server:  UnKnown\nAddress:  198.51.100.1\n\nNon-authoritative answer:\nName:    host.example.test\nAddress:  198.51.100.7\n\n"
	for i := 0; i < 2; i++ {
		// "host" gets the interface's Domain as suffix (DNS-4).
		if r, out := look("host", ""); out != want {
			t.Fatalf("nslookup host #%d (%+v):\n%s\nwant\n%s", i, r, out, want)
		}
	}
	if n := srv.count("host.example.test A"); n != 1 {
		t.Errorf("server asked %d times for host.example.test: the second lookup should come from the cache", n)
	}
	if _, out := look("198.51.100.7", ""); !strings.Contains(out, "Name:    host.example.test\nAddress:  198.51.100.7\n") {
		t.Errorf("reverse:\n%s", out)
	}
	for i := 0; i < 2; i++ {
		if _, out := look("nosuch.example.test.", ""); !strings.Contains(out, "*** UnKnown can't find nosuch.example.test: Non-existent domain\n") {
			t.Errorf("NXDOMAIN:\n%s", out)
		}
	}
	if n := srv.count("nosuch.example.test A"); n != 1 {
		t.Errorf("NXDOMAIN asked %d times, want 1 (negative cache)", n)
	}
	if r, _ := look("filed", ""); r.Answer.Source != dns.SourceHosts || r.Answer.Records[0].Addr.String() != "203.0.113.5" {
		t.Errorf("hosts file: %+v", r)
	}
	if r, _ := look("stpdaemon", ""); r.Answer.Source != dns.SourceLocal || r.Answer.Records[0].Addr != daemonIP {
		t.Errorf("own name: %+v", r)
	}
	// SPEC: DNS-7 — the daemon registered HOST.DOMAIN's A record with
	// DefaultRegistrationTTL (the peer is ns.example.test's fallback: its
	// name does not resolve, so the SOA's answerer gets the update).
	ok := false
	for i := 0; i < 200 && !ok; i++ {
		srv.mu.Lock()
		for _, rr := range srv.added {
			ok = ok || (rr.Name == "stpdaemon.example.test" && rr.Addr == daemonIP && rr.TTL == 1200)
		}
		srv.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	if !ok {
		t.Errorf("no registration of stpdaemon.example.test: %+v", srv.added)
	}
	entries, err := c.DNSCache(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := dns.FormatDisplayDNS(entries)
	if !strings.Contains(out, "Record Name . . . . . : host.example.test\n") || !strings.Contains(out, "A (Host) Record . . . : 198.51.100.7\n") ||
		!strings.Contains(out, "         nosuch.example.test\n         ----------------------------------------\n         Name does not exist.\n") {
		t.Errorf("displaydns:\n%s", out)
	}
	if err := c.FlushDNS(ctx); err != nil {
		t.Fatal(err)
	}
	if e, _ := c.DNSCache(ctx); len(e) != 0 {
		t.Errorf("%d entries after flush", len(e))
	}
	look("host", "")
	if n := srv.count("host.example.test A"); n != 2 {
		t.Errorf("after flush the server was asked %d times in all, want 2", n)
	}
}
