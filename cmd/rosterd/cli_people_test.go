package main

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/store"
)

// idOf runs rosterd with --json and answers the "id" of what it printed.
func (s *cliServer) idOf(t *testing.T, args ...string) string {
	t.Helper()
	id, _ := s.jsonOf(t, args...)["id"].(string)
	require.NotEmpty(t, id, "rosterd %v", args)
	return id
}

// TestCLI_people: each people subcommand sends its request and prints the
// person; the list pages like audit; refusals are exit 1 with the server's
// message, a bad command line exit 2.
func TestCLI_people(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "trial", "--seats", "2")
	s.ok(t, "stores", "create", "acme", "s1", "Main store")

	out := s.ok(t, "people", "invite", "acme", "ann@acme.test", "--email", "ann@acme.test", "--display-name", "Ann Archer",
		"--role", "supervisor", "--store", "s1")
	s.wasSent(t, "POST", "/admin/v1/tenants/acme/users",
		`{"userName":"ann@acme.test","email":"ann@acme.test","displayName":"Ann Archer","role":"supervisor","stores":["s1"]}`)
	assert.Regexp(t, `^ann@acme.test invited to tenant acme as supervisor \(id \S+\), active, on a full seat.\n`, out)
	assert.Regexp(t, `(?m)^stores:\s+s1$`, out)
	assert.Regexp(t, `(?m)^managed:\s+manual$`, out)
	bob := s.jsonOf(t, "people", "invite", "acme", "bob@acme.test")
	s.wasSent(t, "POST", "/admin/v1/tenants/acme/users", `{"userName":"bob@acme.test"}`)
	assert.Equal(t, "agent", bob["role"], "--json is the API's answer")
	bobID := bob["id"].(string)

	// The seat cap: the API's 403 seat_limit is a refusal, exit 1, its message.
	r := s.fails(t, ExitRefused, "seat", "people", "invite", "acme", "carl@acme.test")
	var refusal map[string]any
	require.NoError(t, json.Unmarshal([]byte(s.run(t, "", nil, "people", "invite", "acme", "carl@acme.test", "--json").out), &refusal))
	assert.Equal(t, "seat_limit", refusal["error"], r.err.Error())

	out = s.ok(t, "people", "get", "acme", bobID)
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/users/"+bobID, "")
	assert.Regexp(t, `(?m)^userName:\s+bob@acme.test$`, out)
	assert.Regexp(t, `(?m)^role:\s+agent$`, out)
	assert.Equal(t, bobID, s.idOf(t, "people", "get", "acme", bobID))

	out = s.ok(t, "people", "list", "acme")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/users", "")
	assert.Regexp(t, `(?m)^USERNAME\s+DISPLAY NAME\s+ROLE\s+SEAT\s+ACTIVE\s+MANAGED\s+DRIFTED\s+LAST SIGN-IN\s+ID$`, out)
	assert.Regexp(t, `(?m)^bob@acme.test\s+-\s+agent\s+full\s+yes\s+manual\s+no\s+-\s+`+bobID+`$`, out)
	assert.Regexp(t, `(?m)^ann@acme.test\s+Ann Archer\s+supervisor\s+full\s+yes\s+manual\s+no\s+-\s+\S+$`, out)
	s.ok(t, "people", "list", "acme", "--q", "ANN", "--role", "supervisor", "--active", "true", "--managed", "manual", "--seat", "full", "--team", "t1")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/users?active=true&managed=manual&q=ANN&role=supervisor&seat=full&team=t1", "")

	// Paging: one page and the cursor on stderr; --all every page.
	r = s.run(t, "", nil, "people", "list", "acme", "--limit", "1")
	require.NoError(t, r.err)
	assert.Contains(t, r.out, "bob@acme.test")
	assert.NotContains(t, r.out, "ann@acme.test")
	cursor := regexp.MustCompile(`--cursor (\S+) for the next page`).FindStringSubmatch(r.errOut)
	require.Len(t, cursor, 2, r.errOut)
	out = s.ok(t, "people", "list", "acme", "--limit", "1", "--cursor", cursor[1])
	assert.Contains(t, out, "ann@acme.test")
	all := s.jsonOf(t, "people", "list", "acme", "--limit", "1", "--all")
	assert.Len(t, all["users"], 2)
	assert.Nil(t, all["next_cursor"])
	s.fails(t, ExitRefused, "managed", "people", "list", "acme", "--managed", "ldap")

	out = s.ok(t, "people", "update", "acme", bobID, "--display-name", "Bob Baker", "--role", "", "--store", "s1", "--team", "")
	s.wasSent(t, "PATCH", "/admin/v1/tenants/acme/users/"+bobID, `{"displayName":"Bob Baker","role":"","stores":["s1"],"teams":[]}`)
	assert.Contains(t, out, "bob@acme.test of tenant acme updated.")
	assert.Regexp(t, `(?m)^display name:\s+Bob Baker$`, out)

	out = s.ok(t, "people", "deactivate", "acme", bobID)
	s.wasSent(t, "PATCH", "/admin/v1/tenants/acme/users/"+bobID, `{"active":false}`)
	assert.Contains(t, out, "bob@acme.test of tenant acme deactivated: the seat is released.")
	assert.Regexp(t, `(?m)^seat:\s+none$`, out)
	got := s.jsonOf(t, "people", "reactivate", "acme", bobID)
	s.wasSent(t, "PATCH", "/admin/v1/tenants/acme/users/"+bobID, `{"active":true}`)
	assert.Equal(t, true, got["active"])
	assert.Equal(t, "full", got["seat"])
	s.ok(t, "people", "update", "acme", bobID, "--active", "false")
	s.wasSent(t, "PATCH", "/admin/v1/tenants/acme/users/"+bobID, `{"active":false}`)

	// A person the IdP pushes: a manual change of what it pushes is 409
	// idp_managed, exit 1 with the server's message.
	okta, err := s.store.CreateUser(context.Background(), "acme", store.User{UserName: "olga@acme.test", Active: false, Managed: store.ManagedSCIM, IdP: "okta"}, store.ActorAdmin)
	require.NoError(t, err)
	s.fails(t, ExitRefused, "managed by the IdP okta", "people", "update", "acme", okta.ID, "--display-name", "Olga")
	s.fails(t, ExitRefused, `no user "ghost" in tenant acme`, "people", "get", "acme", "ghost")

	// Bad command lines: exit 2, naming the problem.
	s.fails(t, ExitUsage, "people update: nothing to change", "people", "update", "acme", bobID)
	s.fails(t, ExitUsage, `--active must be true or false, got "maybe"`, "people", "update", "acme", bobID, "--active", "maybe")
	s.fails(t, ExitUsage, "people get needs TENANT ID", "people", "get", "acme")
	s.fails(t, ExitUsage, "people invite needs TENANT USERNAME", "people", "invite", "acme")
	s.fails(t, ExitUsage, "add --yes to confirm", "people", "delete", "acme", bobID)
	s.fails(t, ExitUsage, `unknown subcommand "fire"`, "people", "fire", "acme")

	n := s.mark()
	out = s.ok(t, "people", "delete", "acme", bobID, "--yes")
	require.Len(t, s.requests(n), 1)
	s.wasSent(t, "DELETE", "/admin/v1/tenants/acme/users/"+bobID, "")
	assert.Equal(t, "Person "+bobID+" deleted from tenant acme; their seat is released, their sessions end.\n", out)
}

