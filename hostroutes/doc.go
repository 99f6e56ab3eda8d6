// Package hostroutes is the route cache for host routes learned from ICMP:
// one entry (the whitepaper's RCE) per destination, carrying the path MTU
// learned from "fragmentation needed" (RFC 1191) and the gateway learned
// from a redirect.
//
// It designs out the defect of KB 898060 (SPEC §19): Windows kept a count
// of ICMP-created host routes beside the table, an MTU change to an
// existing route adjusted that count wrongly, the count crept up to
// MaxIcmpHostRoutes and from then on every ICMP update was ignored. Here
//
//   - the count is len(map): there is no counter to drift (KB-3, KB-4);
//   - modifying an entry never changes the count and never evicts;
//   - creating an entry in a full table evicts the least recently used
//     entry, so an ICMP update is never ignored for lack of room. This
//     deliberately differs from the KB's "ignored when the limit is
//     reached" (SPEC ICMP-6): losing an old, idle route costs one extra
//     round of PMTU discovery, losing the new one kills a connection;
//   - entries expire: a redirect after RedirectLifetime (10 min, ICMP-3),
//     a PMTU estimate after PMTUAgeInterval (10 min, RFC 1191 §3/§6.3), so
//     the next datagram probes the interface MTU again. An entry with
//     neither left is removed.
//
// Expiry is lazy on access plus Sweep, which the stack calls from a timer
// (NextExpiry says when). All expiry lists are kept in deadline order, so
// Sweep and NextExpiry cost O(expired) and O(1).
//
// The table is safe for concurrent use; it is control-plane state behind
// one mutex. Lookup and updates of existing entries do not allocate.
package hostroutes
