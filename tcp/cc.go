package tcp

import (
	"math"
	"time"
)

// congestionControl is the pluggable part of the sender (TCP-CC-1/2):
// RFC 5681 Reno (the whitepaper's) and RFC 9438 CUBIC, chosen by
// Params.CongestionControl. Loss recovery itself (NewReno window
// inflation, RFC 6675 pipe) is done by the connection, not here.
type congestionControl interface {
	// init sets the initial window for a new connection (iw segments).
	init(mss, iw int)
	// onAck is called for newly acknowledged bytes outside recovery.
	onAck(acked, mss int, now time.Time, srtt time.Duration)
	// onCongestion is called on entering loss recovery: it sets
	// ssthresh and cwnd = ssthresh.
	onCongestion(flight, mss int, now time.Time)
	// onRecoveryExit is called when a full ACK ends recovery.
	onRecoveryExit()
	// onTimeout is called when the retransmission timer expires.
	onTimeout(flight, mss int, now time.Time)
	// window returns the congestion window in bytes.
	window() int
	// threshold returns the slow-start threshold.
	threshold() int
}

// Congestion control names for Params.CongestionControl.
const (
	CCReno  = "reno"
	CCCubic = "cubic"
)

// newCC returns the algorithm Params name; normalize has vetted it.
func newCC(name string) congestionControl {
	if name == CCCubic {
		return &cubic{}
	}
	return &reno{}
}

// reno is RFC 5681 slow start and congestion avoidance.
type reno struct {
	cwnd, ssthresh int
	acc            int // bytes acknowledged toward the next +1 MSS in avoidance
}

func (r *reno) init(mss, iw int) {
	r.cwnd = iw * mss
	r.ssthresh = 1 << 30
}

func (r *reno) onAck(acked, mss int, _ time.Time, _ time.Duration) {
	if r.cwnd < r.ssthresh {
		r.cwnd += min(acked, mss) // slow start
		return
	}
	r.acc += acked // congestion avoidance: +1 MSS per window of ACKs
	if r.acc >= r.cwnd {
		r.acc -= r.cwnd
		r.cwnd += mss
	}
}

func (r *reno) onCongestion(flight, mss int, _ time.Time) {
	r.ssthresh = max(flight/2, 2*mss)
	r.cwnd = r.ssthresh
	r.acc = 0
}

func (r *reno) onRecoveryExit() { r.acc = 0 }

func (r *reno) onTimeout(flight, mss int, _ time.Time) {
	r.ssthresh = max(flight/2, 2*mss)
	r.cwnd = mss
	r.acc = 0
}

func (r *reno) window() int    { return r.cwnd }
func (r *reno) threshold() int { return r.ssthresh }

// cubic is RFC 9438 CUBIC: after a loss the window follows a cubic
// function of the time since the loss, centred on the window where the
// loss happened (wMax), and never grows slower than Reno would (the
// Reno-friendly estimate wEst). Windows are kept in segments as floats.
type cubic struct {
	mss        float64
	cwnd       float64 // segments
	ssthresh   float64 // segments
	wMax       float64 // window before the last reduction
	k          float64 // seconds until the cubic reaches wMax again
	epoch      time.Time
	wEst       float64
	cwndEpoch  float64
	everReduce bool
}

const (
	cubicC    = 0.4 // RFC 9438 §5: C
	cubicBeta = 0.7 // RFC 9438 §4.6: β_cubic
)

func (c *cubic) init(mss, iw int) {
	c.mss = float64(mss)
	c.cwnd = float64(iw)
	c.ssthresh = math.MaxInt32
}

func (c *cubic) onAck(acked, mss int, now time.Time, srtt time.Duration) {
	c.mss = float64(mss)
	segs := float64(acked) / c.mss
	if c.cwnd < c.ssthresh {
		// Slow start with appropriate byte counting (RFC 3465, L = 2).
		c.cwnd += min(segs, 2)
		return
	}
	if c.epoch.IsZero() {
		c.epoch = now
		c.cwndEpoch = c.cwnd
		if c.wMax > c.cwnd {
			c.k = math.Cbrt((c.wMax - c.cwnd) / cubicC)
		} else {
			c.k, c.wMax = 0, c.cwnd
		}
		c.wEst = c.cwnd
	}
	t := now.Sub(c.epoch).Seconds()
	rtt := srtt.Seconds()
	// Reno-friendly region (§4.3): α_cubic until wEst passes wMax, then 1.
	alpha := 3 * (1 - cubicBeta) / (1 + cubicBeta)
	if c.wEst >= c.wMax {
		alpha = 1
	}
	c.wEst += alpha * segs / c.cwnd
	if w := c.wCubic(t); w < c.wEst {
		c.cwnd = c.wEst
		return
	}
	// Concave/convex region (§4.4, §4.5): aim at W_cubic one RTT ahead.
	target := min(max(c.wCubic(t+rtt), c.cwnd), 1.5*c.cwnd)
	c.cwnd += (target - c.cwnd) / c.cwnd * segs
}

func (c *cubic) wCubic(t float64) float64 {
	d := t - c.k
	return cubicC*d*d*d + c.wMax
}

// reduce is §4.6 multiplicative decrease with fast convergence (§4.7).
func (c *cubic) reduce(flight, mss int) {
	c.mss = float64(mss)
	cur := c.cwnd
	if f := float64(flight) / c.mss; f > 0 && f < cur {
		cur = f // the window was not in use: reduce from what was
	}
	if c.everReduce && cur < c.wMax {
		c.wMax = cur * (1 + cubicBeta) / 2
	} else {
		c.wMax = cur
	}
	c.everReduce = true
	c.ssthresh = max(cur*cubicBeta, 2)
	c.epoch = time.Time{}
}

func (c *cubic) onCongestion(flight, mss int, _ time.Time) {
	c.reduce(flight, mss)
	c.cwnd = c.ssthresh
}

func (c *cubic) onRecoveryExit() {}

func (c *cubic) onTimeout(flight, mss int, _ time.Time) {
	c.reduce(flight, mss)
	c.cwnd = 1
}

func (c *cubic) window() int    { return int(c.cwnd * c.mss) }
func (c *cubic) threshold() int { return int(min(c.ssthresh*c.mss, math.MaxInt32)) }
