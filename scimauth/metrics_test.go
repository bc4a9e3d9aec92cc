package scimauth_test

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// refusals reads the guard's refusal counters from a scrape of h.metrics.
func (h *harness) refusals() map[string]float64 {
	h.t.Helper()
	rec := httptest.NewRecorder()
	h.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "roster_auth_failures_total{") && !strings.HasPrefix(line, "roster_throttled_requests_total{") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(h.t, err, line)
		out[line[:i]] = v
	}
	return out
}

// TestGuard_refusalsCounted: every refusal of the guard is counted once,
// under kind scim and its reason: no credential, not a token's shape, a
// wrong, unknown or other tenant's token, a revoked one, the tenant's rate
// limit, and — where unknown ids are read (PostgreSQL whose listener is not
// proven) — the failure budget. Admitted requests count nothing.
func TestGuard_refusalsCounted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		plain, _ := h.ready("acme")
		betaPlain, _ := h.ready("beta")
		h.tenant("slow", licensing.Ultimate, func(s *store.Settings) { s.RateLimitPerSecond = 1 })
		h.sso("slow", h.clock().AddDate(1, 0, 0))
		slowPlain, _ := h.token("slow", "okta")
		revoked, revokedID := h.token("acme", "old")
		require.NoError(t, h.store.RevokeToken(t.Context(), "acme", revokedID, h.clock(), store.ActorAdmin))
		h.settle()

		require.Equal(t, http.StatusOK, h.get("/scim/v2/acme/Users", "Bearer "+plain).Status)
		require.Equal(t, http.StatusUnauthorized, h.get("/scim/v2/acme/Users", "").Status)
		require.Equal(t, http.StatusUnauthorized, h.get("/scim/v2/acme/Users", "Basic YWxpY2U6c2VjcmV0").Status)
		require.Equal(t, http.StatusUnauthorized, h.get("/scim/v2/acme/Users", "Bearer abc.def").Status)
		require.Equal(t, http.StatusUnauthorized, h.get("/scim/v2/acme/Users", "Bearer "+betaPlain).Status)
		require.Equal(t, http.StatusUnauthorized, h.get("/scim/v2/acme/Users", "Bearer "+revoked).Status)
		require.Equal(t, http.StatusOK, h.get("/scim/v2/slow/Users", "Bearer "+slowPlain).Status)
		require.Equal(t, http.StatusTooManyRequests, h.get("/scim/v2/slow/Users", "Bearer "+slowPlain).Status)

		assert.Equal(t, map[string]float64{
			`roster_auth_failures_total{kind="scim",reason="missing"}`:         2,
			`roster_auth_failures_total{kind="scim",reason="malformed"}`:       1,
			`roster_auth_failures_total{kind="scim",reason="invalid"}`:         1,
			`roster_auth_failures_total{kind="scim",reason="revoked"}`:         1,
			`roster_throttled_requests_total{kind="scim",reason="rate_limit"}`: 1,
		}, h.refusals())

		// Unknown ids from one source: refused from memory where the store
		// knows every token, else read under the budget (burst 10, one of
		// it spent by beta's token above, read too) and 429 past it.
		for range 12 {
			_, id, _, err := auth.New(rand.Reader)
			require.NoError(t, err)
			h.get("/scim/v2/acme/Users", "Bearer rst_"+id+plain[len("rst_")+16:])
		}
		got := h.refusals()
		if h.store.CheckToken("acme", "feedfacefeedface", []byte{1}) == store.TokenUnsure {
			assert.Equal(t, 10.0, got[`roster_auth_failures_total{kind="scim",reason="invalid"}`], fmt.Sprint(got))
			assert.Equal(t, 3.0, got[`roster_throttled_requests_total{kind="scim",reason="failed_auth_budget"}`], fmt.Sprint(got))
		} else {
			assert.Equal(t, 13.0, got[`roster_auth_failures_total{kind="scim",reason="invalid"}`], fmt.Sprint(got))
			assert.NotContains(t, got, `roster_throttled_requests_total{kind="scim",reason="failed_auth_budget"}`)
		}
	})
}
