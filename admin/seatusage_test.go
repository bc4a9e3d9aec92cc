package admin_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// novemberHistory gives tenant acme (Ultimate, 10 seats, HIPAA, light seats
// at $5, contract from 1 January 2026) the history of docs/contract.md's
// seat-usage example, each step at its own time on the shared clock: seven
// agents and a viewer in October; in November two invitations on the 3rd,
// one of them deactivated on the 5th, seats raised to 12 on the 10th, a
// second viewer on the 15th, seats lowered to 9 on the 20th (in force at the
// renewal). It leaves the clock at 22 November 2026, 10:00 UTC.
func novemberHistory(t *testing.T, c *client) {
	t.Helper()
	c.now = time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	r := c.do("POST", "/admin/v1/tenants", `{"id":"acme","name":"Acme","plan":"ultimate","seats":10,"addons":["hipaa"],
		"contract_start":"2026-01-01","settings":{"light_seat_price_cents":500}}`)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	_, err := c.store.CreateRole(t.Context(), "acme", store.Role{Name: "viewer", Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, store.ActorAdmin)
	require.NoError(t, err)
	at := func(m time.Month, d, h int) { c.now = time.Date(2026, m, d, h, 0, 0, 0, time.UTC) }
	for i := range 7 {
		at(10, 1+i, 9)
		c.user("acme", fmt.Sprintf("agent%d@acme.test", i), true, store.RoleAgent)
	}
	at(10, 20, 9)
	c.user("acme", "viewer1@acme.test", true, "viewer")
	at(11, 3, 9)
	h := c.user("acme", "h@acme.test", true, store.RoleAgent)
	at(11, 3, 15)
	c.user("acme", "i@acme.test", true, store.RoleAgent)
	at(11, 5, 12)
	require.NoError(t, c.setActive("acme", h.ID, false))
	at(11, 10, 10)
	r = c.do("PATCH", "/admin/v1/tenants/acme", `{"seats":12}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	at(11, 15, 12)
	c.user("acme", "viewer2@acme.test", true, "viewer")
	at(11, 20, 10)
	r = c.do("PATCH", "/admin/v1/tenants/acme", `{"seats":9}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	at(11, 22, 10)
}

// points is the points of a usage answer as comparable rows.
func points(t *testing.T, r response) []map[string]any {
	t.Helper()
	list, ok := r.Body["points"].([]any)
	require.True(t, ok, r.Raw)
	out := make([]map[string]any, 0, len(list))
	for _, p := range list {
		out = append(out, p.(map[string]any))
	}
	return out
}

func point(start, end, at string, consumed, light, peak, usable, purchased, billable int, cost int64) map[string]any {
	return map[string]any{"start": start, "end": end, "at": at, "consumed": float64(consumed), "light": float64(light),
		"peak_consumed": float64(peak), "usable": float64(usable), "purchased": float64(purchased), "billable": float64(billable),
		"cost_cents": float64(cost)}
}

// TestAdmin_seatUsage checks the history of November by week against
// numbers worked out by hand (cost = billable × $139 + light × $5 +
// (full + light) × $25 HIPAA), on both stores: weeks start on Monday, each
// point is the state at the end of its week, the week in progress is the
// state now, and the week that has not begun is left out.
func TestAdmin_seatUsage(t *testing.T) {
	forEachSeatBackend(t, func(t *testing.T, c *client) {
		novemberHistory(t, c)
		r := c.do("GET", "/admin/v1/tenants/acme/seats/usage?from=2026-11-01&to=2026-11-30&interval=week", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "week", r.Body["interval"])
		assert.Equal(t, "2026-11-01", r.Body["from"])
		assert.Equal(t, "2026-11-30", r.Body["to"])
		assert.Equal(t, "USD", r.Body["currency"])
		assert.Equal(t, "ultimate", r.Body["plan"])
		assert.Equal(t, "2026-11-22T10:00:00Z", r.Body["as_of"])
		assert.Contains(t, r.Body["note"], "the state at the end of its interval")
		assert.Equal(t, []map[string]any{
			point("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "2026-11-02T00:00:00Z", 7, 1, 7, 10, 10, 10, 10*13900+500+8*2500),
			point("2026-11-02T00:00:00Z", "2026-11-09T00:00:00Z", "2026-11-09T00:00:00Z", 8, 1, 9, 10, 10, 10, 10*13900+500+9*2500),
			point("2026-11-09T00:00:00Z", "2026-11-16T00:00:00Z", "2026-11-16T00:00:00Z", 8, 2, 8, 12, 12, 12, 12*13900+1000+10*2500),
			point("2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z", "2026-11-22T10:00:00Z", 8, 2, 8, 12, 12, 12, 12*13900+1000+10*2500),
		}, points(t, r))

		// By month: October closes with 7 full seats, November is in
		// progress and agrees with the seat report of now.
		r = c.do("GET", "/admin/v1/tenants/acme/seats/usage?from=2026-10-01&to=2026-12-31&interval=month", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		ps := points(t, r)
		require.Len(t, ps, 2)
		assert.Equal(t, point("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z", 7, 1, 7, 10, 10, 10, 10*13900+500+8*2500), ps[0])
		report := c.do("GET", "/admin/v1/tenants/acme/seats", "")
		require.Equal(t, http.StatusOK, report.Status, report.Raw)
		for field, want := range map[string]string{"consumed_seats": "consumed", "purchased_seats": "purchased", "usable_seats": "usable",
			"billable_seats": "billable", "monthly_cost_cents": "cost_cents"} {
			assert.Equal(t, report.Body[field], ps[1][want], "%s: the point in progress is the seat report", field)
		}
		assert.Equal(t, 9.0, ps[1]["peak_consumed"])

		// Defaults: the last 30 days by day, today included.
		r = c.do("GET", "/admin/v1/tenants/acme/seats/usage", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "day", r.Body["interval"])
		assert.Equal(t, "2026-10-24", r.Body["from"])
		assert.Equal(t, "2026-11-22", r.Body["to"])
		ps = points(t, r)
		require.Len(t, ps, 30)
		assert.Equal(t, "2026-10-24T00:00:00Z", ps[0]["start"])
		assert.Equal(t, "2026-11-22T10:00:00Z", ps[29]["at"])
		byStart := map[string]map[string]any{}
		for _, p := range ps {
			byStart[p["start"].(string)] = p
		}
		assert.Equal(t, 9.0, byStart["2026-11-03T00:00:00Z"]["consumed"], "two invitations on the 3rd")
		assert.Equal(t, 8.0, byStart["2026-11-05T00:00:00Z"]["consumed"], "one deactivated on the 5th")
		assert.Equal(t, 9.0, byStart["2026-11-05T00:00:00Z"]["peak_consumed"], "… who held a seat that morning")
		assert.Equal(t, 10.0, byStart["2026-11-09T00:00:00Z"]["purchased"])
		assert.Equal(t, 12.0, byStart["2026-11-10T00:00:00Z"]["purchased"], "raised on the 10th")
		assert.Equal(t, 12.0, byStart["2026-11-21T00:00:00Z"]["purchased"], "lowered on the 20th, in force only at the renewal")

		// A tenant the caller cannot see.
		r = c.do("GET", "/admin/v1/tenants/nope/seats/usage", "")
		assert.Equal(t, http.StatusNotFound, r.Status, r.Raw)
	})
}

// TestAdmin_seatUsageSameOnBothStores replays the same history into the
// memory store and PostgreSQL and proves that every interval answers byte
// for byte the same, in JSON and in CSV.
func TestAdmin_seatUsageSameOnBothStores(t *testing.T) {
	queries := []string{
		"", "?interval=week", "?interval=month&from=2026-01-01&to=2026-12-31",
		"?from=2026-10-01&to=2026-11-30", "?from=2026-11-05&to=2026-11-05", "?from=2025-11-01&to=2026-11-22&interval=week",
		"?from=2026-11-01&to=2026-11-30&format=csv",
	}
	answers := map[string][]string{}
	for name, open := range seatBackends {
		c := newClient(t, open)
		novemberHistory(t, c)
		for _, q := range queries {
			answers[name] = append(answers[name], c.raw("GET", "/admin/v1/tenants/acme/seats/usage"+q))
		}
	}
	require.Len(t, answers, 2)
	for i, q := range queries {
		assert.Equal(t, answers["memory"][i], answers["postgres"][i], "query %q", q)
	}
}

// TestAdmin_seatUsageSameOnBothStoresRandom drives the same random history —
// invitations on full and light seats, deactivations, reactivations,
// deletions, role changes between seat classes and seat changes, hours
// apart over three months — into the memory store and PostgreSQL, and proves
// that every history of it answers the same on both.
func TestAdmin_seatUsageSameOnBothStoresRandom(t *testing.T) {
	queries := []string{
		"?from=2026-08-01&to=2026-11-22", "?from=2026-08-01&to=2026-11-22&interval=week",
		"?from=2026-08-01&to=2026-12-31&interval=month", "?from=2026-09-15&to=2026-10-15&format=csv",
	}
	for seed := range 2 {
		answers := map[string][]string{}
		for name, open := range seatBackends {
			c := newClient(t, open)
			rng := rand.New(rand.NewPCG(uint64(seed), 5))
			c.now = time.Date(2026, 8, 1, 6, 0, 0, 0, time.UTC)
			r := c.do("POST", "/admin/v1/tenants", `{"id":"acme","plan":"enterprise","seats":5,"addons":["ai_copilot"],
				"contract_start":"2026-03-01","settings":{"overage":true,"light_seat_price_cents":700}}`)
			require.Equal(t, http.StatusCreated, r.Status, r.Raw)
			_, err := c.store.CreateRole(t.Context(), "acme", store.Role{Name: "viewer", Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, store.ActorAdmin)
			require.NoError(t, err)
			var live []string
			for step := range 100 {
				c.now = c.now.Add(time.Duration(1+rng.IntN(30)) * time.Hour)
				switch op := rng.IntN(7); {
				case op <= 1 || len(live) == 0:
					role := []string{store.RoleAgent, store.RoleAgent, "viewer"}[rng.IntN(3)]
					live = append(live, c.user("acme", fmt.Sprintf("u%d@acme.test", step), rng.IntN(4) > 0, role).ID)
				case op == 2:
					require.NoError(t, c.setActive("acme", live[rng.IntN(len(live))], false))
				case op == 3:
					require.NoError(t, c.setActive("acme", live[rng.IntN(len(live))], true))
				case op == 4:
					i := rng.IntN(len(live))
					require.NoError(t, c.store.DeleteUser(t.Context(), "acme", live[i], scimToken))
					live = append(live[:i], live[i+1:]...)
				case op == 5:
					role := []string{store.RoleAgent, "viewer"}[rng.IntN(2)]
					_, err := c.store.UpdateUser(t.Context(), "acme", live[rng.IntN(len(live))], scimToken, func(u *store.User) error {
						u.Role, u.ExplicitRole = role, role
						return nil
					})
					require.NoError(t, err)
				default:
					r := c.do("PATCH", "/admin/v1/tenants/acme", fmt.Sprintf(`{"seats":%d}`, 3+rng.IntN(15)))
					require.Equal(t, http.StatusOK, r.Status, r.Raw)
				}
			}
			c.now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			for _, q := range queries {
				answers[name] = append(answers[name], c.raw("GET", "/admin/v1/tenants/acme/seats/usage"+q))
			}
		}
		require.Len(t, answers, 2)
		for i, q := range queries {
			assert.Equal(t, answers["memory"][i], answers["postgres"][i], "seed %d, query %q", seed, q)
		}
		// The history is not a flat line: seats were held and changed.
		var daily struct {
			Points []struct{ Consumed, Light, Purchased int }
		}
		require.NoError(t, json.Unmarshal([]byte(answers["memory"][0]), &daily))
		consumed, light, purchased := map[int]bool{}, map[int]bool{}, map[int]bool{}
		for _, p := range daily.Points {
			consumed[p.Consumed], light[p.Light], purchased[p.Purchased] = true, true, true
		}
		assert.Greater(t, len(consumed), 3, "seed %d", seed)
		assert.Greater(t, len(light), 1, "seed %d", seed)
		assert.Greater(t, len(purchased), 1, "seed %d", seed)
	}
}

// TestAdmin_seatUsageCSV: Accept: text/csv or ?format=csv answers the same
// points as the JSON, under a header row; ?format=json wins over Accept.
func TestAdmin_seatUsageCSV(t *testing.T) {
	forEachSeatBackend(t, func(t *testing.T, c *client) {
		novemberHistory(t, c)
		const path = "/admin/v1/tenants/acme/seats/usage?from=2026-11-01&to=2026-11-30&interval=week"
		ps := points(t, c.do("GET", path, ""))
		byAccept := c.raw("GET", path, "Accept", "text/csv")
		assert.Equal(t, byAccept, c.raw("GET", path+"&format=csv"))
		rows, err := csv.NewReader(strings.NewReader(byAccept)).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 1+len(ps))
		assert.Equal(t, []string{"start", "end", "at", "consumed", "light", "peak_consumed", "usable", "purchased", "billable", "cost_cents", "currency"}, rows[0])
		for i, p := range ps {
			row := rows[1+i]
			for j, col := range rows[0] {
				switch v := p[col].(type) {
				case string:
					assert.Equal(t, v, row[j], "row %d %s", i, col)
				case float64:
					assert.Equal(t, strconv.FormatInt(int64(v), 10), row[j], "row %d %s", i, col)
				default:
					assert.Equal(t, "currency", col)
					assert.Equal(t, "USD", row[j])
				}
			}
		}

		res := c.do("GET", path+"&format=json", "", "Accept", "text/csv")
		require.Equal(t, http.StatusOK, res.Status)
		assert.Equal(t, "application/json", strings.Split(res.Header.Get("Content-Type"), ";")[0])
		req, err := http.NewRequest("GET", c.srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Accept", "text/csv")
		hres, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		hres.Body.Close()
		assert.Equal(t, "text/csv; charset=utf-8", hres.Header.Get("Content-Type"))
		assert.Equal(t, `attachment; filename="seat-usage-acme-2026-11-01-2026-11-30-week.csv"`, hres.Header.Get("Content-Disposition"))
	})
}

// TestAdmin_seatUsageRefusals: each bad query is a 400 naming the parameter
// to change.
func TestAdmin_seatUsageRefusals(t *testing.T) {
	forEachSeatBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 10)
		for query, want := range map[string]map[string]string{
			"?from=2026-11-30&to=2026-11-01":                 {"from": "must not be after to (2026-11-30 is after 2026-11-01)"},
			"?interval=year":                                 {"interval": `unknown interval "year"; intervals: day, week, month`},
			"?interval=Day":                                  {"interval": `unknown interval "Day"`},
			"?from=2020-01-01&to=2026-11-01":                 {"interval": "2020-01-01 to 2026-11-01 by day is more than 400 points; shorten the range or choose a longer interval"},
			"?from=1990-01-01&interval=month":                {"interval": "more than 400 points"},
			"?from=November":                                 {"from": `"November" is not a date; give a UTC date such as 2026-11-01`},
			"?to=2026-11-31":                                 {"to": `"2026-11-31" is not a date`},
			"?from=2026-11-01T00:00:00Z":                     {"from": "is not a date"},
			"?from=yesterday&to=today":                       {"from": "is not a date", "to": "is not a date"},
			"?from=2026-12-01":                               {"from": "must not be after today (2026-11-22)"},
			"?format=xml":                                    {"format": `unknown format "xml"; formats: json, csv`},
			"?since=2026-11-01":                              {"since": "is not a parameter of this endpoint; parameters: from, to, interval, format"},
			"?from=2026-11-01&to=2026-11-30&interval=hourly": {"interval": "unknown interval"},
		} {
			r := c.do("GET", "/admin/v1/tenants/acme/seats/usage"+query, "")
			require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", query, r.Raw)
			assert.Equal(t, "invalid_request", r.Body["error"], query)
			got := fields(r)
			assert.Len(t, got, len(want), "%s: %s", query, r.Raw)
			for field, msg := range want {
				assert.Contains(t, got[field], msg, "%s: %s", query, r.Raw)
				assert.Contains(t, r.Body["message"], field+": ", query)
			}
		}
		// A future to is fine: the history stops now.
		r := c.do("GET", "/admin/v1/tenants/acme/seats/usage?from=2026-11-20&to=2027-01-31", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Len(t, points(t, r), 3)
	})
}
