package admin_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/session"
	"github.com/roster-dev/roster/store"
)

// mintLink has cr mint a console link for user and answers the response.
func (c *client) mintLink(cr cred, tenant, user string) response {
	c.t.Helper()
	return c.as(cr, "POST", "/admin/v1/tenants/"+tenant+"/console-links", `{"user":"`+user+`"}`)
}

// linkPath is the path and query of a minted link, on the test server.
func linkPath(t *testing.T, r response) string {
	t.Helper()
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	u, err := url.Parse(r.Body["url"].(string))
	require.NoError(t, err)
	require.Equal(t, "roster.test", u.Host, "the link is under the base URL")
	return u.RequestURI()
}

// enter follows a console link as a browser would, without following the
// redirect: the status, the Location, the session cookie and the body.
func (c *client) enter(path string) (int, string, string, string) {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.srv.URL+path, nil)
	require.NoError(c.t, err)
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	cookie := ""
	for _, ck := range res.Cookies() {
		if ck.Name == session.CookieName {
			cookie = ck.Value
		}
	}
	return res.StatusCode, res.Header.Get("Location"), cookie, string(body)
}

// audit lists the tenant's audit events of an action whose detail
// contains detail.
func (c *client) audit(tenant, action, detail string) []store.AuditEvent {
	c.t.Helper()
	list, err := c.store.ListAudit(c.t.Context(), tenant, store.EventQuery{Action: action, Limit: 100})
	require.NoError(c.t, err)
	var out []store.AuditEvent
	for _, e := range list {
		if strings.Contains(e.Detail, detail) {
			out = append(out, e)
		}
	}
	return out
}

// TestConsoleLinks_signInOnce: a link signs its user in once, with their
// role's permissions; reused, expired, on another tenant's path or for a
// deactivated user it is refused and records nothing.
func TestConsoleLinks_signInOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 20)
		c.tenant("globex", "ultimate", 20)
		ann, _ := c.person("acme", "ann@acme.test", store.RoleAgent)
		bob, _ := c.person("acme", "bob@acme.test", store.RoleAdmin)

		// The agent: signed in once, 403 on the seats, 200 on what agents see.
		r := c.mintLink(operatorCred, "acme", ann.UserName)
		assert.Regexp(t, `^http://roster\.test/console/acme/enter\?code=[A-Za-z0-9_-]{43}$`, r.Body["url"])
		expires, err := time.Parse(time.RFC3339, r.Body["expires_at"].(string))
		require.NoError(t, err)
		assert.True(t, expires.Equal(c.now.Add(5*time.Minute)), "expires_at %v", expires)
		annLink := linkPath(t, r)
		status, loc, cookie, body := c.enter(annLink)
		require.Equal(t, http.StatusSeeOther, status, body)
		assert.Equal(t, "/console/acme/", loc)
		require.True(t, session.IsToken(cookie), "cookie %q", cookie)
		annCred := cred{name: "ann by link", cookie: cookie}
		assert.Equal(t, http.StatusForbidden, c.as(annCred, "GET", "/admin/v1/tenants/acme/seats", "").Status)
		assert.Equal(t, http.StatusOK, c.as(annCred, "GET", "/admin/v1/tenants/acme", "").Status)
		got, err := c.store.GetUser(t.Context(), "acme", ann.ID)
		require.NoError(t, err)
		require.NotNil(t, got.LastActiveAt)
		assert.True(t, got.LastActiveAt.Equal(c.now))

		// The admin: 200 on the seats.
		_, _, bobCookie, body := c.enter(linkPath(t, c.mintLink(operatorCred, "acme", bob.ID)))
		require.NotEmpty(t, bobCookie, body)
		assert.Equal(t, http.StatusOK, c.as(cred{name: "bob by link", cookie: bobCookie}, "GET", "/admin/v1/tenants/acme/seats", "").Status)
		signedIn := len(c.audit("acme", "user.signed_in", "console link"))
		assert.Equal(t, 2, signedIn)

		// Reused: refused, nothing recorded.
		status, _, cookie, body = c.enter(annLink)
		assert.Equal(t, http.StatusGone, status)
		assert.Contains(t, body, "already been used")
		assert.Empty(t, cookie)

		// Expired: refused.
		late := linkPath(t, c.mintLink(operatorCred, "acme", ann.UserName))
		c.now = c.now.Add(5 * time.Minute)
		status, _, cookie, body = c.enter(late)
		assert.Equal(t, http.StatusGone, status)
		assert.Contains(t, body, "expired")
		assert.Empty(t, cookie)

		// Another tenant's path: refused, and the link still works on its own.
		own := linkPath(t, c.mintLink(operatorCred, "acme", ann.UserName))
		status, _, cookie, body = c.enter(strings.Replace(own, "/console/acme/", "/console/globex/", 1))
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Contains(t, body, "not valid")
		assert.Empty(t, cookie)
		status, _, _, _ = c.enter(own)
		assert.Equal(t, http.StatusSeeOther, status)

		// A user deactivated after the link was minted: refused.
		carl, _ := c.person("acme", "carl@acme.test", store.RoleAgent)
		carlLink := linkPath(t, c.mintLink(operatorCred, "acme", carl.ID))
		require.Equal(t, http.StatusOK, c.do("PATCH", "/admin/v1/tenants/acme/users/"+carl.ID, `{"active":false}`).Status)
		status, _, cookie, body = c.enter(carlLink)
		assert.Equal(t, http.StatusForbidden, status)
		assert.Contains(t, body, "deactivated")
		assert.Empty(t, cookie)
		// And no link is minted for them now.
		r = c.mintLink(operatorCred, "acme", carl.ID)
		assert.Equal(t, http.StatusConflict, r.Status, r.Raw)

		// A made-up code: refused.
		status, _, _, _ = c.enter("/console/acme/enter?code=" + strings.Repeat("A", 43))
		assert.Equal(t, http.StatusBadRequest, status)

		// Refusals recorded nothing: one sign-in more, the link redeemed on its own path.
		assert.Len(t, c.audit("acme", "user.signed_in", "console link"), signedIn+1)
		for _, e := range c.audit("acme", "user.signed_in", "console link") {
			assert.Equal(t, e.TargetID, e.Actor.ID, "the person is the actor of their sign-in")
		}
	})
}

