package stack

// loopback carries datagrams to our own addresses (SPEC IP-16) and copies
// of our broadcasts. Delivery is asynchronous, through the clock, so a
// transport that sends while handling a packet is never re-entered.
type loopback struct {
	s         *Stack
	q         [][]byte // guarded by s.mu
	scheduled bool
	free      [][]byte
}

func (l *loopback) init(s *Stack) { l.s = s }

// enqueueLocked copies datagram d onto the queue.
func (l *loopback) enqueueLocked(d []byte) {
	s := l.s
	if len(l.q) >= s.p.loopbackQueueLen {
		inc(&s.st.IPLoopbackDrops)
		inc(&s.st.IPOutDiscards)
		return
	}
	var b []byte
	if n := len(l.free); n > 0 && cap(l.free[n-1]) >= len(d) {
		b = l.free[n-1][:len(d)]
		l.free = l.free[:n-1]
	} else {
		b = make([]byte, len(d), max(len(d), 2048))
	}
	copy(b, d)
	l.q = append(l.q, b)
	if !l.scheduled {
		l.scheduled = true
		s.clk.AfterFunc(0, l.drain)
	}
}

// drain delivers queued datagrams in order, each as if received on the
// internal loopback interface.
func (l *loopback) drain() {
	s := l.s
	for {
		s.mu.Lock()
		if len(l.q) == 0 {
			l.scheduled = false
			s.mu.Unlock()
			return
		}
		b := l.q[0]
		l.q[0] = nil
		l.q = l.q[1:]
		var d delivery
		ok := s.ipInputLocked(nil, false, b, &d)
		s.mu.Unlock()
		if ok {
			s.deliver(&d)
		}
		s.mu.Lock()
		if len(l.free) < 16 && cap(b) <= 4096 {
			l.free = append(l.free, b)
		}
		s.mu.Unlock()
	}
}
