package admin_test

import (
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
)

// TestAdmin_stores proves the store catalogue API: create, list, rename,
// delete (which strips the store from its users), with 400s naming the
// field, 404s and 409s, on both stores.
func TestAdmin_stores(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"pay","name":"Payments","plan":"ultimate","seats":10}`).Status)
		r := c.do("POST", "/admin/v1/tenants/pay/stores", `{"id":"store-1","name":"Main store"}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		assert.Equal(t, "store-1", r.Body["id"])
		assert.Equal(t, "Main store", r.Body["name"])
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants/pay/stores", `{"id":"store-2","name":"Harbour"}`).Status)

		r = c.do("POST", "/admin/v1/tenants/pay/stores", `{"id":"store-1","name":"Again"}`)
		assert.Equal(t, http.StatusConflict, r.Status)
		r = c.do("POST", "/admin/v1/tenants/pay/stores", `{"name":"No id"}`)
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Contains(t, fields(r), "id")
		r = c.do("POST", "/admin/v1/tenants/pay/stores", `{"id":"a/b","name":"Slash"}`)
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Contains(t, fields(r)["id"], "may not contain")
		r = c.do("POST", "/admin/v1/tenants/pay/stores", `{"id":"x","name":"X","colour":"red"}`)
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Contains(t, fields(r), "colour")
		assert.Equal(t, http.StatusNotFound, c.do("POST", "/admin/v1/tenants/nope/stores", `{"id":"x","name":"X"}`).Status)

		r = c.do("GET", "/admin/v1/tenants/pay/stores", "")
		require.Equal(t, http.StatusOK, r.Status)
		list := r.Body["stores"].([]any)
		require.Len(t, list, 2)
		assert.Equal(t, "store-1", list[0].(map[string]any)["id"])

		r = c.do("PATCH", "/admin/v1/tenants/pay/stores/store-2", `{"name":"Harbour outlet"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "Harbour outlet", r.Body["name"])
		assert.Equal(t, http.StatusNotFound, c.do("PATCH", "/admin/v1/tenants/pay/stores/store-9", `{"name":"X"}`).Status)
		assert.Equal(t, http.StatusBadRequest, c.do("PATCH", "/admin/v1/tenants/pay/stores/store-2", `{}`).Status)

		// A user's stores must be in the catalogue (the store refuses it
		// inside the write; SCIM answers 400 invalidValue the same way).
		_, err := c.store.CreateUser(t.Context(), "pay", store.User{UserName: "x@pay.test", Active: true, Stores: []string{"store-3"}}, scimToken)
		var unknown *store.UnknownStoresError
		require.ErrorAs(t, err, &unknown)
		assert.Contains(t, unknown.Error(), `"store-3" is not in this tenant's store catalogue`)
		u, err := c.store.CreateUser(t.Context(), "pay", store.User{UserName: "ann@pay.test", Active: true, Stores: []string{"store-1", "store-2"}}, scimToken)
		require.NoError(t, err)

		r = c.do("DELETE", "/admin/v1/tenants/pay/stores/store-1", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, float64(1), r.Body["users_updated"])
		got, err := c.store.GetUser(t.Context(), "pay", u.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{"store-2"}, got.Stores)
		assert.Equal(t, http.StatusNotFound, c.do("DELETE", "/admin/v1/tenants/pay/stores/store-1", "").Status)

		r = c.do("GET", "/admin/v1/tenants/pay/audit", "")
		require.Equal(t, http.StatusOK, r.Status)
		var actions []string
		for _, e := range r.Body["events"].([]any) {
			actions = append(actions, e.(map[string]any)["action"].(string))
		}
		assert.Contains(t, actions, "store.created")
		assert.Contains(t, actions, "store.updated")
		assert.Contains(t, actions, "store.deleted")
	})
}