// TestConsoleLinks_minting: a key with users.manage mints links only into
// the permissions it holds; every mint is audited naming the minter and
// the user, never the code.
func TestConsoleLinks_minting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 20)
		bob, _ := c.person("acme", "bob@acme.test", store.RoleAdmin)
		ann, _ := c.person("acme", "ann@acme.test", store.RoleAgent)
		agentPerms, ok := access.Permissions(store.RoleAgent, nil)
		require.True(t, ok)
		small, smallID := c.mintKey("acme", "small", append([]string{"users.manage"}, agentPerms...))

		r := c.mintLink(small, "acme", bob.UserName)
		assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		assert.Contains(t, r.Body["message"], "a credential can grant only permissions it holds")

		r = c.mintLink(small, "acme", ann.UserName)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		code := strings.TrimPrefix(r.Body["url"].(string), "http://roster.test/console/acme/enter?code=")

		r = c.mintLink(small, "acme", "nobody")
		assert.Equal(t, http.StatusNotFound, r.Status, r.Raw)
		r = c.as(small, "POST", "/admin/v1/tenants/acme/console-links", `{}`)
		assert.Equal(t, http.StatusBadRequest, r.Status, r.Raw)

		events := c.audit("acme", "console_link.created", "")
		require.Len(t, events, 1, "refused mints are not audited")
		e := events[0]
		assert.Equal(t, smallID, e.Actor.ID)
		assert.Equal(t, ann.ID, e.TargetID)
		assert.Contains(t, e.Detail, ann.UserName)
		assert.NotContains(t, e.Detail+e.Before+e.After, code)
	})
}

// TestConsoleLinks_failuresSpendTheBudget: refused codes spend the source's
// failure budget, past which refusals are 429; a valid code still signs in.
func TestConsoleLinks_failuresSpendTheBudget(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 20)
		ann, _ := c.person("acme", "ann@acme.test", store.RoleAgent)
		link := linkPath(t, c.mintLink(operatorCred, "acme", ann.ID))
		var last int
		for range 2*5 + 1 { // the burst of the per-source budget, and one more
			last, _, _, _ = c.enter("/console/acme/enter?code=guess")
		}
		assert.Equal(t, http.StatusTooManyRequests, last)
		status, _, cookie, body := c.enter(link)
		assert.Equal(t, http.StatusSeeOther, status, body)
		assert.NotEmpty(t, cookie)
	})
}

// TestConsoleLinks_withoutSSO: on a plan without SAML SSO a console link
// is how a person signs in, and the session it starts lasts.
func TestConsoleLinks_withoutSSO(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("small", "trial", 5)
		u, err := c.store.CreateUser(t.Context(), "small", store.User{UserName: "bob@small.test", Active: true, ExplicitRole: store.RoleAdmin, Role: store.RoleAdmin}, store.ActorAdmin)
		require.NoError(t, err)
		status, _, cookie, body := c.enter(linkPath(t, c.mintLink(operatorCred, "small", u.UserName)))
		require.Equal(t, http.StatusSeeOther, status, body)
		r := c.as(cred{name: "bob by link", cookie: cookie}, "GET", "/admin/v1/tenants/small/seats", "")
		assert.Equal(t, http.StatusOK, r.Status, r.Raw)
	})
}
