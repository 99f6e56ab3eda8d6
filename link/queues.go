package link

// ConcurrentDispatcher is a Dispatcher that accepts callbacks from
// several goroutines at once, when ConcurrentDelivery reports true. An
// endpoint with several receive queues (a multiqueue TAP) then delivers
// from each queue without serialising, so flows spread across cores.
// Frames of one flow come from one queue, in order, once the endpoint has
// sent on that flow (a TAP steers a flow to the queue we write it on), and
// LinkStateChanged never overlaps a delivery. Every other Dispatcher
// keeps the one-callback-at-a-time guarantee.
type ConcurrentDispatcher interface {
	Dispatcher
	ConcurrentDelivery() bool
}
