package scimauth_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/internal/metrics"
	"github.com/roster-dev/roster/internal/requestid"
	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backends are the stores every guard test runs against. postgres-unproven
// is a PostgreSQL store whose change listener is never proven (as behind a
// pooler in transaction mode): it caches nothing and knows only the tokens
// it has loaded or read.
var backends = map[string]func(t testing.TB, now func() time.Time) store.Store{
	"memory":            func(t testing.TB, now func() time.Time) store.Store { return memory.New(memory.Options{Now: now}) },
	"postgres":          openProven,
	"postgres-unproven": openUnproven,
}

// openProven waits until the store's listener is proven, so that it knows
// every token from memory.
func openProven(t testing.TB, now func() time.Time) store.Store {
	s := pgtest.Store(t, now)
	require.Eventually(t, s.TokensKnown, 10*time.Second, time.Millisecond, "the listener is proven")
	return s
}

func openUnproven(t testing.TB, now func() time.Time) store.Store {
	s, err := postgres.Open(context.Background(), pgtest.New(t), postgres.Options{Now: now, NoListen: true})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// countingStore counts the guard's Authenticate calls: for a made-up token
// each is a database read on PostgreSQL (nothing caches a miss).
type countingStore struct {
	store.Store
	lookups atomic.Int64
}

func (c *countingStore) Authenticate(ctx context.Context, tenantID, tokenID string) (store.Tenant, store.Token, *store.SAMLConfig, error) {
	c.lookups.Add(1)
	return c.Store.Authenticate(ctx, tenantID, tokenID)
}

type harness struct {
	t       testing.TB
	store   store.Store
	counted *countingStore // what the guard reads through
	guard   *scimauth.Guard
	mux     *http.ServeMux
	metrics *metrics.Metrics // what the guard counts refusals in

	mu      sync.Mutex
	now     time.Time
	seen    []scimauth.Principal
	settled int
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
}

func newHarness(t testing.TB, open func(t testing.TB, now func() time.Time) store.Store) *harness {
	h := &harness{t: t, now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	h.store = open(t, h.clock)
	h.counted = &countingStore{Store: h.store}
	// A long flush interval: tests flush by hand, so nothing is written
	// behind their back.
	h.metrics = metrics.New()
	h.guard = scimauth.New(scimauth.Config{Store: h.counted, Now: h.clock, FlushInterval: time.Hour, FailedAuthPerSource: 5, FailedAuthGlobal: 50,
		Metrics: h.metrics})
	t.Cleanup(h.guard.Close)
	h.mux = http.NewServeMux()
	h.mux.Handle("/scim/v2/{tenant}/", h.guard.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := scimauth.FromContext(r.Context())
		require.True(t, ok, "the principal is in the context")
		h.mu.Lock()
		h.seen = append(h.seen, p)
		h.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})))
	return h
}

func forEachBackend(t *testing.T, fn func(t *testing.T, h *harness)) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) { fn(t, newHarness(t, open)) })
	}
}

type answer struct {
	Status    int
	Challenge string
	Retry     string
	Body      map[string]any
}

func (a answer) detail() string { s, _ := a.Body["detail"].(string); return s }

// get requests path with the Authorization header value auth ("" for none).
func (h *harness) get(path, authz string) answer {
	h.t.Helper()
	return h.getFrom("192.0.2.1:1234", path, authz)
}

// getFrom is get from the peer address remote (host:port).
func (h *harness) getFrom(remote, path, authz string) answer {
	h.t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	r.RemoteAddr = remote
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	r = r.WithContext(requestid.NewContext(r.Context(), "req-42"))
	w := httptest.NewRecorder()
	h.mux.ServeHTTP(w, r)
	a := answer{Status: w.Code, Challenge: w.Header().Get("WWW-Authenticate"), Retry: w.Header().Get("Retry-After")}
	if w.Code != http.StatusOK {
		require.Equal(h.t, "application/scim+json; charset=utf-8", w.Header().Get("Content-Type"))
		require.NoError(h.t, json.Unmarshal(w.Body.Bytes(), &a.Body), w.Body.String())
		assert.Equal(h.t, []any{scimauth.ErrorSchema}, a.Body["schemas"], "a SCIM error body")
		assert.Equal(h.t, fmt.Sprint(w.Code), a.Body["status"], "status as a string")
	}
	return a
}

