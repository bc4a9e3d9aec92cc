package main

// End-to-end seats (issue 5): SCIM requests shaped like Okta's and Entra's
// go through rosterd's whole handler (tenancy.Guard → scim) and the seat
// report and ledger of the admin API are checked after each step.

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
	"github.com/roster-dev/roster/tenancy"
)

// TestMain stops the throwaway PostgreSQL cluster of this package's tests.
func TestMain(m *testing.M) { pgtest.Main(m) }

const e2eAdminToken = "e2e-admin-token-0123456789abcdef"

type e2e struct {
	t   *testing.T
	h   http.Handler
	mu  sync.Mutex
	now time.Time
}

func (e *e2e) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(time.Millisecond)
	return e.now
}

type answer struct {
	Status int
	Body   map[string]any
	Raw    string
}

func (e *e2e) call(method, path, auth, contentType, body string, header ...string) answer {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+auth)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Body)
	a := answer{Status: rec.Code, Raw: string(raw)}
	if len(bytes.TrimSpace(raw)) > 0 {
		require.NoError(e.t, json.Unmarshal(raw, &a.Body), "%s %s: %s", method, path, raw)
	}
	return a
}

func (e *e2e) admin(method, path, body string) answer {
	e.t.Helper()
	return e.call(method, "/admin/v1"+path, e2eAdminToken, "application/json", body)
}

// okta and entra send requests the way each IdP does (headers of
// testdata/idp; notes/idp-traffic.md).
func (e *e2e) okta(token, method, path, body string) answer {
	e.t.Helper()
	return e.call(method, "/scim/v2/acme"+path, token, "application/json", body, "User-Agent", "Okta SCIM Client 1.0.0")
}

func (e *e2e) entra(token, method, path, body string) answer {
	e.t.Helper()
	return e.call(method, "/scim/v2/acme"+path, token, "application/scim+json; charset=utf-8", body,
		"User-Agent", "Microsoft.AAD.Provisioning/1.0", "Accept", "application/scim+json")
}

// seats is the figures of the seat report this test follows.
type seats struct {
	Purchased, Consumed, Available, Overage, Billable, Light int
	MonthlyCents                                             int64
}

