package stack

import (
	"fmt"
	"net/netip"

	"github.com/stapel-net/stapel/wire"
)

// conflictMessage is the ARP-9 event text.
func conflictMessage(ip netip.Addr, mac wire.MAC) string {
	return fmt.Sprintf("The system detected an address conflict for IP address %s with the system having network hardware address %s. Network operations on this system may be disrupted as a result.", ip, mac)
}

// startDADLocked sends ArpRetryCount gratuitous ARP requests for a, one
// second apart (SPEC ARP-7). The address is usable meanwhile; a reply
// (any ARP whose sender is a with a foreign MAC) before the last probe's
// second has passed disables it (ARP-8).
func (ifc *Interface) startDADLocked(a *ifAddr) {
	s := ifc.s
	if a.dadTimer != nil {
		a.dadTimer.Stop()
	}
	a.probing = true
	a.probesLeft = s.p.arpDADProbes
	ifc.probeLocked(a)
	a.dadTimer = s.clk.AfterFunc(dadProbeInterval, func() { ifc.dadTick(a) })
}

func (ifc *Interface) probeLocked(a *ifAddr) {
	a.probesLeft--
	ifc.gratuitousLocked(a.prefix.Addr(), ifc.mac)
}

// gratuitousLocked broadcasts an ARP request announcing ip at mac.
func (ifc *Interface) gratuitousLocked(ip netip.Addr, mac wire.MAC) {
	inc(&ifc.s.st.ARPOutRequests)
	ifc.sendARPLocked(wire.BroadcastMAC, &wire.ARP{Op: wire.ARPRequest, SenderMAC: mac, SenderIP: ip, TargetIP: ip})
}

func (ifc *Interface) dadTick(a *ifAddr) {
	s := ifc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if ifc.removed || !a.probing || ifc.ownsLocked(a.prefix.Addr()) != a {
		return
	}
	if a.probesLeft > 0 {
		ifc.probeLocked(a)
		a.dadTimer.Reset(dadProbeInterval)
		return
	}
	a.probing = false
	a.dadTimer = nil
	s.log.Debug("arp: duplicate address detection passed", "if", ifc.name, "ip", a.prefix.Addr())
}

// conflictLocked handles an ARP from another MAC claiming our address a.
func (ifc *Interface) conflictLocked(a *ifAddr, other wire.MAC) {
	s := ifc.s
	if a.state == addrConflict {
		return
	}
	inc(&s.st.ARPConflicts)
	ip := a.prefix.Addr()
	if a.probing {
		// SPEC ARP-8: at start-up the newcomer gives the address up, logs
		// the defender's MAC, and (AMB-4) re-announces the defender's
		// mapping so caches our probes overwrote are repaired.
		a.probing = false
		if a.dadTimer != nil {
			a.dadTimer.Stop()
			a.dadTimer = nil
		}
		a.state = addrConflict
		s.rebuildLocked()
		s.log.Error(conflictMessage(ip, other), "if", ifc.name, "ip", ip, "mac", other.String(),
			"action", "address disabled")
		ifc.gratuitousLocked(ip, other)
		return
	}
	// SPEC ARP-9: at run time we keep the address, log, and defend it at
	// most once per DEFEND_INTERVAL (RFC 5227) so two hosts cannot loop.
	now := s.clk.Now()
	if a.defendedYet && now.Sub(a.lastDefend) < arpDefendInterval {
		return
	}
	a.defendedYet, a.lastDefend = true, now
	s.log.Error(conflictMessage(ip, other), "if", ifc.name, "ip", ip, "mac", other.String(),
		"action", "address defended")
	ifc.gratuitousLocked(ip, ifc.mac)
}
