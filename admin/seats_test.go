package admin_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
)

// seatBackends are the stores the seat endpoints are tested against.
var seatBackends = map[string]func(t *testing.T, now func() time.Time) store.Store{
	"memory":   func(t *testing.T, now func() time.Time) store.Store { return memory.New(memory.Options{Now: now}) },
	"postgres": openPostgres,
}

func forEachSeatBackend(t *testing.T, fn func(t *testing.T, c *client)) {
	for name, open := range seatBackends {
		t.Run(name, func(t *testing.T) { fn(t, newClient(t, open)) })
	}
}

var scimToken = store.Actor{Kind: "token", ID: "tok-okta", Name: "okta"}

func (c *client) user(tenant, userName string, active bool, role string) store.User {
	c.t.Helper()
	u, err := c.store.CreateUser(c.t.Context(), tenant, store.User{UserName: userName, Active: active, ExplicitRole: role, Role: role}, scimToken)
	require.NoError(c.t, err)
	return u
}

func (c *client) setActive(tenant, id string, active bool) error {
	_, err := c.store.UpdateUser(c.t.Context(), tenant, id, scimToken, func(u *store.User) error { u.Active = active; return nil })
	return err
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

func obj(r response, path ...string) map[string]any {
	m := r.Body
	for _, p := range path {
		m, _ = m[p].(map[string]any)
	}
	return m
}

// TestAdmin_seatReport walks a tenant through a contract year and checks the
// report's numbers, worked out by hand from the price list, after each step.
func TestAdmin_seatReport(t *testing.T) {
	forEachSeatBackend(t, func(t *testing.T, c *client) {
		// 2026-11-22: the contract started on 1 January, 40 days to the renewal.
		r := c.do("POST", "/admin/v1/tenants", `{"id":"acme","name":"Acme","plan":"ultimate","seats":10,"addons":["hipaa"],
			"contract_start":"2026-01-01","settings":{"light_seat_price_cents":500}}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		assert.Equal(t, "2026-01-01T00:00:00Z", obj(r, "contract")["start"])
		assert.Nil(t, obj(r, "contract")["pending_reduction"])
		_, err := c.store.CreateRole(t.Context(), "acme", store.Role{Name: "viewer", Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, store.ActorAdmin)
		require.NoError(t, err)
		for i := range 7 {
			c.user("acme", fmt.Sprintf("agent%d@acme.test", i), true, store.RoleAgent)
		}
		c.user("acme", "viewer1@acme.test", true, "viewer")
		c.user("acme", "viewer2@acme.test", true, "viewer")
		c.user("acme", "idle@acme.test", false, store.RoleAgent)

		r = c.do("GET", "/admin/v1/tenants/acme/seats", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, map[string]any{"id": "ultimate", "name": "Ultimate", "seat_price_cents": 13900.0, "billed_annually": true}, r.Body["plan"])
		for field, want := range map[string]int64{
			"minimum_seats": 8, "purchased_seats": 10, "consumed_seats": 7, "available_seats": 3, "overage_seats": 0,
			"billable_seats": 10, "active_users": 9,
			"monthly_cost_cents":      10*13900 + 2*500 + 9*2500,
			"annual_commitment_cents": 10 * 13900 * 12,
		} {
			assert.Equal(t, want, num(r.Body[field]), field)
		}
		assert.Equal(t, false, r.Body["overage_allowed"])
		assert.Equal(t, map[string]any{"consumed": 2.0, "price_cents": 500.0, "monthly_cents": 1000.0}, r.Body["light_seats"])
		assert.Equal(t, []any{map[string]any{"id": "hipaa", "name": "HIPAA Compliance", "users": 9.0, "user_price_cents": 2500.0,
			"included_in_plan": false, "monthly_cents": 22500.0}}, r.Body["addons"])
		assert.Equal(t, map[string]any{"seats_cents": 139000.0, "light_seats_cents": 1000.0, "addons_cents": 22500.0, "total_cents": 162500.0}, r.Body["monthly"])
		assert.Equal(t, map[string]any{"purchased_seats": 10.0, "billable_seats": 10.0, "monthly_cost_cents": 162500.0}, r.Body["billable_now"])
		contract := obj(r, "contract")
		assert.Equal(t, "2026-01-01T00:00:00Z", contract["start"])
		assert.Equal(t, "2026-01-01T00:00:00Z", contract["term_start"])
		assert.Equal(t, "2027-01-01T00:00:00Z", contract["renewal"])
		assert.Equal(t, 365.0, contract["days_in_term"])
		assert.Equal(t, 40.0, contract["days_to_renewal"])
		assert.Equal(t, []any{}, contract["prorated_additions"])
		assert.Contains(t, r.Body["billing_trigger"], "invite time, not first sign-in")

		// Five seats added with 40 days left: 5 × 13900 × 12 × 40 / 365 = 91397.26.
		r = c.do("PATCH", "/admin/v1/tenants/acme", `{"seats":15}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, 15.0, r.Body["seats"])
		r = c.do("GET", "/admin/v1/tenants/acme/seats", "")
		contract = obj(r, "contract")
		assert.Equal(t, []any{map[string]any{"at": "2026-11-22T10:00:00Z", "from_seats": 10.0, "to_seats": 15.0, "billable_seats_added": 5.0,
			"days_to_renewal": 40.0, "days_in_term": 365.0, "amount_cents": 91397.0}}, contract["prorated_additions"])
		assert.Equal(t, 91397.0, contract["prorated_additions_cents"])
		assert.Equal(t, 10.0, contract["seats_at_term_start"])
		assert.Equal(t, int64(10*13900*12+91397), num(r.Body["annual_commitment_cents"]))
		assert.Equal(t, int64(15*13900+1000+22500), num(r.Body["monthly_cost_cents"]))

		// Lowered to 12: the 15 stay until the renewal.
		r = c.do("PATCH", "/admin/v1/tenants/acme", `{"seats":12}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, 15.0, r.Body["seats"], "a reduction waits for the renewal")
		assert.Equal(t, map[string]any{"seats": 12.0, "effective_at": "2027-01-01T00:00:00Z"}, obj(r, "contract")["pending_reduction"])
		r = c.do("GET", "/admin/v1/tenants/acme/seats", "")
		assert.Equal(t, map[string]any{"purchased_seats": 15.0, "billable_seats": 15.0, "monthly_cost_cents": float64(15*13900 + 1000 + 22500)}, r.Body["billable_now"])
		assert.Equal(t, map[string]any{"at": "2027-01-01T00:00:00Z", "purchased_seats": 12.0, "billable_seats": 12.0,
			"monthly_cost_cents": float64(12*13900 + 1000 + 22500), "annual_commitment_cents": float64(12 * 13900 * 12)}, r.Body["billable_after_renewal"])

		// Until the renewal the cap is 15.
		for i := range 8 {
			c.user("acme", fmt.Sprintf("new%d@acme.test", i), true, store.RoleAgent)
		}
		_, err = c.store.CreateUser(t.Context(), "acme", store.User{UserName: "one-too-many@acme.test", Active: true}, scimToken)
		assert.EqualError(t, err, "15 of 15 seats are in use on tenant acme; raise the seat count or deactivate a user")

		// From the renewal on, 12 are purchased; the 15 in use are billed.
		c.now = time.Date(2027, 1, 1, 0, 0, 1, 0, time.UTC)
		r = c.do("GET", "/admin/v1/tenants/acme", "")
		assert.Equal(t, 12.0, r.Body["seats"])
		assert.Nil(t, obj(r, "contract")["pending_reduction"])
		r = c.do("GET", "/admin/v1/tenants/acme/seats", "")
		for field, want := range map[string]int64{"purchased_seats": 12, "consumed_seats": 15, "available_seats": 0, "overage_seats": 3, "billable_seats": 15} {
			assert.Equal(t, want, num(r.Body[field]), field)
		}
		assert.Equal(t, "2027-01-01T00:00:00Z", obj(r, "contract")["term_start"])
		assert.Equal(t, 12.0, obj(r, "contract")["seats_at_term_start"])
		assert.Equal(t, []any{}, obj(r, "contract")["prorated_additions"], "last term's additions are not billed again")
		_, err = c.store.CreateUser(t.Context(), "acme", store.User{UserName: "after@acme.test", Active: true}, scimToken)
		assert.EqualError(t, err, "15 seats are in use on tenant acme, more than the 12 purchased; deactivate 4 user(s) or raise the seat count",
			"4: back to 11 in use, so that one more fits under 12")

		// The Enterprise Bundle includes AI Copilot: never billed twice.
		r = c.do("PATCH", "/admin/v1/tenants/acme", `{"plan":"enterprise_bundle","addons":["ai_copilot","hipaa"]}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		r = c.do("GET", "/admin/v1/tenants/acme/seats", "")
		assert.Equal(t, []any{
			map[string]any{"id": "ai_copilot", "name": "AI Copilot", "users": 17.0, "user_price_cents": 4000.0, "included_in_plan": true, "monthly_cents": 0.0},
			map[string]any{"id": "hipaa", "name": "HIPAA Compliance", "users": 17.0, "user_price_cents": 2500.0, "included_in_plan": false, "monthly_cents": 42500.0},
		}, r.Body["addons"])
		assert.Equal(t, int64(15*12900+2*500+17*2500), num(r.Body["monthly_cost_cents"]))
	})
}

func TestAdmin_seatReport_errors(t *testing.T) {
	forEachSeatBackend(t, func(t *testing.T, c *client) {
		r := c.do("GET", "/admin/v1/tenants/nope/seats", "")
		assert.Equal(t, http.StatusNotFound, r.Status)
		assert.Contains(t, r.Body["message"], `no tenant "nope"`)
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","plan":"trial","seats":3}`).Status)
		r = c.do("GET", "/admin/v1/tenants/acme/seats?at=yesterday", "")
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Contains(t, fields(r)["at"], "not a parameter")
		r = c.do("GET", "/admin/v1/tenants/acme/seats", "")
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, 0.0, r.Body["billable_seats"], "a trial bills nothing")
		assert.Equal(t, 0.0, r.Body["minimum_seats"])
		assert.Equal(t, 3.0, r.Body["available_seats"])

		// contract_start is checked.
		for body, want := range map[string]string{
			`{"contract_start":"last spring"}`: "RFC 3339",
			`{"contract_start":"2031-01-01"}`:  "must not be in the future",
			`{"contract_start":"1999-12-31"}`:  "on or after 2000-01-01",
			`{"contract_start":7}`:             "must be a JSON string",
		} {
			r = c.do("PATCH", "/admin/v1/tenants/acme", body)
			assert.Equal(t, http.StatusBadRequest, r.Status, body)
			assert.Contains(t, fields(r)["contract_start"], want, body)
		}
		r = c.do("PATCH", "/admin/v1/tenants/acme", `{"contract_start":"2026-03-01T00:00:00Z","seats":2}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "2026-03-01T00:00:00Z", obj(r, "contract")["start"])
		assert.Equal(t, 2.0, r.Body["seats"], "a trial has no term: a reduction is immediate")
	})
}

// TestAdmin_contractStartMovesPendingReduction: moving the contract moves the
// renewal a pending reduction waits for.
func TestAdmin_contractStartMovesPendingReduction(t *testing.T) {
	forEachSeatBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","plan":"enterprise","seats":20,"contract_start":"2026-01-01"}`).Status)
		r := c.do("PATCH", "/admin/v1/tenants/acme", `{"seats":9}`)
		assert.Equal(t, map[string]any{"seats": 9.0, "effective_at": "2027-01-01T00:00:00Z"}, obj(r, "contract")["pending_reduction"])
		r = c.do("PATCH", "/admin/v1/tenants/acme", `{"contract_start":"2025-12-15"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, map[string]any{"seats": 9.0, "effective_at": "2026-12-15T00:00:00Z"}, obj(r, "contract")["pending_reduction"])
		r = c.do("PATCH", "/admin/v1/tenants/acme", `{"seats":20}`)
		assert.Nil(t, obj(r, "contract")["pending_reduction"], "asking for the seats in force withdraws the reduction")
		assert.Equal(t, 20.0, r.Body["seats"])
	})
}

func TestAdmin_seatEvents(t *testing.T) {
	forEachSeatBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","plan":"ultimate","seats":5}`).Status)
		t0 := c.now
		tick := func() { c.now = c.now.Add(time.Hour) }
		alice := c.user("acme", "alice@acme.test", true, store.RoleAgent) // 10:00
		tick()
		bob := c.user("acme", "bob@acme.test", true, store.RoleAgent) // 11:00
		tick()
		require.NoError(t, c.setActive("acme", alice.ID, false)) // 12:00
		tick()
		require.NoError(t, c.setActive("acme", alice.ID, true)) // 13:00
		tick()
		require.NoError(t, c.store.DeleteUser(t.Context(), "acme", bob.ID, store.ActorAdmin)) // 14:00

		r := c.do("GET", "/admin/v1/tenants/acme/seats/events", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		events := r.Body["events"].([]any)
		require.Len(t, events, 5)
		assert.Nil(t, r.Body["next_cursor"])
		assert.Equal(t, map[string]any{"seq": 1.0, "at": "2026-11-22T10:00:00Z", "user_id": alice.ID, "seat": "full", "delta": 1.0,
			"reason": "provisioned", "actor": map[string]any{"kind": "token", "id": "tok-okta", "name": "okta"}}, events[0])
		reasons := []string{}
		for _, e := range events {
			reasons = append(reasons, e.(map[string]any)["reason"].(string))
		}
		assert.Equal(t, []string{"provisioned", "provisioned", "deactivated", "reactivated", "deleted"}, reasons)

		// Paging by cursor visits every event once.
		var seen []float64
		path := "/admin/v1/tenants/acme/seats/events?limit=2"
		for pages := 0; ; pages++ {
			require.Less(t, pages, 5)
			r = c.do("GET", path, "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			for _, e := range r.Body["events"].([]any) {
				seen = append(seen, e.(map[string]any)["seq"].(float64))
			}
			next, ok := r.Body["next_cursor"].(string)
			if !ok {
				break
			}
			path = "/admin/v1/tenants/acme/seats/events?limit=2&cursor=" + next
		}
		assert.Equal(t, []float64{1, 2, 3, 4, 5}, seen)

		// By time range: from inclusive, to exclusive; dates and RFC 3339.
		q := url.Values{"from": {t0.Add(time.Hour).Format(time.RFC3339)}, "to": {t0.Add(3 * time.Hour).Format(time.RFC3339)}}
		r = c.do("GET", "/admin/v1/tenants/acme/seats/events?"+q.Encode(), "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Len(t, r.Body["events"], 2, "11:00 and 12:00")
		r = c.do("GET", "/admin/v1/tenants/acme/seats/events?to=2026-11-22", "")
		assert.Len(t, r.Body["events"], 0)
		r = c.do("GET", "/admin/v1/tenants/acme/seats/events?from=2026-11-22", "")
		assert.Len(t, r.Body["events"], 5)

		// By user: id, userName of a current user, id of a deleted one.
		for _, user := range []string{alice.ID, "alice@acme.test", "ALICE@acme.test"} {
			r = c.do("GET", "/admin/v1/tenants/acme/seats/events?user="+url.QueryEscape(user), "")
			assert.Len(t, r.Body["events"], 3, user)
		}
		r = c.do("GET", "/admin/v1/tenants/acme/seats/events?user="+bob.ID, "")
		require.Len(t, r.Body["events"], 2)
		assert.Equal(t, "deleted", r.Body["events"].([]any)[1].(map[string]any)["reason"])
		assert.Equal(t, map[string]any{"kind": "admin", "id": "operator"}, r.Body["events"].([]any)[1].(map[string]any)["actor"])
		r = c.do("GET", "/admin/v1/tenants/acme/seats/events?user=nobody", "")
		assert.Equal(t, []any{}, r.Body["events"])

		// Bad parameters are named, all at once.
		r = c.do("GET", "/admin/v1/tenants/acme/seats/events?from=yesterday&limit=0&cursor=abc", "")
		require.Equal(t, http.StatusBadRequest, r.Status)
		f := fields(r)
		assert.Contains(t, f["from"], "RFC 3339")
		assert.Contains(t, f["limit"], "between 1 and 1000")
		assert.Contains(t, f["cursor"], "next_cursor")
		r = c.do("GET", "/admin/v1/tenants/acme/seats/events?from=2026-11-23&to=2026-11-22", "")
		assert.Contains(t, fields(r)["to"], "after from")
		r = c.do("GET", "/admin/v1/tenants/acme/seats/events?usr=x", "")
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Contains(t, fields(r)["usr"], "parameters: from, to, user, cursor, limit")
		r = c.do("GET", "/admin/v1/tenants/nope/seats/events", "")
		assert.Equal(t, http.StatusNotFound, r.Status)
	})
}

// TestAdmin_trialConversionStartsContract: a trial converted to a paid plan
// starts its first annual term at the conversion, not at the trial's start.
func TestAdmin_trialConversionStartsContract(t *testing.T) {
	forEachSeatBackend(t, func(t *testing.T, c *client) {
		c.now = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","plan":"trial","seats":3}`).Status)
		r := c.do("PATCH", "/admin/v1/tenants/acme", `{"seats":5}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		c.now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		r = c.do("PATCH", "/admin/v1/tenants/acme", `{"plan":"ultimate","seats":12}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "2026-11-22T10:00:00Z", obj(r, "contract")["start"])
		r = c.do("GET", "/admin/v1/tenants/acme/seats", "")
		contract := obj(r, "contract")
		assert.Equal(t, "2027-11-22T10:00:00Z", contract["renewal"])
		assert.Equal(t, 365.0, contract["days_to_renewal"])
		// The 5 → 12 at conversion is the first term's count, not a mid-term addition.
		assert.Equal(t, []any{}, contract["prorated_additions"])
		assert.Equal(t, 12.0, contract["seats_at_term_start"])
		assert.Equal(t, float64(12*13900*12), r.Body["annual_commitment_cents"])
	})
}
