package main

// End-to-end roles: Okta group push onto a mapped group, Entra's
// app-role PATCH (a JSON-encoded string), the privileged-role policy and its
// approval, through rosterd's whole handler on both stores.

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestE2E_rolesThroughOktaAndEntra(t *testing.T) {
	forEachStore(t, testE2ERoles)
}

func roleOfUser(u map[string]any) string {
	ext, _ := u[rosterExt].(map[string]any)
	r, _ := ext["role"].(string)
	return r
}

func testE2ERoles(t *testing.T, open storeOpener) {
	e, _ := newE2E(t, time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), open)
	okta, entra := e.setUpAcme(`{"id":"acme","name":"Acme","plan":"ultimate","seats":10}`, oktaMetadata(t))

	// The operator: a light custom role and two role groups.
	r := e.admin("POST", "/tenants/acme/roles", `{"name":"auditor","permissions":["reporting.view_org","conversations.view_all"],"seat_class":"light"}`)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	r = e.admin("PUT", "/tenants/acme/role-mappings", `[{"group":"Support Admins","role":"supervisor"},{"group":"Auditors","role":"auditor"}]`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)

	// Okta creates Ann without a role: the default role.
	ann := e.scimOK(e.okta(okta, "POST", "/Users", oktaUser("ann@acme.test", true, "")), http.StatusCreated, "okta create")
	annID := ann["id"].(string)
	assert.Equal(t, "agent", roleOfUser(ann))

	// Okta Group Push: lookup, create, then the rename-with-every-update and a member delta.
	r = e.okta(okta, "GET", "/Groups?filter="+url.QueryEscape(`displayName eq "Support Admins"`), "")
	assert.Equal(t, 0.0, e.scimOK(r, http.StatusOK, "group lookup")["totalResults"])
	g := e.scimOK(e.okta(okta, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Support Admins","members":[]}`),
		http.StatusCreated, "group push create")
	gid := g["id"].(string)
	r = e.okta(okta, "PATCH", "/Groups/"+gid, `{`+patchOp+`,"Operations":[
		{"op":"replace","value":{"id":"`+gid+`","displayName":"Support Admins"}},
		{"op":"add","path":"members","value":[{"value":"`+annID+`","display":"ann@acme.test"}]}]}`)
	require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
	ann = e.scimOK(e.okta(okta, "GET", "/Users/"+annID, ""), http.StatusOK, "get")
	assert.Equal(t, "supervisor", roleOfUser(ann), "joining a mapped group re-resolves at once")
	r = e.okta(okta, "GET", "/Users?filter="+url.QueryEscape(`urn:ietf:params:scim:schemas:extension:roster:2.0:User:role eq "supervisor"`), "")
	assert.Equal(t, 1.0, e.scimOK(r, http.StatusOK, "role filter")["totalResults"])
	r = e.okta(okta, "PATCH", "/Groups/"+gid, `{`+patchOp+`,"Operations":[{"op":"remove","path":"members[value eq \"`+annID+`\"]"}]}`)
	require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
	ann = e.scimOK(e.okta(okta, "GET", "/Users/"+annID, ""), http.StatusOK, "get")
	assert.Equal(t, "agent", roleOfUser(ann), "leaving it re-resolves at once")

	// The role group is not a team.
	r = e.admin("GET", "/tenants/acme/teams", "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Empty(t, r.Body["teams"])
	assert.Len(t, r.Body["role_groups"], 1)

	// Entra: the single-role PATCH carries the app role as a JSON-encoded string.
	bob := e.scimOK(e.entra(entra, "POST", "/Users", entraUser("bob@acme.test", true)), http.StatusCreated, "entra create")
	bobID := bob["id"].(string)
	r = e.entra(entra, "PATCH", "/Users/"+bobID, `{`+patchOp+`,"Operations":[{"op":"Add","path":"roles","value":[
		{"value":"{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"Auditor\",\"displayName\":\"Auditor\"}"}]}]}`)
	bob = e.scimOK(r, http.StatusOK, "entra role patch")
	assert.Equal(t, "auditor", roleOfUser(bob))
	assert.Equal(t, "light", seatOf(bob), "a light role moves the seat")

	// An unknown role is a 400 invalidValue naming it and the roles; nothing changes.
	r = e.entra(entra, "PATCH", "/Users/"+bobID, `{`+patchOp+`,"Operations":[{"op":"replace","path":"roles","value":[{"primary":true,"value":"Wizard"}]}]}`)
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	assert.Equal(t, "invalidValue", r.Body["scimType"])
	assert.Contains(t, r.Body["detail"], `role "wizard" does not exist in this tenant; roles: admin, supervisor, agent, auditor`)
	bob = e.scimOK(e.entra(entra, "GET", "/Users/"+bobID, ""), http.StatusOK, "get")
	assert.Equal(t, "auditor", roleOfUser(bob))

	// A privileged role over SCIM: refused by default, with directions.
	carol := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"carol@acme.test","active":true,
		"roles":[{"primary":true,"type":"WindowsAzureActiveDirectoryRole","value":"Admin"}]}`
	r = e.entra(entra, "POST", "/Users", carol)
	require.Equal(t, http.StatusForbidden, r.Status, r.Raw)
	assert.Contains(t, r.Body["detail"], `a Roster administrator must allow them: PATCH /admin/v1/tenants/acme with {"settings":{"privileged_roles":"allow"}}`)

	// With "approve", the user gets the default role now and an approval waits.
	r = e.admin("PATCH", "/tenants/acme", `{"settings":{"privileged_roles":"approve"}}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	c := e.scimOK(e.entra(entra, "POST", "/Users", carol), http.StatusCreated, "approve")
	assert.Equal(t, "agent", roleOfUser(c))
	r = e.admin("GET", "/tenants/acme/approvals", "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	list := r.Body["approvals"].([]any)
	require.Len(t, list, 1)
	aid := list[0].(map[string]any)["id"].(string)
	r = e.admin("POST", "/tenants/acme/approvals/"+aid, `{"decision":"approve"}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	c = e.scimOK(e.entra(entra, "GET", "/Users/"+c["id"].(string), ""), http.StatusOK, "get")
	assert.Equal(t, "admin", roleOfUser(c))

	// Deleting a role group re-resolves its members.
	r = e.okta(okta, "PATCH", "/Groups/"+gid, `{`+patchOp+`,"Operations":[{"op":"add","path":"members","value":[{"value":"`+annID+`"}]}]}`)
	require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
	r = e.okta(okta, "DELETE", "/Groups/"+gid, "")
	require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
	ann = e.scimOK(e.okta(okta, "GET", "/Users/"+annID, ""), http.StatusOK, "get")
	assert.Equal(t, "agent", roleOfUser(ann))

	// Every privileged grant is in the audit trail.
	r = e.admin("GET", "/tenants/acme/audit?action=role.privileged_granted", "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Len(t, r.Body["events"], 1)
}
