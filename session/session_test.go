package session_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	crewsaml "github.com/crewjam/saml"
	"github.com/crewjam/saml/logger"
	"github.com/rs/zerolog"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/saml"
	"github.com/roster-dev/roster/session"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const base = "https://roster.test"

var ctx = context.Background()

// backends are the stores every round trip runs against.
var backends = []struct {
	name string
	open func(t testing.TB, now func() time.Time) store.Store
}{
	{"memory", func(t testing.TB, now func() time.Time) store.Store { return memory.New(memory.Options{Now: now}) }},
	{"postgres", func(t testing.TB, now func() time.Time) store.Store { return pgtest.Store(t, now) }},
}

// clock is the one time of a test: the store, the service, the test IdP
// and the library's checks (saml.TimeNow, a package global: these tests do
// not run in parallel).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is Roster's sign-in in process with an in-process test IdP (the
// demo IdP's key pair from testdata/saml) that signs in whoever nameID says.
type harness struct {
	t      testing.TB
	st     store.Store
	clock  *clock
	mux    *http.ServeMux
	idp    *crewsaml.IdentityProvider
	nameID string
	users  map[string]store.User
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "saml", name))
	require.NoError(t, err)
	return b
}

type idpSession struct{ h *harness }

func (s idpSession) GetSession(http.ResponseWriter, *http.Request, *crewsaml.IdpAuthnRequest) *crewsaml.Session {
	return &crewsaml.Session{ID: "idp-session", NameID: s.h.nameID, NameIDFormat: string(crewsaml.EmailAddressNameIDFormat),
		UserEmail: s.h.nameID, CreateTime: s.h.clock.Now(), ExpireTime: s.h.clock.Now().Add(time.Hour)}
}

// spDirectory is the IdP's list of SPs: every tenant's SP metadata, without
// keys, so that assertions travel in plaintext and tests can tamper with them.
type spDirectory map[string]*crewsaml.EntityDescriptor

func (d spDirectory) GetServiceProvider(_ *http.Request, id string) (*crewsaml.EntityDescriptor, error) {
	if ed, ok := d[id]; ok {
		return ed, nil
	}
	return nil, os.ErrNotExist
}

