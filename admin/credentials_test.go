package admin_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/session"
	"github.com/roster-dev/roster/store"
)

// A credential as a test presents it: an Authorization header value, or a
// session cookie.
type cred struct {
	name   string
	bearer string
	cookie string
}

func (c *client) as(cr cred, method, path, body string, headers ...string) response {
	c.t.Helper()
	h := append([]string{"Authorization", ""}, headers...)
	if cr.bearer != "" {
		h[1] = "Bearer " + cr.bearer
	}
	if cr.cookie != "" {
		h = append(h, "Cookie", session.CookieName+"="+cr.cookie)
	}
	return c.do(method, path, body, h...)
}

var operatorCred = cred{name: "operator", bearer: adminToken}

// mintKey has the operator mint an API key of tenant with perms.
func (c *client) mintKey(tenant, name string, perms []string) (cred, string) {
	c.t.Helper()
	quoted := make([]string, len(perms))
	for i, p := range perms {
		quoted[i] = `"` + p + `"`
	}
	r := c.do("POST", "/admin/v1/tenants/"+tenant+"/api-keys", `{"name":"`+name+`","permissions":[`+strings.Join(quoted, ",")+`]}`)
	require.Equal(c.t, http.StatusCreated, r.Status, r.Raw)
	return cred{name: name, bearer: r.Body["key"].(string)}, r.Body["id"].(string)
}

// signIn gives a user of tenant an application session, as SAML sign-in
// would, and returns its token.
func (c *client) signIn(tenant string, u store.User) string {
	c.t.Helper()
	var buf [40]byte
	_, err := io.ReadFull(rand.Reader, buf[:])
	require.NoError(c.t, err)
	id := hex.EncodeToString(buf[:8])
	tok := "rss_" + id + "_" + base64.RawURLEncoding.EncodeToString(buf[8:])
	require.True(c.t, session.IsToken(tok))
	_, _, err = directory.New(c.store).SignIn(c.t.Context(), tenant, u.ID, store.Assertion{Issuer: "idp", ID: id, ExpiresAt: c.now.Add(time.Hour)},
		store.Session{ID: id, Hash: auth.Hash(tok), ExpiresAt: c.now.Add(8 * time.Hour)}, store.Actor{Kind: "user", ID: u.ID})
	require.NoError(c.t, err)
	return tok
}

// person creates an active user holding role (as the operator, so that a
// privileged role is granted) and signs them in.
func (c *client) person(tenant, userName, role string) (store.User, string) {
	c.t.Helper()
	u, err := c.store.CreateUser(c.t.Context(), tenant, store.User{UserName: userName, Active: true, ExplicitRole: role, Role: role}, store.ActorAdmin)
	require.NoError(c.t, err)
	return u, c.signIn(tenant, u)
}

// adminRoute is one route of the admin API as the matrix calls it, with
// the permission it needs ("" any credential of the tenant; operator: the
// operator's alone).
type adminRoute struct {
	method, path, body string
	perm               string
	operator           bool
	headers            []string
}

