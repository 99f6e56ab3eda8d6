package dns

import (
	"hash/maphash"
	"sort"
	"sync"
	"time"
)

// CacheLimits are the Dnscache parameters (DNS-6), in seconds.
type CacheLimits struct {
	MaxTTL         int // MaxCacheEntryTtlLimit
	MaxSOATTL      int // MaxSOACacheEntryTtlLimit
	NegativeTTL    int // NegativeCacheTime
	NegativeSOATTL int // NegativeSOACacheTime
	Buckets        int // CacheHashTableSize
	BucketSize     int // CacheHashTableBucketSize
}

// DefaultCacheLimits are the whitepaper's defaults.
var DefaultCacheLimits = CacheLimits{MaxTTL: 86400, MaxSOATTL: 120, NegativeTTL: 300, NegativeSOATTL: 120,
	Buckets: 211, BucketSize: 10}

// CacheEntry is one cached answer: the records for (Name, Type), or a
// negative answer (Negative: RCode NXDOMAIN = the name does not exist,
// else no record of the type).
type CacheEntry struct {
	Name     string    `json:"name"`
	Type     uint16    `json:"type"`
	Records  []RR      `json:"records,omitempty"`
	Negative bool      `json:"negative,omitempty"`
	RCode    uint8     `json:"rcode,omitempty"`
	Expires  time.Time `json:"expires"`
	// TTL is the remaining lifetime in seconds when listed.
	TTL uint32 `json:"ttl"`
}

// Cache is the resolver cache: a fixed hash table of Buckets rows, each
// holding at most BucketSize entries, so it never grows past
// Buckets×BucketSize; a full row evicts its expired entries, else the one
// closest to expiry.
type Cache struct {
	lim  CacheLimits
	seed maphash.Seed
	mu   sync.Mutex
	rows [][]*CacheEntry
}

// NewCache makes an empty cache; zero limits take the defaults.
func NewCache(lim CacheLimits) *Cache {
	d := DefaultCacheLimits
	if lim.Buckets <= 0 {
		lim.Buckets = d.Buckets
	}
	if lim.BucketSize <= 0 {
		lim.BucketSize = d.BucketSize
	}
	return &Cache{lim: lim, seed: maphash.MakeSeed(), rows: make([][]*CacheEntry, lim.Buckets)}
}

func (c *Cache) row(name string) int {
	return int(maphash.String(c.seed, name) % uint64(len(c.rows)))
}

// Get returns the live entry for (name, qtype).
func (c *Cache) Get(name string, qtype uint16, now time.Time) (CacheEntry, bool) {
	name = CanonicalName(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.rows[c.row(name)] {
		if e.Name == name && e.Type == qtype && now.Before(e.Expires) {
			out := *e
			out.TTL = remaining(e.Expires, now)
			return out, true
		}
	}
	return CacheEntry{}, false
}

func remaining(exp, now time.Time) uint32 {
	return uint32((exp.Sub(now) + time.Second - 1) / time.Second)
}

// PutPositive caches records answering (name, qtype) for the smallest
// record TTL, capped by MaxCacheEntryTtlLimit, or MaxSOACacheEntryTtlLimit
// for an SOA answer (DNS-6). A zero TTL is not cached.
func (c *Cache) PutPositive(name string, qtype uint16, rrs []RR, now time.Time) {
	if len(rrs) == 0 {
		return
	}
	ttl := uint32(1<<32 - 1)
	for _, r := range rrs {
		ttl = min(ttl, r.TTL)
	}
	limit := c.lim.MaxTTL
	if qtype == TypeSOA {
		limit = c.lim.MaxSOATTL
	}
	ttl = min(ttl, uint32(max(limit, 0)))
	if ttl == 0 {
		return
	}
	c.put(&CacheEntry{Name: CanonicalName(name), Type: qtype, Records: rrs, Expires: now.Add(time.Duration(ttl) * time.Second)})
}

// PutNegative caches a name error or an empty answer for
// NegativeCacheTime (NegativeSOACacheTime for an SOA question) (DNS-6).
func (c *Cache) PutNegative(name string, qtype uint16, rcode uint8, now time.Time) {
	ttl := c.lim.NegativeTTL
	if qtype == TypeSOA {
		ttl = c.lim.NegativeSOATTL
	}
	if ttl <= 0 {
		return
	}
	c.put(&CacheEntry{Name: CanonicalName(name), Type: qtype, Negative: true, RCode: rcode,
		Expires: now.Add(time.Duration(ttl) * time.Second)})
}

// put stores e, replacing an entry for the same name and type.
func (c *Cache) put(e *CacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.row(e.Name)
	r := c.rows[i]
	for j, old := range r {
		if old.Name == e.Name && old.Type == e.Type {
			r[j] = e
			return
		}
	}
	if len(r) >= c.lim.BucketSize {
		// Evict: the entry closest to expiry (an expired one first, as
		// it expires earliest).
		v := 0
		for j := range r {
			if r[j].Expires.Before(r[v].Expires) {
				v = j
			}
		}
		r = append(r[:v], r[v+1:]...)
	}
	c.rows[i] = append(r, e)
}

// Entries lists the live entries sorted by name and type, with their
// remaining TTL, dropping the expired ones on the way.
func (c *Cache) Entries(now time.Time) []CacheEntry {
	c.mu.Lock()
	var out []CacheEntry
	for i, r := range c.rows {
		live := r[:0]
		for _, e := range r {
			if now.Before(e.Expires) {
				live = append(live, e)
				x := *e
				x.TTL = remaining(e.Expires, now)
				out = append(out, x)
			}
		}
		clear(r[len(live):])
		c.rows[i] = live
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// Len is the number of entries held (live or not yet swept).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.rows {
		n += len(r)
	}
	return n
}

// Flush empties the cache (ipconfig /flushdns).
func (c *Cache) Flush() {
	c.mu.Lock()
	for i := range c.rows {
		c.rows[i] = nil
	}
	c.mu.Unlock()
}
