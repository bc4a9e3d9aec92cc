package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
)

// TestServe_demoTenantPassesTheGuard proves that the demo tenant serve seeds
// passes authentication and both SCIM gates (plan and SAML SSO) with the
// printed token, and that its SP metadata and the admin API are served.
func TestServe_demoTenantPassesTheGuard(t *testing.T) {
	sys, stdout, _ := testSystem(nil)
	var st store.Store
	sys.wrapStore = func(s store.Store) store.Store { st = s; return s }
	s := startServe(t, sys, stdout)
	base := "http://" + s.addr
	out := stdout.String()
	token := scimTokenRE.FindStringSubmatch(out)[1]
	admin := adminRE.FindStringSubmatch(out)[1]
	assert.Contains(t, out, "SAML SSO from the bundled test IdP")

	cfg, err := st.GetSAMLConfig(context.Background(), demoTenantID)
	require.NoError(t, err, "the demo tenant has a SAML configuration")
	assert.Equal(t, base+"/saml/demo/dev-idp/metadata", cfg.EntityID, "generated for this server's base URL")
	assert.Equal(t, base+"/saml/demo/dev-idp/sso", cfg.SSOURL)

	guard := scimauth.New(scimauth.Config{Store: st})
	t.Cleanup(guard.Close)
	var seen scimauth.Principal
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/{tenant}/", guard.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = scimauth.FromContext(r.Context())
	})))
	req := httptest.NewRequest("GET", "/scim/v2/demo/Users", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, demoTenantID, seen.Tenant.ID)
	assert.Equal(t, "demo", seen.Actor.Name)

	// Through the running server: whatever the SCIM handler answers, the
	// guard let the request through (no 401, no 403).
	r, err := http.NewRequest("GET", base+"/scim/v2/demo/ServiceProviderConfig", nil)
	require.NoError(t, err)
	r.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the SCIM handler behind the guard answers")

	code, body, h := get(t, base+"/saml/demo/metadata")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "application/samlmetadata+xml", h.Get("Content-Type"))
	assert.Contains(t, body, `entityID="`+base+`/saml/demo/metadata"`)
	assert.Contains(t, body, base+"/saml/demo/acs")
	code, _, _ = get(t, base+"/saml/nope/metadata")
	assert.Equal(t, http.StatusNotFound, code)

	r, err = http.NewRequest("GET", base+"/admin/v1/tenants/demo", nil)
	require.NoError(t, err)
	r.Header.Set("Authorization", "Bearer "+admin)
	resp, err = http.DefaultClient.Do(r)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the admin API is mounted")
	require.NoError(t, s.stop(t))

	// Shutdown wrote the token's last use, recorded in memory until then.
	id, _ := auth.Parse(token)
	stored, err := st.GetToken(context.Background(), demoTenantID, id)
	require.NoError(t, err)
	require.NotNil(t, stored.LastUsedAt, "the guard is flushed at shutdown")
}

// TestSPMetadata_keyPairPerTenantAndStable: each tenant's SP metadata carries
// its own certificate, the same on every fetch.
func TestSPMetadata_keyPairPerTenantAndStable(t *testing.T) {
	st := memory.New(memory.Options{})
	for _, id := range []string{"acme", "beta"} {
		_, err := st.CreateTenant(context.Background(), store.Tenant{ID: id, Plan: "trial", Settings: store.DefaultSettings()}, store.ActorAdmin)
		require.NoError(t, err)
	}
	h := handlerOn(t, handlerDeps{Store: st, Logger: zerolog.Nop(), Now: time.Now, NewID: func() string { return "id" },
		Random: rand.Reader, BaseURL: "https://roster.example.com"})
	fetch := func(tenant string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/saml/"+tenant+"/metadata", nil))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return rec.Body.String()
	}
	cert := func(doc string) string {
		_, rest, ok := strings.Cut(doc, "<X509Certificate")
		require.True(t, ok, doc)
		_, rest, _ = strings.Cut(rest, ">")
		c, _, _ := strings.Cut(rest, "<")
		return c
	}
	a1, a2, b := fetch("acme"), fetch("acme"), fetch("beta")
	assert.Contains(t, a1, `entityID="https://roster.example.com/saml/acme/metadata"`)
	assert.Contains(t, a1, `Location="https://roster.example.com/saml/acme/acs"`)
	assert.Equal(t, cert(a1), cert(a2), "the key pair is made once and kept")
	assert.NotEqual(t, cert(a1), cert(b), "each tenant has its own key pair")
}

// TestSeedDemoSAML_baseURLs: the demo IdP metadata follows the base URL; a
// plain-http base URL on another host (refused by metadata validation) falls
// back to the bundled localhost document.
func TestSeedDemoSAML_baseURLs(t *testing.T) {
	for base, entity := range map[string]string{
		"https://roster.example.com": "https://roster.example.com/saml/demo/dev-idp/metadata",
		"http://127.0.0.1:9090":      "http://127.0.0.1:9090/saml/demo/dev-idp/metadata",
		"http://roster.internal:80":  "http://localhost:8080/saml/demo/dev-idp/metadata",
	} {
		st := memory.New(memory.Options{})
		_, err := seedDemo(context.Background(), st, rand.Reader)
		require.NoError(t, err)
		require.NoError(t, seedDemoSAML(context.Background(), st, base, time.Now()), base)
		cfg, err := st.GetSAMLConfig(context.Background(), demoTenantID)
		require.NoError(t, err)
		assert.Equal(t, entity, cfg.EntityID, base)
		assert.True(t, cfg.CertNotAfter.After(time.Date(2065, 1, 1, 0, 0, 0, 0, time.UTC)), "the demo IdP certificate runs to 2066")
	}
}

// TestDemoIdP_filesMatchTestdata keeps the embedded copies of the demo IdP
// identical to the fixtures in testdata/saml.
func TestDemoIdP_filesMatchTestdata(t *testing.T) {
	for _, name := range []string{"demo-idp.cert.pem", "demo-idp.key.pem", "demo-idp.xml"} {
		want, err := os.ReadFile("../../testdata/saml/" + name)
		require.NoError(t, err)
		got, err := os.ReadFile("demoidp/" + name)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), "cmd/rosterd/demoidp/%s differs from testdata/saml/%s", name, name)
	}
}