func newHarness(t testing.TB, open func(testing.TB, func() time.Time) store.Store) *harness {
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	prevNow := crewsaml.TimeNow
	crewsaml.TimeNow = c.Now
	t.Cleanup(func() { crewsaml.TimeNow = prevNow })

	h := &harness{t: t, clock: c, st: open(t, c.Now), users: map[string]store.User{}}
	block, _ := pem.Decode(fixture(t, "demo-idp.key.pem"))
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	block, _ = pem.Decode(fixture(t, "demo-idp.cert.pem"))
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	mdURL, _ := url.Parse("http://localhost:8080/saml/demo/dev-idp/metadata")
	ssoURL, _ := url.Parse("http://localhost:8080/saml/demo/dev-idp/sso")
	dir := spDirectory{}
	h.idp = &crewsaml.IdentityProvider{Key: key.(crypto.PrivateKey), Certificate: cert, Logger: logger.DefaultLogger,
		MetadataURL: *mdURL, SSOURL: *ssoURL, SignatureMethod: dsig.RSASHA256SignatureMethod,
		ServiceProviderProvider: dir, SessionProvider: idpSession{h}}
	idpXML, err := xml.Marshal(h.idp.Metadata())
	require.NoError(t, err)

	spKey, spCert := fixture(t, "roster-sp.key.pem"), fixture(t, "roster-sp.cert.pem")
	for _, id := range []string{"acme", "beta"} {
		_, err := h.st.CreateTenant(ctx, store.Tenant{ID: id, Name: strings.ToUpper(id[:1]) + id[1:] + " Corp", Plan: "ultimate", Seats: 20, Settings: store.DefaultSettings()}, store.ActorAdmin)
		require.NoError(t, err)
		idp, err := saml.ValidateMetadata(idpXML, c.Now())
		require.NoError(t, err)
		_, err = h.st.PutSAMLConfig(ctx, id, store.SAMLConfig{MetadataXML: string(idpXML), EntityID: idp.EntityID, SSOURL: idp.SSOURL, CertNotAfter: idp.CertNotAfter}, store.ActorAdmin)
		require.NoError(t, err)
		_, _, err = h.st.SPKeyPair(ctx, id, func() ([]byte, []byte, error) { return spKey, spCert, nil })
		require.NoError(t, err)
		k, crt, err := saml.ParseKeyPair(spCert, spKey)
		require.NoError(t, err)
		md := saml.SP{BaseURL: base, TenantID: id, Key: k, Certificate: crt}.ServiceProvider(nil).Metadata()
		for i := range md.SPSSODescriptors {
			md.SPSSODescriptors[i].KeyDescriptors = nil
		}
		dir[md.EntityID] = md
	}
	_, err = h.st.CreateOutlet(ctx, "acme", store.Outlet{ID: "store-1", Name: "Main"}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = h.st.CreateOutlet(ctx, "acme", store.Outlet{ID: "store-2", Name: "Harbour"}, store.ActorAdmin)
	require.NoError(t, err)
	h.addUser("acme", store.User{UserName: "ann@acme.test", Active: true, Role: store.RoleSupervisor, Stores: []string{"store-1"},
		DisplayName: "Ann Lee", Emails: []store.MultiValue{{Value: "ann@acme.test", Primary: true}}})
	h.addUser("acme", store.User{UserName: "bob", Active: true, Role: store.RoleAgent,
		Emails: []store.MultiValue{{Value: "bob@home.test"}, {Value: "Bob@Acme.test", Primary: true}}})
	h.addUser("beta", store.User{UserName: "bea@beta.test", Active: true, Role: store.RoleAgent})
	g, err := h.st.CreateGroup(ctx, "acme", store.Group{DisplayName: "Tier 2", Members: []store.Member{{UserID: h.users["ann@acme.test"].ID}}}, store.ActorAdmin)
	require.NoError(t, err)
	_ = g

	h.mux = http.NewServeMux()
	session.New(session.Config{Store: h.st, BaseURL: base, Now: c.Now}).Register(h.mux)
	return h
}

func (h *harness) addUser(tenant string, u store.User) {
	h.t.Helper()
	u, err := h.st.CreateUser(ctx, tenant, u, store.ActorAdmin)
	require.NoError(h.t, err)
	h.users[u.UserName] = u
}

// serve runs a request with a logger in its context, as rosterd's
// middleware does, writing to the test log.
func (h *harness) serve(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	log := zerolog.Nop() // benchmarks: no log cost in the figures
	if t, ok := h.t.(*testing.T); ok {
		log = zerolog.New(zerolog.NewTestWriter(t))
	}
	h.mux.ServeHTTP(rec, r.WithContext(log.WithContext(r.Context())))
	return rec
}

var (
	inputRE = regexp.MustCompile(`name="(SAMLResponse|RelayState)" value="([^"]*)"`)
)

// idpResponse is what the IdP's auto-submitting form carries.
type idpResponse struct {
	SAMLResponse, RelayState string
	cookies                  []*http.Cookie // from Roster's login answer
}

func parseForm(t testing.TB, body string) idpResponse {
	t.Helper()
	var out idpResponse
	for _, m := range inputRE.FindAllStringSubmatch(body, -1) {
		v := html.UnescapeString(m[2])
		if m[1] == "SAMLResponse" {
			out.SAMLResponse = v
		} else {
			out.RelayState = v
		}
	}
	require.NotEmpty(t, out.SAMLResponse, "IdP form: %s", body)
	return out
}

// login runs /saml/{tenant}/login and the IdP for nameID, returning the
// response the browser would POST to the ACS.
func (h *harness) login(tenant, nameID string) idpResponse {
	h.t.Helper()
	return h.loginTo(tenant, nameID, "")
}

// loginTo is login asking to land on next (the login's ?next=).
func (h *harness) loginTo(tenant, nameID, next string) idpResponse {
	h.t.Helper()
	target := base + "/saml/" + tenant + "/login"
	if next != "" {
		target += "?next=" + url.QueryEscape(next)
	}
	rec := h.serve(httptest.NewRequest(http.MethodGet, target, nil))
	require.Equal(h.t, http.StatusFound, rec.Code, rec.Body.String())
	loc := rec.Header().Get("Location")
	u, err := url.Parse(loc)
	require.NoError(h.t, err)
	assert.Equal(h.t, dsig.RSASHA256SignatureMethod, u.Query().Get("SigAlg"), "AuthnRequests are signed with RSA-SHA256")
	assert.NotEmpty(h.t, u.Query().Get("Signature"))
	h.nameID = nameID
	idpRec := httptest.NewRecorder()
	h.idp.ServeSSO(idpRec, httptest.NewRequest(http.MethodGet, loc, nil))
	require.Equal(h.t, http.StatusOK, idpRec.Code, idpRec.Body.String())
	resp := parseForm(h.t, idpRec.Body.String())
	resp.cookies = rec.Result().Cookies()
	return resp
}

// idpInitiated has the IdP send an unsolicited response for tenant's SP.
func (h *harness) idpInitiated(tenant, nameID string) idpResponse {
	h.t.Helper()
	h.nameID = nameID
	rec := httptest.NewRecorder()
	h.idp.ServeIDPInitiated(rec, httptest.NewRequest(http.MethodGet, "http://localhost:8080/idp", nil), base+"/saml/"+tenant+"/metadata", "")
	require.Equal(h.t, http.StatusOK, rec.Code, rec.Body.String())
	return parseForm(h.t, rec.Body.String())
}

// post sends a response to tenant's ACS and returns the answer.
func (h *harness) post(tenant string, resp idpResponse) *httptest.ResponseRecorder {
	h.t.Helper()
	form := url.Values{"SAMLResponse": {resp.SAMLResponse}}
	if resp.RelayState != "" {
		form.Set("RelayState", resp.RelayState)
	}
	r := httptest.NewRequest(http.MethodPost, base+"/saml/"+tenant+"/acs", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range resp.cookies {
		r.AddCookie(c)
	}
	return h.serve(r)
}

// sessionCookie returns the session cookie an ACS answer set ("" if none).
func sessionCookie(rec *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == session.CookieName && c.Value != "" {
			return c
		}
	}
	return nil
}

func (h *harness) getSession(token string, asBearer bool) (int, map[string]any) {
	h.t.Helper()
	r := httptest.NewRequest(http.MethodGet, base+"/api/v1/session", nil)
	if asBearer {
		r.Header.Set("Authorization", "Bearer "+token)
	} else {
		r.AddCookie(&http.Cookie{Name: session.CookieName, Value: token})
	}
	rec := h.serve(r)
	var body map[string]any
	require.NoError(h.t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	return rec.Code, body
}

// signIn runs a full SP-initiated sign-in and returns the session token.
func (h *harness) signIn(tenant, nameID string) string {
	h.t.Helper()
	rec := h.post(tenant, h.login(tenant, nameID))
	require.Equal(h.t, http.StatusSeeOther, rec.Code, rec.Body.String())
	c := sessionCookie(rec)
	require.NotNil(h.t, c)
	return c.Value
}

func refused(t *testing.T, rec *httptest.ResponseRecorder, status int, text string) {
	t.Helper()
	assert.Equal(t, status, rec.Code)
	assert.Nil(t, sessionCookie(rec), "a refused sign-in sets no session")
	assert.Contains(t, rec.Body.String(), text)
	assert.Contains(t, rec.Header().Get("Content-Type"), "text/html")
}

func eachBackend(t *testing.T, fn func(t *testing.T, h *harness)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, newHarness(t, b.open)) })
	}
}

