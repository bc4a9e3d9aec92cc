package main

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServe_demoSignIn proves that a newcomer can sign in to the demo tenant
// on the running server: provision a user over SCIM with the printed token,
// open /saml/demo/login, name the user at the bundled demo IdP, and the
// browser lands signed in, with a session the application API reads.
func TestServe_demoSignIn(t *testing.T) {
	sys, stdout, _ := testSystem(nil)
	s := startServe(t, sys, stdout)
	base := "http://" + s.addr
	token := scimTokenRE.FindStringSubmatch(stdout.String())[1]

	req, err := http.NewRequest("POST", base+"/scim/v2/demo/Users", strings.NewReader(
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@demo.test","active":true}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode)

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar}
	get := func(u string) (int, string, *url.URL) {
		t.Helper()
		res, err := browser.Get(u)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Request.URL
	}
	// Login redirects to the demo IdP, which asks who to sign in as.
	code, page, at := get(base + "/saml/demo/login")
	require.Equal(t, http.StatusOK, code, page)
	assert.Equal(t, demoIdPPath+"/sso", at.Path)
	assert.Contains(t, page, "Demo identity provider")
	q := at.Query()
	q.Set("user", "ann@demo.test")
	at.RawQuery = q.Encode()
	code, page, _ = get(at.String())
	require.Equal(t, http.StatusOK, code, page)

	// The IdP's auto-posting form, posted as the browser would.
	form := url.Values{}
	for _, m := range samlInputRE.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	require.NotEmpty(t, form.Get("SAMLResponse"), page)
	res, err = browser.PostForm(base+"/saml/demo/acs", form)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, landingPath, res.Request.URL.Path, "landed on the fixed page")
	assert.Equal(t, http.StatusOK, res.StatusCode)

	code, page, _ = get(base + "/api/v1/session")
	require.Equal(t, http.StatusOK, code, page)
	assert.Contains(t, page, `"userName":"ann@demo.test"`)
	assert.Contains(t, page, `"role":"agent"`)

	// Someone who was never provisioned is refused with a page that says so.
	code, page, at = get(base + "/saml/demo/login")
	require.Equal(t, http.StatusOK, code)
	q = at.Query()
	q.Set("user", "nobody@demo.test")
	at.RawQuery = q.Encode()
	_, page, _ = get(at.String())
	form = url.Values{}
	for _, m := range samlInputRE.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	res, err = browser.PostForm(base+"/saml/demo/acs", form)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.Contains(t, string(b), "no Roster account for nobody@demo.test")
}
