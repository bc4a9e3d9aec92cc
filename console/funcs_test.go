package console

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestMoney(t *testing.T) {
	for cents, want := range map[int64]string{0: "$0.00", 5: "$0.05", 123456: "$1,234.56", 100000000: "$1,000,000.00", -2500: "−$25.00"} {
		assert.Equal(t, want, money(cents), cents)
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, "never", ago((*time.Time)(nil), now))
	assert.Equal(t, "just now", ago(now.Add(-10*time.Second), now))
	assert.Equal(t, "1 minute ago", ago(now.Add(-time.Minute), now))
	assert.Equal(t, "5 hours ago", ago(now.Add(-5*time.Hour), now))
	assert.Equal(t, "3 days ago", ago(now.Add(-72*time.Hour), now))
	assert.Equal(t, "in 2 days", ago(now.Add(49*time.Hour), now))
}

func TestCSRFToken_boundToTheSession(t *testing.T) {
	a, b := csrfToken("rss_a"), csrfToken("rss_b")
	assert.NotEqual(t, a, b)
	assert.Equal(t, a, csrfToken("rss_a"), "every process computes the same token")
	assert.Len(t, a, 43)
}
