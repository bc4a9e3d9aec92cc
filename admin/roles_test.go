package admin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
)

// roleBackends are the stores the role endpoints are tested against.
var roleBackends = map[string]func(t *testing.T, now func() time.Time) store.Store{
	"memory":   func(t *testing.T, now func() time.Time) store.Store { return memory.New(memory.Options{Now: now}) },
	"postgres": openPostgres,
}

func forEachRoleBackend(t *testing.T, fn func(t *testing.T, c *client)) {
	for name, open := range roleBackends {
		t.Run(name, func(t *testing.T) { fn(t, newClient(t, open)) })
	}
}

func (c *client) tenant(id, plan string, seats int) {
	c.t.Helper()
	r := c.do("POST", "/admin/v1/tenants", `{"id":"`+id+`","plan":"`+plan+`","seats":`+itoa(seats)+`}`)
	require.Equal(c.t, http.StatusCreated, r.Status, r.Raw)
}

func itoa(n int) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func (c *client) roleOf(tenant, id string) (string, store.SeatClass) {
	c.t.Helper()
	u, err := c.store.GetUser(c.t.Context(), tenant, id)
	require.NoError(c.t, err)
	return u.Role, u.Seat
}

func roleByName(r response, name string) map[string]any {
	list, _ := r.Body["roles"].([]any)
	for _, x := range list {
		if m := x.(map[string]any); m["name"] == name {
			return m
		}
	}
	return nil
}

