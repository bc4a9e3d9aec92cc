package tenancy

import (
	"sync"
	"time"
)

// limiters are token buckets by key (a tenant id), in bounded memory: past
// maxLimiters keys, buckets idle for limiterIdle are dropped, and if that is
// not enough all are (a full bucket is what an idle key would have anyway).
type limiters struct {
	mu       sync.Mutex
	m        map[string]*bucket
	defaults func(key string) (rate, burst float64) // for spend/allows; nil when take passes them
}

type bucket struct {
	tokens      float64
	last        time.Time
	rate, burst float64
}

func newLimiters(defaults func(string) (float64, float64)) *limiters {
	return &limiters{m: map[string]*bucket{}, defaults: defaults}
}

// get returns key's bucket refilled to now; the caller holds l.mu.
func (l *limiters) get(key string, now time.Time, rate, burst float64) *bucket {
	b, ok := l.m[key]
	if !ok {
		if len(l.m) >= maxLimiters {
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

func (l *limiters) sweep(now time.Time) {
	for k, b := range l.m {
		if now.Sub(b.last) > limiterIdle {
			delete(l.m, k)
		}
	}
	if len(l.m) >= maxLimiters {
		clear(l.m)
	}
}

// take spends one token of key's bucket, or answers how long until one is there.
func (l *limiters) take(key string, now time.Time, rate, burst float64) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, now, rate, burst)
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second)), false
}

// allows says whether key's bucket (at its default rate) has a token, without spending it.
func (l *limiters) allows(key string, now time.Time) (time.Duration, bool) {
	rate, burst := l.defaults(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, now, rate, burst)
	if b.tokens >= 1 {
		return 0, true
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second)), false
}

// spend takes a token of key's bucket (at its default rate) if there is one.
func (l *limiters) spend(key string, now time.Time) {
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

// size is the number of keys held (tests).
func (l *limiters) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
