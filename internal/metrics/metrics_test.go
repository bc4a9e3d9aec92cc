package metrics_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/internal/metrics"
)

// scrape serves m's registry and reads every series with its value.
func scrape(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	return out
}

// TestNil_hooksDoNothing: every hook is safe on a nil *Metrics, so that
// packages built without metrics need no checks.
func TestNil_hooksDoNothing(t *testing.T) {
	var m *metrics.Metrics
	ctx, note := m.Track(context.Background())
	assert.Nil(t, note)
	metrics.NoteSCIM(ctx, metrics.ResourceUsers, metrics.OpGet)
	m.Done(httptest.NewRequest("GET", "/", nil), note, 200, time.Millisecond)
	m.AuthFailed(metrics.KindSCIM, metrics.ReasonInvalid)
	m.Throttled(metrics.KindAdmin, metrics.ReasonFailedBudget)
	m.BatchSize(metrics.BatchCreate, 3)
	m.WebhookDelivery(metrics.WebhookDelivered, time.Second)
	m.OutboxDepth(func(context.Context) (int, time.Duration, error) { return 0, 0, nil })
	m.ReadSeats(func(context.Context) ([]metrics.PlanSeats, error) { return nil, nil }, nil)
	m.ReadStoreStats(func() metrics.StoreStats { return metrics.StoreStats{} })
	m.ReadPoolStats(func() metrics.PoolStats { return metrics.PoolStats{} })
}

// TestDone_routeTemplateMethodAndClass: a request is counted by the
// pattern it matched (with the method when the pattern has none), a
// standard method and its status class; nothing matched is "other", and a
// made-up method is OTHER.
func TestDone_routeTemplateMethodAndClass(t *testing.T) {
	m := metrics.New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/v1/tenants/{id}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/scim/v2/{tenant}/Users/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/admin/v1/tenants/acme", 200},
		{"GET", "/admin/v1/tenants/beta", 200},
		{"PATCH", "/scim/v2/acme/Users/42", 404},
		{"BREW", "/scim/v2/acme/Users/43", 404},
		{"GET", "/elsewhere/1", 404},
		{"GET", "/elsewhere/2", 503},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		mux.ServeHTTP(httptest.NewRecorder(), r)
		m.Done(r, nil, tc.status, 3*time.Millisecond)
	}
	got := scrape(t, m)
	assert.Equal(t, 2.0, got[`roster_http_requests_total{code="2xx",method="GET",route="GET /admin/v1/tenants/{id}"}`])
	assert.Equal(t, 1.0, got[`roster_http_requests_total{code="4xx",method="PATCH",route="PATCH /scim/v2/{tenant}/Users/{id}"}`])
	assert.Equal(t, 1.0, got[`roster_http_requests_total{code="4xx",method="OTHER",route="OTHER /scim/v2/{tenant}/Users/{id}"}`])
	assert.Equal(t, 1.0, got[`roster_http_requests_total{code="4xx",method="GET",route="other"}`])
	assert.Equal(t, 1.0, got[`roster_http_requests_total{code="5xx",method="GET",route="other"}`])
	assert.Equal(t, 2.0, got[`roster_http_request_duration_seconds_count{route="GET /admin/v1/tenants/{id}"}`])
	assert.Equal(t, 2.0, got[`roster_http_request_duration_seconds_bucket{route="GET /admin/v1/tenants/{id}",le="0.005"}`])
	assert.Equal(t, 0.0, got[`roster_http_request_duration_seconds_bucket{route="GET /admin/v1/tenants/{id}",le="0.0025"}`])
}

// TestNoteSCIM_countedWithIdPAndClass: the operation a handler notes is
// counted when the request is done, with the IdP its traffic shows.
func TestNoteSCIM_countedWithIdPAndClass(t *testing.T) {
	m := metrics.New()
	for _, ua := range []string{"Okta SCIM Client 1.0.0", "curl/8.0"} {
		ctx, note := m.Track(context.Background())
		r := httptest.NewRequest("POST", "/scim/v2/acme/Users", nil).WithContext(ctx)
		r.Header.Set("User-Agent", ua)
		metrics.NoteSCIM(r.Context(), metrics.ResourceUsers, metrics.OpCreate)
		m.Done(r, note, http.StatusCreated, time.Millisecond)
	}
	_, note := m.Track(context.Background())
	m.Done(httptest.NewRequest("GET", "/healthz", nil), note, 200, time.Millisecond) // noted nothing
	got := scrape(t, m)
	assert.Equal(t, 1.0, got[`roster_scim_operations_total{code="2xx",idp="okta",operation="create",resource="Users"}`])
	assert.Equal(t, 1.0, got[`roster_scim_operations_total{code="2xx",idp="unknown",operation="create",resource="Users"}`])
	n := 0
	for k := range got {
		if strings.HasPrefix(k, "roster_scim_operations_total") {
			n++
		}
	}
	assert.Equal(t, 2, n, "a request that noted no operation is not one")
}

