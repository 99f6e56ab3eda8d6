package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/stapel-net/stapel/clock"
)

// RFC 2136 response codes.
const (
	RCodeYXDomain = 6
	RCodeYXRRSet  = 7
	RCodeNXRRSet  = 8
	RCodeNotAuth  = 9
	RCodeNotZone  = 10
)

// Registration is what a host registers in DNS (DNS-7).
type Registration struct {
	Name  string       // the host's FQDN
	Addrs []netip.Addr // its IPv4 addresses (A records)
	TTL   uint32       // DefaultRegistrationTTL
	// NoReplace is DisableReplaceAddressesInConflicts: leave a name
	// registered with other addresses alone instead of replacing them
	// (the default is last writer wins).
	NoReplace bool
	// PTR also registers each address's PTR record in its reverse zone
	// (statically configured clients do; DisableReverseAddressRegistrations
	// turns it off).
	PTR bool
}

// DefaultRegistrationTTL is the whitepaper's registration TTL (1200 s).
const DefaultRegistrationTTL = 1200

// Errors of a registration.
var (
	ErrUpdateConflict = errors.New("dns update: the name is registered with other addresses")
	ErrUpdateRefused  = errors.New("dns update: refused by the server")
)

// FindZone asks servers for the SOA of name (RFC 2136 4.3): the zone is
// the SOA's owner, the update goes to its primary master (MNAME) when
// that resolves, else to the server that answered.
func (c *Client) FindZone(ctx context.Context, servers []netip.Addr, name string) (string, netip.Addr, error) {
	m, from, err := c.Exchange(ctx, servers, name, TypeSOA)
	if err != nil {
		return "", netip.Addr{}, err
	}
	var soa *RR
	for _, sec := range [][]RR{m.Answers, m.Authority} {
		for i := range sec {
			if sec[i].Type == TypeSOA && soa == nil {
				soa = &sec[i]
			}
		}
	}
	if soa == nil {
		return "", netip.Addr{}, fmt.Errorf("dns update: no SOA for %s", name)
	}
	primary := from
	if a, _, err := c.Exchange(ctx, servers, soa.SOA.MName, TypeA); err == nil && a.RCode == RCodeSuccess {
		for _, rr := range a.Answers {
			if rr.Type == TypeA {
				primary = rr.Addr
				break
			}
		}
	}
	return soa.Name, primary, nil
}

// Register registers r's A records with RFC 2136 updates to the zone's
// primary:
//  1. if the name is not in use, add the records;
//  2. else if it already holds exactly these records, nothing to do;
//  3. else replace its A records (unless NoReplace: ErrUpdateConflict).
func (c *Client) Register(ctx context.Context, servers []netip.Addr, r Registration) error {
	if err := c.registerA(ctx, servers, r); err != nil {
		return err
	}
	if !r.PTR {
		return nil
	}
	// PTR records: the reverse name's records are simply replaced.
	for _, a := range r.Addrs {
		rev := ReverseName(a)
		zone, primary, err := c.FindZone(ctx, servers, rev)
		if err != nil {
			return fmt.Errorf("PTR %s: %w", rev, err)
		}
		m := &Message{Header: Header{Opcode: OpcodeUpdate},
			Questions: []Question{{Name: zone, Type: TypeSOA, Class: ClassIN}},
			Authority: []RR{{Name: rev, Type: TypePTR, Class: ClassANY},
				{Name: rev, Type: TypePTR, Class: ClassIN, TTL: r.TTL, Target: r.Name}}}
		resp, _, err := c.roundTrip(ctx, []netip.Addr{primary}, m, false)
		if err != nil {
			return fmt.Errorf("PTR %s: %w", rev, err)
		}
		if resp.RCode != RCodeSuccess {
			return fmt.Errorf("PTR %s: %w", rev, updateErr(resp.RCode))
		}
	}
	return nil
}