func (h *harness) tenant(id, plan string, settings ...func(*store.Settings)) {
	h.t.Helper()
	s := store.DefaultSettings()
	for _, f := range settings {
		f(&s)
	}
	_, err := h.store.CreateTenant(context.Background(), store.Tenant{ID: id, Name: id, Plan: plan, Seats: 10, Settings: s}, store.ActorAdmin)
	require.NoError(h.t, err)
}

// token creates a SCIM token of the tenant and returns its plaintext and id.
func (h *harness) token(tenantID, name string) (string, string) {
	h.t.Helper()
	plain, id, hash, err := auth.New(rand.Reader)
	require.NoError(h.t, err)
	_, err = h.store.CreateToken(context.Background(), tenantID, store.Token{ID: id, Name: name, Hash: hash}, store.ActorAdmin)
	require.NoError(h.t, err)
	return plain, id
}

func (h *harness) sso(tenantID string, notAfter time.Time) {
	h.t.Helper()
	_, err := h.store.PutSAMLConfig(context.Background(), tenantID, store.SAMLConfig{
		MetadataXML: "<EntityDescriptor/>", EntityID: "https://idp.example/" + tenantID, SSOURL: "https://idp.example/sso",
		CertNotAfter: notAfter,
	}, store.ActorAdmin)
	require.NoError(h.t, err)
}

// ready makes an ultimate tenant with valid SSO and a token: one that passes.
func (h *harness) ready(id string) (string, string) {
	h.t.Helper()
	h.tenant(id, licensing.Ultimate)
	h.sso(id, h.clock().Add(365*24*time.Hour))
	plain, tokenID := h.token(id, "okta")
	h.settle()
	return plain, tokenID
}

// settle waits until a listening PostgreSQL store has handled the
// notifications its own changes sent: while it re-reads a tenant's tokens
// after one, that tenant's unknown ids are looked up rather than refused
// from memory. It inserts a token behind the store's back and waits for the
// store to learn it: notifications arrive, and are handled, in commit order.
func (h *harness) settle() {
	h.t.Helper()
	pg, ok := h.store.(*postgres.Store)
	if !ok || !pg.TokensKnown() {
		return
	}
	ctx := context.Background()
	h.mu.Lock()
	h.settled++
	n := h.settled
	h.mu.Unlock()
	tenant, id, hash := fmt.Sprintf("settle-%d", n), fmt.Sprintf("%016x", n), []byte{byte(n)}
	_, err := h.store.CreateTenant(ctx, store.Tenant{ID: tenant, Name: tenant, Plan: licensing.Trial, Seats: 1, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(h.t, err)
	_, err = pg.Pool().Exec(ctx, `insert into tokens (tenant_id, id, name, hash, created_at) values ($1, $2, 'settle', $3, now())`, tenant, id, hash)
	require.NoError(h.t, err)
	require.Eventually(h.t, func() bool { return pg.CheckToken(tenant, id, hash) == store.TokenMatch }, 10*time.Second, time.Millisecond)
}

// TestGuard_gates is the table of every gate combination: 4 plans × SSO
// none / valid / expired certificate / deleted. Only ultimate with a valid
// configuration passes; the plan gate comes first and names the plan.
func TestGuard_gates(t *testing.T) {
	plans := []string{licensing.Trial, licensing.Enterprise, licensing.EnterpriseBundle, licensing.Ultimate}
	ssos := []string{"none", "valid", "expired-cert", "deleted"}
	forEachBackend(t, func(t *testing.T, h *harness) {
		for _, plan := range plans {
			for _, sso := range ssos {
				id := strings.ReplaceAll(plan, "_", "-") + "-" + sso
				h.tenant(id, plan)
				plain, _ := h.token(id, "okta")
				switch sso {
				case "valid":
					h.sso(id, h.clock().Add(24*time.Hour))
				case "expired-cert":
					// Valid when uploaded; expired by the time of the request.
					h.sso(id, h.clock().Add(-time.Minute))
				case "deleted":
					h.sso(id, h.clock().Add(24*time.Hour))
					require.NoError(t, h.store.DeleteSAMLConfig(context.Background(), id, store.ActorAdmin))
				}
				a := h.get("/scim/v2/"+id+"/Users", "Bearer "+plain)
				name := plan + " × " + sso
				switch {
				case plan != licensing.Ultimate:
					assert.Equal(t, http.StatusForbidden, a.Status, name)
					assert.Contains(t, a.detail(), "("+plan+")", name+": names the plan")
					assert.Contains(t, a.detail(), "ultimate", name+": says which plan has SCIM")
				case sso == "valid":
					assert.Equal(t, http.StatusOK, a.Status, name)
				case sso == "expired-cert":
					assert.Equal(t, http.StatusForbidden, a.Status, name)
					assert.Contains(t, a.detail(), "certificate expired", name)
					assert.Contains(t, a.detail(), "upload your IdP's current SAML metadata", name)
				default:
					assert.Equal(t, http.StatusForbidden, a.Status, name)
					assert.Contains(t, a.detail(), "SAML SSO must be configured", name)
				}
				assert.Empty(t, a.Challenge, name+": a gate is not an authentication failure")
			}
		}
	})
}

// TestGuard_certificateExpiresAfterUpload proves the SSO gate is checked at
// request time, not only at upload.
func TestGuard_certificateExpiresAfterUpload(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		h.tenant("acme", licensing.Ultimate)
		h.sso("acme", h.clock().Add(time.Hour))
		plain, _ := h.token("acme", "okta")
		require.Equal(t, http.StatusOK, h.get("/scim/v2/acme/Users", "Bearer "+plain).Status)
		h.advance(time.Hour)
		a := h.get("/scim/v2/acme/Users", "Bearer "+plain)
		assert.Equal(t, http.StatusForbidden, a.Status)
		assert.Contains(t, a.detail(), "expired")
	})
}

