package admin_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPeople_history: a person's history merges the audit events about
// them with their seat ledger entries, newest first (at one instant the
// change before the entries it caused), by id or userName, limited, and
// stays readable by id once the person is deleted.
func TestPeople_history(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 8)
		r := c.invite("acme", "ann@acme.test")
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		ann := r.Body["id"].(string)
		c.now = c.now.Add(time.Hour)
		r = c.do("POST", "/admin/v1/tenants/acme/users/deactivate", `{"users":["ann@acme.test"]}`, "X-Request-Id", "req-off")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)

		r = c.do("GET", "/admin/v1/tenants/acme/users/ann@acme.test/history", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, ann, r.Body["user_id"])
		assert.Equal(t, false, r.Body["more"])
		entries := r.Body["entries"].([]any)
		require.Len(t, entries, 4, r.Raw)
		kinds := []string{}
		for _, e := range entries {
			m := e.(map[string]any)
			kinds = append(kinds, m["kind"].(string)+":"+m["action"].(string))
		}
		assert.Equal(t, []string{"audit:user.updated", "seat:deactivated", "audit:user.created", "seat:provisioned"}, kinds)
		off := entries[0].(map[string]any)
		assert.Equal(t, "deactivated (bulk deactivation)", off["detail"])
		assert.Equal(t, "req-off", off["actor"].(map[string]any)["request_id"])
		assert.Equal(t, false, off["after"].(map[string]any)["active"])
		seat := entries[1].(map[string]any)
		assert.Equal(t, "full", seat["seat"])
		assert.Equal(t, -1.0, seat["delta"])
		assert.Equal(t, "2026-11-22T11:00:00Z", seat["at"])

		r = c.do("GET", "/admin/v1/tenants/acme/users/"+ann+"/history?limit=1", "")
		require.Len(t, r.Body["entries"], 1)
		assert.Equal(t, true, r.Body["more"])

		require.Equal(t, http.StatusNoContent, c.do("DELETE", "/admin/v1/tenants/acme/users/"+ann, "").Status)
		r = c.do("GET", "/admin/v1/tenants/acme/users/"+ann+"/history?limit=2", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "audit:user.deleted", r.Body["entries"].([]any)[0].(map[string]any)["kind"].(string)+":"+
			r.Body["entries"].([]any)[0].(map[string]any)["action"].(string))

		assert.Equal(t, http.StatusNotFound, c.do("GET", "/admin/v1/tenants/acme/users/nobody/history", "").Status)
		r = c.do("GET", "/admin/v1/tenants/acme/users/"+ann+"/history?limit=0", "")
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Contains(t, fields(r)["limit"], "between 1 and 500")
	})
}