// TestCLI_teamWrites: teams create, get, rename, add, remove and delete send
// their requests and print the team; refusals exit 1, bad lines exit 2.
func TestCLI_teamWrites(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "trial", "--seats", "5")
	ann := s.idOf(t, "people", "invite", "acme", "ann@acme.test", "--display-name", "Ann")
	bob := s.idOf(t, "people", "invite", "acme", "bob@acme.test", "--display-name", "Bob")

	out := s.ok(t, "teams", "create", "acme", "Support")
	s.wasSent(t, "POST", "/admin/v1/tenants/acme/teams", `{"name":"Support"}`)
	m := regexp.MustCompile(`^Team Support created in tenant acme \(id (\S+)\)\.\n`).FindStringSubmatch(out)
	require.Len(t, m, 2, out)
	team := m[1]
	assert.Regexp(t, `(?m)^kind:\s+team$`, out)
	assert.Regexp(t, `(?m)^members:\s+0$`, out)

	out = s.ok(t, "teams", "add", "acme", team, ann, bob)
	s.wasSent(t, "POST", "/admin/v1/tenants/acme/teams/"+team+"/members", `{"users":["`+ann+`","`+bob+`"]}`)
	assert.Contains(t, out, "2 user(s) added to team Support; it has 2 member(s).")
	assert.Regexp(t, `(?m)^MEMBER\s+ID$`, out)
	assert.Regexp(t, `(?m)^\S+\s+`+ann+`$`, out)

	got := s.jsonOf(t, "teams", "get", "acme", team)
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/teams/"+team, "")
	assert.EqualValues(t, 2, got["member_count"])
	assert.Equal(t, true, got["team"])
	assert.Regexp(t, `(?m)^name:\s+Support$`, s.ok(t, "teams", "get", "acme", team))
	assert.Regexp(t, `(?m)^Support\s+team\s+2\s+`+team+`$`, s.ok(t, "teams", "list", "acme"))

	out = s.ok(t, "teams", "remove", "acme", team, bob)
	s.wasSent(t, "DELETE", "/admin/v1/tenants/acme/teams/"+team+"/members", `{"users":["`+bob+`"]}`)
	assert.Contains(t, out, "1 user(s) removed from team Support; it has 1 member(s).")

	out = s.ok(t, "teams", "rename", "acme", team, "Tier 2")
	s.wasSent(t, "PATCH", "/admin/v1/tenants/acme/teams/"+team, `{"name":"Tier 2"}`)
	assert.Contains(t, out, "Team "+team+" of tenant acme renamed to Tier 2.")

	s.fails(t, ExitRefused, "ghost", "teams", "add", "acme", team, "ghost")
	s.fails(t, ExitRefused, `no team "nope" in tenant acme`, "teams", "get", "acme", "nope")
	s.fails(t, ExitUsage, "teams add needs TENANT ID USER_ID...", "teams", "add", "acme", team)
	s.fails(t, ExitUsage, "teams rename needs TENANT ID NAME", "teams", "rename", "acme", team)
	s.fails(t, ExitUsage, "add --yes to confirm", "teams", "delete", "acme", team)

	out = s.ok(t, "teams", "delete", "acme", team, "--yes")
	s.wasSent(t, "DELETE", "/admin/v1/tenants/acme/teams/"+team, "")
	assert.Equal(t, "Team "+team+" deleted from tenant acme; its members stay users.\n", out)
	s.fails(t, ExitRefused, `no team`, "teams", "get", "acme", team)
}

