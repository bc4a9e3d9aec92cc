package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/store"
)

// fails runs rosterd and checks it exits with code and a message containing msg.
func (s *cliServer) fails(t *testing.T, code int, msg string, args ...string) cliResult {
	t.Helper()
	r := s.run(t, "", nil, args...)
	assert.Equal(t, code, r.code, "rosterd %s: %v", strings.Join(args, " "), r.err)
	if assert.Error(t, r.err, "rosterd %s", strings.Join(args, " ")) {
		assert.Contains(t, r.err.Error(), msg, "rosterd %s", strings.Join(args, " "))
	}
	return r
}

// jsonOf runs rosterd with --json and decodes what it printed.
func (s *cliServer) jsonOf(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out := s.ok(t, append(args, "--json")...)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &m), out)
	return m
}

// wasSent checks the last request: method, path with query, and (when body
// is not "") its JSON body.
func (s *cliServer) wasSent(t *testing.T, method, uri, body string) {
	t.Helper()
	r := s.last(t)
	assert.Equal(t, method+" "+uri, r.Method+" "+r.URI)
	if body != "" {
		assert.JSONEq(t, body, r.Body)
	}
}

func TestCLI_roles(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "enterprise", "--seats", "10")

	out := s.ok(t, "roles", "create", "acme", "lead", "--permissions", "conversations.view_all, reporting.view_org",
		"--description", "Team leads", "--seat-class", "light")
	s.wasSent(t, "POST", "/admin/v1/tenants/acme/roles",
		`{"name":"lead","description":"Team leads","permissions":["conversations.view_all","reporting.view_org"],"privileged":false,"seat_class":"light"}`)
	assert.Contains(t, out, "Role lead created in tenant acme.")
	assert.Regexp(t, `seat class:\s+light`, out)
	assert.Regexp(t, `permissions:\s+conversations.view_all, reporting.view_org`, out)

	got := s.jsonOf(t, "roles", "create", "acme", "--privileged", "auditor2", "--permissions", "")
	assert.Equal(t, "auditor2", got["name"])
	assert.Equal(t, true, got["privileged"])
	assert.Equal(t, []any{}, got["permissions"])

	_, err := s.store.CreateUser(context.Background(), "acme", store.User{UserName: "ann@acme.test", Active: true, ExplicitRole: "lead"}, store.ActorAdmin)
	require.NoError(t, err)

	out = s.ok(t, "roles", "list", "acme")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/roles", "")
	assert.Regexp(t, `(?m)^NAME\s+KIND\s+SEAT\s+PRIVILEGED\s+USERS\s+PERMISSIONS$`, out)
	assert.Regexp(t, `(?m)^lead\s+custom\s+light\s+no\s+1\s+conversations.view_all,reporting.view_org$`, out)
	assert.Regexp(t, `(?m)^admin\s+built-in\s+full\s+yes\s+0\s+`, out)
	assert.Contains(t, out, "Default role (for users no role or mapping decides): agent")
	list := s.jsonOf(t, "roles", "list", "acme")
	assert.Len(t, list["roles"], 5)
	assert.NotEmpty(t, list["catalogue"], "--json is the API's whole answer")

	out = s.ok(t, "roles", "get", "acme", "lead")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/roles/lead", "")
	assert.Regexp(t, `users:\s+1`, out)
	assert.Regexp(t, `description:\s+Team leads`, out)
	assert.Equal(t, "lead", s.jsonOf(t, "roles", "get", "acme", "lead")["name"])

	// update reads the role and sends it whole with the flags given changed.
	n := s.mark()
	out = s.ok(t, "roles", "update", "acme", "lead", "--privileged")
	reqs := s.requests(n)
	require.Len(t, reqs, 2)
	assert.Equal(t, "GET /admin/v1/tenants/acme/roles/lead", reqs[0].Method+" "+reqs[0].URI)
	assert.Equal(t, "PUT /admin/v1/tenants/acme/roles/lead", reqs[1].Method+" "+reqs[1].URI)
	assert.JSONEq(t, `{"description":"Team leads","permissions":["conversations.view_all","reporting.view_org"],"privileged":true,"seat_class":"light"}`, reqs[1].Body)
	assert.Contains(t, out, "Role lead of tenant acme updated.")
	assert.Regexp(t, `privileged:\s+yes`, out)
	got = s.jsonOf(t, "roles", "update", "acme", "lead", "--privileged=false", "--permissions", "reporting.view_org")
	assert.Equal(t, false, got["privileged"])
	assert.Equal(t, []any{"reporting.view_org"}, got["permissions"])
	assert.Equal(t, "Team leads", got["description"])

	// Refusals by the API: exit 1 with its message.
	s.fails(t, ExitRefused, "role lead is held by 1 user(s); add --replacement ROLE", "roles", "delete", "acme", "lead")
	s.wasSent(t, "DELETE", "/admin/v1/tenants/acme/roles/lead", "")
	s.fails(t, ExitRefused, "admin is a built-in role", "roles", "create", "acme", "admin", "--permissions", "")
	s.fails(t, ExitRefused, "permissions", "roles", "create", "acme", "x", "--permissions", "no.such_flag")
	s.fails(t, ExitRefused, `no role "ghost" in tenant acme`, "roles", "get", "acme", "ghost")
	s.fails(t, ExitRefused, "cannot be changed", "roles", "update", "acme", "admin", "--description", "x")

	out = s.ok(t, "roles", "delete", "acme", "lead", "--replacement", "supervisor")
	s.wasSent(t, "DELETE", "/admin/v1/tenants/acme/roles/lead?replacement=supervisor", "")
	assert.Contains(t, out, "Role lead deleted from tenant acme.")
	u, err := s.store.GetUserByUserName(context.Background(), "acme", "ann@acme.test")
	require.NoError(t, err)
	assert.Equal(t, "supervisor", u.Role)

	// A plan without custom roles: the API's 403 is a refusal, exit 1.
	s.ok(t, "tenant", "create", "small", "--plan", "trial")
	s.fails(t, ExitRefused, "custom roles need the", "roles", "create", "small", "lead", "--permissions", "")

	// Bad command lines: exit 2, nothing sent.
	n = s.mark()
	s.fails(t, ExitUsage, "--permissions is required", "roles", "create", "acme", "lead")
	s.fails(t, ExitUsage, "nothing to change", "roles", "update", "acme", "auditor2")
	s.fails(t, ExitUsage, "roles get needs TENANT ROLE", "roles", "get", "acme")
	s.fails(t, ExitUsage, "invalid boolean", "roles", "update", "acme", "auditor2", "--privileged=maybe")
	s.fails(t, ExitUsage, `unknown subcommand "show"`, "roles", "show", "acme")
	assert.Empty(t, s.requests(n))
}