// TestSignIn_roundTrip proves an SP-initiated sign-in end to end: a signed
// AuthnRequest, the IdP's response at the ACS, lastActiveAt recorded, a
// session cookie (HttpOnly, Secure on https, SameSite=Lax) whose token also
// works as a bearer token, GET /api/v1/session read from the store, and
// logout.
func TestSignIn_roundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness) {
		resp := h.login("acme", "ANN@acme.test") // userName matches case-insensitively
		rec := h.post("acme", resp)
		require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
		assert.Equal(t, "/", rec.Header().Get("Location"), "a fixed landing page, never RelayState")
		c := sessionCookie(rec)
		require.NotNil(t, c)
		assert.True(t, c.HttpOnly)
		assert.True(t, c.Secure)
		assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
		assert.Regexp(t, `^rss_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$`, c.Value)

		ann := h.users["ann@acme.test"]
		u, err := h.st.GetUser(ctx, "acme", ann.ID)
		require.NoError(t, err)
		require.NotNil(t, u.LastActiveAt)
		assert.Equal(t, store.Timestamp(h.clock.Now()), *u.LastActiveAt)

		for _, bearer := range []bool{false, true} {
			code, body := h.getSession(c.Value, bearer)
			require.Equal(t, http.StatusOK, code, body)
			assert.Equal(t, ann.ID, body["user"].(map[string]any)["id"])
			assert.Equal(t, "ann@acme.test", body["user"].(map[string]any)["email"])
			assert.Equal(t, map[string]any{"id": "acme", "name": "Acme Corp", "plan": "ultimate"}, body["tenant"])
			assert.Equal(t, "supervisor", body["role"])
			assert.NotEmpty(t, body["permissions"])
			assert.Equal(t, []any{"store-1"}, body["stores"])
			teams := body["teams"].([]any)
			require.Len(t, teams, 1)
			assert.Equal(t, "Tier 2", teams[0].(map[string]any)["name"])
		}

		// A role or store change applies to the very next request.
		_, err = h.st.UpdateUser(ctx, "acme", ann.ID, store.ActorAdmin, func(x *store.User) error {
			x.Role, x.ExplicitRole, x.Stores = store.RoleAgent, store.RoleAgent, []string{"store-1", "store-2"}
			return nil
		})
		require.NoError(t, err)
		code, body := h.getSession(c.Value, false)
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, "agent", body["role"])
		assert.Equal(t, []any{"store-1", "store-2"}, body["stores"])

		// The primary email matches when the userName does not.
		bobToken := h.signIn("acme", "bob@acme.TEST")
		_, body = h.getSession(bobToken, true)
		assert.Equal(t, "bob", body["user"].(map[string]any)["userName"])

		// Logout ends the session.
		r := httptest.NewRequest(http.MethodPost, base+"/api/v1/session/logout", nil)
		r.AddCookie(c)
		rec = h.serve(r)
		assert.Equal(t, http.StatusNoContent, rec.Code)
		code, body = h.getSession(c.Value, false)
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Equal(t, "no_session", body["error"])
		code, _ = h.getSession(bobToken, true)
		assert.Equal(t, http.StatusOK, code, "other sessions go on")

		// A forged token with a real id is no session.
		forged := bobToken[:len(bobToken)-4] + "AAAA"
		code, _ = h.getSession(forged, true)
		assert.Equal(t, http.StatusUnauthorized, code)
	})
}

