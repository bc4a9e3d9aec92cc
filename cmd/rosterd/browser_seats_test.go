package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// usagePointJSON is a point of GET …/seats/usage, as the test compares it.
type usagePointJSON struct {
	Start        string `json:"start"`
	Consumed     int    `json:"consumed"`
	Light        int    `json:"light"`
	PeakConsumed int    `json:"peak_consumed"`
	Usable       int    `json:"usable"`
	Purchased    int    `json:"purchased"`
	Billable     int    `json:"billable"`
	CostCents    int64  `json:"cost_cents"`
}

// TestBrowser_seatChartMatchesTheLedger: after seat changes made through
// SCIM and the admin API (people provisioned, a light seat, a deactivation,
// more seats bought), the Seats page's chart and its table carry exactly
// the numbers of GET …/seats/usage, whose last point is the sum of the seat
// ledger (GET …/seats/events); the cost breakdown is the seat report's;
// possible duplicates are listed.
func TestBrowser_seatChartMatchesTheLedger(t *testing.T) {
	site := newConsoleSite(t)
	site.person("ann@demo.test", "Ann Admin", "admin")
	require.Equal(t, http.StatusCreated, site.api(site.admin, "POST", "/admin/v1/tenants/demo/roles",
		map[string]any{"name": "viewer", "permissions": []string{"users.view"}, "seat_class": "light"}, &map[string]any{}))
	site.person("bob@demo.test", "Bob Agent", "agent")
	site.person("cat@demo.test", "Cat Agent", "agent")
	dan := site.person("dan@demo.test", "Dan Agent", "agent")
	site.person("vic@demo.test", "Vic Viewer", "viewer")
	require.Equal(t, http.StatusOK, site.api(site.scim, "PATCH", "/scim/v2/demo/Users/"+dan, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []map[string]any{{"op": "replace", "path": "active", "value": false}},
	}, &map[string]any{}))
	// A second account for Bob's address: a possible duplicate.
	require.Equal(t, http.StatusCreated, site.api(site.admin, "POST", "/admin/v1/tenants/demo/users",
		map[string]any{"userName": "robert", "email": "bob@demo.test", "displayName": "Robert"}, &map[string]any{}))
	require.Equal(t, http.StatusOK, site.api(site.admin, "PATCH", "/admin/v1/tenants/demo",
		map[string]any{"seats": 25, "settings": map[string]any{"light_seat_price_cents": 900}}, &map[string]any{}))

	b := site.newBrowser()
	b.signInWithSSO("/console/demo/seats", "ann@demo.test")
	assert.Equal(t, "Seats", b.text("h1"))
	checkSeatPage(t, site, b, 30, "day")

	var seats struct {
		ConsumedSeats int `json:"consumed_seats"`
		Monthly       struct {
			SeatsCents      int64 `json:"seats_cents"`
			LightSeatsCents int64 `json:"light_seats_cents"`
			TotalCents      int64 `json:"total_cents"`
		} `json:"monthly"`
		AnnualCommitmentCents int64 `json:"annual_commitment_cents"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/seats", nil, &seats))
	assert.Equal(t, strconv.Itoa(seats.ConsumedSeats), b.text("#now-consumed"))
	assert.Equal(t, testMoney(seats.Monthly.SeatsCents), b.text("#cost-seats"))
	assert.Equal(t, testMoney(seats.Monthly.LightSeatsCents), b.text("#cost-light"))
	assert.Equal(t, testMoney(seats.Monthly.TotalCents), b.text("#cost-total"))
	assert.Equal(t, testMoney(seats.AnnualCommitmentCents), b.text("#cost-annual"))
	assert.NotZero(t, seats.Monthly.LightSeatsCents, "Vic's light seat is priced")
	assert.Equal(t, "img", b.attr("#seat-chart", "role"))
	assert.Contains(t, eval[string](b, "document.querySelector('#seat-chart-title').textContent"), "last 30 days")
	assert.Contains(t, eval[string](b, "document.querySelector('#seat-chart-desc').textContent"), "table below")
	assert.Equal(t, "seat-chart-title seat-chart-desc", b.attr("#seat-chart", "aria-labelledby"))
	b.shot("seats")

	// The possible duplicates are a tab of their own (they read every
	// active person).
	assert.Zero(t, b.count("#dup-table"), "not read on the use-and-cost tab")
	b.click(`nav.tabs a[href$="/seats/duplicates"]`, "#dup-table")
	assert.Contains(t, b.text("#dup-table"), "bob@demo.test")
	assert.Contains(t, b.text("#dup-table"), "robert")
	assert.Contains(t, b.text("#dup-table"), "Same email")
	b.shot("seats-duplicates")

	// Another range and interval, chosen with the form.
	b.click(`nav.tabs a[href$="/seats"]`, "#seat-chart")
	b.choose("#range", "90")
	b.choose("#interval", "week")
	b.click("form.filters button[type=submit]", "#seat-chart[data-range='90']", "footer p")
	assert.Contains(t, b.location(), "range=90")
	checkSeatPage(t, site, b, 90, "week")

	b.phone()
	b.open("/console/demo/seats")
	narrow := eval[float64](b, "document.querySelector('#seat-chart-narrow').getBoundingClientRect().width")
	assert.Greater(t, narrow, 300.0, "a phone gets the narrow chart")
	assert.LessOrEqual(t, narrow, 390.0)
	assert.Zero(t, eval[float64](b, "document.querySelector('#seat-chart').getBoundingClientRect().width"), "and not the wide one")
	for _, key := range []string{"consumed", "light", "usable", "billable"} {
		sel := fmt.Sprintf(" g[data-series=%s] polyline", key)
		assert.Equal(t, b.attr("#seat-chart"+sel, "data-values"), b.attr("#seat-chart-narrow"+sel, "data-values"), "the same numbers")
	}
	assert.LessOrEqual(t, eval[int](b, "document.documentElement.scrollWidth"), 390, "no sideways scrolling at phone width")
	b.shot("seats-phone")
}

// checkSeatPage compares the open Seats page's table and chart with the
// admin API's usage history for that range, and its last point with the
// ledger.
func checkSeatPage(t *testing.T, site *consoleSite, b *browser, days int, interval string) {
	t.Helper()
	today := time.Now().UTC()
	q := url.Values{"from": {today.AddDate(0, 0, 1-days).Format(time.DateOnly)}, "to": {today.Format(time.DateOnly)}, "interval": {interval}}
	var usage struct {
		Points []usagePointJSON `json:"points"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/seats/usage?"+q.Encode(), nil, &usage))
	require.NotEmpty(t, usage.Points)

	// The table: one row per point, every number.
	rows := eval[[]map[string]string](b, `Array.from(document.querySelectorAll('#usage-table tbody tr'), tr => {
		const o = {start: tr.dataset.start};
		tr.querySelectorAll('td[data-k]').forEach(td => { o[td.dataset.k] = td.dataset.cents || td.textContent.trim(); });
		return o;
	})`)
	require.Len(t, rows, len(usage.Points))
	for i, p := range usage.Points {
		want := map[string]string{"start": p.Start[:10], "consumed": strconv.Itoa(p.Consumed), "peak_consumed": strconv.Itoa(p.PeakConsumed),
			"light": strconv.Itoa(p.Light), "usable": strconv.Itoa(p.Usable), "purchased": strconv.Itoa(p.Purchased),
			"billable": strconv.Itoa(p.Billable), "cost_cents": strconv.FormatInt(p.CostCents, 10)}
		assert.Equal(t, want, rows[i], "table row %d", i)
	}
	// The chart: each line's data and each dot are the points' numbers.
	for key, of := range map[string]func(usagePointJSON) int{
		"consumed": func(p usagePointJSON) int { return p.Consumed }, "light": func(p usagePointJSON) int { return p.Light },
		"usable": func(p usagePointJSON) int { return p.Usable }, "billable": func(p usagePointJSON) int { return p.Billable },
	} {
		want := make([]string, len(usage.Points))
		for i, p := range usage.Points {
			want[i] = strconv.Itoa(of(p))
		}
		sel := fmt.Sprintf("#seat-chart g[data-series=%s]", key)
		assert.Equal(t, strings.Join(want, ","), b.attr(sel+" polyline", "data-values"), key)
		assert.Equal(t, want, eval[[]string](b, fmt.Sprintf(`Array.from(document.querySelectorAll(%q), c => c.dataset.value)`, sel+" circle")), key+" dots")
		assert.Equal(t, len(usage.Points), eval[int](b, fmt.Sprintf(`document.querySelector(%q).points.length`, sel+" polyline")), key+" points")
	}
	// The last point is the ledger's sum: every seat taken and released.
	full, light := 0, 0
	cursor := ""
	for {
		var page struct {
			Events []struct {
				Seat  string `json:"seat"`
				Delta int    `json:"delta"`
			} `json:"events"`
			NextCursor *string `json:"next_cursor"`
		}
		require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/seats/events?limit=500"+cursor, nil, &page))
		for _, e := range page.Events {
			if e.Seat == "light" {
				light += e.Delta
			} else {
				full += e.Delta
			}
		}
		if page.NextCursor == nil {
			break
		}
		cursor = "&cursor=" + *page.NextCursor
	}
	last := rows[len(rows)-1]
	assert.Equal(t, strconv.Itoa(full), last["consumed"], "full seats held now, by the ledger")
	assert.Equal(t, strconv.Itoa(light), last["light"], "light seats held now, by the ledger")
	assert.Equal(t, "25", last["purchased"])
}

