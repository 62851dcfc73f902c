package aws

import (
	"sync"
	"time"
)

// readCache keeps answers of AWS reads for a short while: the CLI's followers
// poll every 100 to 200 ms, and AWS's read APIs allow a few calls a second per
// account. An answer is reused only within ttl of when it was read.
type readCache[V any] struct {
	mu      sync.Mutex
	entries map[string]cached[V]
}

type cached[V any] struct {
	value V
	at    time.Time
}

// get returns the value read for key within ttl of now.
func (c *readCache[V]) get(key string, now time.Time, ttl time.Duration) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.Sub(e.at) >= ttl {
		var zero V
		return zero, false
	}
	return e.value, true
}

func (c *readCache[V]) put(key string, now time.Time, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cached[V]{}
	}
	c.entries[key] = cached[V]{value: v, at: now}
}

func (c *readCache[V]) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = nil
}

// forget drops key: what was read before a change is stale after it.
func (c *readCache[V]) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}