// TestGuard_changesTakeEffectOnNextRequest: plan, SSO and revocation are read
// on every request.
func TestGuard_changesTakeEffectOnNextRequest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		plain, id := h.ready("acme")
		path := "/scim/v2/acme/Users"
		require.Equal(t, http.StatusOK, h.get(path, "Bearer "+plain).Status)

		setPlan := func(plan string) {
			_, err := directory.New(h.store).UpdateTenant(ctx, "acme", store.ActorAdmin, func(t *store.Tenant) error { t.Plan = plan; return nil })
			require.NoError(t, err)
		}
		setPlan(licensing.Enterprise)
		a := h.get(path, "Bearer "+plain)
		assert.Equal(t, http.StatusForbidden, a.Status, "a downgrade refuses the next request")
		assert.Contains(t, a.detail(), "Enterprise (enterprise)")
		setPlan(licensing.Ultimate)
		assert.Equal(t, http.StatusOK, h.get(path, "Bearer "+plain).Status, "an upgrade admits the next request")

		require.NoError(t, h.store.DeleteSAMLConfig(ctx, "acme", store.ActorAdmin))
		assert.Equal(t, http.StatusForbidden, h.get(path, "Bearer "+plain).Status, "SSO removed")
		h.sso("acme", h.clock().Add(time.Hour))
		assert.Equal(t, http.StatusOK, h.get(path, "Bearer "+plain).Status, "SSO back")

		require.NoError(t, h.store.RevokeToken(ctx, "acme", id, h.clock(), store.ActorAdmin))
		a = h.get(path, "Bearer "+plain)
		assert.Equal(t, http.StatusUnauthorized, a.Status, "a revocation refuses the next request")
		assert.Contains(t, a.detail(), "revoked")
		assert.Contains(t, a.Challenge, `error="invalid_token"`)
	})
}