// adminRoutes is every route of Register (the catch-all excepted), on
// tenant acme, with requests that reach the handler.
var adminRoutes = []adminRoute{
	{method: "POST", path: "/admin/v1/tenants", body: `{"id":"initech","plan":"trial"}`, operator: true},
	{method: "GET", path: "/admin/v1/tenants", operator: true},
	{method: "GET", path: "/admin/v1/tenants/acme"},
	{method: "PATCH", path: "/admin/v1/tenants/acme", body: `{"name":"Acme"}`, perm: "settings.manage"},
	{method: "DELETE", path: "/admin/v1/tenants/acme", operator: true}, // without ?confirm: 400 for the operator
	{method: "PUT", path: "/admin/v1/tenants/acme/saml", body: `<not-metadata/>`, perm: "integrations.manage"},
	{method: "GET", path: "/admin/v1/tenants/acme/saml", perm: "integrations.view"},
	{method: "DELETE", path: "/admin/v1/tenants/acme/saml", perm: "integrations.manage"},
	{method: "POST", path: "/admin/v1/tenants/acme/tokens", body: `{"name":"okta"}`, perm: "integrations.manage"},
	{method: "GET", path: "/admin/v1/tenants/acme/tokens", perm: "integrations.view"},
	{method: "DELETE", path: "/admin/v1/tenants/acme/tokens/nope", perm: "integrations.manage"},
	{method: "POST", path: "/admin/v1/tenants/acme/api-keys", body: `{"name":"k","permissions":[]}`, perm: "integrations.manage"},
	{method: "GET", path: "/admin/v1/tenants/acme/api-keys", perm: "integrations.view"},
	{method: "DELETE", path: "/admin/v1/tenants/acme/api-keys/nope", perm: "integrations.manage"},
	{method: "POST", path: "/admin/v1/tenants/acme/console-links", body: `{"user":"nope"}`, perm: "users.manage"},
	{method: "GET", path: "/admin/v1/tenants/acme/audit", perm: "settings.view"},
	{method: "GET", path: "/admin/v1/audit", operator: true},
	{method: "GET", path: "/admin/v1/tenants/acme/seats", perm: "billing.view"},
	{method: "GET", path: "/admin/v1/tenants/acme/seats/events", perm: "billing.view"},
	{method: "GET", path: "/admin/v1/tenants/acme/seats/usage", perm: "billing.view"},
	{method: "GET", path: "/admin/v1/tenants/acme/roles", perm: "users.view"},
	{method: "POST", path: "/admin/v1/tenants/acme/roles", body: `{}`, perm: "users.roles"},
	{method: "GET", path: "/admin/v1/tenants/acme/roles/agent", perm: "users.view"},
	{method: "PUT", path: "/admin/v1/tenants/acme/roles/agent", body: `{}`, perm: "users.roles"},
	{method: "DELETE", path: "/admin/v1/tenants/acme/roles/nope", perm: "users.roles"},
	{method: "GET", path: "/admin/v1/tenants/acme/role-mappings", perm: "users.view"},
	{method: "PUT", path: "/admin/v1/tenants/acme/role-mappings", body: `[]`, perm: "users.roles"},
	{method: "GET", path: "/admin/v1/tenants/acme/teams", perm: "teams.view"},
	{method: "GET", path: "/admin/v1/tenants/acme/approvals", perm: "users.roles"},
	{method: "POST", path: "/admin/v1/tenants/acme/approvals/nope", body: `{"decision":"approve"}`, perm: "users.roles"},
	{method: "POST", path: "/admin/v1/tenants/acme/users/role", body: `{"users":[],"role":"agent"}`, perm: "users.roles"},
	{method: "POST", path: "/admin/v1/tenants/acme/users/deactivate", body: `{"users":[]}`, perm: "users.manage"},
	{method: "POST", path: "/admin/v1/tenants/acme/users/reactivate", body: `{"users":[]}`, perm: "users.manage"},
	{method: "POST", path: "/admin/v1/tenants/acme/users/import", body: "userName,email\n", perm: "users.manage", headers: []string{"Content-Type", "text/csv"}},
	{method: "GET", path: "/admin/v1/tenants/acme/jobs/nope", perm: "users.manage"},
	{method: "GET", path: "/admin/v1/tenants/acme/jobs/nope/results", perm: "users.manage"},
	{method: "GET", path: "/admin/v1/tenants/acme/stores", perm: "users.view"},
	{method: "POST", path: "/admin/v1/tenants/acme/stores", body: `{"id":"s-1","name":"Main"}`, perm: "settings.manage"},
	{method: "PATCH", path: "/admin/v1/tenants/acme/stores/s-1", body: `{"name":"Main store"}`, perm: "settings.manage"},
	{method: "DELETE", path: "/admin/v1/tenants/acme/stores/nope", perm: "settings.manage"},
	{method: "GET", path: "/admin/v1/tenants/acme/reports/dormant?days=30", perm: "billing.view"},
	{method: "GET", path: "/admin/v1/tenants/acme/reports/duplicates", perm: "billing.view"},
	{method: "GET", path: "/admin/v1/tenants/acme/users", perm: "users.view"},
	{method: "POST", path: "/admin/v1/tenants/acme/users", body: `{}`, perm: "users.manage"},
	{method: "GET", path: "/admin/v1/tenants/acme/users/nope", perm: "users.view"},
	{method: "GET", path: "/admin/v1/tenants/acme/users/nope/history", perm: "users.view"},
	{method: "PATCH", path: "/admin/v1/tenants/acme/users/nope", body: `{"displayName":"X"}`, perm: "users.manage"},
	{method: "DELETE", path: "/admin/v1/tenants/acme/users/nope", perm: "users.manage"},
	{method: "POST", path: "/admin/v1/tenants/acme/teams", body: `{}`, perm: "teams.manage"},
	{method: "GET", path: "/admin/v1/tenants/acme/teams/nope", perm: "teams.view"},
	{method: "PATCH", path: "/admin/v1/tenants/acme/teams/nope", body: `{"name":"X"}`, perm: "teams.manage"},
	{method: "DELETE", path: "/admin/v1/tenants/acme/teams/nope", perm: "teams.manage"},
	{method: "POST", path: "/admin/v1/tenants/acme/teams/nope/members", body: `{"users":[]}`, perm: "teams.manage"},
	{method: "DELETE", path: "/admin/v1/tenants/acme/teams/nope/members", body: `{"users":[]}`, perm: "teams.manage"},
	{method: "POST", path: "/admin/v1/tenants/acme/webhooks", body: `{"url":"http://x"}`, perm: "integrations.manage"},
	{method: "GET", path: "/admin/v1/tenants/acme/webhooks", perm: "integrations.view"},
	{method: "GET", path: "/admin/v1/tenants/acme/webhooks/nope", perm: "integrations.view"},
	{method: "DELETE", path: "/admin/v1/tenants/acme/webhooks/nope", perm: "integrations.manage"},
	{method: "POST", path: "/admin/v1/tenants/acme/webhooks/nope/enable", perm: "integrations.manage"},
	{method: "GET", path: "/admin/v1/tenants/acme/webhooks/nope/deliveries", perm: "integrations.view"},
	{method: "POST", path: "/admin/v1/tenants/acme/webhooks/nope/deliveries/1/retry", perm: "integrations.manage"},
	{method: "GET", path: "/admin/v1/tenants/acme/events", perm: "integrations.view"},
}

