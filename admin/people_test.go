package admin_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// operatorActor is how the ledger and the trail show the operator's changes.
var operatorActor = map[string]any{"kind": "admin", "id": "operator"}

func (c *client) invite(tenant, userName string, extra ...string) response {
	c.t.Helper()
	body := `{"userName":"` + userName + `","email":"` + userName + `"`
	for _, x := range extra {
		body += "," + x
	}
	return c.do("POST", "/admin/v1/tenants/"+tenant+"/users", body+"}", "X-Request-Id", "req-"+userName)
}

// TestPeople_lifecycleOnEveryPlan: a tenant without SCIM (trial,
// enterprise) manages its people by hand as an ultimate one can: invite up
// to the cap (the next is 403 seat_limit naming the numbers), deactivate
// (seat released), reactivate (refused at the cap, accepted once a seat is
// free), delete (seat released); the seat ledger and the audit trail name
// the operator and the request as the actor of every change.
func TestPeople_lifecycleOnEveryPlan(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		for plan, usable := range map[string]int{"trial": 2, "enterprise": 8, "ultimate": 8} {
			tenant := "t-" + plan
			seats := usable
			if plan != "trial" {
				seats = 3 // a paid plan may use the contract minimum of 8
			}
			r := c.do("POST", "/admin/v1/tenants", fmt.Sprintf(`{"id":%q,"name":"T","plan":%q,"seats":%d}`, tenant, plan, seats))
			require.Equal(t, http.StatusCreated, r.Status, r.Raw)

			var ids []string
			for i := range usable {
				r := c.invite(tenant, fmt.Sprintf("p%d@%s.test", i, plan), `"displayName":"Person"`, `"role":"supervisor"`)
				require.Equal(t, http.StatusCreated, r.Status, "%s: %s", plan, r.Raw)
				assert.Equal(t, true, r.Body["active"])
				assert.Equal(t, "full", r.Body["seat"])
				assert.Equal(t, "supervisor", r.Body["role"])
				assert.Equal(t, "manual", r.Body["managed"])
				ids = append(ids, r.Body["id"].(string))
			}
			r = c.invite(tenant, "late@"+plan+".test")
			assert.Equal(t, http.StatusForbidden, r.Status, plan)
			assert.Equal(t, "seat_limit", r.Body["error"])
			assert.Contains(t, r.Body["message"], fmt.Sprintf("%d of %d seats are in use", usable, usable))

			r = c.invite(tenant, "P0@"+plan+".test")
			assert.Equal(t, http.StatusConflict, r.Status)
			assert.Equal(t, "conflict", r.Body["error"])
			assert.Contains(t, r.Body["message"], `role "supervisor"`, "names the role the existing user holds")

			user := "/admin/v1/tenants/" + tenant + "/users/"
			r = c.do("PATCH", user+ids[0], `{"active":false}`)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			assert.Equal(t, "none", r.Body["seat"])
			require.Equal(t, http.StatusCreated, c.invite(tenant, "late@"+plan+".test").Status, "the released seat is free")
			r = c.do("PATCH", user+ids[0], `{"active":true}`)
			assert.Equal(t, http.StatusForbidden, r.Status, "reactivation at the cap")
			assert.Equal(t, "seat_limit", r.Body["error"])
			assert.Equal(t, http.StatusNoContent, c.do("DELETE", user+ids[1], "").Status)
			assert.Equal(t, http.StatusNotFound, c.do("GET", user+ids[1], "").Status)
			assert.Equal(t, http.StatusNotFound, c.do("DELETE", user+ids[1], "").Status)
			r = c.do("PATCH", user+ids[0], `{"active":true}`)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			assert.Equal(t, "full", r.Body["seat"])

			r = c.do("GET", "/admin/v1/tenants/"+tenant+"/seats/events?user="+ids[0], "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			var reasons []string
			for _, e := range r.Body["events"].([]any) {
				ev := e.(map[string]any)
				reasons = append(reasons, ev["reason"].(string))
				assert.Equal(t, operatorActor["id"], ev["actor"].(map[string]any)["id"])
				assert.Equal(t, operatorActor["kind"], ev["actor"].(map[string]any)["kind"])
			}
			assert.Equal(t, []string{"provisioned", "deactivated", "reactivated"}, reasons, plan)

			r = c.do("GET", "/admin/v1/tenants/"+tenant+"/audit?user="+ids[1], "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			events := r.Body["events"].([]any)
			require.Len(t, events, 2)
			deleted, created := events[0].(map[string]any), events[1].(map[string]any)
			assert.Equal(t, "user.deleted", deleted["action"])
			assert.Equal(t, "user.created", created["action"])
			assert.Equal(t, "operator", created["actor"].(map[string]any)["id"])
			assert.Equal(t, fmt.Sprintf("req-p1@%s.test", plan), created["actor"].(map[string]any)["request_id"])
		}
	})
}

