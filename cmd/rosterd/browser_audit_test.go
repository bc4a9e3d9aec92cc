package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBrowser_auditShowsConsoleChanges: changes made in the console (a
// team created, a member added, the team renamed) are in the audit page
// with the console person as the actor, the rename readable as the old name
// struck through and the new one inserted; the action filter narrows the
// trail to that action, the person filter to what concerns one person, and
// the CSV export answers the same rows.
func TestBrowser_auditShowsConsoleChanges(t *testing.T) {
	site := newConsoleSite(t)
	site.person("ann@demo.test", "Ann Admin", "admin")
	site.person("bob@demo.test", "Bob Agent", "")
	b := site.newBrowser()
	b.signInWithSSO("/console/demo/teams", "ann@demo.test")
	b.fill("#team-name", "Night shift")
	b.submit("form.create-team button", ".notice")
	b.fill("#q", "bob")
	b.click("form[role=search] button", "tr[data-hit]")
	b.submit("tr[data-hit] button", ".notice")
	b.fill("#new-name", "Late shift")
	b.submit("form[action$='/rename'] button", ".notice")

	b.open("/console/demo/audit")
	assert.Equal(t, "Audit trail", b.text("h1"))
	actions := b.texts("tbody tr .action")
	require.NotEmpty(t, actions)
	assert.Equal(t, "group.updated", actions[0], "newest first: the rename")
	newest := b.text("tbody tr:first-child .actor")
	assert.Contains(t, newest, "ann@demo.test", "the console person is the actor")
	assert.Contains(t, newest, "person")
	assert.Contains(t, b.text("tbody tr:first-child .change del"), "Night shift")
	assert.Contains(t, b.text("tbody tr:first-child .change ins"), "Late shift")
	assert.Contains(t, b.text("tbody tr:first-child .change dl"), "displayName")
	b.shot("audit")

	// The action filter.
	b.fill("#f-action", "group.created")
	b.submit(".audit-filters button[type=submit]", "table.audit")
	got := b.texts("tbody tr .action")
	require.Len(t, got, 1)
	assert.Equal(t, "group.created", got[0])
	assert.Contains(t, b.text("tbody tr .actor"), "ann@demo.test")
	assert.Contains(t, b.location(), "action=group.created")

	// The CSV of the same selection, fetched by the browser with its session.
	href := eval[string](b, `document.querySelector("a.csv").getAttribute("href")`)
	assert.Contains(t, href, "action=group.created")
	csv := bget(b, chromedp.Evaluate[string](`fetch(`+"`"+href+"`"+`).then(r => r.ok ? r.text() : "HTTP " + r.status)`, chromedp.EvalAwaitPromise))
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	require.Len(t, lines, 2, csv)
	assert.True(t, strings.HasPrefix(lines[0], "seq,time,action,actor_kind"), lines[0])
	assert.Contains(t, lines[1], "group.created")
	assert.Contains(t, lines[1], "ann@demo.test")

	// Unfiltered, the CSV has every event of the trail.
	b.open("/console/demo/audit")
	all := bget(b, chromedp.Evaluate[string](`fetch(document.querySelector("a.csv").getAttribute("href")).then(r => r.text())`, chromedp.EvalAwaitPromise))
	var api struct {
		Events []map[string]any `json:"events"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/audit?limit=500", nil, &api))
	assert.Equal(t, len(api.Events)+1, len(strings.Split(strings.TrimSpace(all), "\n")), "a header and one line per event")

	// The person filter takes a userName: what concerns Bob.
	b.fill("#f-person", "bob@demo.test")
	b.submit(".audit-filters button[type=submit]", "table.audit")
	assert.Contains(t, b.text(".filter-summary"), "about bob@demo.test")
	for _, target := range b.texts("tbody tr .target") {
		assert.Contains(t, target, "bob@demo.test")
	}
	assert.NotContains(t, b.texts("tbody tr .action"), "group.created")

	// Days: to is the last day included, from the first.
	today := time.Now().UTC().Format(time.DateOnly)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	b.open("/console/demo/audit?action=group.created&to=" + today)
	assert.Equal(t, []string{"group.created"}, b.texts("tbody tr .action"), "to=today includes today")
	b.open("/console/demo/audit?from=" + tomorrow)
	assert.Equal(t, 0, b.count("tbody tr"))
	assert.Contains(t, b.text("main p.card"), "No change matches")

	b.phone()
	b.open("/console/demo/audit")
	b.shot("audit-phone")
}

// TestBrowser_auditPagesByCursor: a trail longer than a page is read page
// by page with Older → (the API's keyset cursor): the second page starts
// where the first ended, nothing twice, nothing skipped.
func TestBrowser_auditPagesByCursor(t *testing.T) {
	site := newConsoleSite(t)
	site.person("ann@demo.test", "Ann Admin", "admin")
	var team struct {
		ID string `json:"id"`
	}
	require.Equal(t, http.StatusCreated, site.api(site.admin, "POST", "/admin/v1/tenants/demo/teams", map[string]any{"name": "Rename 0"}, &team))
	for i := 1; i <= 60; i++ {
		require.Equal(t, http.StatusOK, site.api(site.admin, "PATCH", "/admin/v1/tenants/demo/teams/"+team.ID,
			map[string]any{"name": fmt.Sprintf("Rename %d", i)}, &map[string]any{}))
	}
	b := site.newBrowser()
	b.signInWithSSO("/console/demo/audit?action=group.updated", "ann@demo.test")
	first := b.texts("tbody tr .change ins")
	require.Len(t, first, 50)
	assert.Equal(t, "Rename 60", first[0], "newest first")
	b.submit("a[rel=next]", "table.audit")
	assert.Contains(t, b.location(), "cursor=")
	assert.Contains(t, b.location(), "action=group.updated", "the filter is kept")
	second := b.texts("tbody tr .change ins")
	require.Len(t, second, 10)
	assert.Equal(t, "Rename 10", second[0], "the page after Rename 11")
	assert.Equal(t, "Rename 1", second[9])
	assert.Equal(t, 0, b.count("a[rel=next]"), "no page after the last")
	b.submit(".pager a", "table.audit")
	assert.Equal(t, "Rename 60", b.texts("tbody tr .change ins")[0], "back to the newest")
}
