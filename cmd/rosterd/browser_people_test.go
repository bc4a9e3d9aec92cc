package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// peopleOf is the demo tenant's people as the admin API lists them (one
// page of up to 200), by userName.
func (s *consoleSite) peopleOf(query string) map[string]map[string]any {
	s.t.Helper()
	var out struct {
		Users []map[string]any `json:"users"`
	}
	require.Equal(s.t, http.StatusOK, s.api(s.admin, "GET", "/admin/v1/tenants/demo/users?limit=200&"+query, nil, &out))
	m := map[string]map[string]any{}
	for _, u := range out.Users {
		m[u["userName"].(string)] = u
	}
	return m
}

// invitePerson adds a manual person through the admin API as the operator.
func (s *consoleSite) invitePerson(userName, displayName, role string) string {
	s.t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	body := map[string]any{"userName": userName, "email": userName, "displayName": displayName}
	if role != "" {
		body["role"] = role
	}
	require.Equal(s.t, http.StatusCreated, s.api(s.admin, "POST", "/admin/v1/tenants/demo/users", body, &out))
	return out.ID
}

// auditOf is the demo tenant's trail of one user, newest first.
func (s *consoleSite) auditOf(userID string) []map[string]any {
	s.t.Helper()
	var out struct {
		Events []map[string]any `json:"events"`
	}
	require.Equal(s.t, http.StatusOK, s.api(s.admin, "GET", "/admin/v1/tenants/demo/audit?user="+url.QueryEscape(userID), nil, &out))
	return out.Events
}