// registerA registers the A records (Register's steps 1 to 3).
func (c *Client) registerA(ctx context.Context, servers []netip.Addr, r Registration) error {
	zone, primary, err := c.FindZone(ctx, servers, r.Name)
	if err != nil {
		return err
	}
	var adds []RR
	for _, a := range r.Addrs {
		adds = append(adds, RR{Name: r.Name, Type: TypeA, Class: ClassIN, TTL: r.TTL, Addr: a})
	}
	update := func(prereq, upd []RR) (uint8, error) {
		m := &Message{Header: Header{Opcode: OpcodeUpdate},
			Questions: []Question{{Name: zone, Type: TypeSOA, Class: ClassIN}}, Answers: prereq, Authority: upd}
		resp, _, err := c.roundTrip(ctx, []netip.Addr{primary}, m, false)
		if err != nil {
			return 0, err
		}
		return resp.RCode, nil
	}
	// 1. Prerequisite "name is not in use" (RFC 2136 2.4.5).
	rc, err := update([]RR{{Name: r.Name, Type: TypeANY, Class: ClassNONE}}, adds)
	if err != nil || rc == RCodeSuccess {
		return err
	}
	if rc != RCodeYXDomain {
		return updateErr(rc)
	}
	// 2. Prerequisite "RRset exists (value dependent)" (2.4.2): ours.
	var same []RR
	for _, a := range adds {
		x := a
		x.TTL = 0
		same = append(same, x)
	}
	rc, err = update(same, nil)
	if err != nil || rc == RCodeSuccess {
		return err
	}
	if rc != RCodeNXRRSet {
		return updateErr(rc)
	}
	if r.NoReplace {
		return ErrUpdateConflict
	}
	// 3. Last writer wins: delete the A RRset (2.5.2), add ours.
	rc, err = update(nil, append([]RR{{Name: r.Name, Type: TypeA, Class: ClassANY}}, adds...))
	if err != nil || rc == RCodeSuccess {
		return err
	}
	return updateErr(rc)
}

func updateErr(rc uint8) error {
	if rc == RCodeRefused || rc == RCodeNotAuth || rc == RCodeNotImp {
		return fmt.Errorf("%w (rcode %d)", ErrUpdateRefused, rc)
	}
	return fmt.Errorf("dns update failed: rcode %d", rc)
}

// Registration timing (DNS-7): failed registrations are retried after 5
// and then 10 minutes, then at the refresh interval, which also spaces
// successful ones (DefaultRegistrationRefreshInterval, 24 h).
var registrationRetries = []time.Duration{5 * time.Minute, 10 * time.Minute}

// NextRegistration is the wait before the next attempt after failures
// consecutive failed ones (0 = the last one succeeded).
func NextRegistration(failures int, refresh time.Duration) time.Duration {
	if failures > 0 && failures <= len(registrationRetries) {
		return registrationRetries[failures-1]
	}
	return refresh
}

// Registrar keeps a host's registration fresh.
type Registrar struct {
	Client  *Client
	Servers []netip.Addr
	Reg     func() Registration
	Refresh time.Duration
	Logger  *slog.Logger

	mu       sync.Mutex
	timer    clock.Timer
	failures int
	stopped  bool
	last     error
	cancel   context.CancelFunc
	// attempted, if set, is called after each attempt (tests).
	attempted func()
}

// Start registers now (in the background) and keeps registering.
func (r *Registrar) Start() {
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	r.schedule(0)
}

func (r *Registrar) schedule(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.timer = r.Client.Clock.AfterFunc(d, func() { go r.attempt() })
}

func (r *Registrar) attempt() {
	ctx, cancel := context.WithCancel(context.Background())
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		cancel()
		return
	}
	r.cancel = cancel
	r.mu.Unlock()
	reg := r.Reg()
	err := r.Client.Register(ctx, r.Servers, reg)
	cancel()
	r.mu.Lock()
	r.last = err
	if err != nil {
		r.failures++
	} else {
		r.failures = 0
	}
	next := NextRegistration(r.failures, r.Refresh)
	if r.failures > len(registrationRetries) {
		r.failures = 0 // after the refresh wait, the retries start again
	}
	r.mu.Unlock()
	if err != nil {
		r.Logger.Warn("dns registration failed", "name", reg.Name, "err", err, "retry", next)
	} else {
		r.Logger.Info("dns registration", "name", reg.Name, "addrs", fmt.Sprint(reg.Addrs), "ttl", reg.TTL)
	}
	r.schedule(next)
	if r.attempted != nil {
		r.attempted()
	}
}

// Last is the result of the latest attempt.
func (r *Registrar) Last() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// Stop ends the registrations.
func (r *Registrar) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.cancel != nil {
		r.cancel()
	}
}
