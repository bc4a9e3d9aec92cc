package scim_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/scim"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
)

// failingStore answers GetUser with a fixed error.
type failingStore struct {
	store.Store
	err error
}

func (f failingStore) GetUser(context.Context, string, string) (store.User, error) {
	return store.User{}, f.err
}

func (f failingStore) GetUserWithGroups(context.Context, string, string) (store.User, []store.Group, error) {
	return store.User{}, nil, f.err
}

// kindedErr is an error of another package that declares its store kind:
// SCIM answers it by that kind, with its message.
type kindedErr struct{}

func (kindedErr) Error() string { return "the store \"s9\" is archived; pick another" }
func (kindedErr) Fault() store.Fault {
	return store.Fault{Kind: store.KindInvalid, Field: "stores"}
}

// TestErrors_neverLeak: unknown errors are a generic 500 (cause logged), an
// outage is 503 with Retry-After, errors that declare their kind are
// answered by it with their message, wrapped store errors map as
// themselves.
func TestErrors_neverLeak(t *testing.T) {
	for _, tc := range []struct {
		err      error
		status   int
		scimType any
		detail   string
	}{
		{errors.New("pq: relation users_secret does not exist"), 500, nil, "internal error"},
		{fmt.Errorf("get: %w", store.ErrUnavailable), 503, nil, "temporarily unavailable"},
		{fmt.Errorf("wrapped: %w", kindedErr{}), 400, "invalidValue", `the store "s9" is archived`},
		{fmt.Errorf("x: %w", &store.InvalidError{Field: "title", Reason: "is too long"}), 400, "invalidValue", "title: is too long"},
		{fmt.Errorf("x: %w", store.ErrNotFound), 404, nil, "not found"},
	} {
		st := failingStore{Store: memory.New(memory.Options{}), err: tc.err}
		h := scim.New(scim.Config{Store: st, BaseURL: baseURL, Logger: zerolog.Nop()})
		req := httptest.NewRequest("GET", "/scim/v2/acme/Users/u1", nil)
		req = req.WithContext(scimauth.WithPrincipal(req.Context(), scimauth.Principal{Tenant: store.Tenant{ID: "acme"}}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, tc.status, rec.Code, tc.err.Error())
		body := map[string]any{}
		assert.NoError(t, jsonUnmarshal(rec.Body.Bytes(), &body))
		assert.Equal(t, tc.scimType, body["scimType"])
		assert.Contains(t, body["detail"], tc.detail)
		assert.NotContains(t, rec.Body.String(), "pq:")
		assert.NotContains(t, rec.Body.String(), "users_secret")
		if tc.status == http.StatusServiceUnavailable {
			assert.NotEmpty(t, rec.Header().Get("Retry-After"))
		}
	}
}

// TestErrors_noPrincipal: without the guard's principal the handler refuses.
func TestErrors_noPrincipal(t *testing.T) {
	h := scim.New(scim.Config{Store: memory.New(memory.Options{}), BaseURL: baseURL})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/scim/v2/acme/Users", nil))
	assert.Equal(t, 401, rec.Code)
	req := httptest.NewRequest("GET", "/scim/v2/other/Users", nil)
	req = req.WithContext(scimauth.WithPrincipal(req.Context(), scimauth.Principal{Tenant: store.Tenant{ID: "acme"}}))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, 404, rec.Code, "another tenant's path")
}

type panickingStore struct{ store.Store }

func (panickingStore) GetUser(context.Context, string, string) (store.User, error) {
	panic("nil map write in some backend")
}

func (panickingStore) GetUserWithGroups(context.Context, string, string) (store.User, []store.Group, error) {
	panic("nil map write in some backend")
}

// TestErrors_panicIsSCIM500: a panic below the handler answers a SCIM 500
// body without its message.
func TestErrors_panicIsSCIM500(t *testing.T) {
	h := scim.New(scim.Config{Store: panickingStore{memory.New(memory.Options{})}, BaseURL: baseURL, Logger: zerolog.Nop()})
	req := httptest.NewRequest("GET", "/scim/v2/acme/Users/u1", nil)
	req = req.WithContext(scimauth.WithPrincipal(req.Context(), scimauth.Principal{Tenant: store.Tenant{ID: "acme"}}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, 500, rec.Code)
	assert.Contains(t, rec.Body.String(), `"status":"500"`)
	assert.NotContains(t, rec.Body.String(), "nil map")
}

// unavailableAuth is a store whose authentication read fails as an outage.
type unavailableAuth struct{ store.Store }

func (unavailableAuth) CheckToken(string, string, []byte) store.TokenCheck { return store.TokenUnsure }

func (unavailableAuth) Authenticate(context.Context, string, string) (store.Tenant, store.Token, *store.SAMLConfig, error) {
	return store.Tenant{}, store.Token{}, nil, fmt.Errorf("auth: %w", store.ErrUnavailable)
}

// TestErrors_guardAndHandlerAlike: the same error answers with the same
// bytes and headers whether the guard meets it (the authentication read
// fails) or the SCIM handler does (a user read fails), in both media types.
// Both write through one writer; this pins the words too.
func TestErrors_guardAndHandlerAlike(t *testing.T) {
	token, _, _, err := auth.New(rand.Reader)
	require.NoError(t, err)
	for _, accept := range []string{"", "application/json"} {
		guard := scimauth.New(scimauth.Config{Store: unavailableAuth{memory.New(memory.Options{})}})
		mux := http.NewServeMux()
		mux.Handle("/scim/v2/{tenant}/", guard.Wrap(scim.New(scim.Config{Store: memory.New(memory.Options{}), BaseURL: baseURL})))
		req := httptest.NewRequest("GET", "/scim/v2/acme/Users/u1", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", accept)
		byGuard := httptest.NewRecorder()
		mux.ServeHTTP(byGuard, req)
		guard.Close()

		h := scim.New(scim.Config{Store: failingStore{Store: memory.New(memory.Options{}), err: store.ErrUnavailable},
			BaseURL: baseURL, Logger: zerolog.Nop()})
		req = httptest.NewRequest("GET", "/scim/v2/acme/Users/u1", nil)
		req.Header.Set("Accept", accept)
		req = req.WithContext(scimauth.WithPrincipal(req.Context(), scimauth.Principal{Tenant: store.Tenant{ID: "acme"}}))
		byHandler := httptest.NewRecorder()
		h.ServeHTTP(byHandler, req)

		assert.Equal(t, http.StatusServiceUnavailable, byGuard.Code, accept)
		assert.Equal(t, byGuard.Code, byHandler.Code, accept)
		assert.Equal(t, byGuard.Header(), byHandler.Header(), accept)
		assert.Equal(t, byGuard.Body.String(), byHandler.Body.String(), accept)
		assert.Equal(t, "nosniff", byHandler.Header().Get("X-Content-Type-Options"), accept)
		assert.Equal(t, "no-store", byHandler.Header().Get("Cache-Control"), accept)
	}
}

// TestErrors_unauthorizedChallenges: a 401 of the handler carries the
// bearer challenge RFC 7235 §3.1 requires, as the guard's do.
func TestErrors_unauthorizedChallenges(t *testing.T) {
	h := scim.New(scim.Config{Store: memory.New(memory.Options{}), BaseURL: baseURL})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/scim/v2/acme/Users", nil))
	assert.Equal(t, 401, rec.Code)
	assert.Equal(t, `Bearer realm="roster"`, rec.Header().Get("WWW-Authenticate"))
}
