package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/aexp/aexp/search"
)

// resultCache remembers the objective of a training run by its run key
// (variant, params, training seed, dataset, epochs, batch size, limits)
// and the plugin binary's sha256. That is sound only because a run trained
// with one BLAS thread is deterministic: the same configuration and seed
// give the same val_loss to the last bit. The bench checks this every time
// (mnistCase re-trains a sample of what it took from the cache, and the
// engine's own sweeps re-train whole searches). With a file, entries are
// appended as JSON lines and read back by the next invocation.
type resultCache struct {
	mu      sync.Mutex
	plugin  string // sha256 of the plugin binary the values belong to
	vals    map[string]cacheEntry
	used    map[string]bool // keys read or written by this invocation
	f       *os.File
	hits    int
	trained int
}

type cacheEntry struct {
	Plugin string        `json:"plugin"`
	Key    string        `json:"key"`
	Config search.Config `json:"config"`
	Value  float64       `json:"value"`
}

// openCache loads path's entries for the plugin hash (others are stale:
// another build) and appends new ones to it; path "" keeps them in memory.
func openCache(path, plugin string) (*resultCache, error) {
	c := &resultCache{plugin: plugin, vals: map[string]cacheEntry{}, used: map[string]bool{}}
	if path == "" {
		return c, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var e cacheEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s:%d: %v (delete the file to start over)", path, line, err)
		}
		if e.Plugin == plugin {
			c.vals[e.Key] = e
		}
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return nil, err
	}
	c.f = f
	return c, nil
}

func (c *resultCache) get(key string) (float64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.vals[key]
	if ok {
		c.hits++
		c.used[key] = true
	}
	return e.Value, ok
}

func (c *resultCache) put(key string, cfg search.Config, v float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := cacheEntry{Plugin: c.plugin, Key: key, Config: cfg, Value: v}
	c.vals[key] = e
	c.used[key] = true
	c.trained++
	if c.f == nil {
		return nil
	}
	b, _ := json.Marshal(e)
	_, err := c.f.Write(append(b, '\n'))
	return err
}

func (c *resultCache) close() {
	if c.f != nil {
		c.f.Close()
	}
}