// TestBrowser_peopleSearchFilterAndPages: the list shows 50 people a page,
// newest first; "Next page" follows the API's keyset cursor and the two
// pages hold everyone once; the search box and each filter narrow the
// list through a GET form, so that the URL can be shared.
func TestBrowser_peopleSearchFilterAndPages(t *testing.T) {
	site := newConsoleSite(t)
	require.Equal(t, http.StatusOK, site.api(site.admin, "PATCH", "/admin/v1/tenants/demo", map[string]any{"seats": 200}, &map[string]any{}))
	site.person("ann@demo.test", "Ann Admin", "admin")
	for i := range 60 {
		site.person(fmt.Sprintf("p%02d@demo.test", i), fmt.Sprintf("Person %02d", i), "")
	}
	zed := site.person("zed@demo.test", "Zed Supervisor", "supervisor")
	manual := site.invitePerson("max@demo.test", "Max Manual", "")
	var team struct {
		ID string `json:"id"`
	}
	require.Equal(t, http.StatusCreated, site.api(site.admin, "POST", "/admin/v1/tenants/demo/teams", map[string]any{"name": "Night shift"}, &team))
	require.Equal(t, http.StatusOK, site.api(site.admin, "POST", "/admin/v1/tenants/demo/teams/"+team.ID+"/members",
		map[string]any{"users": []string{zed}}, &map[string]any{}))
	require.Equal(t, http.StatusOK, site.api(site.admin, "PATCH", "/admin/v1/tenants/demo/users/"+manual, map[string]any{"active": false}, &map[string]any{}))

	b := site.newBrowser()
	b.signInWithSSO("/console/demo/people", "ann@demo.test")
	assert.Equal(t, "People", b.text("h1"))
	require.Equal(t, 50, b.count("table.people tbody tr"), "50 a page")
	page1 := b.texts("table.people tbody td:nth-child(2) a")
	assert.Equal(t, "Max Manual", page1[0], "newest first")
	assert.Equal(t, "Zed Supervisor", page1[1])

	b.click("a[rel=next]")
	b.waitUntil(`location.search.includes("cursor=")`)
	b.waitFor("table.people")
	page2 := b.texts("table.people tbody td:nth-child(2) a")
	assert.Len(t, page2, 13, "63 people: 50 and 13")
	assert.Equal(t, "Ann Admin", page2[len(page2)-1], "the oldest last")
	seen := map[string]bool{}
	for _, n := range append(page1, page2...) {
		assert.False(t, seen[n], "%s on both pages", n)
		seen[n] = true
	}
	assert.Len(t, seen, 63)
	assert.Zero(t, b.count("a[rel=next]"), "the last page has no next")
	assert.Contains(t, b.text(".pager"), "First page", "a way back to the first page")

	// Search: a GET form, so the URL is shareable.
	b.open("/console/demo/people")
	b.fill("#f-q", "person 07")
	b.click(".people-filters button[type=submit]")
	b.waitUntil(`location.search.includes("q=")`)
	b.waitFor("table.people")
	assert.Equal(t, []string{"Person 07"}, b.texts("table.people tbody td:nth-child(2) a"))
	assert.Contains(t, b.location(), "q=person+07")

	// Each filter, through the form.
	b.open("/console/demo/people")
	b.choose("#f-role", "supervisor")
	b.click(".people-filters button[type=submit]")
	b.waitUntil(`location.search.includes("role=supervisor")`)
	b.waitFor("table.people")
	assert.Equal(t, []string{"Zed Supervisor"}, b.texts("table.people tbody td:nth-child(2) a"))
	assert.Equal(t, "supervisor", eval[string](b, `document.querySelector("#f-role").value`), "the form shows the filter in force")

	b.open("/console/demo/people?team=" + url.QueryEscape(team.ID))
	assert.Equal(t, []string{"Zed Supervisor"}, b.texts("table.people tbody td:nth-child(2) a"))
	assert.Contains(t, b.text("table.people tbody tr"), "Night shift")

	b.open("/console/demo/people?active=false")
	assert.Equal(t, []string{"Max Manual"}, b.texts("table.people tbody td:nth-child(2) a"))
	assert.Contains(t, b.text("table.people tbody tr"), "deactivated")

	b.open("/console/demo/people?managed=manual")
	assert.Equal(t, []string{"Max Manual"}, b.texts("table.people tbody td:nth-child(2) a"))
	b.open("/console/demo/people?managed=scim&role=admin")
	assert.Equal(t, []string{"Ann Admin"}, b.texts("table.people tbody td:nth-child(2) a"))
	assert.Contains(t, b.text("table.people tbody tr"), "IdP")

	// Nothing matches: the empty state says what to do.
	b.open("/console/demo/people?q=nobody-at-all")
	assert.Contains(t, b.text(".empty"), "No one matches these filters")
	// A bad value is the API's sentence on the page, not a crash page.
	b.open("/console/demo/people?managed=sometimes")
	assert.Contains(t, b.text(".problem"), "managed")
	assert.Equal(t, 1, b.count(".people-filters"))
}

