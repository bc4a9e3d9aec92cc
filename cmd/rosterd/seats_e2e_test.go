package main

// End-to-end seats: SCIM requests shaped like Okta's and Entra's
// go through rosterd's whole handler (scimauth.Guard → scim) and the seat
// report and ledger of the admin API are checked after each step.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// seats is the figures of the seat report this test follows.
type seats struct {
	Purchased, Usable, Consumed, Available, Overage, Billable, Light int
	MonthlyCents                                                     int64
}

func (e *e2e) report() seats {
	e.t.Helper()
	r := e.admin("GET", "/tenants/acme/seats", "")
	require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	n := func(k string) int { f, _ := r.Body[k].(float64); return int(f) }
	light, _ := r.Body["light_seats"].(map[string]any)["consumed"].(float64)
	return seats{n("purchased_seats"), n("usable_seats"), n("consumed_seats"), n("available_seats"), n("overage_seats"), n("billable_seats"),
		int(light), int64(n("monthly_cost_cents"))}
}

type entry struct{ User, Seat, Reason, Actor string }

// ledger is the whole seat ledger, read a page of 2 at a time.
func (e *e2e) ledger() []entry {
	e.t.Helper()
	var out []entry
	path := "/tenants/acme/seats/events?limit=2"
	for range 100 {
		r := e.admin("GET", path, "")
		require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
		for _, x := range r.Body["events"].([]any) {
			ev := x.(map[string]any)
			seat := ev["seat"].(string)
			if ev["delta"].(float64) < 0 {
				seat = "-" + seat
			} else {
				seat = "+" + seat
			}
			out = append(out, entry{ev["user_id"].(string), seat, ev["reason"].(string), ev["actor"].(map[string]any)["name"].(string)})
		}
		next, ok := r.Body["next_cursor"].(string)
		if !ok {
			return out
		}
		path = "/tenants/acme/seats/events?limit=2&cursor=" + next
	}
	e.t.Fatal("the ledger does not end")
	return nil
}

// refused checks a SCIM 403 for the seat cap, naming the numbers.
func (e *e2e) refused(a answer, detail string) {
	e.t.Helper()
	require.Equal(e.t, http.StatusForbidden, a.Status, a.Raw)
	assert.Equal(e.t, []any{"urn:ietf:params:scim:api:messages:2.0:Error"}, a.Body["schemas"])
	assert.Equal(e.t, "403", a.Body["status"])
	assert.Equal(e.t, detail, a.Body["detail"])
}

func seatOf(u map[string]any) string {
	ext, _ := u[rosterExt].(map[string]any)
	s, _ := ext["seat"].(string)
	return s
}

// TestE2E_seatsThroughOktaAndEntra drives a tenant with 3 purchased seats —
// billed, and so usable, at the minimum of 8 — through Okta and Entra
// provisioning — creates (active and not), the cap at 8,
// Entra's "False"/"True" PATCHes, Okta's pathless deactivation and AIW PUT,
// a light-seat role, deletes, overage — and checks the seat report and the
// ledger after each step, on the memory and the PostgreSQL store.
func TestE2E_seatsThroughOktaAndEntra(t *testing.T) {
	forEachStore(t, testE2ESeats)
}

