package tcp

import (
	"sync"
)

// connTable is the demultiplexing table, split into partitions with their
// own locks (NumTcbTablePartitions, TCP-3) so inbound lookups on different
// connections do not contend. Inserts and removals happen with
// Protocol.mu held (lock order Protocol.mu → partition.mu); lookups take
// only the partition lock.
type connTable struct {
	parts []tablePart
	mask  uint32
}

type tablePart struct {
	mu sync.Mutex
	m  map[connID]*Conn
}

func newConnTable(partitions int) connTable {
	n := 1
	for n < partitions && n < 1<<10 {
		n <<= 1
	}
	t := connTable{parts: make([]tablePart, n), mask: uint32(n - 1)}
	for i := range t.parts {
		t.parts[i].m = make(map[connID]*Conn)
	}
	return t
}

func (t *connTable) part(id connID) *tablePart {
	l, r := id.local.Addr().As4(), id.remote.Addr().As4()
	h := uint32(id.local.Port())<<16 | uint32(id.remote.Port())
	h ^= uint32(r[0])<<24 | uint32(r[1])<<16 | uint32(r[2])<<8 | uint32(r[3])
	h ^= uint32(l[3]) << 8
	h *= 0x9e3779b1
	return &t.parts[(h>>16)&t.mask]
}

func (t *connTable) get(id connID) *Conn {
	p := t.part(id)
	p.mu.Lock()
	c := p.m[id]
	p.mu.Unlock()
	return c
}

// put inserts c unless the tuple is taken; Protocol.mu is held.
func (t *connTable) put(c *Conn) bool {
	p := t.part(c.id)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.m[c.id]; ok {
		return false
	}
	p.m[c.id] = c
	return true
}

// remove deletes c if it is the entry for its tuple; Protocol.mu is held.
func (t *connTable) remove(c *Conn) bool {
	p := t.part(c.id)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m[c.id] != c {
		return false
	}
	delete(p.m, c.id)
	return true
}

func (t *connTable) all() []*Conn {
	var out []*Conn
	for i := range t.parts {
		p := &t.parts[i]
		p.mu.Lock()
		for _, c := range p.m {
			out = append(out, c)
		}
		p.mu.Unlock()
	}
	return out
}