// TestBrowser_personPageChangesAndHistory: the person page shows what a
// person holds; a role change made there is in the API and in the
// person's history with the console person as actor; the IdP's display
// name is refused with the API's sentence in the form; a manual person
// is deactivated, their seat released, and the ledger shows it.
func TestBrowser_personPageChangesAndHistory(t *testing.T) {
	site := newConsoleSite(t)
	site.person("ann@demo.test", "Ann Admin", "admin")
	bob := site.person("bob@demo.test", "Bob Agent", "")
	b := site.newBrowser()
	b.signInWithSSO("/console/demo/people/"+bob, "ann@demo.test")
	assert.Equal(t, "Bob Agent", b.text("h1"))
	assert.Equal(t, "agent", b.text("#p-role"))
	assert.Equal(t, "full", b.text("#p-seat"))
	assert.Contains(t, b.text("#p-managed"), "IdP")
	assert.Contains(t, b.text("dl.props"), "no end", "no access expiry")

	b.choose("#role", "supervisor")
	b.click("#role-h ~ button[type=submit]", ".notice")
	assert.Contains(t, b.text(".notice"), "Role changed to supervisor")
	assert.Equal(t, "supervisor", b.text("#p-role"))
	assert.Equal(t, "supervisor", site.peopleOf("q=bob")["bob@demo.test"]["role"])
	history := b.texts("table.history tbody tr")
	require.NotEmpty(t, history)
	assert.Contains(t, history[0], "Role agent → supervisor")
	assert.Contains(t, history[0], "ann@demo.test", "the console person is the actor")
	events := site.auditOf(bob)
	require.NotEmpty(t, events)
	assert.Equal(t, "ann@demo.test", events[0]["actor"].(map[string]any)["name"])
	assert.Equal(t, "user", events[0]["actor"].(map[string]any)["kind"])

	// The IdP's attribute: the API's sentence, in the form, nothing changed.
	b.fill("#displayName", "Bobby")
	b.click("#profile-h ~ button[type=submit]", "#profile-problem")
	assert.Contains(t, b.text("#profile-problem"), "displayName is managed by the IdP")
	assert.Equal(t, "Bob Agent", b.text("h1"))
	assert.Equal(t, "Bobby", eval[string](b, `document.querySelector("#displayName").value`), "what was typed stays")
	assert.Equal(t, "Bob Agent", site.peopleOf("q=bob")["bob@demo.test"]["displayName"])

	// A manual person: deactivated here, the seat released.
	cy := site.invitePerson("cy@demo.test", "Cy Manual", "")
	b.open("/console/demo/people/" + cy)
	b.click("#deactivate", ".notice")
	assert.Contains(t, b.text(".notice"), "Deactivated")
	assert.Contains(t, b.text("#p-active"), "deactivated")
	assert.Equal(t, "none", b.text("#p-seat"))
	assert.Equal(t, false, site.peopleOf("q=cy")["cy@demo.test"]["active"])
	history = b.texts("table.history tbody tr")
	joined := strings.Join(history, "\n")
	assert.Contains(t, joined, "Deactivated")
	assert.Contains(t, joined, "Full seat released (deactivated)")
	assert.Contains(t, joined, "Full seat taken (provisioned)")
	b.shot("person")
}

// TestBrowser_peopleBulkRoleChangeAfterPreview: people ticked on the list
// and "Change role to viewer" (a light-seat role) open a preview with each
// person's old → new role and seat and the seats and monthly cost before
// and after, changing nothing; "Confirm" changes them, the list says so,
// the API has the new roles and the trail names the console person.
func TestBrowser_peopleBulkRoleChangeAfterPreview(t *testing.T) {
	site := newConsoleSite(t)
	require.Equal(t, http.StatusOK, site.api(site.admin, "PATCH", "/admin/v1/tenants/demo",
		map[string]any{"settings": map[string]any{"light_seat_price_cents": 900}}, &map[string]any{}))
	require.Equal(t, http.StatusCreated, site.api(site.admin, "POST", "/admin/v1/tenants/demo/roles",
		map[string]any{"name": "viewer", "description": "reads", "permissions": []string{"users.view"}, "seat_class": "light"}, &map[string]any{}))
	site.person("ann@demo.test", "Ann Admin", "admin")
	ids := map[string]string{}
	for _, n := range []string{"carl", "dina", "eve", "fred"} {
		ids[n] = site.person(n+"@demo.test", strings.ToUpper(n[:1])+n[1:]+" Agent", "")
	}
	site.invitePerson("gus@demo.test", "Gus Manual", "supervisor")

	b := site.newBrowser()
	b.signInWithSSO("/console/demo/people", "ann@demo.test")
	b.shot("people")
	for _, n := range []string{"carl", "dina", "eve"} {
		b.click(fmt.Sprintf(`input[name=user][value=%q]`, ids[n]))
	}
	b.choose("#bulk-do", "role:viewer")
	b.click("#bulk button[type=submit]", "table.bulk-preview")
	assert.Contains(t, b.text("h1"), "change the role to viewer")
	rows := b.texts("table.bulk-preview tbody tr")
	require.Len(t, rows, 3)
	for _, r := range rows {
		assert.Contains(t, r, "agent → viewer")
		assert.Contains(t, r, "full → light")
	}
	effect := b.text(".effect")
	assert.Contains(t, effect, "Full seats")
	assert.Contains(t, b.text(".effect .stat:nth-child(1) dd"), "6 → 3")
	assert.Contains(t, b.text(".effect .stat:nth-child(2) dd"), "0 → 3")
	before, after := b.text(".effect .before"), b.text(".effect .after")
	assert.NotEqual(t, before, after, "the monthly cost moves")
	assert.Contains(t, after, "$")
	assert.Equal(t, "agent", site.peopleOf("q=carl")["carl@demo.test"]["role"], "a preview changes nothing")
	b.shot("people-bulk-preview")

	b.click("#confirm", ".notice")
	assert.Equal(t, "Changed the role of 3 people to viewer.", b.text(".notice"))
	assert.True(t, strings.HasPrefix(b.location(), "/console/demo/people"), b.location())
	people := site.peopleOf("")
	for _, n := range []string{"carl", "dina", "eve"} {
		assert.Equal(t, "viewer", people[n+"@demo.test"]["role"], n)
		assert.Equal(t, "light", people[n+"@demo.test"]["seat"], n)
	}
	assert.Equal(t, "agent", people["fred@demo.test"]["role"], "not selected")
	events := site.auditOf(ids["carl"])
	require.NotEmpty(t, events)
	assert.Equal(t, "ann@demo.test", events[0]["actor"].(map[string]any)["name"], "the console person is the actor")

	// The person page of one of them shows the change with its actor.
	b.open("/console/demo/people/" + ids["dina"])
	assert.Contains(t, b.text("table.history tbody tr"), "Role agent → viewer")
	assert.Contains(t, b.text("table.history tbody tr"), "ann@demo.test")
}

