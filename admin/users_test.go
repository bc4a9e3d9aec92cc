package admin_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// seatsOf is the seats block of a bulk change's answer, as numbers.
func seatsOf(t *testing.T, r response) map[string]int64 {
	t.Helper()
	m, ok := r.Body["seats"].(map[string]any)
	require.True(t, ok, r.Raw)
	out := map[string]int64{}
	for k, v := range m {
		out[k] = num(v)
	}
	return out
}

// TestUsers_roleDryRun: ?dry_run=true answers the bulk role change's moves
// and its effect on seats and cost, writes nothing, and reports the seat
// limit the real change would meet in would_fail; the real change answers
// the same seats block.
func TestUsers_roleDryRun(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 8) // $… a seat; the contract minimum is 8
		ann := c.user("acme", "ann@acme.test", true, "")
		bob := c.user("acme", "bob@acme.test", true, "")
		r := c.do("POST", "/admin/v1/tenants/acme/roles", `{"name":"viewer","permissions":["reporting.view_org"],"seat_class":"light"}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)

		body := `{"users":["` + ann.ID + `","bob@acme.test"],"role":"viewer"}`
		dry := c.do("POST", "/admin/v1/tenants/acme/users/role?dry_run=true", body)
		require.Equal(t, http.StatusOK, dry.Status, dry.Raw)
		assert.Equal(t, true, dry.Body["dry_run"])
		assert.Equal(t, 2.0, dry.Body["changed"])
		assert.Contains(t, dry.Body, "would_fail")
		assert.Nil(t, dry.Body["would_fail"])
		s := seatsOf(t, dry)
		assert.Equal(t, int64(2), s["full_before"])
		assert.Equal(t, int64(0), s["full_after"])
		assert.Equal(t, int64(0), s["light_before"])
		assert.Equal(t, int64(2), s["light_after"])
		assert.Equal(t, int64(8), s["billable_before"], "the contract minimum")
		assert.Equal(t, int64(8), s["billable_after"])
		role, seat := c.roleOf("acme", ann.ID)
		assert.Equal(t, "agent", role, "a dry run writes nothing")
		assert.Equal(t, store.SeatFull, seat)
		events, err := c.store.ListAudit(t.Context(), "acme", store.EventQuery{UserID: bob.ID})
		require.NoError(t, err)
		assert.Len(t, events, 1, "only the creation")

		real := c.do("POST", "/admin/v1/tenants/acme/users/role", body)
		require.Equal(t, http.StatusOK, real.Status, real.Raw)
		assert.Equal(t, false, real.Body["dry_run"])
		assert.NotContains(t, real.Body, "would_fail")
		assert.Equal(t, dry.Body["users"], real.Body["users"])
		assert.Equal(t, dry.Body["seats"], real.Body["seats"], "the preview's effect is the real one's")
		_, seat = c.roleOf("acme", ann.ID)
		assert.Equal(t, store.SeatLight, seat)

		// Back to full seats beyond the cap: the dry run says it would fail,
		// with the body the real change answers.
		r = c.do("PATCH", "/admin/v1/tenants/acme", `{"settings":{"overage":false}}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		for i := range 7 {
			c.user("acme", "u"+itoa(i)+"@acme.test", true, "")
		}
		body = `{"users":["` + ann.ID + `","` + bob.ID + `"],"role":"agent"}`
		dry = c.do("POST", "/admin/v1/tenants/acme/users/role?dry_run=1", body)
		require.Equal(t, http.StatusOK, dry.Status, dry.Raw)
		fail, ok := dry.Body["would_fail"].(map[string]any)
		require.True(t, ok, dry.Raw)
		assert.Equal(t, "seat_limit", fail["error"])
		s = seatsOf(t, dry)
		assert.Equal(t, int64(7), s["full_before"])
		assert.Equal(t, int64(9), s["full_after"])
		real = c.do("POST", "/admin/v1/tenants/acme/users/role", body)
		assert.Equal(t, http.StatusForbidden, real.Status)
		assert.Equal(t, fail["error"], real.Body["error"])
		assert.Equal(t, fail["message"], real.Body["message"])

		r = c.do("POST", "/admin/v1/tenants/acme/users/role?dry_run=maybe", body)
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Contains(t, fields(r)["dry_run"], "true or false")
		r = c.do("POST", "/admin/v1/tenants/acme/users/role?dryrun=true", body)
		assert.Equal(t, http.StatusBadRequest, r.Status, "a misspelt dry run is no real run")
		_, seat = c.roleOf("acme", ann.ID)
		assert.Equal(t, store.SeatLight, seat)
	})
}