func TestCLI_roleMappings(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate", "--seats", "10")
	_, err := s.store.CreateGroup(context.Background(), "acme", store.Group{DisplayName: "Support Admins"}, store.ActorAdmin)
	require.NoError(t, err)

	out := s.ok(t, "role-mappings", "set", "acme", "Support Admins=admin", "Leads=supervisor")
	s.wasSent(t, "PUT", "/admin/v1/tenants/acme/role-mappings",
		`[{"group":"Support Admins","role":"admin"},{"group":"Leads","role":"supervisor"}]`)
	assert.Contains(t, out, "Role mappings of tenant acme replaced (2)")
	assert.Regexp(t, `(?m)^#\s+GROUP\s+ROLE\s+MEMBERS$`, out)
	assert.Regexp(t, `(?m)^1\s+Support Admins\s+admin\s+0$`, out)
	assert.Regexp(t, `(?m)^2\s+Leads\s+supervisor\s+no such group yet$`, out)

	out = s.ok(t, "role-mappings", "get", "acme")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/role-mappings", "")
	assert.Regexp(t, `(?m)^1\s+Support Admins\s+admin`, out)
	got := s.jsonOf(t, "role-mappings", "get", "acme")
	require.Len(t, got["mappings"], 2)
	assert.Equal(t, "Leads", got["mappings"].([]any)[1].(map[string]any)["group"])

	// A group name with "=" in it: the last "=" separates the role.
	got = s.jsonOf(t, "role-mappings", "set", "acme", "a=b=agent")
	assert.Equal(t, "a=b", got["mappings"].([]any)[0].(map[string]any)["group"])

	s.fails(t, ExitRefused, "wizard", "role-mappings", "set", "acme", "Leads=wizard")
	m, err := s.store.GetRoleMappings(context.Background(), "acme")
	require.NoError(t, err)
	assert.Len(t, m, 1, "a refused set changes nothing")

	n := s.mark()
	s.fails(t, ExitUsage, "add --yes to confirm", "role-mappings", "set", "acme")
	s.fails(t, ExitUsage, `"Leads" is not GROUP=ROLE`, "role-mappings", "set", "acme", "Leads")
	s.fails(t, ExitUsage, `"=admin" is not GROUP=ROLE`, "role-mappings", "set", "acme", "=admin")
	s.fails(t, ExitUsage, "role-mappings set needs TENANT GROUP=ROLE", "role-mappings", "set")
	s.fails(t, ExitUsage, "role-mappings get needs TENANT", "role-mappings", "get")
	assert.Empty(t, s.requests(n))

	out = s.ok(t, "role-mappings", "set", "acme", "--yes")
	s.wasSent(t, "PUT", "/admin/v1/tenants/acme/role-mappings", `[]`)
	assert.Contains(t, out, "No role mappings")
	s.fails(t, ExitRefused, `no tenant "nope"`, "role-mappings", "get", "nope")
}

