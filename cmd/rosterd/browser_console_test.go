package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBrowser_signInWithSSOLandsOnTheOverview: a person opens a console
// page without a session, is sent to the sign-in page, signs in with the
// bundled test IdP and lands on the page they asked for, with the SCIM
// checklist and the seats; the session cookie is HttpOnly and SameSite.
func TestBrowser_signInWithSSOLandsOnTheOverview(t *testing.T) {
	site := newConsoleSite(t)
	site.person("ann@demo.test", "Ann Admin", "admin")
	site.person("bob@demo.test", "Bob Agent", "")
	b := site.newBrowser()

	b.signInWithSSO("/console/demo/", "ann@demo.test")
	assert.Equal(t, "/console/demo/", b.location())
	assert.Equal(t, "Overview", b.text("h1"))
	assert.Contains(t, b.text("#ready-h + p"), "Ready", "the demo tenant is ready for SCIM")
	assert.Contains(t, b.text(".stats"), "Seats used")
	assert.Equal(t, "2", b.text(".stats .stat:first-child dd"), "two people hold seats")
	c := b.cookie("roster_session")
	require.NotNil(t, c)
	assert.True(t, c.HTTPOnly)
	assert.Equal(t, "Lax", c.SameSite.String())
	b.shot("overview")

	b.phone()
	b.open("/console/demo/")
	b.shot("overview-phone")
}

// TestBrowser_consoleLinkSignsInOnce: a console link signs its person in
// and lands on the overview; the same link a second time is refused.
func TestBrowser_consoleLinkSignsInOnce(t *testing.T) {
	site := newConsoleSite(t)
	site.person("cat@demo.test", "Cat Supervisor", "supervisor")
	link := site.consoleLink("cat@demo.test")
	b := site.newBrowser()
	b.open(strings.TrimPrefix(link, site.base))
	assert.Equal(t, "/console/demo/", b.location())
	assert.Equal(t, "Overview", b.text("h1"))
	assert.Contains(t, b.text(".who"), "Cat Supervisor")

	other := site.newBrowser()
	other.do(chromedp.Navigate(link))
	assert.Contains(t, other.text("body"), "already been used")

	// Sign out ends the session: the console asks to sign in again.
	// Wait for the sign-in page's own card: the overview's h1 is visible
	// until the post's answer replaces the page.
	b.click(".who button", "section.narrow")
	assert.Contains(t, b.location(), "/console/demo/signin")
	b.open("/console/demo/")
	assert.Contains(t, b.location(), "/console/demo/signin")
}

// TestBrowser_forgedFormPostIsRefused: a page on another site that posts
// a console form with the person's cookie (the browser sends it: the
// cookie is SameSite=Lax only for top-level navigations) is refused, and
// so is a post without the form token from the console's own origin.
func TestBrowser_forgedFormPostIsRefused(t *testing.T) {
	site := newConsoleSite(t)
	site.person("ann@demo.test", "Ann Admin", "admin")
	b := site.newBrowser()
	b.signInWithSSO("/console/demo/", "ann@demo.test")

	// An attacker's page on another origin (another port of this host).
	evil := http.NewServeMux()
	evil.HandleFunc("GET /", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, `<!DOCTYPE html><html><body><h1>Win a prize</h1>
<form id="f" method="post" action="`+site.base+`/console/demo/signout"><input name="csrf" value="guess"><button id="go">Go</button></form>
</body></html>`)
	})
	srv := startHTTP(t, evil)
	b.open(srv)
	b.click("#go", "main h1") // the console's page, not the attacker's h1
	assert.Contains(t, b.text("main h1"), "This form has expired", "the forged post is refused")
	// The session survived the forged sign-out.
	b.open("/console/demo/")
	assert.Equal(t, "/console/demo/", b.location(), "still signed in")

	// A forged post to a state-changing console page, without a token.
	res := postForm(t, site.base+"/console/demo/signout", url.Values{"csrf": {"nope"}}, b.cookie("roster_session").Value, "")
	assert.NotEqual(t, http.StatusNoContent, res)
	b.open("/console/demo/")
	assert.Equal(t, "/console/demo/", b.location(), "still signed in after a token-less post")
}

// TestConsole_securityHeaders: every console page carries a CSP without
// inline script and refuses framing.
func TestConsole_securityHeaders(t *testing.T) {
	site := newConsoleSite(t)
	for _, path := range []string{"/console/demo/", "/console/demo/signin"} {
		res, err := http.Get(site.base + path)
		require.NoError(t, err)
		res.Body.Close()
		csp := res.Header.Get("Content-Security-Policy")
		assert.Contains(t, csp, "frame-ancestors 'none'", path)
		assert.Contains(t, csp, "script-src 'self'", path)
		assert.NotContains(t, csp, "unsafe-inline", path)
		assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
	}
}
