package admin_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/internal/metrics"
)

// refusals reads the refusal counters from a scrape of c.metrics.
func (c *client) refusals() map[string]float64 {
	c.t.Helper()
	rec := httptest.NewRecorder()
	c.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "roster_auth_failures_total{") && !strings.HasPrefix(line, "roster_throttled_requests_total{") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(c.t, err, line)
		out[line[:i]] = v
	}
	return out
}

// TestAuthenticate_refusalsCounted: each refused credential is counted
// once under kind admin and its reason — none, a wrong token, a revoked
// API key, an ended session — and past the failure budget as throttled;
// Operator (GET /metrics) counts under the kind it is given, on the same
// budget.
func TestAuthenticate_refusalsCounted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 5)
		key, keyID := c.mintKey("acme", "hr-sync", []string{"users.view"})
		require.Equal(t, http.StatusNoContent, c.do("DELETE", "/admin/v1/tenants/acme/api-keys/"+keyID, "").Status)
		_, session := c.person("acme", "ann@acme.test", "admin")
		c.now = c.now.Add(9 * time.Hour) // past the session's end

		assert.Equal(t, http.StatusUnauthorized, c.as(cred{}, "GET", "/admin/v1/tenants/acme", "").Status)
		assert.Equal(t, http.StatusUnauthorized, c.as(cred{bearer: "nope"}, "GET", "/admin/v1/tenants/acme", "").Status)
		assert.Equal(t, http.StatusUnauthorized, c.as(key, "GET", "/admin/v1/tenants/acme", "").Status)
		assert.Equal(t, http.StatusUnauthorized, c.as(cred{bearer: session}, "GET", "/admin/v1/tenants/acme", "").Status)
		assert.Equal(t, http.StatusOK, c.do("GET", "/admin/v1/tenants/acme", "").Status)

		ops := http.NewServeMux()
		ops.Handle("GET /metrics", c.api.Operator(metrics.KindMetrics, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
		scrape := func(token string) int {
			r := httptest.NewRequest("GET", "/metrics", nil)
			r.RemoteAddr = "203.0.113.9:5000"
			r.Header.Set("Authorization", "Bearer "+token)
			w := httptest.NewRecorder()
			ops.ServeHTTP(w, r)
			return w.Code
		}
		assert.Equal(t, http.StatusOK, scrape(adminToken))
		for range 11 {
			scrape("guess")
		}
		assert.Equal(t, http.StatusOK, scrape(adminToken), "the operator is never limited")

		assert.Equal(t, map[string]float64{
			`roster_auth_failures_total{kind="admin",reason="missing"}`:                   1,
			`roster_auth_failures_total{kind="admin",reason="invalid"}`:                   1,
			`roster_auth_failures_total{kind="admin",reason="session_ended"}`:             1,
			`roster_auth_failures_total{kind="admin",reason="revoked"}`:                   1,
			`roster_auth_failures_total{kind="metrics",reason="invalid"}`:                 10,
			`roster_throttled_requests_total{kind="metrics",reason="failed_auth_budget"}`: 1,
		}, c.refusals())
	})
}