func (e *e2e) report() seats {
	e.t.Helper()
	r := e.admin("GET", "/tenants/acme/seats", "")
	require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	n := func(k string) int { f, _ := r.Body[k].(float64); return int(f) }
	light, _ := r.Body["light_seats"].(map[string]any)["consumed"].(float64)
	return seats{n("purchased_seats"), n("consumed_seats"), n("available_seats"), n("overage_seats"), n("billable_seats"),
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

func (e *e2e) scimOK(a answer, status int, what string) map[string]any {
	e.t.Helper()
	require.Equal(e.t, status, a.Status, "%s: %s", what, a.Raw)
	return a.Body
}

// refused checks a SCIM 403 for the seat cap, naming the numbers.
func (e *e2e) refused(a answer, detail string) {
	e.t.Helper()
	require.Equal(e.t, http.StatusForbidden, a.Status, a.Raw)
	assert.Equal(e.t, []any{"urn:ietf:params:scim:api:messages:2.0:Error"}, a.Body["schemas"])
	assert.Equal(e.t, "403", a.Body["status"])
	assert.Equal(e.t, detail, a.Body["detail"])
}

const rosterExt = "urn:ietf:params:scim:schemas:extension:roster:2.0:User"

func seatOf(u map[string]any) string {
	ext, _ := u[rosterExt].(map[string]any)
	s, _ := ext["seat"].(string)
	return s
}

func oktaUser(userName string, active bool, role string) string {
	schemas, ext := `"urn:ietf:params:scim:schemas:core:2.0:User"`, ""
	if role != "" {
		schemas += `,"` + rosterExt + `"`
		ext = fmt.Sprintf(`,%q:{"role":%q}`, rosterExt, role)
	}
	return fmt.Sprintf(`{"schemas":[%s],"userName":%q,
		"name":{"givenName":"Given","familyName":"Family"},"emails":[{"primary":true,"value":%q,"type":"work"}],
		"displayName":"Given Family","externalId":"00u%x","groups":[],"password":"1mz050nq","active":%t%s}`,
		schemas, userName, userName, len(userName)*7919, active, ext)
}

func entraUser(userName string, active bool) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"externalId":"0a21f0f2-8d2a-4f8e-bf98-%012d","userName":%q,"active":%t,
		"emails":[{"primary":true,"type":"work","value":%q}],"meta":{"resourceType":"User"},
		"name":{"formatted":"G F","familyName":"F","givenName":"G"},"roles":[],"title":null,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":null}}`, len(userName), userName, active, userName)
}

const patchOp = `"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`

// TestE2E_seatsThroughOktaAndEntra drives a tenant with 3 purchased seats
// through Okta and Entra provisioning — creates (active and not), the cap,
// Entra's "False"/"True" PATCHes, Okta's pathless deactivation and AIW PUT,
// a light-seat role, deletes, overage — and checks the seat report and the
// ledger after each step, on the memory and the PostgreSQL store.
func TestE2E_seatsThroughOktaAndEntra(t *testing.T) {
	for name, open := range map[string]func(t *testing.T, now func() time.Time) store.Store{
		"memory": func(t *testing.T, now func() time.Time) store.Store { return memory.New(memory.Options{Now: now}) },
		"postgres": func(t *testing.T, now func() time.Time) store.Store {
			s, err := postgres.Open(t.Context(), pgtest.New(t), postgres.Options{Now: now})
			require.NoError(t, err)
			t.Cleanup(s.Close)
			return s
		},
	} {
		t.Run(name, func(t *testing.T) { testE2ESeats(t, open) })
	}
}

func testE2ESeats(t *testing.T, open func(t *testing.T, now func() time.Time) store.Store) {
	e := &e2e{t: t, now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	st := open(t, e.clock)
	guard := tenancy.New(tenancy.Config{Store: st, Now: e.clock})
	t.Cleanup(guard.Close)
	ids := 0
	e.h = newHandler(handlerDeps{
		Store: st, Logger: zerolog.Nop(), Now: e.clock, Random: rand.Reader,
		NewID:   func() string { ids++; return fmt.Sprintf("req-%d", ids) },
		BaseURL: "https://roster.example.com", AdminToken: e2eAdminToken, Guard: guard,
	})

	// The operator sets up the tenant: Ultimate, 3 seats, SAML, a token per IdP.
	r := e.admin("POST", "/tenants", `{"id":"acme","name":"Acme","plan":"ultimate","seats":3,"contract_start":"2026-01-01"}`)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	metadata, err := os.ReadFile("../../testdata/saml/okta.xml")
	require.NoError(t, err)
	r = e.call("PUT", "/admin/v1/tenants/acme/saml", e2eAdminToken, "application/xml", string(metadata))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	_, err = st.CreateRole(t.Context(), "acme", store.Role{Name: "viewer", Description: "read-only stakeholder",
		Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, store.ActorAdmin)
	require.NoError(t, err)
	tokens := map[string]string{}
	for _, idp := range []string{"okta", "entra"} {
		r = e.admin("POST", "/tenants/acme/tokens", `{"name":"`+idp+`"}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		tokens[idp] = r.Body["token"].(string)
	}
	okta, entra := tokens["okta"], tokens["entra"]
	minimum := int64(8 * 13900)
	assert.Equal(t, seats{Purchased: 3, Available: 3, Billable: 8, MonthlyCents: minimum}, e.report(), "nothing used: the minimum is billed")

	// Okta: lookup miss, then create active. The seat is taken at once.
	r = e.okta(okta, "GET", "/Users?filter=userName%20eq%20%22ann%40acme.test%22&startIndex=1&count=100", "")
	assert.Equal(t, 0.0, e.scimOK(r, http.StatusOK, "lookup")["totalResults"])
	ann := e.scimOK(e.okta(okta, "POST", "/Users", oktaUser("ann@acme.test", true, "")), http.StatusCreated, "okta create")
	assert.Equal(t, "consumed", seatOf(ann))
	assert.Equal(t, seats{Purchased: 3, Consumed: 1, Available: 2, Billable: 8, MonthlyCents: minimum}, e.report(),
		"billed from provisioning, not first sign-in")

	// Entra: create active, and create inactive (no seat).
	bob := e.scimOK(e.entra(entra, "POST", "/Users", entraUser("bob@acme.test", true)), http.StatusCreated, "entra create")
	carol := e.scimOK(e.entra(entra, "POST", "/Users", entraUser("carol@acme.test", false)), http.StatusCreated, "entra create inactive")
	assert.Equal(t, "none", seatOf(carol))
	assert.Equal(t, seats{Purchased: 3, Consumed: 2, Available: 1, Billable: 8, MonthlyCents: minimum}, e.report())

	// A light seat (Okta sends the role as a mapped attribute): not capped.
	vic := e.scimOK(e.okta(okta, "POST", "/Users", oktaUser("vic@acme.test", true, "viewer")), http.StatusCreated, "light")
	assert.Equal(t, "light", seatOf(vic))
	dan := e.scimOK(e.okta(okta, "POST", "/Users", oktaUser("dan@acme.test", true, "")), http.StatusCreated, "third seat")
	assert.Equal(t, seats{Purchased: 3, Consumed: 3, Available: 0, Billable: 8, Light: 1, MonthlyCents: minimum}, e.report())

	// The cap: an Okta create and Entra's "True" reactivation are refused,
	// naming the numbers, and change nothing.
	full := "3 of 3 seats are in use on tenant acme; raise the seat count or deactivate a user"
	e.refused(e.okta(okta, "POST", "/Users", oktaUser("erin@acme.test", true, "")), full)
	r = e.okta(okta, "GET", "/Users?filter=userName%20eq%20%22erin%40acme.test%22&startIndex=1&count=100", "")
	assert.Equal(t, 0.0, e.scimOK(r, http.StatusOK, "lookup")["totalResults"], "a refused create writes no user")
	carolID := carol["id"].(string)
	e.refused(e.entra(entra, "PATCH", "/Users/"+carolID, `{`+patchOp+`,"Operations":[{"op":"Replace","path":"active","value":"True"}]}`), full)
	r = e.entra(entra, "GET", "/Users/"+carolID, "")
	assert.Equal(t, false, e.scimOK(r, http.StatusOK, "get")["active"], "a refused reactivation leaves the user inactive")
	assert.Equal(t, seats{Purchased: 3, Consumed: 3, Available: 0, Billable: 8, Light: 1, MonthlyCents: minimum}, e.report())

	// Entra's default-form deactivation ("False") releases; "True" takes it again.
	bobID := bob["id"].(string)
	r = e.entra(entra, "PATCH", "/Users/"+bobID, `{`+patchOp+`,"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
	assert.Equal(t, "none", seatOf(e.scimOK(r, http.StatusOK, "entra False")))
	assert.Equal(t, 2, e.report().Consumed)
	r = e.entra(entra, "PATCH", "/Users/"+carolID, `{`+patchOp+`,"Operations":[{"op":"Replace","path":"active","value":"True"}]}`)
	assert.Equal(t, "consumed", seatOf(e.scimOK(r, http.StatusOK, "entra True")))
	assert.Equal(t, 3, e.report().Consumed)

	// Okta's pathless deactivation, and an AIW-style full PUT with active false.
	danID, annID := dan["id"].(string), ann["id"].(string)
	r = e.okta(okta, "PATCH", "/Users/"+danID, `{`+patchOp+`,"Operations":[{"op":"replace","value":{"active":false}}]}`)
	require.Contains(t, []int{http.StatusOK, http.StatusNoContent}, r.Status, r.Raw)
	assert.Equal(t, 2, e.report().Consumed)
	r = e.okta(okta, "GET", "/Users/"+annID, "")
	got := e.scimOK(r, http.StatusOK, "get before put")
	got["active"] = false
	body, err := json.Marshal(got)
	require.NoError(t, err)
	assert.Equal(t, "none", seatOf(e.scimOK(e.okta(okta, "PUT", "/Users/"+annID, string(body)), http.StatusOK, "okta put")))
	assert.Equal(t, seats{Purchased: 3, Consumed: 1, Available: 2, Billable: 8, Light: 1, MonthlyCents: minimum}, e.report())

	// Entra's hard delete: of an inactive user releases nothing, of an active one its seat.
	require.Equal(t, http.StatusNoContent, e.entra(entra, "DELETE", "/Users/"+bobID, "").Status)
	require.Equal(t, http.StatusNoContent, e.entra(entra, "DELETE", "/Users/"+carolID, "").Status)
	assert.Equal(t, http.StatusNotFound, e.entra(entra, "DELETE", "/Users/"+carolID, "").Status)
	assert.Equal(t, seats{Purchased: 3, Consumed: 0, Available: 3, Billable: 8, Light: 1, MonthlyCents: minimum}, e.report())

	// Overage allowed: 10 Okta creates all succeed and are billed.
	r = e.admin("PATCH", "/tenants/acme", `{"settings":{"overage":true}}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	for i := range 10 {
		e.scimOK(e.okta(okta, "POST", "/Users", oktaUser(fmt.Sprintf("new%d@acme.test", i), true, "")), http.StatusCreated, "overage create")
	}
	assert.Equal(t, seats{Purchased: 3, Consumed: 10, Available: 0, Overage: 7, Billable: 10, Light: 1, MonthlyCents: 10 * 13900}, e.report())

	// The ledger tells the whole story: who, what, why, through which IdP.
	ledger := e.ledger()
	vicID := vic["id"].(string)
	want := []entry{
		{annID, "+full", "provisioned", "okta"},
		{bobID, "+full", "provisioned", "entra"},
		{vicID, "+light", "provisioned", "okta"},
		{danID, "+full", "provisioned", "okta"},
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
	assert.Equal(t, 10, sum, "the ledger sums to the consumed seats")
	r = e.admin("GET", "/tenants/acme/seats/events?user="+url.QueryEscape("carol@acme.test"), "")
	assert.Len(t, r.Body["events"], 0, "carol is deleted: her userName names nobody now")
	r = e.admin("GET", "/tenants/acme/seats/events?user="+carolID, "")
	assert.Len(t, r.Body["events"], 2, "her id still reaches her ledger")
}
