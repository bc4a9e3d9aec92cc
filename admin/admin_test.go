package admin_test

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/admin"
	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/internal/metrics"
	"github.com/roster-dev/roster/internal/requestid"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
)

const adminToken = "test-admin-token-0123456789abcdefgh"

// backends are the stores the admin API is tested against (openPostgres is
// in postgres_test.go).
var backends = map[string]func(t *testing.T, now func() time.Time) store.Store{
	"memory":   func(t *testing.T, now func() time.Time) store.Store { return memory.New(memory.Options{Now: now}) },
	"postgres": openPostgres,
}

type client struct {
	t     *testing.T
	srv   *httptest.Server
	store store.Store
	now   time.Time
	api   *admin.API
	// metrics is what the API counts refusals in.
	metrics *metrics.Metrics
}

func newClient(t *testing.T, open func(t *testing.T, now func() time.Time) store.Store) *client {
	c := &client{t: t, now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), metrics: metrics.New()}
	now := func() time.Time { return c.now }
	c.store = open(t, now)
	mux := http.NewServeMux()
	c.api = admin.New(admin.Config{Store: c.store, AdminToken: adminToken, Now: now, Rand: rand.Reader, BaseURL: "http://roster.test/",
		Metrics: c.metrics})
	c.api.Register(mux)
	c.api.RegisterConsole(mux)
	t.Cleanup(c.api.Close)
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(requestid.NewContext(r.Context(), r.Header.Get("X-Request-Id"))))
	}))
	t.Cleanup(c.srv.Close)
	return c
}

type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (c *client) do(method, path, body string, headers ...string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if len(raw) > 0 {
		require.NoError(c.t, json.Unmarshal(raw, &out.Body), "body: %s", raw)
	}
	return out
}

func forEachBackend(t *testing.T, fn func(t *testing.T, c *client)) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) { fn(t, newClient(t, open)) })
	}
}

func fields(r response) map[string]string {
	out := map[string]string{}
	list, _ := r.Body["fields"].([]any)
	for _, f := range list {
		m := f.(map[string]any)
		out[m["field"].(string)] = m["message"].(string)
	}
	return out
}

func TestAdmin_authentication(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		for name, header := range map[string]string{
			"missing": "", "wrong token": "Bearer nope", "basic": "Basic " + adminToken, "empty bearer": "Bearer ",
			"token prefix": "Bearer " + adminToken[:10],
		} {
			req, _ := http.NewRequest("GET", c.srv.URL+"/admin/v1/tenants", nil)
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode, name)
			assert.Contains(t, res.Header.Get("WWW-Authenticate"), "Bearer", name)
		}
		r := c.do("GET", "/admin/v1/tenants", "", "Authorization", "bearer "+adminToken)
		assert.Equal(t, http.StatusOK, r.Status, "the scheme is case-insensitive")
		r = c.do("GET", "/admin/v1/nothing-here", "")
		assert.Equal(t, http.StatusNotFound, r.Status)
		assert.Equal(t, "not_found", r.Body["error"])
	})
}