func TestAdmin_roles(t *testing.T) {
	forEachRoleBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "trial", 10)
		r := c.do("GET", "/admin/v1/tenants/acme/roles", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Len(t, r.Body["roles"], 3, "the built-in roles")
		admin := roleByName(r, "admin")
		assert.Equal(t, true, admin["built_in"])
		assert.Equal(t, true, admin["privileged"])
		assert.Contains(t, admin["permissions"], "billing.manage")
		sup := roleByName(r, "supervisor")
		assert.NotContains(t, sup["permissions"], "settings.manage")
		assert.Contains(t, sup["permissions"], "conversations.view_all")
		assert.Equal(t, "agent", r.Body["default_role"])
		assert.Len(t, r.Body["catalogue"], 8)

		body := `{"name":"night-auditor","description":"reads reports at night","permissions":["reporting.view_org","conversations.view_all"],"seat_class":"light"}`
		r = c.do("POST", "/admin/v1/tenants/acme/roles", body)
		assert.Equal(t, http.StatusForbidden, r.Status)
		assert.Equal(t, "plan_required", r.Body["error"])
		assert.Contains(t, r.Body["message"], "enterprise, enterprise_bundle, ultimate plan; tenant acme is on trial")
		r = c.do("PATCH", "/admin/v1/tenants/acme", `{"plan":"enterprise"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)

		// Bad input names the field and changes nothing.
		r = c.do("POST", "/admin/v1/tenants/acme/roles", `{"name":"x","permissions":["conversations.fly"]}`)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		assert.Contains(t, fields(r)["permissions"], `unknown permission "conversations.fly"; the flags of conversations are: conversations.view_assigned, conversations.view_all`)
		// Every unknown flag is named, not only the first.
		r = c.do("POST", "/admin/v1/tenants/acme/roles", `{"name":"x","permissions":["conversations.fly","reporting.view_org","payroll.view","teams.swim"]}`)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		var permFaults []string
		for _, f := range r.Body["fields"].([]any) {
			if m := f.(map[string]any); m["field"] == "permissions" {
				permFaults = append(permFaults, m["message"].(string))
			}
		}
		require.Len(t, permFaults, 3, r.Raw)
		assert.Contains(t, permFaults[0], `"conversations.fly"`)
		assert.Contains(t, permFaults[1], `unknown permission "payroll.view": flags are written area.flag; areas:`)
		assert.Contains(t, permFaults[2], `unknown permission "teams.swim"; the flags of teams are: teams.view, teams.manage`)
		for _, s := range []string{"conversations.fly", "payroll.view", "teams.swim"} {
			assert.Contains(t, r.Body["message"], s)
		}
		r = c.do("POST", "/admin/v1/tenants/acme/roles", `{"name":"Night Auditor","permissions":[],"seat_class":"gold"}`)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		assert.Contains(t, fields(r)["name"], "lower-case")
		assert.Contains(t, fields(r)["seat_class"], `"full" or "light"`)
		r = c.do("POST", "/admin/v1/tenants/acme/roles", `{"name":"x"}`)
		assert.Contains(t, fields(r)["permissions"], "is required")
		r = c.do("POST", "/admin/v1/tenants/acme/roles", `{"name":"Admin","permissions":[]}`)
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Contains(t, r.Body["message"], "built-in role")

		r = c.do("POST", "/admin/v1/tenants/acme/roles", body)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		assert.Equal(t, "/admin/v1/tenants/acme/roles/night-auditor", r.Header.Get("Location"))
		assert.Equal(t, []any{"conversations.view_all", "reporting.view_org"}, r.Body["permissions"])
		assert.Equal(t, "light", r.Body["seat_class"])
		assert.Equal(t, false, r.Body["built_in"])
		r = c.do("POST", "/admin/v1/tenants/acme/roles", body)
		assert.Equal(t, http.StatusConflict, r.Status, "names are unique per tenant")

		r = c.do("GET", "/admin/v1/tenants/acme/roles/night-auditor", "")
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, "reads reports at night", r.Body["description"])
		r = c.do("GET", "/admin/v1/tenants/acme/roles/agent", "")
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, true, r.Body["built_in"])
		r = c.do("GET", "/admin/v1/tenants/acme/roles/nope", "")
		assert.Equal(t, http.StatusNotFound, r.Status)

		// Two holders: one light seat each.
		ann := c.user("acme", "ann@acme.test", true, "night-auditor")
		bob := c.user("acme", "bob@acme.test", true, "Night-Auditor")
		_, seat := c.roleOf("acme", ann.ID)
		assert.Equal(t, store.SeatLight, seat)
		r = c.do("GET", "/admin/v1/tenants/acme/roles/night-auditor", "")
		assert.Equal(t, 2.0, r.Body["users"])

		// PUT replaces; a seat-class change moves the holders' seats.
		r = c.do("PUT", "/admin/v1/tenants/acme/roles/night-auditor", `{"permissions":["reporting.*"],"seat_class":"full"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, []any{"reporting.view_own", "reporting.view_team", "reporting.view_org", "reporting.export"}, r.Body["permissions"])
		_, seat = c.roleOf("acme", ann.ID)
		assert.Equal(t, store.SeatFull, seat)
		r = c.do("PUT", "/admin/v1/tenants/acme/roles/night-auditor", `{"name":"other","permissions":[]}`)
		assert.Contains(t, fields(r)["name"], "cannot be changed")
		r = c.do("PUT", "/admin/v1/tenants/acme/roles/admin", `{"permissions":[]}`)
		assert.Equal(t, http.StatusForbidden, r.Status)
		assert.Equal(t, "built_in", r.Body["error"])

		// Delete: 409 with the count, then with a replacement.
		r = c.do("DELETE", "/admin/v1/tenants/acme/roles/night-auditor", "")
		require.Equal(t, http.StatusConflict, r.Status, r.Raw)
		assert.Equal(t, "role_in_use", r.Body["error"])
		assert.Equal(t, 2.0, r.Body["users"])
		r = c.do("DELETE", "/admin/v1/tenants/acme/roles/night-auditor?replacement=wizard", "")
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Contains(t, r.Body["message"], `role "wizard" does not exist`)
		r = c.do("DELETE", "/admin/v1/tenants/acme/roles/night-auditor?replacement=supervisor", "")
		require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
		for _, id := range []string{ann.ID, bob.ID} {
			role, _ := c.roleOf("acme", id)
			assert.Equal(t, "supervisor", role)
		}
		r = c.do("DELETE", "/admin/v1/tenants/acme/roles/agent", "")
		assert.Equal(t, http.StatusForbidden, r.Status)

		events, err := c.store.ListAudit(t.Context(), "acme", store.EventQuery{})
		require.NoError(t, err)
		var actions []string
		for _, e := range events {
			actions = append(actions, e.Action)
		}
		assert.Subset(t, actions, []string{store.ActionRoleCreated, store.ActionRoleUpdated, "role.deleted", "user.updated"})
	})
}