// TestSignIn_landsOnTheConsolePageAsked proves that an SP-initiated
// sign-in started with ?next= lands on that page of the tenant's own
// console, and that any other next — another tenant's console, another
// host, a path that could leave the host — lands on the fixed page.
func TestSignIn_landsOnTheConsolePageAsked(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness) {
		rec := h.post("acme", h.loginTo("acme", "ann@acme.test", "/console/acme/people?q=ann"))
		require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
		assert.Equal(t, "/console/acme/people?q=ann", rec.Header().Get("Location"))
		for _, bad := range []string{"/console/beta/", "https://evil.test/console/acme/", "//evil.test/console/acme/",
			"/console/acme//evil.test", "/console/acme/../../api", "/console/acme/\\evil.test", "/api/v1/session"} {
			rec := h.post("acme", h.loginTo("acme", "ann@acme.test", bad))
			require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
			assert.Equal(t, "/", rec.Header().Get("Location"), bad)
		}
	})
}

func TestConsoleNext(t *testing.T) {
	assert.Equal(t, "/console/acme/", session.ConsoleNext("acme", "/console/acme/"))
	assert.Equal(t, "/console/acme/seats?range=90", session.ConsoleNext("acme", "/console/acme/seats?range=90"))
	for _, bad := range []string{"", "/console/acme", "/console/acmex/", "/console/acme/\r\nx", "http://x/console/acme/"} {
		assert.Empty(t, session.ConsoleNext("acme", bad), bad)
	}
}

