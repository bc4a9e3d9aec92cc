package admin_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/admin"
	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// TestReports_duplicatePeople: …/reports/duplicates groups the active seat
// holders who are probably one person — the same email without case or
// +tag, the same displayName, the same userName local part on another
// domain — with each user's details and the reasons; inactive users and
// people alone are left out.
func TestReports_duplicatePeople(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 20)
		mk := func(userName, display, email string, active bool, managed string) store.User {
			u := store.User{UserName: userName, DisplayName: display, Active: active, Managed: managed}
			if email != "" {
				u.Emails = []store.MultiValue{{Value: email, Type: "work", Primary: true}}
			}
			out, err := c.store.CreateUser(t.Context(), "acme", u, scimToken)
			require.NoError(t, err)
			return out
		}
		ann := mk("ann@acme.com", "Ann Lee", "Ann@acme.com", true, store.ManagedSCIM)
		ann2 := mk("ann.lee@contractor.io", "", "ann+contractor@acme.com", true, store.ManagedManual)
		mk("bob@acme.com", "Bob", "bob@acme.com", true, "")
		mk("bob.old@acme.com", "Bob", "bob@acme.com", false, "") // inactive: holds no seat
		cy := mk("cy@acme.com", "Cy Young", "", true, "")
		cy2 := mk("cy@globex.com", "C. Young", "", true, "")

		r := c.do("GET", "/admin/v1/tenants/acme/reports/duplicates", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		groups := r.Body["groups"].([]any)
		require.Len(t, groups, 2, r.Raw)
		byFirst := map[string]map[string]any{}
		for _, g := range groups {
			m := g.(map[string]any)
			byFirst[m["users"].([]any)[0].(map[string]any)["id"].(string)] = m
		}
		a := byFirst[ann2.ID]
		require.NotNil(t, a, r.Raw)
		assert.Equal(t, []any{map[string]any{"reason": "same_email", "key": "ann@acme.com"}}, a["reasons"])
		users := a["users"].([]any)
		require.Len(t, users, 2)
		first := users[1].(map[string]any)
		assert.Equal(t, ann.ID, first["id"])
		assert.Equal(t, "Ann@acme.com", first["email"])
		assert.Equal(t, "Ann Lee", first["displayName"])
		assert.Equal(t, "scim", first["managed"])
		assert.Equal(t, "full", first["seat"])
		assert.Equal(t, "agent", first["role"])
		assert.Nil(t, first["last_active_at"])
		assert.Equal(t, "manual", users[0].(map[string]any)["managed"])

		cyg := byFirst[cy.ID]
		require.NotNil(t, cyg, r.Raw)
		assert.Equal(t, []any{map[string]any{"reason": "same_username_local_part", "key": "cy"}}, cyg["reasons"])
		assert.Equal(t, cy2.ID, cyg["users"].([]any)[1].(map[string]any)["id"])

		r = c.do("GET", "/admin/v1/tenants/acme/reports/duplicates?days=3", "")
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Equal(t, http.StatusNotFound, c.do("GET", "/admin/v1/tenants/nope/reports/duplicates", "").Status)
	})
}

// BenchmarkDuplicatesReport answers the report for a PostgreSQL tenant of
// 100,000 active people, 1 in 50 of them with a second account (another
// userName, the same address with a +tag): one read of the active users
// and one pass over them.
func BenchmarkDuplicatesReport(b *testing.B) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := pgtest.Store(b, clock)
	ctx := context.Background()
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "big", Name: "Big", Plan: licensing.Ultimate, Seats: 200_000,
		Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(b, err)
	const n = 100_000
	_, err = s.Pool().Exec(ctx, `with t as (
	update tenants set user_seq = user_seq + $2, seats_full = seats_full + $2 where id = $1 returning user_seq - $2 as base
)
insert into users (tenant_id, id, seq, user_name, user_name_key, display_name, emails, active, role, seat, version, created_at, updated_at)
select $1, 'u-' || g, t.base + g + 1, n.name, lower(n.name), 'Person ' || g,
	jsonb_build_array(jsonb_build_object('value', case when g % 50 = 1 then 'p' || (g - 1) || '+old@example.com' else 'p' || g || '@example.com' end,
		'type', 'work', 'primary', true)),
	true, 'agent', 'full', 1, now(), now()
from t, generate_series(0, $2 - 1) as g,
	lateral (select 'user' || lpad(g::text, 9, '0') || case when g % 50 = 1 then '@old.example.com' else '@example.com' end as name) as n`, "big", n)
	require.NoError(b, err)
	_, err = s.Pool().Exec(ctx, `analyze users`)
	require.NoError(b, err)

	api := admin.New(admin.Config{Store: s, AdminToken: adminToken, Now: clock, Rand: rand.Reader, BaseURL: "http://roster.test/"})
	b.Cleanup(api.Close)
	mux := http.NewServeMux()
	api.Register(mux)
	for b.Loop() {
		req := httptest.NewRequest("GET", "/admin/v1/tenants/big/reports/duplicates", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}