func TestCLI_stores(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate", "--seats", "10")

	out := s.ok(t, "stores", "create", "acme", "store-1", "Main store")
	s.wasSent(t, "POST", "/admin/v1/tenants/acme/stores", `{"id":"store-1","name":"Main store"}`)
	assert.Contains(t, out, "Store store-1 (Main store) created in tenant acme.")
	got := s.jsonOf(t, "stores", "create", "acme", "store-2", "Airport")
	assert.Equal(t, "store-2", got["id"])

	_, err := s.store.CreateUser(context.Background(), "acme", store.User{UserName: "ann@acme.test", Active: true, Stores: []string{"store-1"}}, store.ActorAdmin)
	require.NoError(t, err)

	out = s.ok(t, "stores", "list", "acme")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/stores", "")
	assert.Regexp(t, `(?m)^ID\s+NAME\s+CREATED\s+UPDATED$`, out)
	assert.Regexp(t, `(?m)^store-1\s+Main store\s+\S+\s+\S+$`, out)
	assert.Len(t, s.jsonOf(t, "stores", "list", "acme")["stores"], 2)

	out = s.ok(t, "stores", "rename", "acme", "store-1", "Main street")
	s.wasSent(t, "PATCH", "/admin/v1/tenants/acme/stores/store-1", `{"name":"Main street"}`)
	assert.Contains(t, out, "Store store-1 of tenant acme renamed to Main street.")

	out = s.ok(t, "stores", "delete", "acme", "store-1")
	s.wasSent(t, "DELETE", "/admin/v1/tenants/acme/stores/store-1", "")
	assert.Contains(t, out, "Store store-1 deleted from tenant acme; 1 user(s) lost access to it.")
	assert.Equal(t, 0.0, s.jsonOf(t, "stores", "delete", "acme", "store-2")["users_updated"])

	s.fails(t, ExitRefused, `tenant acme has no store "store-1"`, "stores", "delete", "acme", "store-1")
	s.fails(t, ExitRefused, `tenant acme has no store "x"`, "stores", "rename", "acme", "x", "Y")
	n := s.mark()
	s.fails(t, ExitUsage, "stores create needs TENANT ID NAME", "stores", "create", "acme", "store-3")
	s.fails(t, ExitUsage, "stores rename needs TENANT ID NAME", "stores", "rename", "acme", "store-3", "A", "B")
	s.fails(t, ExitUsage, "stores delete needs TENANT ID", "stores", "delete", "acme")
	assert.Empty(t, s.requests(n))
}