func TestAdmin_roleMappingsAndTeams(t *testing.T) {
	forEachRoleBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 10)
		ann := c.user("acme", "ann@acme.test", true, "")
		leads, err := c.store.CreateGroup(t.Context(), "acme", store.Group{DisplayName: "Leads", Members: []store.Member{{UserID: ann.ID}}}, scimToken)
		require.NoError(t, err)
		_, err = c.store.CreateGroup(t.Context(), "acme", store.Group{DisplayName: "Tier 1"}, scimToken)
		require.NoError(t, err)

		r := c.do("PUT", "/admin/v1/tenants/acme/role-mappings", `[{"group":"Leads","role":"wizard"}]`)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		assert.Contains(t, fields(r)["role"], `role "wizard" does not exist in this tenant; roles: admin, supervisor, agent`)
		r = c.do("PUT", "/admin/v1/tenants/acme/role-mappings", `[{"group":"Leads","role":"supervisor"},{"group":"leads","role":"agent"}]`)
		assert.Contains(t, fields(r)["mappings[1].group"], "already mapped")
		r = c.do("PUT", "/admin/v1/tenants/acme/role-mappings", `[{"group":"Leads","role":"supervisor","extra":1}]`)
		assert.Equal(t, http.StatusBadRequest, r.Status)

		r = c.do("PUT", "/admin/v1/tenants/acme/role-mappings", `[{"group":"Support Admins","role":"admin"},{"group":"Leads","role":"Supervisor"}]`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		list := r.Body["mappings"].([]any)
		require.Len(t, list, 2)
		assert.Equal(t, map[string]any{"group": "Support Admins", "role": "admin"}, list[0], "no such group yet")
		assert.Equal(t, map[string]any{"group": "Leads", "role": "supervisor", "group_id": leads.ID, "members": 1.0}, list[1])
		role, _ := c.roleOf("acme", ann.ID)
		assert.Equal(t, "supervisor", role, "the mapping applies at once")
		r = c.do("GET", "/admin/v1/tenants/acme/role-mappings", "")
		assert.Len(t, r.Body["mappings"], 2)

		r = c.do("GET", "/admin/v1/tenants/acme/teams", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		teams := r.Body["teams"].([]any)
		roleGroups := r.Body["role_groups"].([]any)
		require.Len(t, teams, 1)
		require.Len(t, roleGroups, 1)
		assert.Equal(t, "Tier 1", teams[0].(map[string]any)["display_name"])
		assert.Equal(t, map[string]any{"id": leads.ID, "display_name": "Leads", "members": 1.0, "team": false, "role": "supervisor", "managed": "manual"}, roleGroups[0])

		r = c.do("PUT", "/admin/v1/tenants/acme/role-mappings", `{"mappings":[]}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		role, _ = c.roleOf("acme", ann.ID)
		assert.Equal(t, "agent", role)
	})
}

func TestAdmin_bulkRoleChange(t *testing.T) {
	forEachRoleBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 10)
		ann := c.user("acme", "ann@acme.test", true, "")
		bob := c.user("acme", "bob@acme.test", true, "agent")

		r := c.do("POST", "/admin/v1/tenants/acme/users/role", `{"users":["`+ann.ID+`","nobody@acme.test"],"role":"supervisor"}`)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		assert.Contains(t, fields(r)["users"], "nobody@acme.test; nothing was changed")
		role, _ := c.roleOf("acme", ann.ID)
		assert.Equal(t, "agent", role)
		r = c.do("POST", "/admin/v1/tenants/acme/users/role", `{"users":["`+ann.ID+`"],"role":"wizard"}`)
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Equal(t, "unknown_role", r.Body["error"])
		r = c.do("POST", "/admin/v1/tenants/acme/users/role", `{"role":""}`)
		assert.Contains(t, fields(r)["users"], "is required")
		assert.Contains(t, fields(r)["role"], "is required")

		// By id and by userName; admin is privileged, but an operator may grant it.
		r = c.do("POST", "/admin/v1/tenants/acme/users/role", `{"users":["`+ann.ID+`","BOB@acme.test"],"role":"admin"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, 2.0, r.Body["changed"])
		assert.Equal(t, []any{
			map[string]any{"id": ann.ID, "userName": "ann@acme.test", "old_role": "agent", "new_role": "admin", "old_seat": "full", "new_seat": "full", "changed": true},
			map[string]any{"id": bob.ID, "userName": "bob@acme.test", "old_role": "agent", "new_role": "admin", "old_seat": "full", "new_seat": "full", "changed": true},
		}, r.Body["users"])
		events, err := c.store.ListAudit(t.Context(), "acme", store.EventQuery{UserID: ann.ID, Action: "role.privileged_granted"})
		require.NoError(t, err)
		require.Len(t, events, 1)
		assert.Equal(t, "admin", events[0].Actor.Kind)
	})
}

