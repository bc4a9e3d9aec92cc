package conformance_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/saml"
	"github.com/roster-dev/roster/scim"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// publicBaseURL is ROSTER_BASE_URL of the stack: meta.location and Location
// name it whatever address the test server listens on.
const publicBaseURL = "https://roster.example.com"

// tenantID is the tenant every suite provisions into.
const tenantID = "acme"

var backends = []string{"memory", "postgres"}

// stack is a running SCIM endpoint with one tenant that passes every gate.
type stack struct {
	URL   string // http://127.0.0.1:port/scim/v2/acme
	Token string // the tenant's SCIM bearer token
	Store store.Store
}

var adminActor = store.Actor{Kind: "admin", ID: "conformance"}

func openStore(t *testing.T, backend string) store.Store {
	t.Helper()
	switch backend {
	case "memory":
		return memory.New(memory.Options{})
	case "postgres":
		return pgtest.Store(t, nil)
	}
	t.Fatalf("unknown backend %q", backend)
	return nil
}

// newStack builds the rosterd SCIM stack over a fresh store with tenant acme:
// plan ultimate, 50 seats, default settings, SAML configured from Okta-shaped
// IdP metadata that validates, and one SCIM token.
func newStack(t *testing.T, backend string) stack {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, backend)
	_, err := st.CreateTenant(ctx, store.Tenant{ID: tenantID, Name: "Acme", Plan: "ultimate", Seats: 50,
		Settings: store.DefaultSettings()}, adminActor)
	require.NoError(t, err)
	md, err := os.ReadFile(filepath.Join("..", "..", "testdata", "saml", "okta.xml"))
	require.NoError(t, err)
	idp, err := saml.ValidateMetadata(md, time.Now())
	require.NoError(t, err)
	_, err = st.PutSAMLConfig(ctx, tenantID, store.SAMLConfig{MetadataXML: string(md), EntityID: idp.EntityID,
		SSOURL: idp.SSOURL, CertNotAfter: idp.CertNotAfter}, adminActor)
	require.NoError(t, err)
	plain, id, hash, err := auth.New(rand.Reader)
	require.NoError(t, err)
	_, err = st.CreateToken(ctx, tenantID, store.Token{ID: id, Name: "okta", Hash: hash}, adminActor)
	require.NoError(t, err)

	guard := scimauth.New(scimauth.Config{Store: st})
	t.Cleanup(guard.Close)
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/{tenant}/", guard.Wrap(scim.New(scim.Config{Store: st, BaseURL: publicBaseURL})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return stack{URL: srv.URL + "/scim/v2/" + tenantID, Token: plain, Store: st}
}