// TestPeople_getAndPatch: one person with teams, stores and role; a PATCH
// changes role, teams (the whole list), stores and displayName at once; bad
// input is a 400 naming the field and changes nothing.
func TestPeople_getAndPatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","name":"Acme","plan":"enterprise","seats":10}`).Status)
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants/acme/stores", `{"id":"store-1","name":"Main"}`).Status)
		day := c.do("POST", "/admin/v1/tenants/acme/teams", `{"name":"Day"}`).Body["id"].(string)
		night := c.do("POST", "/admin/v1/tenants/acme/teams", `{"name":"Night"}`).Body["id"].(string)
		r := c.invite("acme", "ann@acme.test", `"teams":["`+day+`"]`, `"stores":["store-1"]`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		id := r.Body["id"].(string)
		assert.Equal(t, []any{map[string]any{"id": day, "name": "Day"}}, r.Body["teams"])
		assert.Equal(t, []any{"store-1"}, r.Body["stores"])
		assert.Equal(t, []any{"ann@acme.test"}, r.Body["emails"])
		assert.Equal(t, "agent", r.Body["role"], "the default role")
		assert.Equal(t, false, r.Body["drifted"])

		path := "/admin/v1/tenants/acme/users/" + id
		r = c.do("PATCH", path, `{"role":"supervisor","teams":["`+night+`"],"stores":[],"displayName":"Ann Lee"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "supervisor", r.Body["role"])
		assert.Equal(t, []any{map[string]any{"id": night, "name": "Night"}}, r.Body["teams"])
		assert.Equal(t, []any{}, r.Body["stores"])
		assert.Equal(t, "Ann Lee", r.Body["displayName"])
		assert.Equal(t, r.Body, c.do("GET", path, "").Body)

		for body, field := range map[string]string{
			`{}`:                       "body",
			`{"role":"wizard"}`:        "role",
			`{"teams":["nope"]}`:       "teams",
			`{"stores":["store-9"]}`:   "stores",
			`{"active":"maybe"}`:       "active",
			`{"email":"not-an-email"}`: "email",
			`{"colour":"red"}`:         "colour",
		} {
			r := c.do("PATCH", path, body)
			assert.Equal(t, http.StatusBadRequest, r.Status, body)
			assert.Contains(t, r.Raw, field, body)
		}
		assert.Equal(t, "Ann Lee", c.do("GET", path, "").Body["displayName"])
		assert.Equal(t, http.StatusNotFound, c.do("PATCH", "/admin/v1/tenants/acme/users/nope", `{"displayName":"X"}`).Status)
		assert.Equal(t, http.StatusNotFound, c.do("GET", "/admin/v1/tenants/nope/users/"+id, "").Status)
		r = c.invite("acme", "")
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Contains(t, fields(r), "userName")
	})
}

// TestPeople_idpManaged: for a user the IdP pushed, a manual change of what
// it pushes is 409 idp_managed naming the attribute and the IdP; the role
// stays editable; with manual_overrides the change is made and the user is
// listed as drifted.
func TestPeople_idpManaged(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","name":"Acme","plan":"ultimate","seats":10}`).Status)
		u, err := c.store.CreateUser(t.Context(), "acme", store.User{UserName: "bo@acme.test", DisplayName: "Bo", Active: true,
			Managed: store.ManagedSCIM, IdP: "okta"}, scimToken)
		require.NoError(t, err)
		path := "/admin/v1/tenants/acme/users/" + u.ID
		r := c.do("GET", path, "")
		assert.Equal(t, "scim", r.Body["managed"])
		assert.Equal(t, "okta", r.Body["idp"])

		r = c.do("PATCH", path, `{"displayName":"Bo by hand"}`)
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Equal(t, "idp_managed", r.Body["error"])
		assert.Equal(t, "displayName is managed by the IdP okta; change it there, or set the tenant setting manual_overrides to true", r.Body["message"])
		r = c.do("PATCH", path, `{"active":false}`)
		assert.Equal(t, "idp_managed", r.Body["error"])
		assert.Contains(t, r.Body["message"], "active is managed")
		r = c.do("PATCH", path, `{"role":"supervisor"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, false, r.Body["drifted"])

		r = c.do("PATCH", "/admin/v1/tenants/acme", `{"settings":{"manual_overrides":true}}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, true, r.Body["settings"].(map[string]any)["manual_overrides"])
		r = c.do("PATCH", path, `{"displayName":"Bo by hand"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, true, r.Body["drifted"])
		assert.Equal(t, "2026-11-22T10:00:00Z", r.Body["drifted_at"])
		r = c.do("GET", "/admin/v1/tenants/acme/users?managed=scim", "")
		require.Len(t, r.Body["users"], 1)
		assert.Equal(t, true, r.Body["users"].([]any)[0].(map[string]any)["drifted"])
		assert.Contains(t, c.do("PATCH", "/admin/v1/tenants/acme", `{"settings":{"manual_overrides":"yes"}}`).Raw, "settings.manual_overrides")
	})
}

// TestPeople_accessExpiry: a person answers when their access ends (an
// external user's accessExpiresAt, pushed by the IdP), null when it does not.
func TestPeople_accessExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","name":"Acme","plan":"ultimate","seats":10}`).Status)
		until := time.Date(2027, 3, 1, 17, 0, 0, 0, time.UTC)
		u, err := c.store.CreateUser(t.Context(), "acme", store.User{UserName: "ext@acme.test", Active: true,
			AccessExpiresAt: &until, Managed: store.ManagedSCIM, IdP: "okta"}, scimToken)
		require.NoError(t, err)
		r := c.do("GET", "/admin/v1/tenants/acme/users/"+u.ID, "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "2027-03-01T17:00:00Z", r.Body["access_expires_at"])
		r = c.invite("acme", "ann@acme.test")
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		assert.Contains(t, r.Body, "access_expires_at")
		assert.Nil(t, r.Body["access_expires_at"], "no end")
		list := c.do("GET", "/admin/v1/tenants/acme/users?managed=scim", "").Body["users"].([]any)
		require.Len(t, list, 1)
		assert.Equal(t, "2027-03-01T17:00:00Z", list[0].(map[string]any)["access_expires_at"])
	})
}