// TestGuard_tokens covers every way a credential can be wrong; each is a 401
// with a SCIM error body and a Bearer challenge.
func TestGuard_tokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		plain, _ := h.ready("acme")
		betaPlain, _ := h.ready("beta")
		path := "/scim/v2/acme/Users"

		for name, authz := range map[string]string{
			"lower-case bearer": "bearer " + plain,
			"upper-case BEARER": "BEARER " + plain,
			"exact":             "Bearer " + plain,
			"padded":            "Bearer   " + plain + "  ",
		} {
			assert.Equal(t, http.StatusOK, h.get(path, authz).Status, name)
		}

		tampered := plain[:len(plain)-2] + "AA"
		if tampered == plain {
			tampered = plain[:len(plain)-2] + "BA"
		}
		_, unknownID, _, _ := auth.New(rand.Reader)
		for name, tc := range map[string]struct {
			authz, code string
		}{
			"missing header":       {"", ""},
			"basic scheme":         {"Basic YWxpY2U6c2VjcmV0", ""},
			"bearer without token": {"Bearer", ""},
			"bearer with blank":    {"Bearer    ", ""},
			"not a roster token":   {"Bearer abc.def.ghi", "invalid_token"},
			"truncated token":      {"Bearer " + plain[:len(plain)-1], "invalid_token"},
			"wrong secret":         {"Bearer " + tampered, "invalid_token"},
			"unknown token id":     {"Bearer rst_" + unknownID + plain[len("rst_")+16:], "invalid_token"},
			"another tenant's":     {"Bearer " + betaPlain, "invalid_token"},
			"admin-shaped token":   {"Bearer rsa_" + strings.Repeat("A", 43), "invalid_token"},
			"token in two schemes": {"Basic " + plain, ""},
			"token without scheme": {plain, ""},
		} {
			a := h.get(path, tc.authz)
			assert.Equal(t, http.StatusUnauthorized, a.Status, name)
			want := `Bearer realm="roster"`
			if tc.code != "" {
				want += `, error="` + tc.code + `"`
			}
			assert.Equal(t, want, a.Challenge, name)
			assert.NotEmpty(t, a.detail(), name)
			assert.NotContains(t, a.detail(), plain[len(plain)-20:], name+": never echoes a secret")
		}

		// The other tenant's token works at its own URL.
		assert.Equal(t, http.StatusOK, h.get("/scim/v2/beta/Users", "Bearer "+betaPlain).Status)

		// ?access_token= is never read.
		a := h.get(path+"?access_token="+plain, "")
		assert.Equal(t, http.StatusUnauthorized, a.Status)
		assert.Contains(t, a.detail(), "not accepted")
	})
}

// TestGuard_principal: the handler sees the tenant, the token and the actor
// that audit and seat events record.
func TestGuard_principal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		plain, id := h.ready("acme")
		require.Equal(t, http.StatusOK, h.get("/scim/v2/acme/Groups", "Bearer "+plain).Status)
		require.Len(t, h.seen, 1)
		p := h.seen[0]
		assert.Equal(t, "acme", p.Tenant.ID)
		assert.Equal(t, id, p.Token.ID)
		assert.Equal(t, store.Actor{Kind: "token", ID: id, Name: "okta", RequestID: "req-42"}, p.Actor)
	})
}

// TestGuard_lastUsedBatched proves that last use is recorded without a write
// per request: nothing is written until a flush, then one time per token.
func TestGuard_lastUsedBatched(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		plain, id := h.ready("acme")
		for range 5 {
			require.Equal(t, http.StatusOK, h.get("/scim/v2/acme/Users", "Bearer "+plain).Status)
			h.advance(time.Second)
		}
		tok, err := h.store.GetToken(ctx, "acme", id)
		require.NoError(t, err)
		assert.Nil(t, tok.LastUsedAt, "no write per request")

		h.guard.Flush(ctx)
		tok, err = h.store.GetToken(ctx, "acme", id)
		require.NoError(t, err)
		require.NotNil(t, tok.LastUsedAt)
		assert.Equal(t, h.clock().Add(-time.Second), *tok.LastUsedAt, "the latest use")

		require.Equal(t, http.StatusOK, h.get("/scim/v2/acme/Users", "Bearer "+plain).Status)
		h.guard.Close()
		tok, err = h.store.GetToken(ctx, "acme", id)
		require.NoError(t, err)
		assert.Equal(t, h.clock(), *tok.LastUsedAt, "Close writes what is left")
	})
}

// TestGuard_rateLimit: a tenant's requests beyond rate_limit_per_second are
// 429 with Retry-After; 0 means no limit; a changed setting applies at once.
func TestGuard_rateLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		plain, _ := h.ready("acme")
		path := "/scim/v2/acme/Users"
		setRate := func(n int) {
			_, err := directory.New(h.store).UpdateTenant(ctx, "acme", store.ActorAdmin, func(t *store.Tenant) error {
				t.Settings.RateLimitPerSecond = n
				return nil
			})
			require.NoError(t, err)
		}
		setRate(3)
		for i := range 3 {
			require.Equal(t, http.StatusOK, h.get(path, "Bearer "+plain).Status, "request %d", i)
		}
		a := h.get(path, "Bearer "+plain)
		assert.Equal(t, http.StatusTooManyRequests, a.Status)
		assert.Equal(t, "1", a.Retry)
		assert.Contains(t, a.detail(), "3 SCIM requests per second")
		h.advance(time.Second)
		assert.Equal(t, http.StatusOK, h.get(path, "Bearer "+plain).Status, "the bucket refills")

		setRate(0)
		for i := range 50 {
			require.Equal(t, http.StatusOK, h.get(path, "Bearer "+plain).Status, "no limit: request %d", i)
		}

		// Another tenant's traffic has its own budget.
		setRate(1)
		other, _ := h.ready("beta")
		require.Equal(t, http.StatusOK, h.get(path, "Bearer "+plain).Status)
		require.Equal(t, http.StatusTooManyRequests, h.get(path, "Bearer "+plain).Status)
		assert.Equal(t, http.StatusOK, h.get("/scim/v2/beta/Users", "Bearer "+other).Status)
	})
}