// TestIdPKind reads the IdP from what each sends (the User-Agent headers
// and Entra's query flag of the recordings in testdata/idp).
func TestIdPKind(t *testing.T) {
	for _, tc := range []struct{ ua, path, want string }{
		{"Okta SCIM Client 1.0.0", "/Users", metrics.IdPOkta},
		{"OKTA SCIM Integration", "/Users", metrics.IdPOkta},
		{"Microsoft.AAD.Provisioning/1.0", "/Users", metrics.IdPEntra},
		{"", "/Users?aadOptscim062020", metrics.IdPEntra},
		{"OneLogin SCIM", "/Users", metrics.IdPOneLogin},
		{"curl/8.0", "/Users", metrics.IdPUnknown},
		{"", "/Users", metrics.IdPUnknown},
	} {
		r := httptest.NewRequest("GET", tc.path, nil)
		if tc.ua != "" {
			r.Header.Set("User-Agent", tc.ua)
		}
		assert.Equal(t, tc.want, metrics.IdPKind(r), "%q %s", tc.ua, tc.path)
	}
}

// TestRefusalsAndBatches: the typed hooks count under their labels.
func TestRefusalsAndBatches(t *testing.T) {
	m := metrics.New()
	m.AuthFailed(metrics.KindSCIM, metrics.ReasonInvalid)
	m.AuthFailed(metrics.KindSCIM, metrics.ReasonInvalid)
	m.Throttled(metrics.KindAdmin, metrics.ReasonFailedBudget)
	m.BatchSize(metrics.BatchLookup, 1)
	m.BatchSize(metrics.BatchLookup, 40)
	got := scrape(t, m)
	assert.Equal(t, 2.0, got[`roster_auth_failures_total{kind="scim",reason="invalid"}`])
	assert.Equal(t, 1.0, got[`roster_throttled_requests_total{kind="admin",reason="failed_auth_budget"}`])
	assert.Equal(t, 2.0, got[`roster_store_batch_size_count{kind="lookup"}`])
	assert.Equal(t, 41.0, got[`roster_store_batch_size_sum{kind="lookup"}`])
	assert.Equal(t, 1.0, got[`roster_store_batch_size_bucket{kind="lookup",le="32"}`])
}

// TestWebhookDelivery counts outcomes and latency; an outcome outside the
// list counts as failed, so that the label stays bounded.
func TestWebhookDelivery(t *testing.T) {
	m := metrics.New()
	m.WebhookDelivery(metrics.WebhookDelivered, 40*time.Millisecond)
	m.WebhookDelivery(metrics.WebhookDelivered, 60*time.Millisecond)
	m.WebhookDelivery(metrics.WebhookRetry, 2*time.Second)
	m.WebhookDelivery(metrics.WebhookDisabled, time.Second)
	m.WebhookDelivery("https://tenant.example/hook", time.Second)
	got := scrape(t, m)
	assert.Equal(t, 2.0, got[`roster_webhook_deliveries_total{outcome="delivered"}`])
	assert.Equal(t, 1.0, got[`roster_webhook_deliveries_total{outcome="retry"}`])
	assert.Equal(t, 1.0, got[`roster_webhook_deliveries_total{outcome="disabled"}`])
	assert.Equal(t, 1.0, got[`roster_webhook_deliveries_total{outcome="failed"}`])
	assert.Equal(t, 5.0, got[`roster_webhook_delivery_duration_seconds_count`])
	assert.Equal(t, 2.0, got[`roster_webhook_delivery_duration_seconds_bucket{le="0.1"}`])
	assert.InDelta(t, 4.1, got[`roster_webhook_delivery_duration_seconds_sum`], 1e-9)
}

// TestOutboxDepth reads the callback at every scrape; a failing callback
// leaves the gauges out of that scrape and is counted, the rest is served.
func TestOutboxDepth(t *testing.T) {
	m := metrics.New()
	var mu sync.Mutex
	pending, oldest, fail := 0, time.Duration(0), error(nil)
	m.OutboxDepth(func(ctx context.Context) (int, time.Duration, error) {
		mu.Lock()
		defer mu.Unlock()
		_, hasDeadline := ctx.Deadline()
		assert.True(t, hasDeadline, "a scrape-time read is bounded")
		return pending, oldest, fail
	})
	got := scrape(t, m)
	assert.Equal(t, 0.0, got[`roster_outbox_depth`])
	assert.Contains(t, got, `roster_outbox_oldest_age_seconds`)

	mu.Lock()
	pending, oldest = 7, 90*time.Second
	mu.Unlock()
	got = scrape(t, m)
	assert.Equal(t, 7.0, got[`roster_outbox_depth`])
	assert.Equal(t, 90.0, got[`roster_outbox_oldest_age_seconds`])

	mu.Lock()
	fail = errors.New("database unavailable")
	mu.Unlock()
	got = scrape(t, m)
	assert.NotContains(t, got, `roster_outbox_depth`)
	assert.Contains(t, got, "go_goroutines", "the rest of the scrape is served")
	// Collectors run concurrently: the failure shows from the next scrape on.
	mu.Lock()
	fail = nil
	mu.Unlock()
	got = scrape(t, m)
	assert.Equal(t, 1.0, got[`roster_metrics_collect_errors_total{source="outbox"}`])
	assert.Equal(t, 7.0, got[`roster_outbox_depth`], "back once the source answers")
}