// TestPeople_listFiltersAndPaging: the list is newest first; q matches
// userName, displayName and emails case-insensitively; role, team, active,
// managed and seat filter; pages of limit follow next_cursor to the end,
// each person once; bad parameters are 400s naming them.
func TestPeople_listFiltersAndPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","name":"Acme","plan":"trial","seats":20}`).Status)
		team := c.do("POST", "/admin/v1/tenants/acme/teams", `{"name":"Night"}`).Body["id"].(string)
		c.invite("acme", "ann@acme.test", `"displayName":"Ann Lee"`, `"teams":["`+team+`"]`)
		c.invite("acme", "bob@acme.test", `"displayName":"Bob Stone"`, `"role":"supervisor"`)
		carol := c.invite("acme", "carol@acme.test", `"displayName":"Carol"`).Body["id"].(string)
		require.Equal(t, http.StatusOK, c.do("PATCH", "/admin/v1/tenants/acme/users/"+carol, `{"active":false}`).Status)
		_, err := c.store.CreateUser(t.Context(), "acme", store.User{UserName: "dan@acme.test", DisplayName: "Dan",
			Emails: []store.MultiValue{{Value: "Dan.Stone@Example.COM"}}, Active: true, Managed: store.ManagedSCIM, IdP: "okta"}, scimToken)
		require.NoError(t, err)

		names := func(query string) []string {
			t.Helper()
			r := c.do("GET", "/admin/v1/tenants/acme/users?"+query, "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			out := []string{}
			for _, u := range r.Body["users"].([]any) {
				out = append(out, strings.TrimSuffix(u.(map[string]any)["userName"].(string), "@acme.test"))
			}
			return out
		}
		assert.Equal(t, []string{"dan", "carol", "bob", "ann"}, names(""))
		assert.Equal(t, []string{"dan", "bob"}, names("q=STONE"), "displayName and emails, any case")
		assert.Equal(t, []string{"ann"}, names("q=ANN%40"))
		assert.Equal(t, []string{"bob"}, names("role=supervisor"))
		assert.Equal(t, []string{"ann"}, names("team="+team))
		assert.Equal(t, []string{"carol"}, names("active=false"))
		assert.Equal(t, []string{"carol"}, names("seat=none"))
		assert.Equal(t, []string{"dan"}, names("managed=scim"))
		assert.Equal(t, []string{"carol", "bob", "ann"}, names("managed=manual"))
		assert.Equal(t, []string{"bob", "ann"}, names("managed=manual&active=true&q=acme"))

		r := c.do("GET", "/admin/v1/tenants/acme/users?limit=1", "")
		first := r.Body["users"].([]any)[0].(map[string]any)
		assert.Equal(t, "dan@acme.test", first["userName"])
		assert.Equal(t, "okta", first["idp"])
		assert.Equal(t, "2026-11-22T10:00:00Z", first["created_at"])
		assert.Contains(t, first, "last_sign_in_at")

		var walked []string
		cursor := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 5)
			r := c.do("GET", "/admin/v1/tenants/acme/users?limit=3&cursor="+url.QueryEscape(cursor), "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			for _, u := range r.Body["users"].([]any) {
				walked = append(walked, u.(map[string]any)["userName"].(string))
			}
			if r.Body["next_cursor"] == nil {
				break
			}
			cursor = r.Body["next_cursor"].(string)
		}
		assert.Equal(t, []string{"dan@acme.test", "carol@acme.test", "bob@acme.test", "ann@acme.test"}, walked)

		for query, field := range map[string]string{
			"limit=0": "limit", "limit=201": "limit", "managed=ldap": "managed", "seat=gold": "seat",
			"active=sometimes": "active", "cursor=xyz": "cursor", "colour=red": "colour",
		} {
			r := c.do("GET", "/admin/v1/tenants/acme/users?"+query, "")
			assert.Equal(t, http.StatusBadRequest, r.Status, query)
			assert.Contains(t, fields(r), field, query)
		}
		assert.Equal(t, http.StatusNotFound, c.do("GET", "/admin/v1/tenants/nope/users", "").Status)
	})
}

