package tcp

// congestionControl is the pluggable part of the sender (TCP-CC-1/2).
// Reno now; CUBIC can implement the same interface. Fast-recovery window
// inflation (RFC 6582) is done by the connection, not here.
type congestionControl interface {
	// init sets the initial window for a new connection.
	init(mss int)
	// onAck is called for newly acknowledged bytes outside recovery.
	onAck(acked, mss int)
	// onFastRetransmit is called on entering fast recovery.
	onFastRetransmit(flight, mss int)
	// onRecoveryExit is called when a full ACK ends fast recovery.
	onRecoveryExit()
	// onTimeout is called when the retransmission timer expires.
	onTimeout(flight, mss int)
	// window returns the congestion window in bytes.
	window() int
	// threshold returns the slow-start threshold.
	threshold() int
}

// initialWindowSegments is TCP-CC-1: start with 2 segments so the
// receiver's delayed-ACK timer need not fire.
const initialWindowSegments = 2

// reno is RFC 5681 slow start and congestion avoidance.
type reno struct {
	cwnd, ssthresh int
	acc            int // bytes acknowledged toward the next +1 MSS in avoidance
}

func (r *reno) init(mss int) {
	r.cwnd = initialWindowSegments * mss
	r.ssthresh = 1 << 30
}

func (r *reno) onAck(acked, mss int) {
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

func (r *reno) onFastRetransmit(flight, mss int) {
	r.ssthresh = max(flight/2, 2*mss)
	r.cwnd = r.ssthresh
	r.acc = 0
}

func (r *reno) onRecoveryExit() { r.acc = 0 }

func (r *reno) onTimeout(flight, mss int) {
	r.ssthresh = max(flight/2, 2*mss)
	r.cwnd = mss
	r.acc = 0
}

func (r *reno) window() int    { return r.cwnd }
func (r *reno) threshold() int { return r.ssthresh }