// TestSignIn_deactivationEndsSessions proves that deactivation (what SCIM's
// active=false does), deletion and access expiry end sessions on the next
// request and refuse new sign-ins with a page that says why.
func TestSignIn_deactivationEndsSessions(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness) {
		ann := h.users["ann@acme.test"]
		token := h.signIn("acme", "ann@acme.test")
		_, err := h.st.UpdateUser(ctx, "acme", ann.ID, store.Actor{Kind: "token", ID: "okta"}, func(x *store.User) error { x.Active = false; return nil })
		require.NoError(t, err)
		code, _ := h.getSession(token, false)
		assert.Equal(t, http.StatusUnauthorized, code, "deactivation ended the session in the store")
		refused(t, h.post("acme", h.login("acme", "ann@acme.test")), http.StatusForbidden, "deactivated")

		// Reactivated: the old session stays ended, a new sign-in works.
		_, err = h.st.UpdateUser(ctx, "acme", ann.ID, store.ActorAdmin, func(x *store.User) error { x.Active = true; return nil })
		require.NoError(t, err)
		code, _ = h.getSession(token, false)
		assert.Equal(t, http.StatusUnauthorized, code)
		token = h.signIn("acme", "ann@acme.test")

		// Deleted.
		require.NoError(t, h.st.DeleteUser(ctx, "acme", ann.ID, store.ActorAdmin))
		code, _ = h.getSession(token, true)
		assert.Equal(t, http.StatusUnauthorized, code)
		refused(t, h.post("acme", h.login("acme", "ann@acme.test")), http.StatusForbidden, "no Roster account")

		// Unknown users are not created (no JIT provisioning).
		refused(t, h.post("acme", h.login("acme", "newcomer@acme.test")), http.StatusForbidden, "no Roster account for newcomer@acme.test")
		_, err = h.st.GetUserByUserName(ctx, "acme", "newcomer@acme.test")
		assert.ErrorIs(t, err, store.ErrNotFound)

		// External user: refused from the expiry instant, sweeper or not.
		until := h.clock.Now().Add(time.Hour)
		h.addUser("acme", store.User{UserName: "ext@partner.test", Active: true, UserType: "External", AccessExpiresAt: &until})
		token = h.signIn("acme", "ext@partner.test")
		code, _ = h.getSession(token, true)
		assert.Equal(t, http.StatusOK, code)
		// The admin brings the end forward: the next request sees it.
		_, err = h.st.UpdateUser(ctx, "acme", h.users["ext@partner.test"].ID, store.ActorAdmin, func(x *store.User) error {
			soon := h.clock.Now().Add(time.Minute)
			x.AccessExpiresAt = &soon
			return nil
		})
		require.NoError(t, err)
		h.clock.Advance(time.Minute)
		code, body := h.getSession(token, true)
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Equal(t, "session_ended", body["error"])
		assert.Equal(t, "expired", body["reason"], "refused from the expiry instant, before any sweep")
		refused(t, h.post("acme", h.login("acme", "ext@partner.test")), http.StatusForbidden, "access to Acme Corp has ended")

		// A plan without SSO: sessions end, sign-in is refused.
		// A session ends when its lifetime, capped at the access expiry, does.
		until = h.clock.Now().Add(time.Hour)
		h.addUser("acme", store.User{UserName: "ext2@partner.test", Active: true, UserType: "External", AccessExpiresAt: &until})
		token = h.signIn("acme", "ext2@partner.test")
		h.clock.Advance(time.Hour)
		code, body = h.getSession(token, true)
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Equal(t, "session_expired", body["reason"])

		bob := h.signIn("acme", "bob")
		_, err = directory.New(h.st).UpdateTenant(ctx, "acme", store.ActorAdmin, func(x *store.Tenant) error { x.Plan = "enterprise"; return nil })
		require.NoError(t, err)
		code, body = h.getSession(bob, true)
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Equal(t, "plan", body["reason"])
		rec := h.serve(httptest.NewRequest(http.MethodGet, base+"/saml/acme/login", nil))
		refused(t, rec, http.StatusForbidden, "not included in the plan")
	})
}