// TestBrowser_peopleBulkDeactivate: "select all" ticks everyone on the
// page; the preview of a deactivation names the people the IdP manages as
// refused and offers no confirmation; previewing again without them and
// confirming deactivates the manual people only.
func TestBrowser_peopleBulkDeactivate(t *testing.T) {
	site := newConsoleSite(t)
	site.person("ann@demo.test", "Ann Admin", "admin")
	site.person("bob@demo.test", "Bob Agent", "")
	site.invitePerson("mia@demo.test", "Mia Manual", "")
	site.invitePerson("ned@demo.test", "Ned Manual", "")

	b := site.newBrowser()
	b.signInWithSSO("/console/demo/people", "ann@demo.test")
	b.click("#select-all")
	assert.Equal(t, 4, eval[int](b, `document.querySelectorAll("input[name=user]:checked").length`), "select all ticks the page")
	b.choose("#bulk-do", "deactivate")
	b.click("#bulk button[type=submit]", "table.bulk-preview")
	assert.Contains(t, b.text("#blocked"), "managed by the IdP")
	assert.Zero(t, b.count("#confirm"), "no confirmation while someone is refused")
	refused := b.texts("table.bulk-preview tr.refused td:first-child a")
	assert.ElementsMatch(t, []string{"ann@demo.test", "bob@demo.test"}, refused)

	b.click(".actions button[type=submit]", "#confirm")
	rows := b.texts("table.bulk-preview tbody tr")
	require.Len(t, rows, 2)
	for _, r := range rows {
		assert.Contains(t, r, "active → deactivated")
		assert.Contains(t, r, "full → none")
	}
	assert.Contains(t, b.text(".effect .stat:nth-child(1) dd"), "4 → 2")
	b.click("#confirm", ".notice")
	assert.Equal(t, "Deactivated 2 people.", b.text(".notice"))
	people := site.peopleOf("")
	assert.Equal(t, false, people["mia@demo.test"]["active"])
	assert.Equal(t, false, people["ned@demo.test"]["active"])
	assert.Equal(t, true, people["bob@demo.test"]["active"])
	assert.Equal(t, true, people["ann@demo.test"]["active"])

	// At phone width the list scrolls inside its frame.
	b.phone()
	b.open("/console/demo/people")
	assert.True(t, eval[bool](b, `document.documentElement.scrollWidth <= window.innerWidth + 1`), "no sideways scroll of the page")
	assert.False(t, eval[bool](b, `getComputedStyle(document.querySelector("table.people th.hide-narrow")).display != "none"`), "teams hide at phone width")
	b.shot("people-phone")
}