func TestCLI_teams(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate", "--seats", "10")
	ctx := context.Background()
	u, err := s.store.CreateUser(ctx, "acme", store.User{UserName: "ann@acme.test", Active: true}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.store.CreateGroup(ctx, "acme", store.Group{DisplayName: "Tier 1", Members: []store.Member{{UserID: u.ID}}}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.store.CreateGroup(ctx, "acme", store.Group{DisplayName: "Support Admins"}, store.ActorAdmin)
	require.NoError(t, err)
	s.ok(t, "role-mappings", "set", "acme", "Support Admins=admin")

	out := s.ok(t, "teams", "list", "acme")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/teams", "")
	assert.Regexp(t, `(?m)^NAME\s+KIND\s+MEMBERS\s+ID$`, out)
	assert.Regexp(t, `(?m)^Tier 1\s+team\s+1\s+\S+$`, out)
	assert.Regexp(t, `(?m)^Support Admins\s+role group → admin\s+0\s+\S+$`, out)
	got := s.jsonOf(t, "teams", "list", "acme")
	assert.Len(t, got["teams"], 1)
	assert.Len(t, got["role_groups"], 1)

	s.fails(t, ExitRefused, `no tenant "nope"`, "teams", "list", "nope")
	s.fails(t, ExitUsage, "teams list needs TENANT", "teams", "list")
	s.fails(t, ExitUsage, `unknown subcommand "make"`, "teams", "make", "acme", "x")
}

// scimPost sends a SCIM POST with the tenant's token.
func (s *cliServer) scimPost(t *testing.T, tenant, token, path, body string) {
	t.Helper()
	req, err := http.NewRequest("POST", s.url+"/scim/v2/"+tenant+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode)
}

func TestCLI_approvals(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate", "--seats", "10", "--setting", "privileged_roles=approve")
	s.ok(t, "saml", "set", "acme", "../../testdata/saml/okta.xml")
	token := regexp.MustCompile(auth.Pattern).FindString(s.ok(t, "token", "create", "acme", "okta"))
	require.NotEmpty(t, token)
	for _, name := range []string{"carol", "dave"} {
		s.scimPost(t, "acme", token, "/Users", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"%s@acme.test","active":true,"roles":[{"primary":true,"value":"admin"}]}`, name))
	}

	out := s.ok(t, "approvals", "list", "acme")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/approvals", "")
	assert.Regexp(t, `(?m)^ID\s+USER\s+ROLE\s+STATUS\s+CURRENT ROLE\s+REQUESTED BY\s+REQUESTED\s+DECIDED$`, out)
	assert.Regexp(t, `(?m)^\S+\s+carol@acme.test\s+admin\s+pending\s+agent\s+token okta\s+\S+\s+-$`, out)
	assert.Contains(t, out, "SCIM grants of privileged roles: approve")
	list := s.jsonOf(t, "approvals", "list", "acme")
	require.Len(t, list["approvals"], 2)
	ids := map[string]string{}
	for _, a := range list["approvals"].([]any) {
		ids[a.(map[string]any)["user_name"].(string)] = a.(map[string]any)["id"].(string)
	}

	out = s.ok(t, "approvals", "approve", "acme", ids["carol@acme.test"])
	s.wasSent(t, "POST", "/admin/v1/tenants/acme/approvals/"+ids["carol@acme.test"], `{"decision":"approve"}`)
	assert.Contains(t, out, "approved: carol@acme.test now holds role admin.")
	got := s.jsonOf(t, "approvals", "reject", "acme", ids["dave@acme.test"])
	s.wasSent(t, "POST", "/admin/v1/tenants/acme/approvals/"+ids["dave@acme.test"], `{"decision":"reject"}`)
	assert.Equal(t, "rejected", got["status"])

	out = s.ok(t, "approvals", "list", "acme", "--status", "all")
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/approvals?status=all", "")
	assert.Regexp(t, `carol@acme.test\s+admin\s+approved\s+admin`, out)
	assert.Regexp(t, `dave@acme.test\s+admin\s+rejected\s+agent`, out)

	s.fails(t, ExitRefused, "already", "approvals", "approve", "acme", ids["dave@acme.test"])
	s.fails(t, ExitRefused, "status: must be pending", "approvals", "list", "acme", "--status", "maybe")
	s.fails(t, ExitRefused, `no approval "nope"`, "approvals", "reject", "acme", "nope")
	s.fails(t, ExitUsage, "approvals approve needs TENANT ID", "approvals", "approve", "acme")
	s.fails(t, ExitUsage, "flag needs an argument", "approvals", "list", "acme", "--status")
}

func TestCLI_jobs(t *testing.T) {
	s := newCLIServer(t)
	s.ok(t, "tenant", "create", "acme", "--plan", "ultimate", "--seats", "10")
	file := filepath.Join(t.TempDir(), "agents.csv")
	require.NoError(t, os.WriteFile(file, []byte("email,role\na1@acme.test,agent\na2@acme.test,wizard\n"), 0o600))
	r := s.run(t, "", nil, "users", "import", "acme", file, "--json")
	require.Equal(t, ExitRefused, r.code, "a row failed")
	var job map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.out), &job), r.out)
	id := job["id"].(string)

	out := s.ok(t, "jobs", "get", "acme", id)
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/jobs/"+id, "")
	assert.Regexp(t, `state:\s+succeeded`, out)
	assert.Regexp(t, `progress:\s+2 of 2 rows`, out)
	assert.Regexp(t, `counts:\s+1 created, 1 failed`, out)
	assert.Equal(t, "succeeded", s.jsonOf(t, "jobs", "get", "acme", id)["state"])

	out = s.ok(t, "jobs", "results", "acme", id)
	s.wasSent(t, "GET", "/admin/v1/tenants/acme/jobs/"+id+"/results?from=0", "")
	assert.Regexp(t, `(?m)^LINE\s+EMAIL\s+USERNAME\s+STATUS\s+ROLE\s+ERRORS$`, out)
	assert.Regexp(t, `(?m)^2\s+a1@acme.test\s+a1@acme.test\s+created\s+agent\s+-$`, out)
	assert.Regexp(t, `(?m)^3\s+a2@acme.test\s+\S+\s+failed\s+\S+\s+role "wizard" does not exist`, out)
	got := s.jsonOf(t, "jobs", "results", "acme", id)
	assert.Len(t, got["results"], 2)
	assert.Equal(t, "succeeded", got["state"])
	assert.NotContains(t, got, "next")

	s.fails(t, ExitRefused, `job "nope" not found in tenant acme`, "jobs", "get", "acme", "nope")
	s.fails(t, ExitRefused, `job "nope" not found`, "jobs", "results", "acme", "nope")
	s.fails(t, ExitUsage, "jobs get needs TENANT JOB_ID", "jobs", "get", "acme")
	s.fails(t, ExitUsage, "jobs results needs TENANT JOB_ID", "jobs", "results", "acme", id, "x")
}