// TestSignIn_refusedResponses proves that replayed, foreign, expired,
// tampered and wrapped responses, artifacts and unsolicited responses are
// refused and start no session.
func TestSignIn_refusedResponses(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *harness) {
		// Replay of an SP-initiated response: its request is spent.
		resp := h.login("acme", "ann@acme.test")
		require.Equal(t, http.StatusSeeOther, h.post("acme", resp).Code)
		refused(t, h.post("acme", resp), http.StatusForbidden, "does not answer a sign-in started here")

		// Replay where IdP-initiated sign-in is on: the spent-assertion store refuses it.
		_, err := directory.New(h.st).UpdateTenant(ctx, "acme", store.ActorAdmin, func(x *store.Tenant) error { x.Settings.IdPInitiatedSSO = true; return nil })
		require.NoError(t, err)
		unsolicited := h.idpInitiated("acme", "ann@acme.test")
		require.Equal(t, http.StatusSeeOther, h.post("acme", unsolicited).Code)
		refused(t, h.post("acme", unsolicited), http.StatusForbidden, "already been used")

		// IdP-initiated is refused where the tenant has not opted in.
		refused(t, h.post("beta", h.idpInitiated("beta", "bea@beta.test")), http.StatusForbidden, "accepts sign-ins started from Roster only")

		// Tenant acme's response at tenant beta (same IdP, trusted by both):
		// beta has no such request; with IdP-initiated on at beta, the
		// audience, recipient and destination refuse it.
		forAcme := h.login("acme", "bea@beta.test")
		refused(t, h.post("beta", forAcme), http.StatusForbidden, "does not answer a sign-in started here")
		_, err = directory.New(h.st).UpdateTenant(ctx, "beta", store.ActorAdmin, func(x *store.Tenant) error { x.Settings.IdPInitiatedSSO = true; return nil })
		require.NoError(t, err)
		refused(t, h.post("beta", h.idpInitiated("acme", "bea@beta.test")), http.StatusForbidden, "could not be verified")

		// Expired: posted after the assertion's window.
		late := h.login("acme", "ann@acme.test")
		h.clock.Advance(5 * time.Minute) // the request is still tracked; the assertion is not valid any more
		refused(t, h.post("acme", late), http.StatusForbidden, "expired")

		// Tampered: another NameID in the signed response.
		tampered := h.login("acme", "ann@acme.test")
		tampered.SAMLResponse = rewrite(t, tampered.SAMLResponse, func(x string) string {
			return strings.ReplaceAll(x, "ann@acme.test", "bob@acme.test")
		})
		refused(t, h.post("acme", tampered), http.StatusForbidden, "could not be verified")

		// A broken signature value.
		broken := h.login("acme", "ann@acme.test")
		broken.SAMLResponse = rewrite(t, broken.SAMLResponse, func(x string) string {
			i := strings.Index(x, "SignatureValue>") + len("SignatureValue>")
			return x[:i] + "AAAA" + x[i+4:]
		})
		refused(t, h.post("acme", broken), http.StatusForbidden, "could not be verified")

		// Wrapped assertion (XSW): the Response signature removed, the
		// signed assertion hidden inside an attacker's assertion for bob.
		wrapped := h.login("acme", "ann@acme.test")
		wrapped.SAMLResponse = rewrite(t, wrapped.SAMLResponse, func(x string) string {
			x = removeResponseSignature(t, x)
			start, end := strings.Index(x, "<saml:Assertion"), strings.LastIndex(x, "</saml:Assertion>")+len("</saml:Assertion>")
			require.True(t, start > 0 && end > start, x)
			orig := x[start:end]
			evil := strings.ReplaceAll(orig, "ann@acme.test", "bob@acme.test")
			evil = strings.Replace(evil, "</saml:Subject>", "</saml:Subject><saml:Advice>"+orig+"</saml:Advice>", 1)
			return x[:start] + evil + x[end:]
		})
		refused(t, h.post("acme", wrapped), http.StatusForbidden, "could not be verified")

		// Two assertions: the attacker's unsigned one first, the signed one
		// second: never bob.
		two := h.login("acme", "ann@acme.test")
		two.SAMLResponse = rewrite(t, two.SAMLResponse, func(x string) string {
			x = removeResponseSignature(t, x)
			start, end := strings.Index(x, "<saml:Assertion"), strings.LastIndex(x, "</saml:Assertion>")+len("</saml:Assertion>")
			evil := strings.ReplaceAll(x[start:end], "ann@acme.test", "bob@acme.test")
			evil = regexp.MustCompile(`(?s)<ds:Signature.*</ds:Signature>`).ReplaceAllString(evil, "")
			return x[:start] + evil + x[start:]
		})
		rec := h.post("acme", two)
		if rec.Code == http.StatusSeeOther {
			code, body := h.getSession(sessionCookie(rec).Value, true)
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, "ann@acme.test", body["user"].(map[string]any)["userName"], "only the signed assertion counts")
		} else {
			assert.Equal(t, http.StatusForbidden, rec.Code)
		}

		// Unsigned: both signatures removed.
		unsigned := h.login("acme", "ann@acme.test")
		unsigned.SAMLResponse = rewrite(t, unsigned.SAMLResponse, func(x string) string {
			return regexp.MustCompile(`(?s)<ds:Signature.*?</ds:Signature>`).ReplaceAllString(x, "")
		})
		refused(t, h.post("acme", unsigned), http.StatusForbidden, "could not be verified")

		// A comment inside the signed NameID (CVE-2017-11427 family): the
		// signature still verifies (comments are not canonicalised), and the
		// whole text is the identity, never the part before the comment.
		commented := h.login("acme", "ann@acme.test.evil.example")
		commented.SAMLResponse = rewrite(t, commented.SAMLResponse, func(x string) string {
			return strings.Replace(x, ">ann@acme.test.evil.example<", ">ann@acme.test<!---->.evil.example<", 1)
		})
		refused(t, h.post("acme", commented), http.StatusForbidden, "no Roster account for ann@acme.test.evil.example")

		// A DOCTYPE with an entity.
		doctype := h.login("acme", "ann@acme.test")
		doctype.SAMLResponse = rewrite(t, doctype.SAMLResponse, func(x string) string {
			return `<!DOCTYPE r [<!ENTITY e "ann@acme.test">]>` + x
		})
		refused(t, h.post("acme", doctype), http.StatusForbidden, "malformed")

		// Deep nesting, before any signature work.
		deep := h.login("acme", "ann@acme.test")
		deep.SAMLResponse = rewrite(t, deep.SAMLResponse, func(x string) string {
			i := strings.Index(x, "<saml:Issuer")
			return x[:i] + strings.Repeat("<x>", 100) + strings.Repeat("</x>", 100) + x[i:]
		})
		refused(t, h.post("acme", deep), http.StatusForbidden, "malformed")

		// Artifacts are never resolved.
		r := httptest.NewRequest(http.MethodPost, base+"/saml/acme/acs", strings.NewReader("SAMLart=AAQAAMh48%2FXZC"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		refused(t, h.serve(r), http.StatusBadRequest, "artifact binding is not supported")
		refused(t, h.serve(httptest.NewRequest(http.MethodGet, base+"/saml/acme/acs?SAMLart=x", nil)), http.StatusBadRequest, "artifact")

		// Garbage and oversized bodies.
		refused(t, h.post("acme", idpResponse{SAMLResponse: "not base64!"}), http.StatusBadRequest, "not valid base64")
		refused(t, h.post("acme", idpResponse{SAMLResponse: base64.StdEncoding.EncodeToString([]byte("<x/>"))}), http.StatusForbidden, "")
		big := httptest.NewRequest(http.MethodPost, base+"/saml/acme/acs", strings.NewReader("SAMLResponse="+strings.Repeat("A", saml.MaxResponseSize+1)))
		big.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		refused(t, h.serve(big), http.StatusRequestEntityTooLarge, "too large")

		// Unknown tenant.
		refused(t, h.serve(httptest.NewRequest(http.MethodGet, base+"/saml/nope/login", nil)), http.StatusNotFound, "no organisation")
	})
}

