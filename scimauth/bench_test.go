package scimauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
)

// BenchmarkGuard is the cost the guard adds to one SCIM request that passes:
// header parsing, the store read (tenant, token, SAML in one round trip), the
// hash comparison, the gates, the rate limiter and the last-use record.
func BenchmarkGuard(b *testing.B) {
	for _, name := range []string{"memory", "postgres"} {
		b.Run(name, func(b *testing.B) {
			h := newHarness(b, backends[name])
			plain, _ := h.ready("acme")
			_, err := directory.New(h.store).UpdateTenant(context.Background(), "acme", store.ActorAdmin, func(t *store.Tenant) error {
				t.Settings.RateLimitPerSecond = 0
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/scim/v2/acme/Users", nil)
			r.Header.Set("Authorization", "Bearer "+plain)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.mux.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