// TestTeams_endpoints: teams by hand on a trial tenant: create, read,
// rename, add and remove members, delete, each audited with the operator;
// a role group is answered with its role and refused as a team (409
// role_group); a team the IdP pushed is 409 idp_managed; the team list
// keeps working.
func TestTeams_endpoints(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","name":"Acme","plan":"trial","seats":10}`).Status)
		ann := c.invite("acme", "ann@acme.test").Body["id"].(string)
		bob := c.invite("acme", "bob@acme.test").Body["id"].(string)

		r := c.do("POST", "/admin/v1/tenants/acme/teams", `{"name":"Night shift"}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		id := r.Body["id"].(string)
		assert.Equal(t, "manual", r.Body["managed"])
		assert.Equal(t, true, r.Body["team"])
		path := "/admin/v1/tenants/acme/teams/" + id
		assert.Equal(t, http.StatusConflict, c.do("POST", "/admin/v1/tenants/acme/teams", `{"name":"night SHIFT"}`).Status)
		assert.Equal(t, http.StatusBadRequest, c.do("POST", "/admin/v1/tenants/acme/teams", `{"name":" "}`).Status)

		r = c.do("POST", path+"/members", `{"users":["`+ann+`","`+bob+`"]}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, 2.0, r.Body["member_count"])
		r = c.do("POST", path+"/members", `{"users":["ghost"]}`)
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Equal(t, "unknown_users", r.Body["error"])
		r = c.do("DELETE", path+"/members", `{"users":["`+bob+`"]}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, []any{map[string]any{"id": ann, "display": "ann@acme.test"}}, r.Body["members"])
		r = c.do("PATCH", path, `{"name":"Late shift"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "Late shift", r.Body["name"])
		assert.Equal(t, "Late shift", c.do("GET", path, "").Body["name"])

		r = c.do("GET", "/admin/v1/tenants/acme/teams", "")
		require.Equal(t, http.StatusOK, r.Status)
		require.Len(t, r.Body["teams"], 1)
		assert.Equal(t, "manual", r.Body["teams"].([]any)[0].(map[string]any)["managed"])

		// A role group.
		require.Equal(t, http.StatusOK, c.do("PUT", "/admin/v1/tenants/acme/role-mappings", `{"mappings":[{"group":"Supervisors","role":"supervisor"}]}`).Status)
		r = c.do("POST", "/admin/v1/tenants/acme/teams", `{"name":"Supervisors"}`)
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Equal(t, "role_group", r.Body["error"])
		g, err := c.store.CreateGroup(t.Context(), "acme", store.Group{DisplayName: "Supervisors"}, scimToken)
		require.NoError(t, err)
		r = c.do("GET", "/admin/v1/tenants/acme/teams/"+g.ID, "")
		assert.Equal(t, "supervisor", r.Body["role"])
		assert.Equal(t, false, r.Body["team"])
		r = c.do("POST", "/admin/v1/tenants/acme/teams/"+g.ID+"/members", `{"users":["`+ann+`"]}`)
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Contains(t, r.Body["message"], "change the role mappings instead")

		// A team the IdP pushed.
		pushed, err := c.store.CreateGroup(t.Context(), "acme", store.Group{DisplayName: "Okta team", Managed: store.ManagedSCIM, IdP: "okta"}, scimToken)
		require.NoError(t, err)
		r = c.do("DELETE", "/admin/v1/tenants/acme/teams/"+pushed.ID, "")
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Equal(t, "idp_managed", r.Body["error"])

		assert.Equal(t, http.StatusNoContent, c.do("DELETE", path, "").Status)
		assert.Equal(t, http.StatusNotFound, c.do("GET", path, "").Status)
		assert.Equal(t, http.StatusNotFound, c.do("PATCH", path, `{"name":"X"}`).Status)

		r = c.do("GET", "/admin/v1/tenants/acme/audit?action=group.updated", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		for _, e := range r.Body["events"].([]any) {
			assert.Equal(t, "operator", e.(map[string]any)["actor"].(map[string]any)["id"])
		}
	})
}