// TestSignIn_otherBrowser proves that an SP-initiated response is accepted
// only from the browser that started the sign-in (login CSRF).
func TestSignIn_otherBrowser(t *testing.T) {
	h := newHarness(t, backends[0].open)
	resp := h.login("acme", "ann@acme.test")
	resp.cookies = nil
	refused(t, h.post("acme", resp), http.StatusForbidden, "another browser")
}

// TestSignIn_missingSubjectNoPanic proves that a validly signed assertion
// without Subject, which makes the library panic, is a refusal.
func TestSignIn_missingSubjectNoPanic(t *testing.T) {
	h := newHarness(t, backends[0].open)
	_, err := directory.New(h.st).UpdateTenant(ctx, "acme", store.ActorAdmin, func(x *store.Tenant) error { x.Settings.IdPInitiatedSSO = true; return nil })
	require.NoError(t, err)
	h.idp.AssertionMaker = noSubject{}
	refused(t, h.post("acme", h.idpInitiated("acme", "ann@acme.test")), http.StatusForbidden, "")
}

type noSubject struct{}

func (noSubject) MakeAssertion(req *crewsaml.IdpAuthnRequest, s *crewsaml.Session) error {
	if err := (crewsaml.DefaultAssertionMaker{}).MakeAssertion(req, s); err != nil {
		return err
	}
	req.Assertion.Subject = nil
	return nil
}