// outcome is how the admin API answered a caller on a route.
type outcome string

const (
	admitted    outcome = "admitted"  // reached the handler, whatever it answered
	refused403  outcome = "forbidden" // 403 naming the missing permission, or operator-only
	hidden404   outcome = "hidden"    // 404 as for a tenant that does not exist
	notSignedIn outcome = "401"
)

// outcomeOf classifies a response: the refusals of admission are told
// apart from the handler's own answers by their bodies.
func outcomeOf(t *testing.T, rt adminRoute, r response) outcome {
	switch {
	case r.Status == http.StatusUnauthorized:
		return notSignedIn
	case r.Status == http.StatusForbidden && r.Body["error"] == "forbidden" && rt.operator:
		if assert.Contains(t, r.Body["message"], "for the operator only", r.Raw) {
			return refused403
		}
	case r.Status == http.StatusForbidden && r.Body["error"] == "forbidden" && r.Body["missing_permissions"] != nil:
		assert.Equal(t, []any{rt.perm}, r.Body["missing_permissions"], r.Raw)
		assert.Contains(t, r.Body["message"], rt.perm)
		return refused403
	case r.Status == http.StatusNotFound && strings.Contains(r.Raw, `no tenant \"acme\"`):
		return hidden404
	}
	return admitted
}