// TestCLI_adminFirstDay runs README "A tenant admin's first day": the
// operator mints a key, the tenant's admin does the rest with it.
func TestCLI_adminFirstDay(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "enterprise", "--seats", "10")

	out := s.ok(t, "apikey", "create", "acme", "it-admin", "--permissions",
		"users.*,teams.*,billing.view,conversations.*,customers.*,reporting.*,integrations.view")
	key := regexp.MustCompile(auth.APIKeyPattern).FindString(out)
	require.NotEmpty(t, key, out)
	assert.Regexp(t, `^API key "it-admin" created for tenant acme \(id \S+\), with: conversations.view_assigned, conversations.view_all, `, out)
	// The admin's shell has only the key: no operator token.
	env := map[string]string{"ROSTER_API_KEY": key, "ROSTER_ADMIN_TOKEN": ""}
	admin := func(args ...string) string {
		t.Helper()
		r := s.run(t, "", env, args...)
		require.NoError(t, r.err, "rosterd %v", args)
		assert.Equal(t, "Bearer "+key, s.last(t).Auth)
		return r.out
	}

	out = admin("people", "invite", "acme", "ann@acme.test", "--email", "ann@acme.test")
	ann := regexp.MustCompile(`^ann@acme.test invited to tenant acme as agent \(id (\S+)\), active, on a full seat.\n`).FindStringSubmatch(out)
	require.Len(t, ann, 2, out)
	out = admin("people", "invite", "acme", "bob@acme.test", "--email", "bob@acme.test")
	bob := regexp.MustCompile(`\(id (\S+)\)`).FindStringSubmatch(out)
	require.Len(t, bob, 2, out)

	out = admin("users", "role", "acme", "supervisor", "ann@acme.test", "bob@acme.test")
	assert.Contains(t, out, "2 of 2 users now hold role supervisor.\n  ann@acme.test: agent → supervisor\n")

	out = admin("teams", "create", "acme", "Support")
	team := regexp.MustCompile(`^Team Support created in tenant acme \(id (\S+)\)\.`).FindStringSubmatch(out)
	require.Len(t, team, 2, out)
	out = admin("teams", "add", "acme", team[1], ann[1], bob[1])
	assert.Contains(t, out, "2 user(s) added to team Support; it has 2 member(s).")

	out = admin("report", "dormant", "acme")
	assert.Regexp(t, `^2 seat holder\(s\) of tenant acme with no sign-in for 30 days or never \(as of \S+\): \$178.00 per month.\n`, out)

	// The key acts within its tenant only.
	r := s.run(t, "", env, "people", "list", "other")
	assert.Equal(t, ExitRefused, r.code)
}
