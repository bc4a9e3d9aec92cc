package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// TestWebhooks_endpoints: endpoints are created with a secret shown once,
// refused with a reason for a URL that can never be delivered to or an
// unknown event type, listed and read without the secret, deleted; their
// delivery log pages and a delivery is sent again by hand.
func TestWebhooks_endpoints(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 20)
		for body, field := range map[string]string{
			`{}`:                                   "url",
			`{"url":"http://hooks.example.com/x"}`: "url",
			`{"url":"https://127.0.0.1/x"}`:        "url",
			`{"url":"https://169.254.169.254/latest"}`:                         "url",
			`{"url":"https://10.0.0.8/x"}`:                                     "url",
			`{"url":"not a url"}`:                                              "url",
			`{"url":"https://hooks.example.com/x","events":["user.exploded"]}`: "events",
		} {
			r := c.do("POST", "/admin/v1/tenants/acme/webhooks", body)
			require.Equal(t, http.StatusBadRequest, r.Status, body)
			assert.Contains(t, fields(r), field, body)
		}
		r := c.do("POST", "/admin/v1/tenants/acme/webhooks", `{"url":"https://169.254.169.254/latest"}`)
		assert.Contains(t, r.Body["message"], "link-local")

		r = c.do("POST", "/admin/v1/tenants/acme/webhooks", `{"url":"https://hooks.example.com/roster","events":["user.deactivated","user.deactivated","seat.released"]}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
		id := r.Body["id"].(string)
		assert.True(t, strings.HasPrefix(id, "wh_"), id)
		assert.True(t, strings.HasPrefix(r.Body["secret"].(string), "whsec_"))
		assert.Equal(t, []any{"user.deactivated", "seat.released"}, r.Body["events"], "each type once")
		assert.Equal(t, "enabled", r.Body["status"])

		list := c.do("GET", "/admin/v1/tenants/acme/webhooks", "")
		require.Equal(t, http.StatusOK, list.Status)
		assert.NotContains(t, list.Raw, "whsec_", "the secret is shown once")
		got := c.do("GET", "/admin/v1/tenants/acme/webhooks/"+id, "")
		require.Equal(t, http.StatusOK, got.Status)
		assert.NotContains(t, got.Raw, "whsec_")
		assert.Equal(t, "operator", got.Body["created_by"].(map[string]any)["id"])

		// Two deactivations: two deliveries pending, newest first.
		for _, name := range []string{"ann@x.com", "bob@x.com"} {
			u := c.user("acme", name, true, "")
			require.NoError(t, c.setActive("acme", u.ID, false))
		}
		_, err := c.store.SequenceEvents(t.Context())
		require.NoError(t, err)
		log := c.do("GET", "/admin/v1/tenants/acme/webhooks/"+id+"/deliveries?limit=3", "")
		require.Equal(t, http.StatusOK, log.Status, log.Raw)
		ds := log.Body["deliveries"].([]any)
		require.Len(t, ds, 3, "deactivation and seat release of each: four, three a page")
		first := ds[0].(map[string]any)
		assert.Equal(t, "pending", first["status"])
		assert.Nil(t, first["response_code"])
		assert.NotNil(t, first["next_attempt_at"])
		next := log.Body["next_cursor"].(string)
		rest := c.do("GET", "/admin/v1/tenants/acme/webhooks/"+id+"/deliveries?cursor="+next, "")
		require.Len(t, rest.Body["deliveries"].([]any), 1)
		assert.Nil(t, rest.Body["next_cursor"])
		bad := c.do("GET", "/admin/v1/tenants/acme/webhooks/"+id+"/deliveries?status=lost", "")
		assert.Equal(t, http.StatusBadRequest, bad.Status)

		retry := c.do("POST", "/admin/v1/tenants/acme/webhooks/"+id+"/deliveries/"+first["id"].(string)+"/retry", "")
		require.Equal(t, http.StatusAccepted, retry.Status, retry.Raw)
		assert.Equal(t, "pending", retry.Body["status"])
		assert.Equal(t, http.StatusNotFound, c.do("POST", "/admin/v1/tenants/acme/webhooks/"+id+"/deliveries/999999/retry", "").Status)
		assert.Equal(t, http.StatusNotFound, c.do("POST", "/admin/v1/tenants/acme/webhooks/"+id+"/deliveries/x/retry", "").Status)
		assert.Contains(t, c.audit("acme", store.ActionDeliveryRetried, "queued again")[0].Detail, first["event_id"].(string))

		en := c.do("POST", "/admin/v1/tenants/acme/webhooks/"+id+"/enable", "")
		assert.Equal(t, http.StatusOK, en.Status, "enabling an enabled endpoint is no error")

		assert.Equal(t, http.StatusNoContent, c.do("DELETE", "/admin/v1/tenants/acme/webhooks/"+id, "").Status)
		assert.Equal(t, http.StatusNotFound, c.do("DELETE", "/admin/v1/tenants/acme/webhooks/"+id, "").Status)
		assert.Equal(t, http.StatusNotFound, c.do("GET", "/admin/v1/tenants/acme/webhooks/"+id+"/deliveries", "").Status)
		assert.Len(t, c.audit("acme", store.ActionWebhookCreated, ""), 1)
		assert.Len(t, c.audit("acme", store.ActionWebhookDeleted, ""), 1)

		// At most 20 endpoints.
		for i := range 20 {
			r := c.do("POST", "/admin/v1/tenants/acme/webhooks", `{"url":"https://hooks.example.com/`+string(rune('a'+i))+`"}`)
			require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		}
		r = c.do("POST", "/admin/v1/tenants/acme/webhooks", `{"url":"https://hooks.example.com/z"}`)
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Equal(t, "too_many_webhooks", r.Body["error"])
	})
}

// TestEvents_pull: the pull API lists the tenant's events oldest first, in
// pages whose next_cursor a poller passes back, the same JSON webhooks get;
// an empty page gives the cursor back.
func TestEvents_pull(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 20)
		c.tenant("globex", "ultimate", 20)
		u := c.user("acme", "ann@x.com", true, "")
		require.NoError(t, c.setActive("acme", u.ID, false))
		c.user("globex", "bob@x.com", true, "")

		page := c.do("GET", "/admin/v1/tenants/acme/events?limit=3", "")
		require.Equal(t, http.StatusOK, page.Status, page.Raw)
		evs := page.Body["events"].([]any)
		require.Len(t, evs, 3)
		assert.Equal(t, true, page.Body["has_more"])
		types := []string{}
		for _, e := range evs {
			m := e.(map[string]any)
			types = append(types, m["type"].(string))
			assert.Equal(t, "acme", m["tenant"])
			assert.True(t, strings.HasPrefix(m["id"].(string), "evt_"))
		}
		assert.Equal(t, []string{"user.created", "seat.consumed", "user.deactivated"}, types)
		cursor := page.Body["next_cursor"].(string)
		page = c.do("GET", "/admin/v1/tenants/acme/events?after="+cursor, "")
		require.Len(t, page.Body["events"].([]any), 1)
		assert.Equal(t, "seat.released", page.Body["events"].([]any)[0].(map[string]any)["type"])
		assert.Equal(t, false, page.Body["has_more"])
		cursor = page.Body["next_cursor"].(string)
		empty := c.do("GET", "/admin/v1/tenants/acme/events?after="+cursor, "")
		assert.Empty(t, empty.Body["events"])
		assert.Equal(t, cursor, empty.Body["next_cursor"], "nothing new: the same cursor")

		// The pulled JSON is the stored event, byte for byte.
		stored, err := c.store.ListEvents(t.Context(), "acme", 0, 1)
		require.NoError(t, err)
		var pulled struct {
			Events []json.RawMessage `json:"events"`
		}
		require.NoError(t, json.Unmarshal([]byte(c.do("GET", "/admin/v1/tenants/acme/events?limit=1", "").Raw), &pulled))
		assert.JSONEq(t, string(stored[0].Body), string(pulled.Events[0]))

		for _, q := range []string{"after=-1", "after=x", "limit=0", "limit=1001", "since=1"} {
			assert.Equal(t, http.StatusBadRequest, c.do("GET", "/admin/v1/tenants/acme/events?"+q, "").Status, q)
		}
		assert.Equal(t, http.StatusNotFound, c.do("GET", "/admin/v1/tenants/nope/events", "").Status)
	})
}
