package admin_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/access"
	"github.com/roster-dev/roster/admin"
	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/store"
)

var apiKeyPattern = regexp.MustCompile("^" + auth.APIKeyPattern + "$")

// TestAPIKeys_shownOnceAndHashed: the key is in the answer to POST only,
// the store holds its hash, the list shows no secret, and last use is
// written in batches (at a flush), not per request.
func TestAPIKeys_shownOnceAndHashed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 5)
		r := c.do("POST", "/admin/v1/tenants/acme/api-keys", `{"name":" hr-sync ","permissions":["users.view","users.manage","teams.*"]}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		key, _ := r.Body["key"].(string)
		assert.Regexp(t, apiKeyPattern, key)
		assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
		id := r.Body["id"].(string)
		assert.Equal(t, "hr-sync", r.Body["name"])
		assert.Equal(t, []any{"teams.view", "teams.manage", "users.view", "users.manage"}, r.Body["permissions"], "normalised, catalogue order")
		assert.Equal(t, map[string]any{"kind": "admin", "id": "operator"}, r.Body["created_by"])
		assert.Contains(t, r.Body, "created_at")

		stored, err := c.store.GetAPIKey(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, auth.Hash(key), stored.Hash)
		assert.NotContains(t, string(stored.Hash), key)

		k := cred{name: "hr-sync", bearer: key}
		require.Equal(t, http.StatusOK, c.as(k, "GET", "/admin/v1/tenants/acme/teams", "").Status)
		stored, err = c.store.GetAPIKey(t.Context(), id)
		require.NoError(t, err)
		assert.Nil(t, stored.LastUsedAt, "last use waits for the flush")
		used := c.now
		c.now = c.now.Add(time.Minute)
		c.api.FlushKeyUse(t.Context())

		r = c.do("GET", "/admin/v1/tenants/acme/api-keys", "")
		require.Equal(t, http.StatusOK, r.Status)
		assert.NotContains(t, r.Raw, key, "the key is shown only once")
		list := r.Body["api_keys"].([]any)
		require.Len(t, list, 1)
		entry := list[0].(map[string]any)
		assert.Equal(t, used.Format(time.RFC3339), entry["last_used_at"])
		assert.NotContains(t, entry, "key")
		assert.NotContains(t, entry, "revoked_at")

		r = c.do("GET", "/admin/v1/tenants/acme/audit?action=api_key.created", "")
		require.Len(t, r.Body["events"], 1)
		assert.NotContains(t, r.Raw, key)
		assert.NotContains(t, r.Raw, "hash")

		// Bad input is named and changes nothing.
		r = c.do("POST", "/admin/v1/tenants/acme/api-keys", `{"name":"","permissions":["users.veiw","payroll.run"]}`)
		require.Equal(t, http.StatusBadRequest, r.Status)
		assert.Contains(t, r.Raw, `unknown permission \"users.veiw\"; the flags of users are: users.view, users.manage, users.roles`)
		assert.Contains(t, r.Raw, `unknown permission \"payroll.run\"`)
		assert.Contains(t, fields(r)["name"], "is required")
		r = c.do("POST", "/admin/v1/tenants/acme/api-keys", `{"name":"x"}`)
		assert.Contains(t, fields(r)["permissions"], "is required")
		keys, err := c.store.ListAPIKeys(t.Context(), "acme")
		require.NoError(t, err)
		assert.Len(t, keys, 1)
		assert.Equal(t, http.StatusNotFound, c.do("POST", "/admin/v1/tenants/nope/api-keys", `{"name":"x","permissions":[]}`).Status)
	})
}