// TestUsers_bulkDeactivate: …/users/deactivate and …/users/reactivate
// change many users' active flag all or nothing, previewed by ?dry_run=true
// with each user's change, the IdP's users refused unless manual_overrides,
// and the seats block; each change is audited with the caller as actor.
func TestUsers_bulkDeactivate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 8)
		ann := c.invite("acme", "ann@acme.test")
		require.Equal(t, http.StatusCreated, ann.Status, ann.Raw)
		annID := ann.Body["id"].(string)
		bob := c.invite("acme", "bob@acme.test")
		require.Equal(t, http.StatusCreated, bob.Status, bob.Raw)
		okta, err := c.store.CreateUser(t.Context(), "acme", store.User{UserName: "cid@acme.test", Active: true,
			Managed: store.ManagedSCIM, IdP: "okta"}, scimToken)
		require.NoError(t, err)

		body := `{"users":["` + annID + `","cid@acme.test"]}`
		dry := c.do("POST", "/admin/v1/tenants/acme/users/deactivate?dry_run=true", body)
		require.Equal(t, http.StatusOK, dry.Status, dry.Raw)
		assert.Equal(t, false, dry.Body["active"])
		assert.Equal(t, 1.0, dry.Body["changed"])
		assert.Equal(t, 1.0, dry.Body["refused"])
		users := dry.Body["users"].([]any)
		require.Len(t, users, 2)
		assert.Equal(t, map[string]any{"id": annID, "userName": "ann@acme.test", "managed": "manual", "old_active": true, "new_active": false,
			"old_seat": "full", "new_seat": "none", "changed": true, "refused": nil}, users[0])
		cid := users[1].(map[string]any)
		assert.Equal(t, "scim", cid["managed"])
		assert.Equal(t, false, cid["changed"])
		assert.Equal(t, "idp_managed", cid["refused"].(map[string]any)["error"])
		assert.Contains(t, cid["refused"].(map[string]any)["message"], "manual_overrides")
		fail := dry.Body["would_fail"].(map[string]any)
		assert.Equal(t, "idp_managed", fail["error"])
		assert.Contains(t, fail["message"], "cid@acme.test")
		s := seatsOf(t, dry)
		assert.Equal(t, int64(3), s["full_before"])
		assert.Equal(t, int64(2), s["full_after"], "only ann's seat: cid is refused")

		r := c.do("POST", "/admin/v1/tenants/acme/users/deactivate", body)
		assert.Equal(t, http.StatusConflict, r.Status, r.Raw)
		assert.Equal(t, "idp_managed", r.Body["error"])
		assert.Equal(t, fail["message"], r.Body["message"])
		got, err := c.store.GetUser(t.Context(), "acme", annID)
		require.NoError(t, err)
		assert.True(t, got.Active, "all or nothing")

		for _, bad := range []struct{ body, field string }{
			{`{"users":[]}`, "users"},
			{`{}`, "users"},
			{`{"users":["nobody@acme.test"]}`, "users"},
			{`{"users":["` + annID + `"],"active":false}`, "active"},
		} {
			r = c.do("POST", "/admin/v1/tenants/acme/users/deactivate", bad.body)
			assert.Equal(t, http.StatusBadRequest, r.Status, bad.body)
			assert.NotEmpty(t, fields(r)[bad.field], bad.body)
		}

		real := c.do("POST", "/admin/v1/tenants/acme/users/deactivate", `{"users":["`+annID+`","bob@acme.test"]}`, "X-Request-Id", "req-bulk")
		require.Equal(t, http.StatusOK, real.Status, real.Raw)
		assert.Equal(t, 2.0, real.Body["changed"])
		s = seatsOf(t, real)
		assert.Equal(t, int64(3), s["full_before"])
		assert.Equal(t, int64(1), s["full_after"])
		assert.Equal(t, s["monthly_cost_cents_before"], s["monthly_cost_cents_after"], "still under the contract minimum")
		events, err := c.store.ListAudit(t.Context(), "acme", store.EventQuery{UserID: annID, Limit: 1})
		require.NoError(t, err)
		require.Len(t, events, 1)
		assert.Equal(t, "deactivated (bulk deactivation)", events[0].Detail)
		assert.Equal(t, "admin", events[0].Actor.Kind)
		assert.Equal(t, "req-bulk", events[0].Actor.RequestID)

		r = c.do("POST", "/admin/v1/tenants/acme/users/reactivate?dry_run=true", `{"users":["ann@acme.test"]}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, true, r.Body["active"])
		assert.Nil(t, r.Body["would_fail"])
		r = c.do("POST", "/admin/v1/tenants/acme/users/reactivate", `{"users":["ann@acme.test"]}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		got, err = c.store.GetUser(t.Context(), "acme", annID)
		require.NoError(t, err)
		assert.True(t, got.Active)
		assert.Equal(t, store.SeatFull, got.Seat)

		// With overrides, the IdP's user is deactivated too, marked drifted.
		require.Equal(t, http.StatusOK, c.do("PATCH", "/admin/v1/tenants/acme", `{"settings":{"manual_overrides":true}}`).Status)
		r = c.do("POST", "/admin/v1/tenants/acme/users/deactivate", `{"users":["`+okta.ID+`"]}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		got, err = c.store.GetUser(t.Context(), "acme", okta.ID)
		require.NoError(t, err)
		assert.False(t, got.Active)
		assert.NotNil(t, got.DriftedAt)

		// A signed-in admin deactivates a signed-in agent: the trail names
		// the admin, and the agent's session ends with the change.
		ops, opsTok := c.person("acme", "ops@acme.test", "admin")
		_, eveTok := c.person("acme", "eve@acme.test", "agent")
		require.Equal(t, http.StatusOK, c.as(cred{bearer: eveTok}, "GET", "/admin/v1/tenants/acme", "").Status)
		r = c.as(cred{bearer: opsTok}, "POST", "/admin/v1/tenants/acme/users/deactivate", `{"users":["eve@acme.test"]}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, http.StatusUnauthorized, c.as(cred{bearer: eveTok}, "GET", "/admin/v1/tenants/acme", "").Status)
		events, err = c.store.ListAudit(t.Context(), "acme", store.EventQuery{Action: "user.updated", Limit: 1})
		require.NoError(t, err)
		require.Len(t, events, 1)
		assert.Equal(t, "user", events[0].Actor.Kind)
		assert.Equal(t, ops.ID, events[0].Actor.ID)
	})
}