// TestBrowser_peopleInvite: an invitation with a bad email shows the API's
// field error by the field and creates nothing; corrected, it creates the
// person and lands on their page; at the seat cap the API's sentence is
// shown.
func TestBrowser_peopleInvite(t *testing.T) {
	site := newConsoleSite(t)
	site.person("ann@demo.test", "Ann Admin", "admin")
	b := site.newBrowser()
	b.signInWithSSO("/console/demo/people", "ann@demo.test")
	b.click(`a[href="/console/demo/people/invite"]`, "form.invite")
	assert.Equal(t, "Invite a person", b.text("h1"))
	b.fill("#userName", "newbie@demo.test")
	b.fill("#email", "not-an-email")
	b.fill("#displayName", "New Bie")
	b.choose("#role", "supervisor")
	b.click("form.invite button[type=submit]", "#email-err")
	assert.Contains(t, b.text("#email-err"), "must be an email address")
	assert.Equal(t, "true", eval[string](b, `document.querySelector("#email").getAttribute("aria-invalid")`))
	assert.Equal(t, "newbie@demo.test", eval[string](b, `document.querySelector("#userName").value`), "what was typed stays")
	assert.Equal(t, "supervisor", eval[string](b, `document.querySelector("#role").value`))
	assert.NotContains(t, site.peopleOf(""), "newbie@demo.test", "nothing was created")
	b.shot("people-invite")

	b.fill("#email", "newbie@demo.test")
	b.click("form.invite button[type=submit]", ".notice")
	assert.Equal(t, "Invited newbie@demo.test.", b.text(".notice"))
	assert.Equal(t, "New Bie", b.text("h1"))
	got := site.peopleOf("")["newbie@demo.test"]
	require.NotNil(t, got)
	assert.Equal(t, "supervisor", got["role"])
	assert.Equal(t, "manual", got["managed"])

	// Fill the seats; the next invitation is refused with the API's sentence.
	var seats struct {
		Usable   int `json:"usable_seats"`
		Consumed int `json:"consumed_seats"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/seats", nil, &seats))
	for i := seats.Consumed; i < seats.Usable; i++ {
		site.invitePerson(fmt.Sprintf("filler%d@demo.test", i), "", "")
	}
	b.open("/console/demo/people/invite")
	b.fill("#userName", "late@demo.test")
	b.click("form.invite button[type=submit]", ".problem")
	assert.Contains(t, b.text(".problem"), "seats are in use")
	assert.NotContains(t, site.peopleOf("q=late"), "late@demo.test")
}

// TestBrowser_peopleBySupervisor: a supervisor (users.view without
// users.manage, users.roles or settings.view) reads the list and a
// person, without selection boxes, bulk changes, invitation or the forms
// to change a person; the invitation page answers the API's refusal.
func TestBrowser_peopleBySupervisor(t *testing.T) {
	site := newConsoleSite(t)
	site.person("sue@demo.test", "Sue Supervisor", "supervisor")
	bob := site.person("bob@demo.test", "Bob Agent", "")
	b := site.newBrowser()
	b.signInWithSSO("/console/demo/people", "sue@demo.test")
	assert.Equal(t, 2, b.count("table.people tbody tr"))
	assert.Zero(t, b.count("input[name=user]"), "no selection boxes")
	assert.Zero(t, b.count("#bulk"), "no bulk changes")
	assert.Zero(t, b.count(`a[href="/console/demo/people/invite"]`), "no invitation")

	b.open("/console/demo/people/" + bob)
	assert.Equal(t, "Bob Agent", b.text("h1"))
	assert.Zero(t, b.count("form.card"), "no forms to change a person")
	assert.Contains(t, b.text("table.history"), "Created with the role agent", "users.view reads a person's history")

	b.open("/console/demo/people/invite")
	assert.Equal(t, "You do not have permission", b.text("h1"))
	assert.Contains(t, b.text(".problem"), "users.manage")
}