// TestCredentials_permissionMatrix calls every admin route as the
// operator, as each built-in role signed in as a person, with an API key
// holding exactly the route's permission and one holding every permission
// but it, and with another tenant's key holding everything: each gets the
// answer docs/contract.md documents.
func TestCredentials_permissionMatrix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 20)
		c.tenant("globex", "ultimate", 20)
		all := access.AllFlags()
		callers := []struct {
			cred   cred
			expect func(rt adminRoute) outcome
		}{{cred: operatorCred, expect: func(adminRoute) outcome { return admitted }}}
		for _, role := range access.BuiltinRoles() {
			_, tok := c.person("acme", role.Name+"@acme.test", role.Name)
			perms := role.Permissions
			callers = append(callers, struct {
				cred   cred
				expect func(rt adminRoute) outcome
			}{cred{name: "person " + role.Name, bearer: tok}, func(rt adminRoute) outcome {
				if rt.operator {
					return refused403
				}
				if rt.perm == "" || slices.Contains(perms, rt.perm) {
					return admitted
				}
				return refused403
			}})
		}
		other, _ := c.mintKey("globex", "globex-all", all)
		keys := map[string][2]cred{} // perm → {exactly it, everything but it}
		for _, rt := range adminRoutes {
			if _, ok := keys[rt.perm]; ok {
				continue
			}
			with := []string{}
			if rt.perm != "" {
				with = []string{rt.perm}
			}
			if rt.operator {
				with = all
			}
			without := slices.DeleteFunc(slices.Clone(all), func(f string) bool { return f == rt.perm })
			k1, _ := c.mintKey("acme", "with-"+rt.perm, with)
			k2, _ := c.mintKey("acme", "without-"+rt.perm, without)
			keys[rt.perm] = [2]cred{k1, k2}
		}

		for _, rt := range adminRoutes {
			name := rt.method + " " + rt.path
			check := func(cr cred, want outcome) {
				t.Helper()
				r := c.as(cr, rt.method, rt.path, rt.body, rt.headers...)
				assert.Equal(t, want, outcomeOf(t, rt, r), "%s as %s: %s", name, cr.name, r.Raw)
			}
			for _, cl := range callers {
				check(cl.cred, cl.expect(rt))
			}
			k := keys[rt.perm]
			switch {
			case rt.operator:
				check(k[0], refused403) // a key holding every permission
			case rt.perm == "":
				check(k[0], admitted) // a key with no permission at all
			default:
				check(k[0], admitted)
				check(k[1], refused403)
			}
			if strings.Contains(rt.path, "/tenants/acme") {
				check(other, hidden404)
			} else {
				check(other, refused403)
			}
		}
		// Anything else under /admin/ is the same 404 for every credential.
		for _, cr := range []cred{operatorCred, keys[""][0], other} {
			r := c.as(cr, "GET", "/admin/v1/tenants/acme/nothing-here", "")
			assert.Equal(t, http.StatusNotFound, r.Status, cr.name)
		}
	})
}

// TestCredentials_routeTableCoversEveryRoute keeps the matrix whole: every
// route of the route table is called by it, needing what the matrix (and
// docs/contract.md) says, so that a new route is tested as every kind of
// caller.
func TestCredentials_routeTableCoversEveryRoute(t *testing.T) {
	c := newClient(t, backends["memory"])
	table := c.api.RouteNeeds()
	require.Equal(t, "", table["/admin/"], "the catch-all 404 is open to any credential")
	delete(table, "/admin/")
	for pattern, need := range table {
		method, path, _ := strings.Cut(pattern, " ")
		re := regexp.MustCompile("^" + regexp.MustCompile(`\{[a-zA-Z]+\}`).ReplaceAllString(path, "[^/]+") + "$")
		var found []adminRoute
		for _, rt := range adminRoutes {
			if rt.method == method && re.MatchString(strings.SplitN(rt.path, "?", 2)[0]) {
				found = append(found, rt)
			}
		}
		if !assert.Len(t, found, 1, "the matrix calls %s once", pattern) {
			continue
		}
		want := found[0].perm
		if found[0].operator {
			want = "operator"
		}
		assert.Equal(t, want, need, pattern)
	}
	assert.Len(t, adminRoutes, len(table), "and nothing else")
}
