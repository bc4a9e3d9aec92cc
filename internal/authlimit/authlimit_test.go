package authlimit_test

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/internal/authlimit"
	"github.com/roster-dev/roster/internal/ratelimit"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestBudget_perSourceAndGlobal: one source's failures spend its own
// allowance and the global one, never another source's.
func TestBudget_perSourceAndGlobal(t *testing.T) {
	b := authlimit.NewBudget(2, 5) // bursts 4 and 10
	for range 4 {
		_, ok := b.Allows("a", t0)
		require.True(t, ok)
		b.Spend("a", t0)
	}
	wait, ok := b.Allows("a", t0)
	assert.False(t, ok, "a's burst is spent")
	assert.Equal(t, 500*time.Millisecond, wait)
	_, ok = b.Allows("b", t0)
	assert.True(t, ok, "b has its own allowance")
	for i := range 6 {
		b.Spend(fmt.Sprintf("s%d", i), t0)
	}
	_, ok = b.Allows("c", t0)
	assert.False(t, ok, "10 failures in all spend the global burst")
	_, ok = b.Allows("c", t0.Add(time.Second))
	assert.True(t, ok, "and it refills")
}

// TestBudget_boundedMemory: failures from more addresses than the map holds
// never grow it beyond ratelimit.MaxKeys.
func TestBudget_boundedMemory(t *testing.T) {
	b := authlimit.NewBudget(1, 0)
	for i := range 3 * ratelimit.MaxKeys {
		b.Spend(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), t0.Add(time.Duration(i)*time.Microsecond))
		require.LessOrEqual(t, b.Sources(), ratelimit.MaxKeys)
	}
}

// TestSources: the peer address by default, whatever the headers say; the
// forwarded client only behind a trusted proxy; IPv6 by /64.
func TestSources(t *testing.T) {
	trusted, err := authlimit.ParseTrustedProxies("10.0.0.0/8, 192.168.1.7 ,fd00::/8")
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		trusted         bool
		remote, xff, fw string
		want            string
	}{
		"peer":                          {false, "198.51.100.7:443", "", "", "198.51.100.7"},
		"forged header, no trust":       {false, "198.51.100.7:443", "1.2.3.4", "", "198.51.100.7"},
		"forged header, untrusted peer": {true, "198.51.100.7:443", "1.2.3.4", "", "198.51.100.7"},
		"trusted proxy":                 {true, "10.1.2.3:443", "203.0.113.9", "", "203.0.113.9"},
		"chain, rightmost untrusted":    {true, "10.1.2.3:443", "1.2.3.4, 203.0.113.9, 192.168.1.7", "", "203.0.113.9"},
		"all trusted":                   {true, "10.1.2.3:443", "10.9.9.9", "", "10.9.9.9"},
		"no header behind proxy":        {true, "10.1.2.3:443", "", "", "10.1.2.3"},
		"garbled hop":                   {true, "10.1.2.3:443", "203.0.113.9, junk", "", "10.1.2.3"},
		"Forwarded":                     {true, "10.1.2.3:443", "", `for=192.0.2.60;proto=https, for="[2001:db8:1:2::7]:4711"`, "2001:db8:1:2::/64"},
		"IPv6 peer by /64":              {false, "[2001:db8:1:2:aaaa::1]:443", "", "", "2001:db8:1:2::/64"},
		"IPv4-mapped":                   {false, "[::ffff:198.51.100.7]:443", "", "", "198.51.100.7"},
		"not an IP":                     {false, "@", "", "", "peer:@"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if tc.fw != "" {
			r.Header.Set("Forwarded", tc.fw)
		}
		s := authlimit.Sources{}
		if tc.trusted {
			s = authlimit.NewSources(trusted)
		}
		assert.Equal(t, tc.want, s.Of(r), name)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := authlimit.ParseTrustedProxies("")
	require.NoError(t, err)
	assert.Empty(t, got)
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0"} {
		_, err := authlimit.ParseTrustedProxies(bad)
		assert.Error(t, err, bad)
		assert.Contains(t, err.Error(), bad)
	}
}