// TestBrowser_deactivateDormantSeats: the dormant list shows the seat
// holders who never signed in (not the admin who did); ticking two people
// made by hand previews what deactivating them does to seats and cost, and
// confirming deactivates both, audited as the admin's; an IdP-managed
// person is refused in the preview, before anything changes; the list
// downloads as CSV.
func TestBrowser_deactivateDormantSeats(t *testing.T) {
	site := newConsoleSite(t)
	site.person("ann@demo.test", "Ann Admin", "admin")
	bob := site.person("bob@demo.test", "Bob Agent", "agent")
	invite := func(name string) string {
		var u struct {
			ID string `json:"id"`
		}
		require.Equal(t, http.StatusCreated, site.api(site.admin, "POST", "/admin/v1/tenants/demo/users",
			map[string]any{"userName": name, "email": name, "displayName": strings.ToUpper(name[:1]) + name[1:3]}, &u))
		return u.ID
	}
	eve, fay, gil := invite("eve@demo.test"), invite("fay@demo.test"), invite("gil@demo.test")

	b := site.newBrowser()
	b.signInWithSSO("/console/demo/seats/dormant", "ann@demo.test")
	listed := eval[[]string](b, `Array.from(document.querySelectorAll('#dormant-table tbody tr'), tr => tr.dataset.user)`)
	assert.ElementsMatch(t, []string{bob, eve, fay, gil}, listed, "everyone but Ann, who signed in")

	status, hdr, body := b.download(b.attr("#dormant-csv", "href"))
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, hdr.Get("Content-Type"), "text/csv")
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 5, "a header and the four dormant seats")
	assert.Equal(t, "user_name", recs[0][1])

	var before struct {
		Consumed int   `json:"consumed_seats"`
		Cost     int64 `json:"monthly_cost_cents"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/seats", nil, &before))

	// Bob is the IdP's: the preview says so and offers no button.
	b.click("#dormant-" + bob)
	b.click("#deactivate-selected", "#deactivate-table", "footer p")
	assert.Contains(t, b.text("#deactivate-table"), "refused")
	assert.True(t, eval[bool](b, "document.querySelector('#confirm-deactivate').disabled"))

	b.open("/console/demo/seats/dormant")
	b.click("#dormant-" + eve)
	b.click("#dormant-" + fay)
	b.click("#deactivate-selected", "#deactivate-table", "footer p")
	assert.Equal(t, "Deactivate dormant seats", b.text("h1"))
	assert.Contains(t, b.text("main"), "Nothing has changed yet")
	assert.Equal(t, 2, b.count("#deactivate-table tbody tr"))
	assert.Equal(t, "Deactivate 2 people", b.text("#confirm-deactivate"))
	var still struct {
		Active bool `json:"active"`
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/users/"+eve, nil, &still))
	assert.True(t, still.Active, "the preview changed nothing")
	b.shot("seats-deactivate")

	b.click("#confirm-deactivate", "p.notice", "footer p") // footer: the whole page is in
	assert.Equal(t, "/console/demo/seats/dormant", strings.SplitN(b.location(), "?", 2)[0])
	assert.Contains(t, b.text("p.notice"), "Deactivated 2 people")
	assert.Contains(t, b.text("p.notice"), fmt.Sprintf("Full seats %d → %d", before.Consumed, before.Consumed-2))
	for _, id := range []string{eve, fay} {
		var u struct {
			Active bool   `json:"active"`
			Seat   string `json:"seat"`
		}
		require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/users/"+id, nil, &u))
		assert.False(t, u.Active)
		assert.Equal(t, "none", u.Seat)
		var audit struct {
			Events []struct {
				Action string `json:"action"`
				Actor  struct {
					Name string `json:"name"`
				} `json:"actor"`
			} `json:"events"`
		}
		require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/audit?user="+id, nil, &audit))
		require.NotEmpty(t, audit.Events)
		assert.Equal(t, "ann@demo.test", audit.Events[0].Actor.Name, "the deactivation is Ann's")
	}
	require.Equal(t, http.StatusOK, site.api(site.admin, "GET", "/admin/v1/tenants/demo/users/"+gil, nil, &still))
	assert.True(t, still.Active, "Gil was not ticked")
	listed = eval[[]string](b, `Array.from(document.querySelectorAll('#dormant-table tbody tr'), tr => tr.dataset.user)`)
	assert.ElementsMatch(t, []string{bob, gil}, listed)

	// Nothing ticked: the page says what to do.
	b.click("#deactivate-selected", "p.problem", "footer p")
	assert.Contains(t, b.text("p.problem"), "Tick the people")
}

// testMoney formats cents as the console does: 123456 → "$1,234.56".
func testMoney(cents int64) string {
	whole := strconv.FormatInt(cents/100, 10)
	var b strings.Builder
	for i, ch := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return fmt.Sprintf("$%s.%02d", b.String(), cents%100)
}
