// Package sim simulates an internetwork in one process on a virtual
// clock: broadcast segments (learning switches) with per-segment MTU and
// impairments, and ports that are ordinary link.Endpoints, so the same
// stack code runs here as on a TAP device. Hosts and routers are stacks
// attached to ports; sim does not know about them.
//
// Everything random is derived from the network's seed, and all delivery
// happens in virtual-clock callbacks, so a run replays exactly.
package sim

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/stapel-net/stapel/clock"
	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// Epoch is where every simulation's clock starts (Windows 2000's release
// day), so captures and logs of a run are identical.
var Epoch = time.Date(2000, 2, 17, 0, 0, 0, 0, time.UTC)

// SeedEnv names the environment variable that overrides test seeds.
const SeedEnv = "STAPEL_SIM_SEED"

// Network is one simulated internetwork.
type Network struct {
	clk  *clock.Virtual
	seed int64

	mu       sync.Mutex
	segments []*Segment
}

// NewNetwork returns an empty network whose clock reads Epoch.
func NewNetwork(seed int64) *Network {
	return &Network{clk: clock.NewVirtual(Epoch), seed: seed}
}

// TB is the part of testing.TB that ForTest needs.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Failed() bool
	Cleanup(func())
}

// ForTest returns a network for a test. The seed is taken from
// $STAPEL_SIM_SEED when set (to replay a failure), and printed if the test
// fails.
func ForTest(t TB, seed int64) *Network {
	t.Helper()
	if s := os.Getenv(SeedEnv); s != "" {
		if v, err := strconv.ParseInt(s, 0, 64); err == nil {
			seed = v
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sim: seed %d (replay with %s=%d)", seed, SeedEnv, seed)
		}
	})
	return NewNetwork(seed)
}

// Clock is the network's virtual clock; give it to every stack in the run.
func (n *Network) Clock() *clock.Virtual { return n.clk }

// Seed is the seed the network was made with.
func (n *Network) Seed() int64 { return n.seed }

// Now is the current virtual time.
func (n *Network) Now() time.Time { return n.clk.Now() }

// Elapsed is the virtual time since the start.
func (n *Network) Elapsed() time.Duration { return n.clk.Now().Sub(Epoch) }

// Run advances virtual time by d, running everything that falls due.
func (n *Network) Run(d time.Duration) { n.clk.Advance(d) }

// RunUntil runs events one at a time until cond holds, or until limit of
// virtual time has passed. It reports whether cond held. cond is checked
// after every event, so the time at which it became true is exact.
func (n *Network) RunUntil(cond func() bool, limit time.Duration) bool {
	end := n.clk.Now().Add(limit)
	for idle := 0; ; {
		if cond() {
			return true
		}
		next, ok := n.clk.Next()
		if !ok || next.After(end) {
			// Give goroutines outside the simulation (an application
			// blocked on a socket) a chance to schedule something.
			if idle < 3 {
				idle++
				runtime.Gosched()
				time.Sleep(time.Duration(idle) * time.Millisecond)
				continue
			}
			n.clk.AdvanceTo(end)
			return cond()
		}
		idle = 0
		n.clk.Step()
	}
}

// NewSegment adds a broadcast segment (one learning switch) whose ports
// carry IP datagrams up to mtu bytes; frames written to any of its ports
// get the impairments faults (applied once per frame, on entry).
func (n *Network) NewSegment(name string, mtu int, faults link.FaultConfig) *Segment {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := &Segment{net: n, name: name, mtu: mtu, faults: faults, index: len(n.segments),
		fdb: map[wire.MAC]fdbEntry{}}
	n.segments = append(n.segments, s)
	return s
}

// Segments lists the segments in creation order.
func (n *Network) Segments() []*Segment {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*Segment(nil), n.segments...)
}

// MAC returns the i-th deterministic station address: unicast, locally
// administered, 02:00:00:00:00:00 + i.
func MAC(i int) wire.MAC {
	return wire.MAC{0x02, 0x00, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
}

// subSeed derives an independent seed for component (a, b) (splitmix64).
func subSeed(seed int64, a, b int) int64 {
	z := uint64(seed) + 0x9e3779b97f4a7c15*uint64(a<<20|b+1)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return int64(z ^ z>>31)
}

func (n *Network) String() string {
	return fmt.Sprintf("sim.Network(seed %d, %d segments, t+%v)", n.seed, len(n.Segments()), n.Elapsed())
}