// TestGuard_invalidTokenFlood: made-up tokens for a tenant are refused 401
// from memory by a store that knows its tokens, without a lookup; where a
// lookup is needed (a PostgreSQL store not listening), they are answered 429
// once they exceed the source's failure budget, until it refills.
func TestGuard_invalidTokenFlood(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		h.ready("acme")
		fake := func() string {
			_, id, _, _ := auth.New(rand.Reader)
			return "Bearer rst_" + id + "_" + strings.Repeat("A", 43)
		}
		var statuses []int
		for range 20 {
			statuses = append(statuses, h.get("/scim/v2/acme/Users", fake()).Status)
		}
		assert.Equal(t, http.StatusUnauthorized, statuses[0])
		if !strings.Contains(t.Name(), "unproven") {
			assert.NotContains(t, statuses, http.StatusTooManyRequests, "answered from memory: nothing to limit")
			return
		}
		assert.Equal(t, http.StatusTooManyRequests, statuses[19])
		h.advance(10 * time.Second)
		assert.Equal(t, http.StatusUnauthorized, h.get("/scim/v2/acme/Users", fake()).Status, "the budget refills")
	})
}

// TestGuard_concurrent runs requests of two tenants and flushes at once
// (go test -race).
func TestGuard_concurrent(t *testing.T) {
	h := newHarness(t, backends["memory"])
	a, _ := h.ready("acme")
	b, _ := h.ready("beta")
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tenant, tok := "acme", a
			if i%2 == 1 {
				tenant, tok = "beta", b
			}
			r := httptest.NewRequest("GET", "/scim/v2/"+tenant+"/Users", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			h.mux.ServeHTTP(w, r)
			assert.Equal(t, http.StatusOK, w.Code)
			if i%10 == 0 {
				h.guard.Flush(context.Background())
			}
		}()
	}
	wg.Wait()
	h.guard.Close()
	toks, err := h.store.ListTokens(context.Background(), "beta")
	require.NoError(t, err)
	require.NotNil(t, toks[0].LastUsedAt)
}

// TestGuard_errorMediaType: refusals are application/scim+json, or
// application/json when the client's Accept asks only for that.
func TestGuard_errorMediaType(t *testing.T) {
	h := newHarness(t, backends["memory"])
	for accept, want := range map[string]string{
		"":                      "application/scim+json; charset=utf-8",
		"application/scim+json": "application/scim+json; charset=utf-8",
		"application/json":      "application/json; charset=utf-8",
		"application/json, application/scim+json": "application/scim+json; charset=utf-8",
		"*/*": "application/scim+json; charset=utf-8",
	} {
		r := httptest.NewRequest("GET", "/scim/v2/acme/Users", nil)
		r.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		h.mux.ServeHTTP(w, r)
		assert.Equal(t, http.StatusUnauthorized, w.Code)
		assert.Equal(t, want, w.Header().Get("Content-Type"), "Accept: %q", accept)
	}
}

// TestGuard_storeUnavailable: when the database cannot answer, the IdP gets a
// 503 with Retry-After (it retries), never a 401 that would make an admin
// rotate a good token.
func TestGuard_storeUnavailable(t *testing.T) {
	var pg *postgres.Store
	h := newHarness(t, func(t testing.TB, now func() time.Time) store.Store {
		s, err := postgres.Open(context.Background(), pgtest.New(t), postgres.Options{Now: now})
		require.NoError(t, err)
		pg = s
		return s
	})
	plain, _ := h.ready("acme")
	require.Equal(t, http.StatusOK, h.get("/scim/v2/acme/Users", "Bearer "+plain).Status)
	pg.Close()
	a := h.get("/scim/v2/acme/Users", "Bearer "+plain)
	assert.Equal(t, http.StatusServiceUnavailable, a.Status)
	assert.Equal(t, "5", a.Retry)
	assert.Empty(t, a.Challenge)
}
