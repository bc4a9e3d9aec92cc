package ratelimit

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestLimiters_boundedMemory proves that keys sprayed by a client (random
// tenant ids) never grow the limiter map beyond MaxKeys.
func TestLimiters_boundedMemory(t *testing.T) {
	l := New(func(string) (float64, float64) { return 1, 2 })
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 * MaxKeys {
		l.Spend(fmt.Sprintf("tenant-%d", i), now.Add(time.Duration(i)*time.Millisecond))
		if l.Size() > MaxKeys {
			t.Fatalf("%d keys held after %d spends", l.Size(), i+1)
		}
	}
	assert.LessOrEqual(t, l.Size(), MaxKeys)
}

// TestLimiters_tokenBucket: burst, refill at the rate, and the wait answered.
func TestLimiters_tokenBucket(t *testing.T) {
	l := New(nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 4 {
		_, ok := l.Take("a", now, 4, 4)
		assert.True(t, ok, "burst %d", i)
	}
	wait, ok := l.Take("a", now, 4, 4)
	assert.False(t, ok)
	assert.Equal(t, 250*time.Millisecond, wait)
	_, ok = l.Take("a", now.Add(250*time.Millisecond), 4, 4)
	assert.True(t, ok, "one token back after 1/rate")
	_, ok = l.Take("a", now.Add(time.Hour), 4, 4)
	assert.True(t, ok)
	n := 0
	for {
		if _, ok := l.Take("a", now.Add(time.Hour), 4, 4); !ok {
			break
		}
		n++
	}
	assert.Equal(t, 3, n, "refill never exceeds the burst")
}
