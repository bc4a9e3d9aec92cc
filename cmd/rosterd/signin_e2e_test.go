package main

import (
	"crypto/x509"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	crewsaml "github.com/crewjam/saml"
	"github.com/crewjam/saml/logger"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestE2E_signInEndsAtDeactivation drives the whole server: an operator sets
// up SAML and a store catalogue, Okta provisions users over SCIM, one signs
// in through an in-process IdP (SP metadata fetched from /saml/acme/metadata),
// reads /api/v1/session, and Entra's "False" deactivation over SCIM ends the
// session and refuses the next sign-in; on both stores.
func TestE2E_signInEndsAtDeactivation(t *testing.T) {
	forEachStore(t, testE2ESignIn)
}

var samlInputRE = regexp.MustCompile(`name="(SAMLResponse|RelayState)" value="([^"]*)"`)

type fixedIdPUser struct{ nameID *string }

func (u fixedIdPUser) GetSession(http.ResponseWriter, *http.Request, *crewsaml.IdpAuthnRequest) *crewsaml.Session {
	return &crewsaml.Session{ID: "s", NameID: *u.nameID, NameIDFormat: string(crewsaml.EmailAddressNameIDFormat), UserEmail: *u.nameID}
}

type oneSP struct{ md *crewsaml.EntityDescriptor }

func (p oneSP) GetServiceProvider(_ *http.Request, id string) (*crewsaml.EntityDescriptor, error) {
	if p.md != nil && id == p.md.EntityID {
		return p.md, nil
	}
	return nil, os.ErrNotExist
}

func testE2ESignIn(t *testing.T, open storeOpener) {
	e, _ := newE2E(t, time.Now().UTC(), open)
	prev := crewsaml.TimeNow
	crewsaml.TimeNow = e.clock
	t.Cleanup(func() { crewsaml.TimeNow = prev })
	base := e2eBaseURL

	// The test IdP: the demo IdP's key pair on https://idp.example.com.
	keyBlock, _ := pem.Decode(demoIdPKeyPEM)
	key, err := x509.ParsePKCS8PrivateKey(keyBlock.Bytes)
	require.NoError(t, err)
	certBlock, _ := pem.Decode(demoIdPCertPEM)
	cert, err := x509.ParseCertificate(certBlock.Bytes)
	require.NoError(t, err)
	mdURL, _ := url.Parse("https://idp.example.com/metadata")
	ssoURL, _ := url.Parse("https://idp.example.com/sso")
	nameID := ""
	sps := &oneSP{}
	idp := &crewsaml.IdentityProvider{Key: key, Certificate: cert, Logger: logger.DefaultLogger, MetadataURL: *mdURL, SSOURL: *ssoURL,
		SignatureMethod: dsig.RSASHA256SignatureMethod, ServiceProviderProvider: sps, SessionProvider: fixedIdPUser{&nameID}}
	idpXML, err := xml.Marshal(idp.Metadata())
	require.NoError(t, err)

	// The operator: tenant, IdP metadata, an Okta and an Entra token, stores.
	okta, entra := e.setUpAcme(`{"id":"acme","name":"Acme","plan":"ultimate","seats":10}`, idpXML)
	require.Equal(t, http.StatusCreated, e.admin("POST", "/tenants/acme/stores", `{"id":"store-1","name":"Main"}`).Status)

	// The IdP learns the SP from its metadata (plaintext assertions).
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, httptest.NewRequest("GET", "/saml/acme/metadata", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var md crewsaml.EntityDescriptor
	require.NoError(t, xml.Unmarshal(rec.Body.Bytes(), &md))
	for i := range md.SPSSODescriptors {
		md.SPSSODescriptors[i].KeyDescriptors = nil
	}
	sps.md = &md

	// Okta provisions Ann with a store; unknown stores and External users
	// without an end date are refused.
	annBody := strings.Replace(oktaUser("ann@acme.test", true, "supervisor"), `"role":"supervisor"`, `"role":"supervisor","stores":["store-1"]`, 1)
	ann := e.scimOK(e.okta(okta, "POST", "/Users", annBody), http.StatusCreated, "create ann")
	annID := ann["id"].(string)
	bad := e.okta(okta, "POST", "/Users", strings.Replace(oktaUser("bo@acme.test", true, "agent"), `"role":"agent"`, `"role":"agent","stores":["store-9"]`, 1))
	assert.Equal(t, http.StatusBadRequest, bad.Status, bad.Raw)
	assert.Equal(t, "invalidValue", bad.Body["scimType"])
	assert.Contains(t, bad.Body["detail"], `"store-9"`)
	ext := strings.Replace(oktaUser("ext@partner.test", true, ""), `"active":true`, `"active":true,"userType":"External"`, 1)
	bad = e.okta(okta, "POST", "/Users", ext)
	assert.Equal(t, http.StatusBadRequest, bad.Status, bad.Raw)
	assert.Contains(t, bad.Body["detail"], "accessExpiresAt")
	// Inviting Ann again "for another store" with another role: the answer
	// names the role she holds.
	again := e.okta(okta, "POST", "/Users", oktaUser("ann@acme.test", true, "agent"))
	assert.Equal(t, http.StatusConflict, again.Status, again.Raw)
	assert.Contains(t, again.Body["detail"], `role "supervisor"`)

	// Ann signs in.
	signIn := func(who string) *httptest.ResponseRecorder {
		t.Helper()
		nameID = who
		login := httptest.NewRecorder()
		e.h.ServeHTTP(login, httptest.NewRequest("GET", base+"/saml/acme/login", nil))
		require.Equal(t, http.StatusFound, login.Code, login.Body.String())
		idpRec := httptest.NewRecorder()
		idp.ServeSSO(idpRec, httptest.NewRequest("GET", login.Header().Get("Location"), nil))
		require.Equal(t, http.StatusOK, idpRec.Code, idpRec.Body.String())
		form := url.Values{}
		for _, m := range samlInputRE.FindAllStringSubmatch(idpRec.Body.String(), -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		req := httptest.NewRequest("POST", base+"/saml/acme/acs", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range login.Result().Cookies() {
			req.AddCookie(c)
		}
		acs := httptest.NewRecorder()
		e.h.ServeHTTP(acs, req)
		return acs
	}
	acs := signIn("ann@acme.test")
	require.Equal(t, http.StatusSeeOther, acs.Code, acs.Body.String())
	var token string
	for _, c := range acs.Result().Cookies() {
		if c.Name == "roster_session" {
			token = c.Value
		}
	}
	require.NotEmpty(t, token)
	sess := e.call("GET", "/api/v1/session", token, "", "")
	require.Equal(t, http.StatusOK, sess.Status, sess.Raw)
	assert.Equal(t, "supervisor", sess.Body["role"])
	assert.Equal(t, []any{"store-1"}, sess.Body["stores"])
	got := e.scimOK(e.okta(okta, "GET", "/Users/"+annID, ""), http.StatusOK, "get ann")
	assert.NotEmpty(t, got[rosterExt].(map[string]any)["lastActiveAt"], "the sign-in shows in SCIM")

	// Entra deactivates her: the session and a new sign-in are refused.
	patch := fmt.Sprintf(`{%s,"Operations":[{"op":"Replace","path":"active","value":"False"}]}`, patchOp)
	e.scimOK(e.entra(entra, "PATCH", "/Users/"+annID, patch), http.StatusOK, "deactivate")
	gone := e.call("GET", "/api/v1/session", token, "", "")
	assert.Equal(t, http.StatusUnauthorized, gone.Status, gone.Raw)
	acs = signIn("ann@acme.test")
	assert.Equal(t, http.StatusForbidden, acs.Code)
	assert.Contains(t, acs.Body.String(), "deactivated")
}
