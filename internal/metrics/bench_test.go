package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/metrics"
)

// BenchmarkDone is what the middleware adds to a SCIM request: the note
// in its context, the operation noted, and the request counted (route
// template, method, class, latency, operation with its IdP).
func BenchmarkDone(b *testing.B) {
	m := metrics.New()
	mux := http.NewServeMux()
	mux.HandleFunc("/scim/v2/{tenant}/Users/{id}", func(http.ResponseWriter, *http.Request) {})
	r := httptest.NewRequest("GET", "/scim/v2/acme/Users/2819c223", nil)
	r.Header.Set("User-Agent", "Okta SCIM Client 1.0.0")
	mux.ServeHTTP(httptest.NewRecorder(), r) // sets r.Pattern
	b.ReportAllocs()
	for b.Loop() {
		ctx, note := m.Track(r.Context())
		metrics.NoteSCIM(ctx, metrics.ResourceUsers, metrics.OpGet)
		m.Done(r, note, http.StatusOK, 800*time.Microsecond)
	}
}