func testE2ESeats(t *testing.T, open storeOpener) {
	e, st := newE2E(t, time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), open)

	// The operator sets up the tenant: Ultimate, 3 seats, SAML, a token per
	// IdP, and a light-seat role.
	okta, entra := e.setUpAcme(`{"id":"acme","name":"Acme","plan":"ultimate","seats":3,"contract_start":"2026-01-01"}`, oktaMetadata(t))
	_, err := st.CreateRole(t.Context(), "acme", store.Role{Name: "viewer", Description: "read-only stakeholder",
		Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, store.ActorAdmin)
	require.NoError(t, err)
	minimum := int64(8 * 13900)
	assert.Equal(t, seats{Purchased: 3, Usable: 8, Available: 8, Billable: 8, MonthlyCents: minimum}, e.report(),
		"nothing used: the minimum is billed, and may be used")

	// Okta: lookup miss, then create active. The seat is taken at once.
	r := e.okta(okta, "GET", "/Users?filter=userName%20eq%20%22ann%40acme.test%22&startIndex=1&count=100", "")
	assert.Equal(t, 0.0, e.scimOK(r, http.StatusOK, "lookup")["totalResults"])
	ann := e.scimOK(e.okta(okta, "POST", "/Users", oktaUser("ann@acme.test", true, "")), http.StatusCreated, "okta create")
	assert.Equal(t, "consumed", seatOf(ann))
	assert.Equal(t, seats{Purchased: 3, Usable: 8, Consumed: 1, Available: 7, Billable: 8, MonthlyCents: minimum}, e.report(),
		"billed from provisioning, not first sign-in")

	// Entra: create active, and create inactive (no seat).
	bob := e.scimOK(e.entra(entra, "POST", "/Users", entraUser("bob@acme.test", true)), http.StatusCreated, "entra create")
	carol := e.scimOK(e.entra(entra, "POST", "/Users", entraUser("carol@acme.test", false)), http.StatusCreated, "entra create inactive")
	assert.Equal(t, "none", seatOf(carol))
	assert.Equal(t, seats{Purchased: 3, Usable: 8, Consumed: 2, Available: 6, Billable: 8, MonthlyCents: minimum}, e.report())

	// A light seat (Okta sends the role as a mapped attribute): not capped.
	vic := e.scimOK(e.okta(okta, "POST", "/Users", oktaUser("vic@acme.test", true, "viewer")), http.StatusCreated, "light")
	assert.Equal(t, "light", seatOf(vic))
	dan := e.scimOK(e.okta(okta, "POST", "/Users", oktaUser("dan@acme.test", true, "")), http.StatusCreated, "third seat")
	assert.Equal(t, seats{Purchased: 3, Usable: 8, Consumed: 3, Available: 5, Billable: 8, Light: 1, MonthlyCents: minimum}, e.report())

	// Beyond the 3 purchased, up to the 8 billed: the 4th to the 8th seat are taken.
	var fills []string
	for i := range 5 {
		u := e.scimOK(e.okta(okta, "POST", "/Users", oktaUser(fmt.Sprintf("fill%d@acme.test", i), true, "")), http.StatusCreated, "within the minimum")
		fills = append(fills, u["id"].(string))
	}
	assert.Equal(t, seats{Purchased: 3, Usable: 8, Consumed: 8, Available: 0, Billable: 8, Light: 1, MonthlyCents: minimum}, e.report())

	// The cap: an Okta create and Entra's "True" reactivation are refused,
	// naming the numbers, and change nothing.
	full := "8 of 8 seats are in use on tenant acme; raise the seat count or deactivate a user"
	e.refused(e.okta(okta, "POST", "/Users", oktaUser("erin@acme.test", true, "")), full)
	r = e.okta(okta, "GET", "/Users?filter=userName%20eq%20%22erin%40acme.test%22&startIndex=1&count=100", "")
	assert.Equal(t, 0.0, e.scimOK(r, http.StatusOK, "lookup")["totalResults"], "a refused create writes no user")
	carolID := carol["id"].(string)
	e.refused(e.entra(entra, "PATCH", "/Users/"+carolID, `{`+patchOp+`,"Operations":[{"op":"Replace","path":"active","value":"True"}]}`), full)
	r = e.entra(entra, "GET", "/Users/"+carolID, "")
	assert.Equal(t, false, e.scimOK(r, http.StatusOK, "get")["active"], "a refused reactivation leaves the user inactive")
	assert.Equal(t, seats{Purchased: 3, Usable: 8, Consumed: 8, Available: 0, Billable: 8, Light: 1, MonthlyCents: minimum}, e.report())

	// Entra's default-form deactivation ("False") releases; "True" takes it again.
	bobID := bob["id"].(string)
	r = e.entra(entra, "PATCH", "/Users/"+bobID, `{`+patchOp+`,"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
	assert.Equal(t, "none", seatOf(e.scimOK(r, http.StatusOK, "entra False")))
	assert.Equal(t, 7, e.report().Consumed)
	r = e.entra(entra, "PATCH", "/Users/"+carolID, `{`+patchOp+`,"Operations":[{"op":"Replace","path":"active","value":"True"}]}`)
	assert.Equal(t, "consumed", seatOf(e.scimOK(r, http.StatusOK, "entra True")))
	assert.Equal(t, 8, e.report().Consumed)

	// Okta's pathless deactivation, and an AIW-style full PUT with active false.
	danID, annID := dan["id"].(string), ann["id"].(string)
	r = e.okta(okta, "PATCH", "/Users/"+danID, `{`+patchOp+`,"Operations":[{"op":"replace","value":{"active":false}}]}`)
	require.Contains(t, []int{http.StatusOK, http.StatusNoContent}, r.Status, r.Raw)
	assert.Equal(t, 7, e.report().Consumed)
	r = e.okta(okta, "GET", "/Users/"+annID, "")
	got := e.scimOK(r, http.StatusOK, "get before put")
	got["active"] = false
	body, err := json.Marshal(got)
	require.NoError(t, err)
	assert.Equal(t, "none", seatOf(e.scimOK(e.okta(okta, "PUT", "/Users/"+annID, string(body)), http.StatusOK, "okta put")))
	assert.Equal(t, seats{Purchased: 3, Usable: 8, Consumed: 6, Available: 2, Billable: 8, Light: 1, MonthlyCents: minimum}, e.report())

	// Entra's hard delete: of an inactive user releases nothing, of an active one its seat.
	require.Equal(t, http.StatusNoContent, e.entra(entra, "DELETE", "/Users/"+bobID, "").Status)
	require.Equal(t, http.StatusNoContent, e.entra(entra, "DELETE", "/Users/"+carolID, "").Status)
	assert.Equal(t, http.StatusNotFound, e.entra(entra, "DELETE", "/Users/"+carolID, "").Status)
	assert.Equal(t, seats{Purchased: 3, Usable: 8, Consumed: 5, Available: 3, Billable: 8, Light: 1, MonthlyCents: minimum}, e.report())

	// Overage allowed: 10 Okta creates all succeed and are billed.
	r = e.admin("PATCH", "/tenants/acme", `{"settings":{"overage":true}}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	for i := range 10 {
		e.scimOK(e.okta(okta, "POST", "/Users", oktaUser(fmt.Sprintf("new%d@acme.test", i), true, "")), http.StatusCreated, "overage create")
	}
	assert.Equal(t, seats{Purchased: 3, Usable: 8, Consumed: 15, Available: 0, Overage: 7, Billable: 15, Light: 1, MonthlyCents: 15 * 13900}, e.report(),
		"overage is counted beyond the usable 8, not beyond the 3 purchased")

	// The ledger tells the whole story: who, what, why, through which IdP.
	ledger := e.ledger()
	vicID := vic["id"].(string)
	want := []entry{
		{annID, "+full", "provisioned", "okta"},
		{bobID, "+full", "provisioned", "entra"},
		{vicID, "+light", "provisioned", "okta"},
		{danID, "+full", "provisioned", "okta"},
		{fills[0], "+full", "provisioned", "okta"},
		{fills[1], "+full", "provisioned", "okta"},
		{fills[2], "+full", "provisioned", "okta"},
		{fills[3], "+full", "provisioned", "okta"},
		{fills[4], "+full", "provisioned", "okta"},
		{bobID, "-full", "deactivated", "entra"},
		{carolID, "+full", "reactivated", "entra"},
		{danID, "-full", "deactivated", "okta"},
		{annID, "-full", "deactivated", "okta"},
		{carolID, "-full", "deleted", "entra"},
	}
	require.GreaterOrEqual(t, len(ledger), len(want))
	assert.Equal(t, want, ledger[:len(want)])
	assert.Len(t, ledger, len(want)+10)
	sum := 0
	for _, x := range ledger {
		if strings.HasSuffix(x.Seat, "full") {
			sum += map[byte]int{'+': 1, '-': -1}[x.Seat[0]]
		}
	}
	assert.Equal(t, 15, sum, "the ledger sums to the consumed seats")
	r = e.admin("GET", "/tenants/acme/seats/events?user="+url.QueryEscape("carol@acme.test"), "")
	assert.Len(t, r.Body["events"], 0, "carol is deleted: her userName names nobody now")
	r = e.admin("GET", "/tenants/acme/seats/events?user="+carolID, "")
	assert.Len(t, r.Body["events"], 2, "her id still reaches her ledger")
}
