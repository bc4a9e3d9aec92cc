package main

// The end-to-end tests' driver: rosterd's whole handler (scimauth.Guard →
// scim, admin, saml) on the memory and the PostgreSQL store, an operator who
// sets up tenant acme through the admin API, and requests shaped like Okta's
// and Entra's.

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster of this package's tests.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" { // this binary started again as rosterd (webhooks_e2e_test.go)
		os.Args = os.Args[:1]
		main()
		os.Exit(0)
	}
	pgtest.Main(m)
}

const (
	e2eAdminToken = "e2e-admin-token-0123456789abcdef"
	e2eBaseURL    = "https://roster.example.com"
)

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

// storeOpener opens a store for a test, on the clock now.
type storeOpener func(t *testing.T, now func() time.Time) store.Store

// forEachStore runs test on the memory and on a fresh PostgreSQL store.
func forEachStore(t *testing.T, test func(t *testing.T, open storeOpener)) {
	for name, open := range map[string]storeOpener{
		"memory":   func(t *testing.T, now func() time.Time) store.Store { return memory.New(memory.Options{Now: now}) },
		"postgres": func(t *testing.T, now func() time.Time) store.Store { return pgtest.Store(t, now) },
	} {
		t.Run(name, func(t *testing.T) { test(t, open) })
	}
}

// handlerOn is rosterd's whole handler on d.Store, behind a scimauth.Guard on
// the same store and clock (closed when the test ends).
func handlerOn(t *testing.T, d handlerDeps) http.Handler {
	t.Helper()
	guard := scimauth.New(scimauth.Config{Store: d.Store, Now: d.Now})
	t.Cleanup(guard.Close)
	d.Guard = guard
	return newHandler(d)
}

// newE2E starts rosterd's whole handler on the store open gives, with a clock
// that starts at start and moves on a millisecond at every reading.
func newE2E(t *testing.T, start time.Time, open storeOpener) (*e2e, store.Store) {
	e := &e2e{t: t, now: start}
	st := open(t, e.clock)
	var ids atomic.Int64
	e.h = handlerOn(t, handlerDeps{
		Store: st, Logger: zerolog.Nop(), Now: e.clock, Random: rand.Reader,
		NewID:   func() string { return fmt.Sprintf("req-%d", ids.Add(1)) },
		BaseURL: e2eBaseURL, AdminToken: e2eAdminToken,
	})
	return e, st
}

// setUpAcme is the operator's setup: tenant acme from tenantJSON, the IdP
// metadata as its SAML configuration (so SCIM passes the SSO gate), and a
// SCIM token for Okta and one for Entra.
func (e *e2e) setUpAcme(tenantJSON string, idpMetadata []byte) (okta, entra string) {
	e.t.Helper()
	r := e.admin("POST", "/tenants", tenantJSON)
	require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
	r = e.call("PUT", "/admin/v1/tenants/acme/saml", e2eAdminToken, "application/xml", string(idpMetadata))
	require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	var tokens [2]string
	for i, idp := range []string{"okta", "entra"} {
		r = e.admin("POST", "/tenants/acme/tokens", `{"name":"`+idp+`"}`)
		require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
		tokens[i] = r.Body["token"].(string)
	}
	return tokens[0], tokens[1]
}

// oktaMetadata is Okta's IdP metadata for acme (testdata/saml/okta.xml).
func oktaMetadata(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/saml/okta.xml")
	require.NoError(t, err)
	return b
}

func (e *e2e) scimOK(a answer, status int, what string) map[string]any {
	e.t.Helper()
	require.Equal(e.t, status, a.Status, "%s: %s", what, a.Raw)
	return a.Body
}

const rosterExt = "urn:ietf:params:scim:schemas:extension:roster:2.0:User"

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
