package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBrowser_teamsCreateAddRemoveRename: an admin creates a team, finds a
// person by part of their email and adds them, removes them, renames the
// team and deletes it; each step is in the API's answer. A team the IdP
// pushed is listed as such, and renaming it shows the API's idp_managed
// sentence on the page.
func TestBrowser_teamsCreateAddRemoveRename(t *testing.T) {
	site := newConsoleSite(t)
	site.person("ann@demo.test", "Ann Admin", "admin")
	bob := site.person("bob@demo.test", "Bob Agent", "")
	var pushed struct {
		ID string `json:"id"`
	}
	require.Equal(t, http.StatusCreated, site.api(site.scim, "POST", "/scim/v2/demo/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Okta Sales",
		"members": []map[string]any{{"value": bob}}}, &pushed))
	team := func(id string) map[string]any {
		var out map[string]any
		require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/teams/"+id, nil, &out))
		return out
	}

	b := site.newBrowser()
	b.signInWithSSO("/console/demo/teams", "ann@demo.test")
	assert.Equal(t, "Teams", b.text("h1"))
	assert.Contains(t, b.text("tr[data-team='"+pushed.ID+"']"), "(SCIM)")
	assert.Contains(t, b.text("tr[data-team='"+pushed.ID+"']"), "1")

	b.fill("#team-name", "Night shift")
	b.submit("form.create-team button", ".notice")
	assert.Equal(t, "Night shift", b.text("h1"))
	loc := b.location()
	require.Contains(t, loc, "/console/demo/teams/")
	id := loc[len("/console/demo/teams/"):]
	if i := strings.IndexByte(id, '?'); i >= 0 {
		id = id[:i]
	}
	assert.Equal(t, "manual", team(id)["managed"])

	b.fill("#q", "bob@demo")
	b.click("form[role=search] button", "tr[data-hit]")
	b.submit("button[aria-label='Add bob@demo.test to the team']", ".notice")
	assert.Contains(t, b.text(".notice"), "bob@demo.test added to the team")
	assert.Equal(t, "1", b.text(".member-count"))
	assert.Equal(t, 1.0, team(id)["member_count"])
	b.shot("team")

	b.submit("tr[data-member='"+bob+"'] button", ".notice")
	assert.Equal(t, "0", b.text(".member-count"))
	assert.Equal(t, 0.0, team(id)["member_count"])

	b.fill("#new-name", "Late shift")
	b.submit("form[action$='/rename'] button", ".notice")
	assert.Equal(t, "Late shift", b.text("h1"))
	assert.Equal(t, "Late shift", team(id)["name"])

	b.open("/console/demo/teams")
	assert.Contains(t, b.text("tr[data-team='"+id+"']"), "made by hand")
	b.shot("teams")

	// The IdP's team: the API refuses, the page says why.
	b.open("/console/demo/teams/" + pushed.ID)
	b.fill("#new-name", "Sales")
	b.submit("form[action$='/rename'] button", ".problem")
	assert.Contains(t, b.text(".problem"), "managed by the IdP")
	assert.Equal(t, "Okta Sales", team(pushed.ID)["name"])

	// Delete the hand-made team.
	b.open("/console/demo/teams/" + id)
	b.submit("form[action$='/delete'] button", ".notice")
	assert.Equal(t, "/console/demo/teams", b.location()[:len("/console/demo/teams")])
	assert.Equal(t, 0, b.count("tr[data-team='"+id+"']"))
	assert.Equal(t, http.StatusNotFound, site.api(site.admin, "GET", "/admin/v1/tenants/demo/teams/"+id, nil, nil))

	b.phone()
	b.open("/console/demo/teams/" + pushed.ID)
	b.shot("team-phone")
}

// TestBrowser_teamsReadOnlyWithoutManage: an agent (teams.view without
// teams.manage) sees the teams and their members but no form to change
// them, and has no Roles or Audit page in the navigation; the Audit page
// reached anyway answers the API's refusal naming settings.view.
func TestBrowser_teamsReadOnlyWithoutManage(t *testing.T) {
	site := newConsoleSite(t)
	bob := site.person("bob@demo.test", "Bob Agent", "agent")
	var team struct {
		ID string `json:"id"`
	}
	require.Equal(t, http.StatusCreated, site.api(site.admin, "POST", "/admin/v1/tenants/demo/teams", map[string]any{"name": "Day shift"}, &team))
	require.Equal(t, http.StatusOK, site.api(site.admin, "POST", "/admin/v1/tenants/demo/teams/"+team.ID+"/members",
		map[string]any{"users": []string{bob}}, &map[string]any{}))
	b := site.newBrowser()
	b.signInWithSSO("/console/demo/teams", "bob@demo.test")
	assert.Equal(t, "Teams", b.text("h1"))
	assert.Equal(t, 0, b.count("form.create-team"))
	assert.Equal(t, 0, b.count("header a[href='/console/demo/audit']"))
	b.open("/console/demo/teams/" + team.ID)
	assert.Equal(t, []string{"Bob Agent"}, b.texts("tr[data-member] td:first-child"))
	assert.Equal(t, 0, b.count("main form[method=post]"), "no change offered")
	b.open("/console/demo/audit")
	assert.Contains(t, b.text("main"), "settings.view")
}

// TestBrowser_teamsLargeTeamLinksToPeople: a team the IdP filled with more
// than 1,000 people lists its first 1,000 and links to the People page
// filtered by the team, which pages through all of them.
func TestBrowser_teamsLargeTeamLinksToPeople(t *testing.T) {
	site := newConsoleSite(t)
	site.person("ann@demo.test", "Ann Admin", "admin")
	require.Equal(t, http.StatusOK, site.api(site.admin, "PATCH", "/admin/v1/tenants/demo",
		map[string]any{"settings": map[string]any{"rate_limit_per_second": 0}}, nil), "no rate limit for this burst")
	members := make([]map[string]any, 0, 1005)
	for i := range 1005 {
		var u struct {
			ID string `json:"id"`
		}
		require.Equal(t, http.StatusCreated, site.api(site.scim, "POST", "/scim/v2/demo/Users", map[string]any{
			"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": fmt.Sprintf("staff%04d@demo.test", i), "active": false}, &u)) // inactive: no seat
		members = append(members, map[string]any{"value": u.ID})
	}
	var everyone struct {
		ID string `json:"id"`
	}
	require.Equal(t, http.StatusCreated, site.api(site.scim, "POST", "/scim/v2/demo/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Everyone", "members": members}, &everyone))

	b := site.newBrowser()
	b.signInWithSSO("/console/demo/teams/"+everyone.ID, "ann@demo.test")
	assert.Equal(t, "Everyone", b.text("h1"))
	assert.Equal(t, "1005", b.text(".member-count"))
	assert.Equal(t, 1000, b.count("tr[data-member]"))
	assert.Contains(t, b.text(".more-members"), "The first 1000 of 1005 members")
	b.click(".more-members a", "h1")
	assert.Contains(t, b.location(), "/console/demo/people?team="+everyone.ID)
	assert.Equal(t, "People", b.text("h1"))
	assert.Greater(t, b.count("main tbody tr"), 0, "the team's people, a page of them")
	b.shot("people-by-team")
}
