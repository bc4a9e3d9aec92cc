// Package ratelimit is token buckets by key in bounded memory: the SCIM
// guard's per-tenant rate limit and the failed-authentication budgets
// (per source address and global) of the SCIM guard and the admin API.
package ratelimit

import (
	"sync"
	"time"
)

// Limits on the map: beyond MaxKeys keys, idle ones are dropped.
const (
	MaxKeys = 10_000
	idle    = time.Minute
)

// Buckets are token buckets by key, in bounded memory: past MaxKeys keys,
// buckets idle for a minute are dropped, and if that is not enough all are
// (a full bucket is what an idle key would have anyway). Keys a client can
// choose (tenant ids, source addresses) therefore never grow it unbounded.
type Buckets struct {
	mu       sync.Mutex
	m        map[string]*bucket
	defaults func(key string) (rate, burst float64) // for spend/allows; nil when take passes them
}

type bucket struct {
	tokens      float64
	last        time.Time
	rate, burst float64
}

// New returns empty buckets; defaults gives the rate and burst of Allows
// and Spend (nil when only Take, which passes them, is used).
func New(defaults func(key string) (rate, burst float64)) *Buckets {
	return &Buckets{m: map[string]*bucket{}, defaults: defaults}
}

// get returns key's bucket refilled to now; the caller holds l.mu.
func (l *Buckets) get(key string, now time.Time, rate, burst float64) *bucket {
	b, ok := l.m[key]
	if !ok {
		if len(l.m) >= MaxKeys {
			l.sweep(now)
		}
		b = &bucket{tokens: burst, last: now, rate: rate, burst: burst}
		l.m[key] = b
		return b
	}
	b.rate, b.burst = rate, burst // a changed setting applies at once
	if d := now.Sub(b.last); d > 0 {
		b.tokens += d.Seconds() * rate
		b.last = now
	}
	if b.tokens > burst {
		b.tokens = burst
	}
	return b
}

func (l *Buckets) sweep(now time.Time) {
	for k, b := range l.m {
		if now.Sub(b.last) > idle {
			delete(l.m, k)
		}
	}
	if len(l.m) >= MaxKeys {
		clear(l.m)
	}
}

// Take spends one token of key's bucket, or answers how long until one is there.
func (l *Buckets) Take(key string, now time.Time, rate, burst float64) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, now, rate, burst)
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second)), false
}

// Allows says whether key's bucket (at its default rate) has a token, without spending it.
func (l *Buckets) Allows(key string, now time.Time) (time.Duration, bool) {
	rate, burst := l.defaults(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, now, rate, burst)
	if b.tokens >= 1 {
		return 0, true
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second)), false
}

// Spend takes a token of key's bucket (at its default rate) if there is one.
func (l *Buckets) Spend(key string, now time.Time) {
	rate, burst := l.defaults(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, now, rate, burst)
	if b.tokens >= 1 {
		b.tokens--
	} else {
		b.tokens = 0
	}
}

// Size is the number of keys held.
func (l *Buckets) Size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