func TestAdmin_tenants(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		r := c.do("POST", "/admin/v1/tenants", `{"id":"acme","name":"Acme","plan":"ultimate","seats":20}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		assert.Equal(t, "acme", r.Body["id"])
		assert.Equal(t, "ultimate", r.Body["plan"])
		assert.Equal(t, 20.0, r.Body["seats"])
		assert.Equal(t, []any{}, r.Body["addons"])
		assert.Equal(t, "/admin/v1/tenants/acme", r.Header.Get("Location"))
		settings := r.Body["settings"].(map[string]any)
		assert.Equal(t, 100.0, settings["rate_limit_per_second"])
		assert.Equal(t, "agent", settings["default_role"])
		assert.Equal(t, "deny", settings["privileged_roles"])

		r = c.do("POST", "/admin/v1/tenants", `{"id":"acme","name":"Again","plan":"trial"}`)
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Contains(t, r.Body["message"], `tenant "acme" already exists`)

		// Every bad field is named at once.
		r = c.do("POST", "/admin/v1/tenants", `{"id":"Bad Id!","plan":"gold","seats":-1,"addons":["sso"],"settings":{"overage":"yes","color":"red"}}`)
		require.Equal(t, http.StatusBadRequest, r.Status)
		f := fields(r)
		assert.Contains(t, f["id"], "lower-case letters")
		assert.Contains(t, f["plan"], `unknown plan "gold"; plans: trial, enterprise, enterprise_bundle, ultimate`)
		assert.Contains(t, f["seats"], "between 0 and")
		assert.Contains(t, f["addons"], `unknown add-on "sso"`)
		assert.Contains(t, f["settings.overage"], "must be a JSON boolean")
		assert.Contains(t, f["settings.color"], "not a known setting")
		r = c.do("POST", "/admin/v1/tenants", `{"id":"x","plan":"trial","seats":"ten"}`)
		assert.Equal(t, "must be a JSON number", fields(r)["seats"])
		r = c.do("POST", "/admin/v1/tenants", `{"id":"x","plan":"trial","owner":"me"}`)
		assert.Equal(t, "is not a known field", fields(r)["owner"])
		r = c.do("POST", "/admin/v1/tenants", `{"id":"x",`)
		assert.Contains(t, fields(r)["body"], "not valid JSON")
		r = c.do("POST", "/admin/v1/tenants", `{"id":"x"}`)
		assert.Contains(t, fields(r)["plan"], "is required")

		r = c.do("GET", "/admin/v1/tenants/acme", "")
		assert.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, "Acme", r.Body["name"])
		r = c.do("GET", "/admin/v1/tenants/nope", "")
		assert.Equal(t, http.StatusNotFound, r.Status)
		assert.Contains(t, r.Body["message"], `no tenant "nope"`)

		// PATCH changes what is given and merges settings.
		r = c.do("PATCH", "/admin/v1/tenants/acme", `{"plan":"enterprise","seats":25,"addons":["ai_copilot","hipaa"],"settings":{"overage":true,"rate_limit_per_second":0}}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "enterprise", r.Body["plan"])
		assert.Equal(t, 25.0, r.Body["seats"])
		assert.Equal(t, []any{"ai_copilot", "hipaa"}, r.Body["addons"])
		settings = r.Body["settings"].(map[string]any)
		assert.Equal(t, true, settings["overage"])
		assert.Equal(t, 0.0, settings["rate_limit_per_second"])
		assert.Equal(t, "deny", settings["privileged_roles"], "keys not given are kept")

		r = c.do("PATCH", "/admin/v1/tenants/acme", `{"seats":30,"settings":{"privileged_roles":"sometimes","default_role":"wizard","light_seat_price_cents":1.5}}`)
		require.Equal(t, http.StatusBadRequest, r.Status)
		f = fields(r)
		assert.Contains(t, f["settings.privileged_roles"], `"deny", "allow" or "approve"`)
		assert.Contains(t, f["settings.default_role"], `unknown role "wizard"; roles: admin, supervisor, agent`)
		assert.Contains(t, f["settings.light_seat_price_cents"], "number")
		got, err := c.store.GetTenant(t.Context(), "acme")
		require.NoError(t, err)
		assert.Equal(t, 25, got.Seats, "a refused PATCH changes nothing")

		r = c.do("PATCH", "/admin/v1/tenants/acme", `{"id":"other"}`)
		assert.Equal(t, "cannot be changed", fields(r)["id"])
		r = c.do("PATCH", "/admin/v1/tenants/nope", `{"seats":1}`)
		assert.Equal(t, http.StatusNotFound, r.Status)

		r = c.do("GET", "/admin/v1/tenants", "")
		require.Equal(t, http.StatusOK, r.Status)
		assert.Len(t, r.Body["tenants"], 1)

		// Deleting needs the id repeated.
		r = c.do("DELETE", "/admin/v1/tenants/acme", "")
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Contains(t, fields(r)["confirm"], "?confirm=acme")
		r = c.do("DELETE", "/admin/v1/tenants/acme?confirm=acme", "")
		assert.Equal(t, http.StatusNoContent, r.Status)
		r = c.do("GET", "/admin/v1/tenants/acme", "")
		assert.Equal(t, http.StatusNotFound, r.Status)
	})
}

var tokenPattern = regexp.MustCompile("^" + auth.Pattern + "$")

