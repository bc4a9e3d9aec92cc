package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rolesOf is GET …/roles as name → role.
func rolesOf(t *testing.T, site *consoleSite) map[string]map[string]any {
	t.Helper()
	var out struct {
		Roles []map[string]any `json:"roles"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/roles", nil, &out))
	m := map[string]map[string]any{}
	for _, r := range out.Roles {
		m[r["name"].(string)] = r
	}
	return m
}

// TestBrowser_rolesCustomRoleInTheMatrix: an admin creates a custom role
// with flags of two areas and a light seat in the editor; the matrix shows
// its flags, its light seat and, once someone holds it, the count; an edit
// adds a flag; a delete moves its holder to the replacement role.
func TestBrowser_rolesCustomRoleInTheMatrix(t *testing.T) {
	site := newConsoleSite(t)
	site.person("ann@demo.test", "Ann Admin", "admin")
	b := site.newBrowser()
	b.signInWithSSO("/console/demo/roles", "ann@demo.test")
	assert.Equal(t, "Roles", b.text("h1"))
	assert.Equal(t, 3, b.count(".matrix tbody tr"), "the three built-in roles")
	assert.Equal(t, 28, b.count(".matrix tr[data-role=admin] .yes"), "admin holds every flag of the catalogue")
	assert.Contains(t, b.text(".matrix tr[data-role=admin]"), "privileged")
	assert.Equal(t, 8, b.count(".matrix th.area-h"), "one column group per area of the catalogue")

	b.click("a[href='/console/demo/roles/new']", "#role-name")
	b.fill("#role-name", "auditor")
	b.fill("#role-desc", "Reads organisation reports")
	b.click("input[name=perm][value='reporting.view_org']")
	b.click("input[name=perm][value='reporting.export']")
	b.click("input[name=perm][value='users.view']")
	b.click("input[name=seat_class][value=light]")
	b.shot("role-edit")
	b.submit("form.role-editor button.primary", ".notice")
	assert.Contains(t, b.text(".notice"), "Role auditor created with 3 permissions")

	role := rolesOf(t, site)["auditor"]
	require.NotNil(t, role, "the role exists in the API")
	assert.ElementsMatch(t, []any{"reporting.view_org", "reporting.export", "users.view"}, role["permissions"])
	assert.Equal(t, "light", role["seat_class"])
	assert.Equal(t, 3, b.count(".matrix tr[data-role=auditor] .yes"))
	assert.Contains(t, b.text(".matrix tr[data-role=auditor]"), "light")
	assert.Equal(t, "0", b.text(".matrix tr[data-role=auditor] .holders"))

	// Given to someone through the API, the count follows.
	site.person("dan@demo.test", "Dan Auditor", "auditor")
	b.open("/console/demo/roles")
	assert.Equal(t, "1", b.text(".matrix tr[data-role=auditor] .holders"))
	b.shot("roles")

	// Edit: one more flag.
	b.click(".matrix tr[data-role=auditor] th a", "#role-desc")
	assert.Equal(t, 3, eval[int](b, `document.querySelectorAll("input[name=perm]:checked").length`))
	b.click("input[name=perm][value='customers.view']")
	b.submit("form.role-editor button.primary", ".notice")
	assert.Contains(t, rolesOf(t, site)["auditor"]["permissions"], "customers.view")
	assert.Equal(t, 4, b.count(".matrix tr[data-role=auditor] .yes"))

	// Delete, moving Dan to agent.
	b.open("/console/demo/roles/auditor/edit")
	b.choose("#replacement", "agent")
	b.submit("button.danger", ".notice")
	assert.Contains(t, b.text(".notice"), "Role auditor deleted; its holders now have the role agent")
	assert.NotContains(t, rolesOf(t, site), "auditor")
	assert.Equal(t, 0, b.count(".matrix tr[data-role=auditor]"))
}

// TestBrowser_rolesEditorShowsTheRefusal: a person who may edit roles but
// does not hold billing.manage cannot make a role with it; the editor shows
// the API's sentence naming the permission, keeps what was typed, and no
// role is made.
func TestBrowser_rolesEditorShowsTheRefusal(t *testing.T) {
	site := newConsoleSite(t)
	require.Equal(t, http.StatusCreated, site.api(site.admin, "POST", "/admin/v1/tenants/demo/roles", map[string]any{
		"name": "rolemgr", "permissions": []string{"users.view", "users.roles"}}, &map[string]any{}))
	site.person("rita@demo.test", "Rita Roles", "rolemgr")
	b := site.newBrowser()
	b.signInWithSSO("/console/demo/roles/new", "rita@demo.test")
	b.fill("#role-name", "bigboss")
	b.click("input[name=perm][value='billing.manage']")
	b.submit("form.role-editor button.primary", ".problem")
	assert.Contains(t, b.text(".problem"), "billing.manage")
	assert.Equal(t, "bigboss", eval[string](b, `document.querySelector("#role-name").value`), "what was typed is kept")
	assert.True(t, eval[bool](b, `document.querySelector("input[value='billing.manage']").checked`))
	assert.NotContains(t, rolesOf(t, site), "bigboss")
}

// TestBrowser_rolesMappingsReorderAndApprovals: the mappings are shown in
// precedence order and moved with the Up buttons (the API's order changes),
// one is added and removed; a privileged grant the IdP sent under
// privileged_roles=approve waits in the queue and is approved from the page.
func TestBrowser_rolesMappingsReorderAndApprovals(t *testing.T) {
	site := newConsoleSite(t)
	site.person("ann@demo.test", "Ann Admin", "admin")
	require.Equal(t, http.StatusOK, site.api(site.admin, "PUT", "/admin/v1/tenants/demo/role-mappings", []map[string]string{
		{"group": "Support", "role": "supervisor"}, {"group": "Agents", "role": "agent"}}, &map[string]any{}))
	mappings := func() []string {
		var out struct {
			Mappings []struct{ Group, Role string } `json:"mappings"`
		}
		require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/role-mappings", nil, &out))
		var g []string
		for _, m := range out.Mappings {
			g = append(g, m.Group+"→"+m.Role)
		}
		return g
	}

	b := site.newBrowser()
	b.signInWithSSO("/console/demo/roles", "ann@demo.test")
	assert.Equal(t, []string{"Support", "Agents"}, b.texts(".mappings td.group"))
	b.submit("button[aria-label='Move Agents up']", ".notice")
	assert.Equal(t, []string{"Agents", "Support"}, b.texts(".mappings td.group"))
	assert.Equal(t, []string{"Agents→agent", "Support→supervisor"}, mappings())

	b.fill("#map-group", "Night shift")
	b.choose("#map-role", "supervisor")
	b.submit("form.add-mapping button", ".notice")
	assert.Equal(t, []string{"Agents→agent", "Support→supervisor", "Night shift→supervisor"}, mappings())
	b.submit("button[aria-label='Remove the mapping of Night shift']", ".notice")
	assert.Equal(t, []string{"Agents→agent", "Support→supervisor"}, mappings())

	// A privileged grant held for approval.
	require.Equal(t, http.StatusOK, site.api(site.admin, "PATCH", "/admin/v1/tenants/demo", map[string]any{
		"settings": map[string]any{"privileged_roles": "approve"}}, &map[string]any{}))
	var carol struct {
		ID string `json:"id"`
	}
	require.Equal(t, http.StatusCreated, site.api(site.scim, "POST", "/scim/v2/demo/Users", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "carol@demo.test", "active": true,
		"roles": []map[string]any{{"primary": true, "value": "admin"}}}, &carol))
	b.open("/console/demo/roles")
	require.Equal(t, 1, b.count("#approvals tr[data-approval]"))
	row := b.text("#approvals tr[data-approval]")
	assert.Contains(t, row, "carol@demo.test")
	assert.Contains(t, row, "admin")
	b.shot("roles-approvals")
	b.submit("#approvals button[value=approve]", ".notice")
	assert.Contains(t, b.text(".notice"), "carol@demo.test now has the role admin")
	var u struct {
		Role string `json:"role"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/users/"+carol.ID, nil, &u))
	assert.Equal(t, "admin", u.Role)
	assert.Equal(t, 0, b.count("#approvals tr[data-approval]"))

	// Denied: the person keeps the role they have.
	var dave struct {
		ID string `json:"id"`
	}
	require.Equal(t, http.StatusCreated, site.api(site.scim, "POST", "/scim/v2/demo/Users", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "dave@demo.test", "active": true,
		"roles": []map[string]any{{"primary": true, "value": "admin"}}}, &dave))
	b.open("/console/demo/roles")
	b.submit("#approvals button[value=reject]", ".notice")
	assert.Contains(t, b.text(".notice"), "Denied: dave@demo.test keeps the role agent")
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/users/"+dave.ID, nil, &u))
	assert.Equal(t, "agent", u.Role)
	var rejected struct {
		Approvals []struct{ Status string } `json:"approvals"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/approvals?status=rejected", nil, &rejected))
	assert.Len(t, rejected.Approvals, 1)

	b.phone()
	b.open("/console/demo/roles")
	b.shot("roles-phone")
}