// TestPeople_roleAndTeamsNeedTheirPermissions: users.manage reaches the
// person routes, but giving a role needs users.roles too — and only a role
// within the caller's own permissions — and setting teams needs
// teams.manage; each refusal is a 403 naming what is missing, and changes
// nothing.
func TestPeople_roleAndTeamsNeedTheirPermissions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		r := c.do("POST", "/admin/v1/tenants", `{"id":"acme","name":"Acme","plan":"trial","seats":10}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		ann := c.invite("acme", "ann@acme.test")
		require.Equal(t, http.StatusCreated, ann.Status, ann.Raw)
		id := ann.Body["id"].(string)
		team := c.do("POST", "/admin/v1/tenants/acme/teams", `{"name":"Night"}`)
		require.Equal(t, http.StatusCreated, team.Status, team.Raw)
		teamID := team.Body["id"].(string)

		manage, _ := c.mintKey("acme", "manage", []string{"users.view", "users.manage"})
		r = c.as(manage, "PATCH", "/admin/v1/tenants/acme/users/"+id, `{"role":"supervisor"}`)
		assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		assert.Equal(t, []any{"users.roles"}, r.Body["missing_permissions"])
		r = c.as(manage, "PATCH", "/admin/v1/tenants/acme/users/"+id, `{"teams":["`+teamID+`"]}`)
		assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		assert.Equal(t, []any{"teams.manage"}, r.Body["missing_permissions"])
		r = c.as(manage, "POST", "/admin/v1/tenants/acme/users", `{"userName":"bob@acme.test","role":"agent"}`)
		assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		r = c.as(manage, "PATCH", "/admin/v1/tenants/acme/users/"+id, `{"displayName":"Ann"}`)
		assert.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "agent", c.do("GET", "/admin/v1/tenants/acme/users/"+id, "").Body["role"], "the refusals changed nothing")

		// users.roles, but a role holding more than the key: refused.
		roles, _ := c.mintKey("acme", "roles", []string{"users.view", "users.manage", "users.roles"})
		r = c.as(roles, "PATCH", "/admin/v1/tenants/acme/users/"+id, `{"role":"admin"}`)
		assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		assert.Equal(t, "agent", c.do("GET", "/admin/v1/tenants/acme/users/"+id, "").Body["role"])
		r = c.as(roles, "PATCH", "/admin/v1/tenants/acme/users/"+id, `{"role":"agent"}`)
		assert.Equal(t, http.StatusForbidden, r.Status, "agent holds permissions (conversations.*) this key lacks: %s", r.Raw)
	})
}

// TestTeams_answerListsTheFirstThousandMembers: a team's answer lists at
// most its first 1,000 members (in member order) and says whether that is
// all of them; GET …/users?team= pages through every member. An IdP's
// "everyone" group can hold a tenant's every user.
func TestTeams_answerListsTheFirstThousandMembers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *client) {
		require.Equal(t, http.StatusCreated, c.do("POST", "/admin/v1/tenants", `{"id":"acme","name":"Acme","plan":"ultimate","seats":10}`).Status)
		ctx := t.Context()
		ids := make([]string, 1001)
		for i := range ids {
			u, err := c.store.CreateUser(ctx, "acme", store.User{UserName: fmt.Sprintf("u%04d@acme.test", i), Role: store.RoleAgent}, store.ActorAdmin) // inactive: no seat
			require.NoError(t, err)
			ids[i] = u.ID
		}
		g, err := c.store.CreateGroup(ctx, "acme", store.Group{DisplayName: "Everyone"}, store.ActorAdmin)
		require.NoError(t, err)
		path := "/admin/v1/tenants/acme/teams/" + g.ID
		_, err = c.store.UpdateGroup(ctx, "acme", g.ID, store.ActorAdmin, func(u *store.GroupUpdate) error { u.Add(ids[:1000]...); return nil })
		require.NoError(t, err)

		r := c.do("GET", path, "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, 1000.0, r.Body["member_count"])
		assert.Len(t, r.Body["members"], 1000)
		assert.Equal(t, true, r.Body["members_complete"], "1,000 members: all listed")

		_, err = c.store.UpdateGroup(ctx, "acme", g.ID, store.ActorAdmin, func(u *store.GroupUpdate) error { u.Add(ids[1000]); return nil })
		require.NoError(t, err)
		r = c.do("GET", path, "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, 1001.0, r.Body["member_count"])
		members := r.Body["members"].([]any)
		require.Len(t, members, 1000)
		assert.Equal(t, false, r.Body["members_complete"])
		assert.Equal(t, ids[0], members[0].(map[string]any)["id"], "in member order")
		assert.Equal(t, ids[999], members[999].(map[string]any)["id"])

		// Every member, page by page.
		seen := map[string]bool{}
		next := "/admin/v1/tenants/acme/users?team=" + g.ID + "&limit=200"
		for next != "" {
			r := c.do("GET", next, "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			for _, u := range r.Body["users"].([]any) {
				seen[u.(map[string]any)["id"].(string)] = true
			}
			next = ""
			if cur, ok := r.Body["next_cursor"].(string); ok && cur != "" {
				next = "/admin/v1/tenants/acme/users?team=" + g.ID + "&limit=200&cursor=" + url.QueryEscape(cur)
			}
		}
		assert.Len(t, seen, 1001)
	})
}