// TestAdmin_dormantReport seeds a tenant whose users signed in at known
// times and checks the report: who is listed for days=30 and days=7, the
// cost each represents, the order, and the CSV form.
func TestAdmin_dormantReport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"crm","name":"CRM","plan":"ultimate","seats":10}`).Status)
		_, err := directory.New(c.store).UpdateTenant(t.Context(), "crm", store.ActorAdmin, func(x *store.Tenant) error { x.Addons = []string{"hipaa"}; return nil })
		require.NoError(t, err)
		start := c.now
		day := 24 * time.Hour
		signIn := func(u store.User, id string) {
			_, _, err := directory.New(c.store).SignIn(t.Context(), "crm", u.ID, store.Assertion{Issuer: "idp", ID: id, ExpiresAt: c.now.Add(time.Minute)},
				store.Session{ID: id, Hash: []byte(id), ExpiresAt: c.now.Add(time.Hour)}, store.Actor{Kind: "user", ID: u.ID})
			require.NoError(t, err)
		}
		// Day 0: four agents provisioned.
		busy := c.user("crm", "busy@crm.test", true, store.RoleAgent)
		idle := c.user("crm", "idle@crm.test", true, store.RoleAgent)
		never := c.user("crm", "=never@crm.test", true, store.RoleAgent)
		gone := c.user("crm", "gone@crm.test", true, store.RoleAgent)
		// Day 5: idle signs in for the last time; day 40: a new agent; day 58: busy signs in.
		c.now = start.Add(5 * day)
		signIn(idle, "a1")
		c.now = start.Add(40 * day)
		fresh := c.user("crm", "fresh@crm.test", true, store.RoleAgent)
		c.now = start.Add(58 * day)
		signIn(busy, "a2")
		require.NoError(t, c.setActive("crm", gone.ID, false))
		c.now = start.Add(60 * day)

		r := c.do("GET", "/admin/v1/tenants/crm/reports/dormant?days=30", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, float64(30), r.Body["days"])
		seats := r.Body["seats"].([]any)
		var names []string
		for _, s := range seats {
			names = append(names, s.(map[string]any)["user_name"].(string))
		}
		// Same price, so the longest idle first: never (60 days since
		// provisioning), idle (55 days since sign-in), fresh (20, never).
		assert.Equal(t, []string{"=never@crm.test", "idle@crm.test", "fresh@crm.test"}, names)
		first := seats[0].(map[string]any)
		assert.Equal(t, true, first["never_signed_in"])
		assert.Equal(t, float64(60), first["days_since_provisioned"])
		assert.Equal(t, float64(13900+2500), first["monthly_cost_cents"])
		second := seats[1].(map[string]any)
		assert.Equal(t, float64(55), second["days_since_active"])
		assert.NotNil(t, second["last_active_at"])
		assert.Equal(t, float64(3*(13900+2500)), r.Body["monthly_cost_cents"])
		assert.Equal(t, float64(3), r.Body["users"])

		r = c.do("GET", "/admin/v1/tenants/crm/reports/dormant?days=1", "")
		assert.Len(t, r.Body["seats"].([]any), 4, "busy signed in 2 days ago")
		r = c.do("GET", "/admin/v1/tenants/crm/reports/dormant?days=3", "")
		assert.Len(t, r.Body["seats"].([]any), 3, "the deactivated user holds no seat")
		r = c.do("GET", "/admin/v1/tenants/crm/reports/dormant", "")
		assert.Equal(t, float64(30), r.Body["days"], "30 days by default")

		for _, bad := range []string{"0", "-3", "abc", "1.5", "99999"} {
			r = c.do("GET", "/admin/v1/tenants/crm/reports/dormant?days="+bad, "")
			assert.Equal(t, http.StatusBadRequest, r.Status, bad)
			assert.Contains(t, fields(r), "days")
		}
		assert.Equal(t, http.StatusNotFound, c.do("GET", "/admin/v1/tenants/nope/reports/dormant", "").Status)

		// CSV.
		req, err := http.NewRequest("GET", c.srv.URL+"/admin/v1/tenants/crm/reports/dormant?days=30", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Accept", "text/csv")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 4)
		assert.Equal(t, "user_name", rows[0][1])
		assert.Equal(t, "'=never@crm.test", rows[1][1], "no formula reaches a spreadsheet")
		assert.Equal(t, "idle@crm.test", rows[2][1])
		assert.Equal(t, "16400", rows[1][11])
		_, _ = fresh, never
	})
}