// TestAPIKeys_grantOnlyWhatYouHold: a credential with integrations.manage
// mints keys with at most its own permissions; what it lacks is a 403
// naming each missing flag. A person's permissions are their role's.
func TestAPIKeys_grantOnlyWhatYouHold(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 5)
		minter, _ := c.mintKey("acme", "minter", []string{"integrations.view", "integrations.manage", "users.view"})
		r := c.as(minter, "POST", "/admin/v1/tenants/acme/api-keys", `{"name":"more","permissions":["users.view","users.manage","billing.view"]}`)
		require.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		assert.Equal(t, "forbidden", r.Body["error"])
		assert.Equal(t, []any{"users.manage", "billing.view"}, r.Body["missing_permissions"])
		assert.Contains(t, r.Body["message"], "users.manage, billing.view")
		keys, err := c.store.ListAPIKeys(t.Context(), "acme")
		require.NoError(t, err)
		assert.Len(t, keys, 1, "nothing minted")

		r = c.as(minter, "POST", "/admin/v1/tenants/acme/api-keys", `{"name":"reader","permissions":["users.view"]}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		assert.Equal(t, "key", r.Body["created_by"].(map[string]any)["kind"])
		assert.Equal(t, "minter", r.Body["created_by"].(map[string]any)["name"])

		// A supervisor holds integrations.view but not .manage; an admin holds everything.
		_, sup := c.person("acme", "sup@acme.test", store.RoleSupervisor)
		r = c.as(cred{bearer: sup}, "POST", "/admin/v1/tenants/acme/api-keys", `{"name":"x","permissions":[]}`)
		assert.Equal(t, http.StatusForbidden, r.Status)
		assert.Equal(t, []any{"integrations.manage"}, r.Body["missing_permissions"])
		u, adm := c.person("acme", "boss@acme.test", store.RoleAdmin)
		r = c.as(cred{bearer: adm}, "POST", "/admin/v1/tenants/acme/api-keys", `{"name":"billing","permissions":["billing.*"]}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		assert.Equal(t, map[string]any{"kind": "user", "id": u.ID, "name": "boss@acme.test"}, r.Body["created_by"])
	})
}

// TestAPIKeys_revoked: a revoked key is refused 401 saying so at its next
// request; revoking is idempotent; deleting the tenant deletes its keys.
func TestAPIKeys_revoked(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 5)
		k, id := c.mintKey("acme", "ci", []string{"users.view"})
		require.Equal(t, http.StatusOK, c.as(k, "GET", "/admin/v1/tenants/acme/roles", "").Status)
		require.Equal(t, http.StatusNoContent, c.do("DELETE", "/admin/v1/tenants/acme/api-keys/"+id, "").Status)
		require.Equal(t, http.StatusNoContent, c.do("DELETE", "/admin/v1/tenants/acme/api-keys/"+id, "").Status, "idempotent")
		assert.Equal(t, http.StatusNotFound, c.do("DELETE", "/admin/v1/tenants/acme/api-keys/0000000000000000", "").Status)

		r := c.as(k, "GET", "/admin/v1/tenants/acme/roles", "")
		require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
		assert.Equal(t, "key_revoked", r.Body["reason"])
		assert.Contains(t, r.Body["message"], "this API key (ci) was revoked at 2026-11-22T10:00:00Z")
		assert.Contains(t, r.Header.Get("WWW-Authenticate"), "Bearer")

		r = c.do("GET", "/admin/v1/tenants/acme/api-keys", "")
		entry := r.Body["api_keys"].([]any)[0].(map[string]any)
		assert.Equal(t, "2026-11-22T10:00:00Z", entry["revoked_at"])
		r = c.do("GET", "/admin/v1/tenants/acme/audit?action=api_key.revoked", "")
		assert.Len(t, r.Body["events"], 1, "the second revocation recorded nothing")

		// Wrong secret for a real id, and a made-up key: 401 without a reason.
		wrong := k.bearer[:len(k.bearer)-2] + "AA"
		r = c.as(cred{bearer: wrong}, "GET", "/admin/v1/tenants/acme", "")
		assert.Equal(t, http.StatusUnauthorized, r.Status)
		assert.NotContains(t, r.Body, "reason")

		live, _ := c.mintKey("acme", "live", []string{})
		require.Equal(t, http.StatusOK, c.as(live, "GET", "/admin/v1/tenants/acme", "").Status)
		require.Equal(t, http.StatusNoContent, c.do("DELETE", "/admin/v1/tenants/acme?confirm=acme", "").Status)
		assert.Equal(t, http.StatusUnauthorized, c.as(live, "GET", "/admin/v1/tenants/acme", "").Status, "deleted with its tenant")
	})
}