// TestReadSeats: plans are the price list's (0 when no tenant has one),
// unknown ones summed as "other"; the source is read at most every
// SeatsCacheFor.
func TestReadSeats(t *testing.T) {
	m := metrics.New()
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	reads := 0
	m.ReadSeats(func(context.Context) ([]metrics.PlanSeats, error) {
		mu.Lock()
		defer mu.Unlock()
		reads++
		return []metrics.PlanSeats{{Plan: "ultimate", Full: 12, Light: 3}, {Plan: "legacy-a", Full: 2}, {Plan: "legacy-b", Full: 1, Light: 1}}, nil
	}, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	got := scrape(t, m)
	assert.Equal(t, 12.0, got[`roster_seats{class="full",plan="ultimate"}`])
	assert.Equal(t, 3.0, got[`roster_seats{class="light",plan="ultimate"}`])
	assert.Equal(t, 0.0, got[`roster_seats{class="full",plan="trial"}`])
	assert.Contains(t, got, `roster_seats{class="full",plan="enterprise_bundle"}`)
	assert.Equal(t, 3.0, got[`roster_seats{class="full",plan="other"}`])
	assert.Equal(t, 1.0, got[`roster_seats{class="light",plan="other"}`])

	scrape(t, m)
	mu.Lock()
	assert.Equal(t, 1, reads, "within SeatsCacheFor the last answer is served")
	now = now.Add(metrics.SeatsCacheFor)
	mu.Unlock()
	scrape(t, m)
	mu.Lock()
	assert.Equal(t, 2, reads)
	mu.Unlock()
}

// TestReadStoreAndPoolStats: the store's counters and the pool's figures
// are read at scrape time.
func TestReadStoreAndPoolStats(t *testing.T) {
	m := metrics.New()
	m.ReadStoreStats(func() metrics.StoreStats {
		return metrics.StoreStats{AuthCacheHits: 90, AuthCacheMisses: 10,
			Tokens: metrics.CredentialChecks{Match: 100, NoMatch: 4, Unsure: 1}, APIKeys: metrics.CredentialChecks{Match: 2}}
	})
	m.ReadPoolStats(func() metrics.PoolStats {
		return metrics.PoolStats{Acquired: 3, Idle: 2, Total: 5, Max: 8, AcquireCount: 1000, EmptyAcquireCount: 7,
			CanceledAcquireCount: 1, AcquireDuration: 1500 * time.Millisecond}
	})
	got := scrape(t, m)
	for k, v := range map[string]float64{
		`roster_auth_cache_requests_total{result="hit"}`:                            90,
		`roster_auth_cache_requests_total{result="miss"}`:                           10,
		`roster_credential_checks_total{credential="scim_token",result="match"}`:    100,
		`roster_credential_checks_total{credential="scim_token",result="no_match"}`: 4,
		`roster_credential_checks_total{credential="scim_token",result="unsure"}`:   1,
		`roster_credential_checks_total{credential="api_key",result="match"}`:       2,
		`roster_db_pool_acquired_connections`:                                       3,
		`roster_db_pool_idle_connections`:                                           2,
		`roster_db_pool_connections`:                                                5,
		`roster_db_pool_max_connections`:                                            8,
		`roster_db_pool_acquires_total`:                                             1000,
		`roster_db_pool_empty_acquires_total`:                                       7,
		`roster_db_pool_canceled_acquires_total`:                                    1,
		`roster_db_pool_acquire_seconds_total`:                                      1.5,
	} {
		assert.Equal(t, v, got[k], k)
	}
}

// TestNew_ownRegistry: each Metrics has its own registry with the Go
// runtime and process collectors, and none touches the global default
// registry (two can live side by side).
func TestNew_ownRegistry(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.AuthFailed(metrics.KindSCIM, metrics.ReasonMissing)
	assert.Equal(t, 1.0, scrape(t, a)[`roster_auth_failures_total{kind="scim",reason="missing"}`])
	gotB := scrape(t, b)
	assert.NotContains(t, gotB, `roster_auth_failures_total{kind="scim",reason="missing"}`)
	assert.Contains(t, gotB, "go_goroutines")
	assert.Contains(t, gotB, "process_cpu_seconds_total")
}
