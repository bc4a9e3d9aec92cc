package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// TestSCIMActivity_readsTheLog: the activity route answers the tenant's
// log newest first, filtered by errors and since, cut at limit, with
// errors_24h counting only the last 24 hours' errors whatever the
// filters; bad parameters are a 400 naming each, on both stores.
func TestSCIMActivity_readsTheLog(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","plan":"ultimate","seats":5}`).Status)
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"globex","plan":"ultimate","seats":5}`).Status)
		now := c.now
		entry := func(tenant string, ago time.Duration, status int, path string) store.ActivityEntry {
			e := store.ActivityEntry{TenantID: tenant, At: now.Add(-ago), TokenID: "tok1", TokenName: "okta", Method: "GET",
				Path: path, Status: status, Duration: 2500 * time.Microsecond}
			if status >= 400 {
				e.Detail = "detail of " + path
			}
			return e
		}
		require.NoError(t, c.store.RecordActivity(context.Background(), []store.ActivityEntry{
			entry("acme", 3*24*time.Hour, 500, "/three-days"),
			entry("acme", 2*time.Hour, 409, "/two-hours"),
			entry("acme", time.Hour, 200, "/one-hour"),
			entry("acme", time.Minute, 404, "/one-minute"),
			entry("globex", time.Minute, 400, "/globex"),
		}))

		r := c.do("GET", "/admin/v1/tenants/acme/scim/activity", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, []string{"/one-minute", "/one-hour", "/two-hours", "/three-days"}, activityPaths(r))
		assert.Equal(t, float64(2), r.Body["errors_24h"], "the three-day-old error is not of the last 24 h")
		first := r.Body["entries"].([]any)[0].(map[string]any)
		assert.Equal(t, map[string]any{"at": now.Add(-time.Minute).Format(time.RFC3339), "token_id": "tok1", "token_name": "okta",
			"method": "GET", "path": "/one-minute", "status": float64(404), "detail": "detail of /one-minute", "duration_ms": 2.5}, first)

		r = c.do("GET", "/admin/v1/tenants/acme/scim/activity?errors=true", "")
		assert.Equal(t, []string{"/one-minute", "/two-hours", "/three-days"}, activityPaths(r))
		r = c.do("GET", "/admin/v1/tenants/acme/scim/activity?errors=true&since="+now.Add(-3*time.Hour).Format(time.RFC3339), "")
		assert.Equal(t, []string{"/one-minute", "/two-hours"}, activityPaths(r))
		assert.Equal(t, float64(2), r.Body["errors_24h"], "whatever the filters")
		r = c.do("GET", "/admin/v1/tenants/acme/scim/activity?limit=1", "")
		assert.Equal(t, []string{"/one-minute"}, activityPaths(r))
		r = c.do("GET", "/admin/v1/tenants/globex/scim/activity", "")
		assert.Equal(t, []string{"/globex"}, activityPaths(r), "each tenant its own log")

		c.now = now.Add(8 * 24 * time.Hour) // a week later, by the store's clock too
		r = c.do("GET", "/admin/v1/tenants/acme/scim/activity", "")
		assert.Equal(t, []any{}, r.Body["entries"], "nothing older than 7 days")
		assert.Equal(t, float64(0), r.Body["errors_24h"])

		r = c.do("GET", "/admin/v1/tenants/acme/scim/activity?errors=yes&since=monday&limit=0&token=x", "")
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		assert.Contains(t, fields(r), "token", "an unknown parameter is named")
		r = c.do("GET", "/admin/v1/tenants/acme/scim/activity?errors=yes&since=monday&limit=0", "")
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		assert.Len(t, fields(r), 3, "every bad parameter at once: %s", r.Raw)
		assert.True(t, strings.Contains(fields(r)["since"], "RFC 3339"))
		assert.Equal(t, http.StatusNotFound, c.do("GET", "/admin/v1/tenants/nope/scim/activity", "").Status)
	})
}

func activityPaths(r response) []string {
	out := []string{}
	list, _ := r.Body["entries"].([]any)
	for _, e := range list {
		out = append(out, e.(map[string]any)["path"].(string))
	}
	return out
}