// TestCredentials_personReReadEveryRequest: a person's access follows the
// store at every request — a role change takes the permission away at
// once, a deactivation ends the session — by bearer token or by cookie.
func TestCredentials_personReReadEveryRequest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 5)
		u, tok := c.person("acme", "ann@acme.test", store.RoleAdmin)
		bearer, cookie := cred{name: "bearer", bearer: tok}, cred{name: "cookie", cookie: tok}
		for _, cr := range []cred{bearer, cookie} {
			r := c.as(cr, "GET", "/admin/v1/tenants/acme/seats", "")
			assert.Equal(t, http.StatusOK, r.Status, "%s: %s", cr.name, r.Raw)
		}
		_, err := c.store.UpdateUser(t.Context(), "acme", u.ID, store.ActorAdmin, func(x *store.User) error {
			x.ExplicitRole, x.Role = store.RoleAgent, store.RoleAgent
			return nil
		})
		require.NoError(t, err)
		r := c.as(cookie, "GET", "/admin/v1/tenants/acme/seats", "")
		require.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		assert.Equal(t, []any{"billing.view"}, r.Body["missing_permissions"])
		assert.Contains(t, r.Body["message"], "ann@acme.test (role agent)")
		assert.Equal(t, http.StatusOK, c.as(bearer, "GET", "/admin/v1/tenants/acme", "").Status, "any credential of the tenant")

		require.NoError(t, c.setActive("acme", u.ID, false))
		r = c.as(bearer, "GET", "/admin/v1/tenants/acme", "")
		require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
		assert.Contains(t, r.Body["message"], "has ended")
		assert.Contains(t, r.Body["message"], "deactivated")
		require.NoError(t, c.setActive("acme", u.ID, true))
		r = c.as(bearer, "GET", "/admin/v1/tenants/acme", "")
		assert.Equal(t, http.StatusUnauthorized, r.Status, "reactivation does not revive the session")

		// A session past its end says why.
		_, late := c.person("acme", "late@acme.test", store.RoleAdmin)
		c.now = c.now.Add(9 * time.Hour)
		r = c.as(cred{bearer: late}, "GET", "/admin/v1/tenants/acme", "")
		require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
		assert.Equal(t, "session_expired", r.Body["reason"])
		assert.Contains(t, r.Body["message"], "the session has ended: the session has expired")

		r = c.as(cred{cookie: "rss_junk"}, "GET", "/admin/v1/tenants/acme", "")
		assert.Equal(t, http.StatusUnauthorized, r.Status)
		assert.Contains(t, r.Body["message"], "sign in again")
	})
}

