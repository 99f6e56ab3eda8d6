package config

// Dnscache holds the DNS client cache parameters, registry key
// Dnscache\Parameters, TOML table [Dnscache.Parameters].
type Dnscache struct {
	// Seconds to skip an adapter whose DNS servers all timed out.
	AdapterTimeoutCacheTime int
	// Rows of the DNS cache hash table (a prime).
	CacheHashTableSize int
	// Entries per DNS cache hash row.
	CacheHashTableBucketSize int
	// Seconds between dynamic DNS registration refreshes.
	DefaultRegistrationRefreshInterval int
	// Cap in seconds on a cached record's TTL.
	MaxCacheEntryTtlLimit int
	// Cap in seconds on a cached SOA record's TTL.
	MaxSOACacheEntryTtlLimit int
	// Seconds a negative answer is cached.
	NegativeCacheTime int
	// Seconds a negative SOA answer is cached.
	NegativeSOACacheTime int
	// Pop up a message when DNS servers are unreachable (Stapel logs instead).
	NetFailureErrorPopupLimit bool
	// Seconds all queries fail at once after every server timed out.
	NetFailureCacheTime int
}

func defaultDnscache() Dnscache {
	return Dnscache{
		AdapterTimeoutCacheTime:            300,
		CacheHashTableSize:                 211,
		CacheHashTableBucketSize:           10,
		DefaultRegistrationRefreshInterval: 86400,
		MaxCacheEntryTtlLimit:              86400,
		MaxSOACacheEntryTtlLimit:           120,
		NegativeCacheTime:                  300,
		NegativeSOACacheTime:               120,
		NetFailureCacheTime:                30,
	}
}
