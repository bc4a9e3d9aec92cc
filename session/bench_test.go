package session_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkSession_get measures GET /api/v1/session with a bearer token:
// session, tenant, user with teams and the tenant's roles read afresh, on
// each store.
func BenchmarkSession_get(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			h := newHarness(b, be.open)
			token := h.signIn("acme", "ann@acme.test")
			req := httptest.NewRequest(http.MethodGet, base+"/api/v1/session", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.mux.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkSignIn_acs measures the ACS: verifying a signed response
// (RSA-SHA256, exclusive c14n), spending the assertion and starting a
// session. Each iteration posts a fresh IdP response; producing it (the
// login redirect and the IdP's signing) is outside the timer.
func BenchmarkSignIn_acs(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			h := newHarness(b, be.open)
			for b.Loop() {
				b.StopTimer()
				resp := h.login("acme", "ann@acme.test")
				b.StartTimer()
				rec := h.post("acme", resp)
				if rec.Code != http.StatusSeeOther {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