// TestCredentials_operatorFields: a tenant credential with settings.manage
// renames the tenant and changes its settings, but what the tenant buys
// is the operator's: plan, seats, add-ons and contract terms are 403
// naming each field, and nothing changes.
func TestCredentials_operatorFields(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 5)
		k, _ := c.mintKey("acme", "settings", []string{"settings.manage"})
		r := c.as(k, "PATCH", "/admin/v1/tenants/acme", `{"name":"Acme Corp","plan":"trial","seats":500,"addons":["hipaa"],"contract_start":"2026-01-01"}`)
		require.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		assert.Equal(t, "forbidden", r.Body["error"])
		f := fields(r)
		for _, name := range []string{"plan", "seats", "addons", "contract_start"} {
			assert.Equal(t, "only the operator can change it", f[name], name)
		}
		assert.NotContains(t, f, "name")
		got, err := c.store.GetTenant(t.Context(), "acme")
		require.NoError(t, err)
		assert.Equal(t, "ultimate", got.Plan)
		assert.Equal(t, "acme", got.Name)

		r = c.as(k, "PATCH", "/admin/v1/tenants/acme", `{"name":"Acme Corp","settings":{"overage":true}}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "Acme Corp", r.Body["name"])
	})
}

// TestCredentials_auditActorPerKind: every change names who made it — the
// operator, the API key (id and name), the person (user id and userName) —
// and the privileged-role policy applies to keys and people as to SCIM.
func TestCredentials_auditActorPerKind(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 5)
		k, keyID := c.mintKey("acme", "hr-sync", access.AllFlags())
		u, tok := c.person("acme", "ann@acme.test", store.RoleAdmin)
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants/acme/stores", `{"id":"s-op","name":"Op"}`, "X-Request-Id", "req-op").Status)
		require.Equal(t, http.StatusCreated, c.as(k, "POST", "/admin/v1/tenants/acme/stores", `{"id":"s-key","name":"Key"}`, "X-Request-Id", "req-key").Status)
		require.Equal(t, http.StatusCreated, c.as(cred{bearer: tok}, "POST", "/admin/v1/tenants/acme/stores", `{"id":"s-user","name":"User"}`, "X-Request-Id", "req-user").Status)

		r := c.do("GET", "/admin/v1/tenants/acme/audit?action=store.created", "")
		require.Equal(t, http.StatusOK, r.Status)
		actors := map[string]any{}
		for _, e := range r.Body["events"].([]any) {
			ev := e.(map[string]any)
			actors[ev["target_id"].(string)] = ev["actor"]
		}
		assert.Equal(t, map[string]any{
			"s-op":   map[string]any{"kind": "admin", "id": "operator", "request_id": "req-op"},
			"s-key":  map[string]any{"kind": "key", "id": keyID, "name": "hr-sync", "request_id": "req-key"},
			"s-user": map[string]any{"kind": "user", "id": u.ID, "name": "ann@acme.test", "request_id": "req-user"},
		}, actors)
		r = c.do("GET", "/admin/v1/tenants/acme/audit?actor="+keyID, "")
		assert.Len(t, r.Body["events"], 1, "a key's actions are found by its id")

		// privileged_roles is deny (the default): a key or person granting
		// admin is refused as a SCIM token would be; the operator is not.
		bob := c.user("acme", "bob@acme.test", true, store.RoleAgent)
		body := `{"users":["` + bob.ID + `"],"role":"admin"}`
		for _, cr := range []cred{k, {bearer: tok}} {
			r = c.as(cr, "POST", "/admin/v1/tenants/acme/users/role", body)
			assert.NotEqual(t, http.StatusOK, r.Status, r.Raw)
			assert.Contains(t, r.Raw, "privileged")
		}
		role, _ := c.roleOf("acme", bob.ID)
		assert.Equal(t, store.RoleAgent, role)
		r = c.do("POST", "/admin/v1/tenants/acme/users/role", body)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		role, _ = c.roleOf("acme", bob.ID)
		assert.Equal(t, store.RoleAdmin, role)
	})
}

// TestCredentials_failuresLimitedNeverAValidKey: wrong, made-up and
// revoked keys and unknown sessions spend the source's failure budget
// (burst 10), then are 429 with Retry-After; a valid key from the same
// address, verified first, is admitted throughout, and another address
// keeps its own budget.
func TestCredentials_failuresLimitedNeverAValidKey(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			st := &readCounter{Store: open(t, func() time.Time { return now }), reads: map[string]int{}}
			api := admin.New(admin.Config{Store: st, AdminToken: adminToken, Now: func() time.Time { return now }, Rand: rand.Reader})
			t.Cleanup(api.Close)
			mux := http.NewServeMux()
			api.Register(mux)
			get := func(from, authz string) *httptest.ResponseRecorder {
				r := httptest.NewRequest("GET", "/admin/v1/tenants/acme", nil)
				r.RemoteAddr = from
				r.Header.Set("Authorization", authz)
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, r)
				return w
			}
			post := func(path, body string) *httptest.ResponseRecorder {
				r := httptest.NewRequest("POST", path, stringsReader(body))
				r.Header.Set("Authorization", "Bearer "+adminToken)
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, r)
				return w
			}
			require.Equal(t, http.StatusCreated, post("/admin/v1/tenants", `{"id":"acme","plan":"ultimate","seats":5}`).Code)
			w := post("/admin/v1/tenants/acme/api-keys", `{"name":"ok","permissions":[]}`)
			require.Equal(t, http.StatusCreated, w.Code)
			valid, validID := "Bearer "+jsonField(t, w.Body.String(), "key"), jsonField(t, w.Body.String(), "id")
			w = post("/admin/v1/tenants/acme/api-keys", `{"name":"old","permissions":[]}`)
			revoked := "Bearer " + jsonField(t, w.Body.String(), "key")
			r := httptest.NewRequest("DELETE", "/admin/v1/tenants/acme/api-keys/"+jsonField(t, w.Body.String(), "id"), nil)
			r.Header.Set("Authorization", "Bearer "+adminToken)
			mux.ServeHTTP(httptest.NewRecorder(), r)

			const guesser, other = "203.0.113.9:5000", "198.51.100.7:5000"
			madeUp := "rsk_0000000000000000_" + fmt.Sprintf("%043d", 0)
			// PostgreSQL judges keys from memory once its change listener is proven.
			require.Eventually(t, func() bool { return st.CheckAPIKey("0000000000000000", auth.Hash(madeUp)) == store.TokenNoMatch },
				10*time.Second, time.Millisecond)
			wrongs := []string{revoked, "Bearer " + madeUp, "Bearer rss_0000000000000000_" + fmt.Sprintf("%043d", 0), "Bearer nope"}
			statuses := map[int]int{}
			for i := range 40 {
				w := get(guesser, wrongs[i%len(wrongs)])
				statuses[w.Code]++
				if w.Code == http.StatusTooManyRequests {
					assert.Equal(t, "1", w.Header().Get("Retry-After"))
				}
				assert.Equal(t, http.StatusOK, get(guesser, valid).Code, "a valid key behind the same address")
			}
			assert.Equal(t, map[int]int{http.StatusUnauthorized: 10, http.StatusTooManyRequests: 30}, statuses)
			assert.Zero(t, st.readsOf("0000000000000000"), "a made-up key is refused from memory, without a read")
			assert.Positive(t, st.readsOf(validID), "a valid key is read: its revocation and permissions are current")
			assert.Equal(t, http.StatusUnauthorized, get(other, revoked).Code, "another address has its own budget")
			now = now.Add(time.Second)
			assert.Equal(t, http.StatusUnauthorized, get(guesser, revoked).Code, "and the budget refills")
		})
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

func jsonField(t *testing.T, body, name string) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &m), body)
	v, _ := m[name].(string)
	require.NotEmpty(t, v, "%s in %s", name, body)
	return v
}

// TestCredentials_noEscalationThroughRoles: users.roles gives roles only
// within what the caller holds — a custom role with more permissions, a
// stronger role for users or for a group's members is a 403 naming what
// the caller lacks, and nothing changes.
func TestCredentials_noEscalationThroughRoles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 5)
		k, _ := c.mintKey("acme", "roles", []string{"users.view", "users.roles", "teams.view"})
		r := c.as(k, "POST", "/admin/v1/tenants/acme/roles", `{"name":"payroll","permissions":["users.view","billing.manage"]}`)
		require.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		assert.Equal(t, []any{"billing.manage"}, r.Body["missing_permissions"])
		r = c.as(k, "POST", "/admin/v1/tenants/acme/roles", `{"name":"viewer","permissions":["users.view","teams.view"]}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		r = c.as(k, "PUT", "/admin/v1/tenants/acme/roles/viewer", `{"permissions":["users.*"]}`)
		require.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		assert.Equal(t, []any{"users.manage"}, r.Body["missing_permissions"])

		bob := c.user("acme", "bob@acme.test", true, store.RoleAgent)
		r = c.as(k, "POST", "/admin/v1/tenants/acme/users/role", `{"users":["`+bob.ID+`"],"role":"supervisor"}`)
		require.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		assert.Contains(t, r.Body["message"], "giving the role supervisor")
		r = c.as(k, "PUT", "/admin/v1/tenants/acme/role-mappings", `[{"group":"Support","role":"viewer"},{"group":"Leads","role":"supervisor"}]`)
		require.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		role, _ := c.roleOf("acme", bob.ID)
		assert.Equal(t, store.RoleAgent, role)
		mappings, err := c.store.GetRoleMappings(t.Context(), "acme")
		require.NoError(t, err)
		assert.Empty(t, mappings)

		r = c.as(k, "POST", "/admin/v1/tenants/acme/users/role", `{"users":["`+bob.ID+`"],"role":"viewer"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		r = c.as(k, "DELETE", "/admin/v1/tenants/acme/roles/viewer?replacement=supervisor", "")
		require.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		assert.Contains(t, r.Body["message"], "giving the role supervisor")
		role, _ = c.roleOf("acme", bob.ID)
		assert.Equal(t, "viewer", role, "the role and its holders stay")
		r = c.as(k, "PUT", "/admin/v1/tenants/acme/role-mappings", `[{"group":"Support","role":"viewer"}]`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
	})
}

// TestCredentials_approvalByTenantCredential: under privileged_roles
// "approve", a key's privileged grant waits for approval, and a person
// holding users.roles approves it: the grant is made (not queued again),
// and the approval names who decided.
func TestCredentials_approvalByTenantCredential(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 10)
		require.Equal(t, http.StatusOK, c.do("PATCH", "/admin/v1/tenants/acme", `{"settings":{"privileged_roles":"approve"}}`).Status)
		k, keyID := c.mintKey("acme", "all", access.AllFlags())
		bob := c.user("acme", "bob@acme.test", true, store.RoleAgent)
		carol := c.user("acme", "carol@acme.test", true, store.RoleAgent)
		r := c.as(k, "POST", "/admin/v1/tenants/acme/users/role", `{"users":["`+carol.ID+`"],"role":"admin"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		role, _ := c.roleOf("acme", carol.ID)
		require.Equal(t, store.RoleAgent, role, "held for approval")

		boss, tok := c.person("acme", "boss@acme.test", store.RoleAdmin)
		weak, _ := c.mintKey("acme", "approver", []string{"users.roles"})
		r = c.as(weak, "GET", "/admin/v1/tenants/acme/approvals", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		aid := r.Body["approvals"].([]any)[0].(map[string]any)["id"].(string)
		r = c.as(weak, "POST", "/admin/v1/tenants/acme/approvals/"+aid, "")
		require.Equal(t, http.StatusForbidden, r.Status, "approving gives the role: within the approver's permissions")
		assert.Contains(t, r.Body["message"], "giving the role admin")
		r = c.as(weak, "POST", "/admin/v1/tenants/acme/approvals/"+aid, `{"decision":"reject"}`)
		require.Equal(t, http.StatusOK, r.Status, "rejecting gives nothing")
		r = c.as(k, "POST", "/admin/v1/tenants/acme/users/role", `{"users":["`+bob.ID+`"],"role":"admin"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		role, _ = c.roleOf("acme", bob.ID)
		require.Equal(t, store.RoleAgent, role, "held for approval")

		r = c.as(cred{bearer: tok}, "GET", "/admin/v1/tenants/acme/approvals", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		list := r.Body["approvals"].([]any)
		require.Len(t, list, 1)
		a := list[0].(map[string]any)
		assert.Equal(t, map[string]any{"kind": "key", "id": keyID, "name": "all"}, a["requested_by"])

		r = c.as(cred{bearer: tok}, "POST", "/admin/v1/tenants/acme/approvals/"+a["id"].(string), `{"decision":"approve"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "approved", r.Body["status"])
		assert.Equal(t, "user:"+boss.ID, r.Body["decided_by"])
		role, _ = c.roleOf("acme", bob.ID)
		assert.Equal(t, store.RoleAdmin, role, "the approved grant is made")
		r = c.do("GET", "/admin/v1/tenants/acme/approvals", "")
		assert.Empty(t, r.Body["approvals"], "and not queued again")
	})
}

// readCounter counts the API key reads of a store, by key id.
type readCounter struct {
	store.Store
	mu    sync.Mutex
	reads map[string]int
}

func (s *readCounter) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	s.mu.Lock()
	s.reads[id]++
	s.mu.Unlock()
	return s.Store.GetAPIKey(ctx, id)
}

func (s *readCounter) readsOf(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[id]
}