func TestAdmin_approvals(t *testing.T) {
	forEachRoleBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 10)
		_, err := c.store.CreateUser(t.Context(), "acme", store.User{UserName: "x@acme.test", Active: true, ExplicitRole: "admin"}, scimToken)
		var priv *store.PrivilegedRoleError
		require.ErrorAs(t, err, &priv, "deny by default")

		r := c.do("PATCH", "/admin/v1/tenants/acme", `{"settings":{"privileged_roles":"approve"}}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		u, err := c.store.CreateUser(t.Context(), "acme", store.User{UserName: "ann@acme.test", Active: true, ExplicitRole: "admin"}, scimToken)
		require.NoError(t, err)
		assert.Equal(t, "agent", u.Role)

		r = c.do("GET", "/admin/v1/tenants/acme/approvals", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		list := r.Body["approvals"].([]any)
		require.Len(t, list, 1)
		a := list[0].(map[string]any)
		assert.Equal(t, "admin", a["role"])
		assert.Equal(t, "pending", a["status"])
		assert.Equal(t, "ann@acme.test", a["user_name"])
		assert.Equal(t, "agent", a["current_role"])
		assert.Equal(t, map[string]any{"kind": "token", "id": "tok-okta", "name": "okta"}, a["requested_by"])
		r = c.do("GET", "/admin/v1/tenants/acme/approvals?status=bogus", "")
		assert.Contains(t, fields(r)["status"], "must be pending")

		r = c.do("POST", "/admin/v1/tenants/acme/approvals/"+a["id"].(string), `{"decision":"maybe"}`)
		assert.Contains(t, fields(r)["decision"], "approve")
		r = c.do("POST", "/admin/v1/tenants/acme/approvals/"+a["id"].(string), "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "approved", r.Body["status"])
		assert.Equal(t, "admin", r.Body["current_role"])
		role, _ := c.roleOf("acme", u.ID)
		assert.Equal(t, "admin", role)
		r = c.do("POST", "/admin/v1/tenants/acme/approvals/"+a["id"].(string), "")
		assert.Equal(t, http.StatusConflict, r.Status)
		r = c.do("POST", "/admin/v1/tenants/acme/approvals/nope", "")
		assert.Equal(t, http.StatusNotFound, r.Status)
		r = c.do("GET", "/admin/v1/tenants/acme/approvals", "")
		assert.Empty(t, r.Body["approvals"])
		r = c.do("GET", "/admin/v1/tenants/acme/approvals?status=all", "")
		assert.Len(t, r.Body["approvals"], 1)
	})
}

const importCSV = "email,userName,givenName,familyName,role,teams,stores,userType,accessExpiresAt\n" +
	"ann@acme.test,,Ann,Lee,supervisor,Tier 1,store-1,,\n" +
	"bob@acme.test,bob,Bob,Stone,,Tier 1;Tier 2,,External,2027-03-31\n" +
	"not-an-email,,,,,,,,\n" +
	"carl@acme.test,,,,wizard,,,,\n" +
	"dee@acme.test,,,,,Nowhere,,,\n" +
	"ANN@acme.test,,,,,,,,\n" +
	"eve@acme.test,,,,,Leads,,,\n" +
	"fay@acme.test,,,,,,store-9,,\n"

func TestAdmin_importCSV(t *testing.T) {
	forEachRoleBackend(t, func(t *testing.T, c *client) {
		c.tenant("acme", "ultimate", 2)
		for _, name := range []string{"Tier 1", "Tier 2", "Leads"} {
			_, err := c.store.CreateGroup(t.Context(), "acme", store.Group{DisplayName: name}, scimToken)
			require.NoError(t, err)
		}
		_, err := c.store.CreateOutlet(t.Context(), "acme", store.Outlet{ID: "store-1", Name: "Main"}, store.ActorAdmin)
		require.NoError(t, err)
		require.NoError(t, directory.New(c.store).PutRoleMappings(t.Context(), "acme", []store.RoleMapping{{Group: "Leads", Role: "supervisor"}}, store.ActorAdmin))
		csvHeader := []string{"Content-Type", "text/csv"}

		r := c.do("POST", "/admin/v1/tenants/acme/users/import", importCSV, "Content-Type", "application/json")
		assert.Equal(t, http.StatusUnsupportedMediaType, r.Status)
		r = c.do("POST", "/admin/v1/tenants/acme/users/import", "mail,role\nx@y.z,agent\n", csvHeader...)
		require.Equal(t, http.StatusBadRequest, r.Status)
		assert.Contains(t, r.Body["message"], `unknown column "mail"`)
		assert.Contains(t, r.Body["message"], "the email column is required")

		wantErr := map[int]string{
			4: `email "not-an-email" is not a valid address`,
			5: `role "wizard" does not exist in this tenant; roles: admin, supervisor, agent`,
			6: `team "Nowhere" does not exist`,
			7: "duplicate of line 2 (same userName)",
			8: `"Leads" is a role group (mapped to role supervisor), not a team`,
			9: `store "store-9" does not exist; stores: store-1`,
		}
		check := func(r response, ok map[int]string, invalid string) {
			t.Helper()
			results := r.Body["results"].([]any)
			require.Len(t, results, 8)
			for _, x := range results {
				res := x.(map[string]any)
				line := int(res["line"].(float64))
				if want, bad := wantErr[line]; bad {
					assert.Equal(t, invalid, res["status"], "line %d", line)
					assert.Contains(t, strings.Join(toStrings(res["errors"]), "; "), want, "line %d", line)
					continue
				}
				assert.Equal(t, ok[line], res["status"], "line %d: %v", line, res)
			}
		}

		// Dry run: every row checked, nothing written.
		r = c.do("POST", "/admin/v1/tenants/acme/users/import?dry_run=true", importCSV, csvHeader...)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, true, r.Body["dry_run"])
		check(r, map[int]string{2: "create", 3: "create"}, "invalid")
		assert.Equal(t, 2.0, r.Body["created"])
		assert.Equal(t, 6.0, r.Body["failed"])
		assert.Equal(t, map[string]any{"needed_full": 2.0, "available": 8.0, "overage_allowed": false, "enough": true}, r.Body["seats"],
			"2 purchased on a paid plan: the 8 of the minimum are usable")
		_, err = c.store.GetUserByUserName(t.Context(), "acme", "ann@acme.test")
		assert.ErrorIs(t, err, store.ErrNotFound)

		r = c.do("POST", "/admin/v1/tenants/acme/users/import", importCSV, csvHeader...)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		check(r, map[int]string{2: "created", 3: "created"}, "failed")
		ann, err := c.store.GetUserByUserName(t.Context(), "acme", "ann@acme.test")
		require.NoError(t, err)
		assert.Equal(t, "supervisor", ann.Role)
		assert.Equal(t, []string{"store-1"}, ann.Stores)
		assert.Equal(t, "Ann Lee", ann.DisplayName)
		assert.Equal(t, store.SeatFull, ann.Seat)
		bob, err := c.store.GetUserByUserName(t.Context(), "acme", "bob")
		require.NoError(t, err)
		assert.Equal(t, "agent", bob.Role)
		require.NotNil(t, bob.AccessExpiresAt)
		groups, err := c.store.UserGroups(t.Context(), "acme", bob.ID)
		require.NoError(t, err)
		assert.Len(t, groups, 2)

		// Re-importing the same file changes nothing.
		r = c.do("POST", "/admin/v1/tenants/acme/users/import", importCSV, csvHeader...)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		check(r, map[int]string{2: "unchanged", 3: "unchanged"}, "failed")
		again, err := c.store.GetUserByUserName(t.Context(), "acme", "ann@acme.test")
		require.NoError(t, err)
		assert.Equal(t, ann.Version, again.Version)

		// A changed row updates; the seat check (2 purchased, so the 8 of the
		// paid plan's minimum usable; 6 more held here) refuses a row, not the file.
		for i := range 6 {
			_, err := c.store.CreateUser(t.Context(), "acme", store.User{UserName: "filler" + itoa(i+1), Active: true}, store.ActorAdmin)
			require.NoError(t, err)
		}
		r = c.do("POST", "/admin/v1/tenants/acme/users/import?mode=update",
			"email,role\nann@acme.test,agent\nzed@acme.test,\n", csvHeader...)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		results := r.Body["results"].([]any)
		assert.Equal(t, "updated", results[0].(map[string]any)["status"])
		assert.Equal(t, "agent", results[0].(map[string]any)["role"])
		assert.Equal(t, "failed", results[1].(map[string]any)["status"])
		assert.Contains(t, toStrings(results[1].(map[string]any)["errors"])[0], "8 of 8 seats are in use")
	})
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