func TestAdmin_tokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","plan":"ultimate","seats":5}`).Status)
		r := c.do("POST", "/admin/v1/tenants/acme/tokens", `{"name":"okta"}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		secret, _ := r.Body["token"].(string)
		assert.Regexp(t, tokenPattern, secret, "scannable prefix and 256-bit secret")
		id := r.Body["id"].(string)

		// Only the hash is stored.
		stored, err := c.store.GetToken(t.Context(), "acme", id)
		require.NoError(t, err)
		assert.Equal(t, auth.Hash(secret), stored.Hash)
		assert.NotContains(t, string(stored.Hash), secret)

		r = c.do("GET", "/admin/v1/tenants/acme/tokens", "")
		require.Equal(t, http.StatusOK, r.Status)
		assert.NotContains(t, r.Raw, secret, "the secret is shown only once")
		list := r.Body["tokens"].([]any)
		require.Len(t, list, 1)
		entry := list[0].(map[string]any)
		assert.Equal(t, "okta", entry["name"])
		assert.Contains(t, entry, "created_at")
		assert.Contains(t, entry, "last_used_at")

		assert.Equal(t, "is required: 1 to 100 characters naming the IdP connection, e.g. \"okta\"",
			fields(c.do("POST", "/admin/v1/tenants/acme/tokens", `{"name":" "}`))["name"])
		assert.Equal(t, http.StatusNotFound, c.do("POST", "/admin/v1/tenants/nope/tokens", `{"name":"x"}`).Status)

		r = c.do("DELETE", "/admin/v1/tenants/acme/tokens/"+id, "")
		assert.Equal(t, http.StatusNoContent, r.Status)
		stored, err = c.store.GetToken(t.Context(), "acme", id)
		require.NoError(t, err)
		assert.NotNil(t, stored.RevokedAt)
		assert.Equal(t, http.StatusNotFound, c.do("DELETE", "/admin/v1/tenants/acme/tokens/nope", "").Status)

		// The audit trail names the token, never its secret.
		r = c.do("GET", "/admin/v1/tenants/acme/audit", "")
		require.Equal(t, http.StatusOK, r.Status)
		assert.NotContains(t, r.Raw, secret)
		assert.Contains(t, r.Raw, "token.created")
		assert.Contains(t, r.Raw, "token.revoked")
	})
}

func TestAdmin_audit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","plan":"ultimate","seats":5}`, "X-Request-Id", "req-create").Status)
		c.now = c.now.Add(time.Minute)
		require.Equal(t, http.StatusOK, c.do("PATCH", "/admin/v1/tenants/acme", `{"seats":9}`, "X-Request-Id", "req-patch").Status)
		u, err := c.store.CreateUser(t.Context(), "acme", store.User{UserName: "a@x.com", Active: true}, store.Actor{Kind: "token", ID: "t1", Name: "okta"})
		require.NoError(t, err)

		r := c.do("GET", "/admin/v1/tenants/acme/audit", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		events := r.Body["events"].([]any)
		require.Len(t, events, 3)
		newest := events[0].(map[string]any)
		assert.Equal(t, "user.created", newest["action"])
		patch := events[1].(map[string]any)
		assert.Equal(t, "tenant.updated", patch["action"])
		assert.Equal(t, "req-patch", patch["actor"].(map[string]any)["request_id"])
		assert.Equal(t, 5.0, patch["before"].(map[string]any)["seats"])
		assert.Equal(t, 9.0, patch["after"].(map[string]any)["seats"])

		r = c.do("GET", "/admin/v1/tenants/acme/audit?user="+u.ID, "")
		assert.Len(t, r.Body["events"], 1)
		r = c.do("GET", "/admin/v1/tenants/acme/audit?actor=operator", "")
		assert.Len(t, r.Body["events"], 2)
		r = c.do("GET", "/admin/v1/tenants/acme/audit?action=tenant.created", "")
		assert.Len(t, r.Body["events"], 1)
		r = c.do("GET", "/admin/v1/tenants/acme/audit?to=2026-11-22T10:00:30Z", "")
		assert.Len(t, r.Body["events"], 1, "only the create happened before")

		r = c.do("GET", "/admin/v1/tenants/acme/audit?limit=2", "")
		require.Len(t, r.Body["events"], 2)
		cursor := r.Body["next_cursor"].(string)
		r = c.do("GET", "/admin/v1/tenants/acme/audit?limit=2&cursor="+cursor, "")
		require.Len(t, r.Body["events"], 1)
		assert.Equal(t, "tenant.created", r.Body["events"].([]any)[0].(map[string]any)["action"])

		r = c.do("GET", "/admin/v1/tenants/acme/audit?limit=0&from=yesterday&cursor=x", "")
		require.Equal(t, http.StatusBadRequest, r.Status)
		assert.Len(t, fields(r), 3)
	})
}