// rewrite decodes a base64 SAMLResponse, edits its XML and encodes it again.
func rewrite(t *testing.T, b64 string, edit func(string) string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	out := edit(string(raw))
	require.NotEqual(t, string(raw), out, "the edit changed nothing")
	return base64.StdEncoding.EncodeToString([]byte(out))
}

// removeResponseSignature drops the Response's own signature (the first
// ds:Signature before the first Assertion), so that only the assertion's
// signature protects the document.
func removeResponseSignature(t *testing.T, x string) string {
	t.Helper()
	a := strings.Index(x, "<saml:Assertion")
	s := strings.Index(x, "<ds:Signature")
	require.True(t, s > 0 && s < a, "the response is signed before its assertion")
	e := strings.Index(x, "</ds:Signature>") + len("</ds:Signature>")
	return x[:s] + x[e:]
}

// TestSignIn_certificateRollover proves that during an IdP key rollover,
// with both signing certificates in the tenant's metadata, responses signed
// with either key are accepted.
func TestSignIn_certificateRollover(t *testing.T) {
	h := newHarness(t, backends[0].open)
	md := h.idp.Metadata()
	newCertPEM, newKeyPEM := fixture(t, "roster-sp.cert.pem"), fixture(t, "roster-sp.key.pem")
	newKey, newCert, err := saml.ParseKeyPair(newCertPEM, newKeyPEM)
	require.NoError(t, err)
	d := &md.IDPSSODescriptors[0]
	d.KeyDescriptors = append(d.KeyDescriptors, crewsaml.KeyDescriptor{Use: "signing", KeyInfo: crewsaml.KeyInfo{
		X509Data: crewsaml.X509Data{X509Certificates: []crewsaml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(newCert.Raw)}}}}})
	doc, err := xml.Marshal(md)
	require.NoError(t, err)
	idp, err := saml.ValidateMetadata(doc, h.clock.Now())
	require.NoError(t, err)
	require.Len(t, idp.Certificates, 2)
	_, err = h.st.PutSAMLConfig(ctx, "acme", store.SAMLConfig{MetadataXML: string(doc), EntityID: idp.EntityID, SSOURL: idp.SSOURL, CertNotAfter: idp.CertNotAfter}, store.ActorAdmin)
	require.NoError(t, err)

	h.signIn("acme", "ann@acme.test") // the old key
	h.idp.Key, h.idp.Certificate = newKey, newCert
	h.signIn("acme", "ann@acme.test") // the new key

	// A key the metadata does not name is refused.
	otherCert, otherKey, err := saml.NewKeyPair(nil, h.clock.Now(), "impostor")
	require.NoError(t, err)
	h.idp.Key, h.idp.Certificate, err = saml.ParseKeyPair(otherCert, otherKey)
	require.NoError(t, err)
	refused(t, h.post("acme", h.login("acme", "ann@acme.test")), http.StatusForbidden, "could not be verified")
}
