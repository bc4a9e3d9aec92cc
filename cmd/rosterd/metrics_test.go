package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/internal/activitylog"
	"github.com/roster-dev/roster/internal/metrics"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// metricsOpeners open each store as serve does with metrics: PostgreSQL
// with the batch-size hook and its counters and pool read at scrape time
// (backends.go).
var metricsOpeners = map[string]func(t testing.TB, now func() time.Time, m *metrics.Metrics) store.Store{
	"memory": func(t testing.TB, now func() time.Time, _ *metrics.Metrics) store.Store {
		return memory.New(memory.Options{Now: now})
	},
	"postgres": func(t testing.TB, now func() time.Time, m *metrics.Metrics) store.Store {
		s, err := postgres.Open(context.Background(), pgtest.New(t), postgresOptions(postgres.Options{Now: now}, m))
		require.NoError(t, err)
		t.Cleanup(s.Close)
		readPostgresStats(m, s)
		return s
	},
}

// newMetricsE2E is rosterd's whole handler with metrics on, wired as serve
// wires it (guard, admin API, seats source), on the store open gives.
func newMetricsE2E(t *testing.T, open func(testing.TB, func() time.Time, *metrics.Metrics) store.Store) (*e2e, *metrics.Metrics) {
	t.Helper()
	e := &e2e{t: t, now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	m := metrics.New()
	st := open(t, e.clock, m)
	m.ReadSeats(seatsByPlan(st), e.clock)
	guard := scimauth.New(scimauth.Config{Store: st, Now: e.clock, Metrics: m})
	t.Cleanup(guard.Close)
	var ids atomic.Int64
	d := handlerDeps{
		Store: st, Logger: zerolog.Nop(), Now: e.clock, Random: rand.Reader,
		NewID:   func() string { return fmt.Sprintf("req-%d", ids.Add(1)) },
		BaseURL: e2eBaseURL, AdminToken: e2eAdminToken, Guard: guard, Metrics: m,
	}
	d.Admin = newAdmin(st, e2eAdminToken, e2eBaseURL, e.clock, rand.Reader, zerolog.Nop(), d.Sources, m, false)
	t.Cleanup(d.Admin.Close)
	e.h = newHandler(d)
	return e, m
}

// series is a scrape in the Prometheus text format: each series (its name
// and labels as written, labels sorted by name) and its value.
type series map[string]float64

func parseSeries(t *testing.T, text string) series {
	t.Helper()
	out := series{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		require.Positive(t, i, line)
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	require.NoError(t, sc.Err())
	return out
}

// named lists the series of one metric name.
func (s series) named(name string) []string {
	var out []string
	for k := range s {
		if k == name || strings.HasPrefix(k, name+"{") {
			out = append(out, k)
		}
	}
	return out
}

// scrape reads GET /metrics with the operator token.
func (e *e2e) scrape() series {
	e.t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+e2eAdminToken)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	require.Equal(e.t, http.StatusOK, rec.Code, rec.Body.String())
	return parseSeries(e.t, rec.Body.String())
}

// TestMetrics_moveWithTraffic drives SCIM traffic as Okta and Entra send it
// on each store, with a wrong token and a request over the tenant's rate
// limit, then scrapes /metrics and checks that each series counts what
// happened: requests by route template, SCIM operations by IdP, refusals by
// reason, seats by plan, and on PostgreSQL the auth cache, batch sizes and
// pool.
func TestMetrics_moveWithTraffic(t *testing.T) {
	for name, open := range metricsOpeners {
		t.Run(name, func(t *testing.T) {
			e, _ := newMetricsE2E(t, open)
			okta, entra := e.setUpAcme(`{"id":"acme","name":"Acme","plan":"ultimate","seats":20}`, oktaMetadata(t))
			before := e.scrape()

			ids := make([]string, 3)
			for i := range ids {
				body := e.scimOK(e.okta(okta, "POST", "/Users", oktaUser(fmt.Sprintf("u%d@acme.test", i), true, "")), http.StatusCreated, "create")
				ids[i] = body["id"].(string)
			}
			e.scimOK(e.okta(okta, "GET", "/Users/"+ids[0], ""), http.StatusOK, "get")
			e.scimOK(e.okta(okta, "GET", "/Users?filter="+`userName%20eq%20%22u1%40acme.test%22`, ""), http.StatusOK, "list")
			e.scimOK(e.entra(entra, "PATCH", "/Users/"+ids[2], `{`+patchOp+`,"Operations":[{"op":"Replace","path":"active","value":"False"}]}`),
				http.StatusOK, "deactivate")
			e.scimOK(e.entra(entra, "GET", "/Users/"+ids[1]+"?aadOptscim062020", ""), http.StatusOK, "get")
			e.scimOK(e.okta(okta, "GET", "/Users/no-such-user", ""), http.StatusNotFound, "missing")
			e.scimOK(e.okta("rst_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "GET", "/Users", ""),
				http.StatusUnauthorized, "wrong token")

			// One request a second: the next one, a millisecond later, is 429.
			r := e.admin("PATCH", "/tenants/acme", `{"settings":{"rate_limit_per_second":1}}`)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			e.scimOK(e.okta(okta, "GET", "/Users/"+ids[0], ""), http.StatusOK, "within the rate")
			e.scimOK(e.okta(okta, "GET", "/Users/"+ids[0], ""), http.StatusTooManyRequests, "over the rate")

			// Seats are read at most every few seconds: still as before,
			// then the new ones.
			assert.Equal(t, before[`roster_seats{class="full",plan="ultimate"}`], e.scrape()[`roster_seats{class="full",plan="ultimate"}`])
			e.mu.Lock()
			e.now = e.now.Add(metrics.SeatsCacheFor)
			e.mu.Unlock()
			after := e.scrape()
			moved := func(key string) float64 { return after[key] - before[key] }
			assert.Equal(t, 3.0, moved(`roster_http_requests_total{code="2xx",method="POST",route="POST /scim/v2/{tenant}/Users"}`))
			assert.Equal(t, 3.0, moved(`roster_http_requests_total{code="2xx",method="GET",route="GET /scim/v2/{tenant}/Users/{id}"}`))
			assert.Equal(t, 2.0, moved(`roster_http_requests_total{code="4xx",method="GET",route="GET /scim/v2/{tenant}/Users/{id}"}`),
				"the unknown user, and the 429")
			assert.Equal(t, 1.0, moved(`roster_http_requests_total{code="2xx",method="PATCH",route="PATCH /admin/v1/tenants/{id}"}`))
			assert.Equal(t, 5.0, moved(`roster_http_request_duration_seconds_count{route="GET /scim/v2/{tenant}/Users/{id}"}`))

			assert.Equal(t, 3.0, moved(`roster_scim_operations_total{code="2xx",idp="okta",operation="create",resource="Users"}`))
			assert.Equal(t, 2.0, moved(`roster_scim_operations_total{code="2xx",idp="okta",operation="get",resource="Users"}`))
			assert.Equal(t, 1.0, moved(`roster_scim_operations_total{code="2xx",idp="okta",operation="list",resource="Users"}`))
			assert.Equal(t, 1.0, moved(`roster_scim_operations_total{code="4xx",idp="okta",operation="get",resource="Users"}`))
			assert.Equal(t, 1.0, moved(`roster_scim_operations_total{code="2xx",idp="entra",operation="patch",resource="Users"}`))
			assert.Equal(t, 1.0, moved(`roster_scim_operations_total{code="2xx",idp="entra",operation="get",resource="Users"}`))

			assert.Equal(t, 1.0, moved(`roster_auth_failures_total{kind="scim",reason="invalid"}`))
			assert.Equal(t, 1.0, moved(`roster_throttled_requests_total{kind="scim",reason="rate_limit"}`))

			assert.Equal(t, 2.0, after[`roster_seats{class="full",plan="ultimate"}`], "two active users hold a seat")
			assert.Equal(t, 0.0, after[`roster_seats{class="light",plan="ultimate"}`])
			assert.Contains(t, after, `roster_seats{class="full",plan="trial"}`, "every plan has its series")

			assert.Contains(t, after, "go_goroutines")
			assert.Contains(t, after, "process_resident_memory_bytes")

			if name != "postgres" {
				assert.Empty(t, after.named("roster_auth_cache_requests_total"), "the memory store has no auth cache")
				return
			}
			// Every SCIM request with a correct token was authenticated
			// once, from the cache or from the database; so was the wrong
			// one if the store could not judge it from memory (its change
			// listener not yet proven).
			auths := moved(`roster_auth_cache_requests_total{result="hit"}`) + moved(`roster_auth_cache_requests_total{result="miss"}`)
			unsure := moved(`roster_credential_checks_total{credential="scim_token",result="unsure"}`)
			assert.Equal(t, 10.0+unsure, auths)
			assert.Equal(t, 1.0, unsure+moved(`roster_credential_checks_total{credential="scim_token",result="no_match"}`))
			assert.Equal(t, 10.0, moved(`roster_credential_checks_total{credential="scim_token",result="match"}`))
			assert.GreaterOrEqual(t, moved(`roster_store_batch_size_count{kind="create"}`), 3.0)
			assert.GreaterOrEqual(t, moved(`roster_store_batch_size_count{kind="lookup"}`), 4.0)
			assert.Positive(t, moved(`roster_db_pool_acquires_total`))
			assert.Positive(t, after[`roster_db_pool_max_connections`])
		})
	}
}

// TestMetrics_operatorTokenOnly: /metrics on the main address answers the
// operator token alone — not a missing or wrong token, not a tenant's API
// key — and wrong tokens spend the admin API's failure budget: past it,
// /metrics and the admin API both answer 429.
func TestMetrics_operatorTokenOnly(t *testing.T) {
	e, _ := newMetricsE2E(t, metricsOpeners["memory"])
	r := e.admin("POST", "/tenants", `{"id":"acme","name":"Acme","plan":"ultimate","seats":20}`)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	r = e.admin("POST", "/tenants/acme/api-keys", `{"name":"ops","permissions":["settings.view"]}`)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	key := r.Body["key"].(string)

	req := httptest.NewRequest("GET", "/metrics", nil)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "no credential")
	assert.Equal(t, `Bearer realm="roster-admin"`, rec.Header().Get("WWW-Authenticate"))
	assert.NotContains(t, rec.Body.String(), "roster_http_requests_total")

	assert.Equal(t, http.StatusUnauthorized, e.call("GET", "/metrics", key, "", "").Status, "a tenant's API key")
	assert.Equal(t, http.StatusUnauthorized, e.call("GET", "/metrics", e2eAdminToken+"x", "", "").Status, "a wrong token")
	got := e.scrape() // 200 with the operator token
	assert.Equal(t, 1.0, got[`roster_auth_failures_total{kind="metrics",reason="missing"}`])
	assert.Equal(t, 2.0, got[`roster_auth_failures_total{kind="metrics",reason="invalid"}`])

	// The admin API's budget: 10 wrong tokens a source at once. Three are spent.
	for i := range 7 {
		require.Equal(t, http.StatusUnauthorized, e.call("GET", "/metrics", "wrong", "", "").Status, i)
	}
	assert.Equal(t, http.StatusTooManyRequests, e.call("GET", "/metrics", "wrong", "", "").Status)
	assert.Equal(t, http.StatusTooManyRequests, e.call("GET", "/admin/v1/tenants", "wrong", "", "").Status,
		"guesses at /metrics spend the admin API's budget: one token, one allowance")
	got = e.scrape()
	assert.Equal(t, http.StatusOK, e.admin("GET", "/tenants", "").Status, "the right token is never limited")
	assert.Equal(t, 1.0, got[`roster_throttled_requests_total{kind="metrics",reason="failed_auth_budget"}`])
	assert.Equal(t, 1.0, got[`roster_throttled_requests_total{kind="admin",reason="failed_auth_budget"}`])
}

// TestMetrics_labelsStayBounded: requests to 1,000 distinct user ids, 1,000
// made-up tenants and 1,000 unknown paths make one series per route
// template and status class, and no label carries a tenant, an id or a
// path.
func TestMetrics_labelsStayBounded(t *testing.T) {
	e, _ := newMetricsE2E(t, metricsOpeners["memory"])
	okta, _ := e.setUpAcme(`{"id":"acme","name":"Acme","plan":"ultimate","seats":20,"settings":{"rate_limit_per_second":0}}`, oktaMetadata(t))
	for i := range 1000 {
		e.scimOK(e.okta(okta, "GET", fmt.Sprintf("/Users/user-%04d", i), ""), http.StatusNotFound, "unknown user")
		e.call("GET", fmt.Sprintf("/scim/v2/tenant-%04d/Users", i), "not-a-token", "", "")
		e.h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", fmt.Sprintf("/nowhere-%04d", i), nil))
	}
	got := e.scrape()
	routes := got.named("roster_http_requests_total")
	assert.Contains(t, got, `roster_http_requests_total{code="4xx",method="GET",route="GET /scim/v2/{tenant}/Users/{id}"}`)
	assert.Equal(t, 1000.0, got[`roster_http_requests_total{code="4xx",method="GET",route="GET /scim/v2/{tenant}/Users/{id}"}`])
	assert.Equal(t, 1000.0, got[`roster_http_requests_total{code="4xx",method="GET",route="GET /scim/v2/{tenant}/Users"}`])
	assert.Equal(t, 1000.0, got[`roster_http_requests_total{code="4xx",method="GET",route="other"}`])
	assert.Less(t, len(routes), 15, "one series per route template and class: %v", routes)
	leak := regexp.MustCompile(`user-\d|tenant-\d|nowhere|acme`)
	for k := range got {
		assert.False(t, leak.MatchString(k), "a label carries request data: %s", k)
	}
	assert.Len(t, got.named(`roster_scim_operations_total`), 1, "every lookup is one series")
}

// TestServe_metricsAddr: with ROSTER_METRICS_ADDR rosterd serves /metrics
// there without a credential, while /metrics on the listen address still
// needs the operator token.
func TestServe_metricsAddr(t *testing.T) {
	const admin = "Xk9mP2vR7tL4wQ8nB3cJ6hF1dS5gZ0aY"
	sys, stdout, _ := testSystem(map[string]string{"ROSTER_ADMIN_TOKEN": admin, "ROSTER_METRICS_ADDR": "127.0.0.1:0"})
	s := startServe(t, sys, stdout)
	metricsAddr := regexp.MustCompile(`metrics on (\S+)\n`).FindStringSubmatch(stdout.String())
	require.NotNil(t, metricsAddr, stdout.String())

	code, _, _ := get(t, "http://"+s.addr+"/healthz")
	require.Equal(t, http.StatusOK, code)
	code, body, _ := get(t, "http://"+metricsAddr[1]+"/metrics")
	assert.Equal(t, http.StatusOK, code)
	got := parseSeries(t, body)
	assert.Equal(t, 1.0, got[`roster_http_requests_total{code="2xx",method="GET",route="GET /healthz"}`])
	assert.Contains(t, got, `roster_seats{class="full",plan="ultimate"}`, "the demo tenant's plan")
	code, _, _ = get(t, "http://"+metricsAddr[1]+"/admin/v1/tenants")
	assert.Equal(t, http.StatusNotFound, code, "the open listener serves nothing else")

	code, _, _ = get(t, "http://"+s.addr+"/metrics")
	assert.Equal(t, http.StatusUnauthorized, code, "the main address still needs the operator token")
	req, err := http.NewRequest("GET", "http://"+s.addr+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, s.stop(t))
}

// BenchmarkHandler_metrics measures what the metrics add to a request
// through rosterd's whole handler (request id, access log, guard, SCIM):
// a SCIM GET of one user, on each store, without and with metrics.
func BenchmarkHandler_metrics(b *testing.B) {
	for _, backend := range []string{"memory", "postgres"} {
		for _, on := range []bool{false, true} {
			b.Run(backend+"/"+map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
				benchmarkHandler(b, metricsOpeners[backend], on, false)
			})
		}
	}
}

// BenchmarkHandler_activity measures what the SCIM activity log adds to a
// request through rosterd's whole handler, metrics on as in production: a
// SCIM GET of one user, on each store, without and with the log (its
// writer flushing to the same store in the background, as in serve).
func BenchmarkHandler_activity(b *testing.B) {
	for _, backend := range []string{"memory", "postgres"} {
		for _, on := range []bool{false, true} {
			b.Run(backend+"/"+map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
				benchmarkHandler(b, metricsOpeners[backend], true, on)
			})
		}
	}
}

func benchmarkHandler(b *testing.B, open func(testing.TB, func() time.Time, *metrics.Metrics) store.Store, on, activity bool) {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC) }
	var m *metrics.Metrics
	if on {
		m = metrics.New()
	}
	st := open(b, now, m)
	var rec scimauth.ActivityRecorder
	var dropped atomic.Int64
	if activity {
		l := activitylog.New(activitylog.Config{Store: st, Dropped: func() { dropped.Add(1) }})
		b.Cleanup(l.Close)
		rec = l
	}
	guard := scimauth.New(scimauth.Config{Store: st, Now: now, Metrics: m, Activity: rec})
	b.Cleanup(guard.Close)
	// The demo tenant without its rate limit, which the loop would meet.
	settings := store.DefaultSettings()
	settings.RateLimitPerSecond = 0
	_, err := st.CreateTenant(ctx, store.Tenant{ID: demoTenantID, Name: "Demo", Plan: "ultimate", Seats: 20, Settings: settings}, store.ActorSystem)
	require.NoError(b, err)
	token, id, hash, err := auth.New(rand.Reader)
	require.NoError(b, err)
	_, err = st.CreateToken(ctx, demoTenantID, store.Token{ID: id, Name: "okta", Hash: hash}, store.ActorSystem)
	require.NoError(b, err)
	require.NoError(b, seedDemoSAML(ctx, st, e2eBaseURL, now()))
	u, err := st.CreateUser(ctx, demoTenantID, store.User{UserName: "ann@demo.test", Active: true}, store.ActorAdmin)
	require.NoError(b, err)
	h := newHandler(handlerDeps{Store: st, Logger: zerolog.Nop(), Now: now, Random: rand.Reader,
		NewID: func() string { return "req" }, BaseURL: e2eBaseURL, AdminToken: e2eAdminToken, Guard: guard, Metrics: m})
	req := httptest.NewRequest("GET", "/scim/v2/demo/Users/"+u.ID, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", "Okta SCIM Client 1.0.0")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	if activity {
		// Entries the log had to drop: the request loop outran the
		// background writer's buffer (no IdP sends this fast).
		b.ReportMetric(float64(dropped.Load())/float64(b.N), "dropped/op")
	}
}
