package console

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNiceScale(t *testing.T) {
	for _, c := range []struct{ top, step, max int }{
		{0, 1, 4}, {3, 1, 4}, {4, 1, 4}, {5, 2, 6}, {20, 5, 20}, {25, 10, 30}, {99, 25, 100}, {1234, 500, 1500},
	} {
		step, yMax := niceScale(c.top)
		assert.Equal(t, c.step, step, "step for %d", c.top)
		assert.Equal(t, c.max, yMax, "max for %d", c.top)
		assert.GreaterOrEqual(t, yMax, c.top)
	}
}

// The chart's lines carry the points' numbers in order, each at its height
// on the axis; the first and last dates are written inside the frame.
func TestDrawSeatChart(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	u := usageReport{Interval: "day", Points: []usagePoint{
		{Start: day(1), Consumed: 0, Light: 0, Usable: 20, Billable: 20},
		{Start: day(2), Consumed: 10, Light: 2, Usable: 20, Billable: 20},
		{Start: day(3), Consumed: 22, Light: 1, Usable: 20, Billable: 22},
	}}
	ch := drawSeatChart(u, 30, wideChart)
	require.Len(t, ch.Series, 4)
	byKey := map[string]chartSeries{}
	for _, s := range ch.Series {
		byKey[s.Key] = s
	}
	assert.Equal(t, "0,10,22", byKey["consumed"].Values)
	assert.Equal(t, "0,2,1", byKey["light"].Values)
	assert.Equal(t, "20,20,20", byKey["usable"].Values)
	assert.Equal(t, "20,20,22", byKey["billable"].Values)
	assert.Equal(t, 22, byKey["billable"].Last)
	// Axis 0–30 by 10 (22 rounds up): 22 sits at 22/30 of the height.
	require.Len(t, ch.YTicks, 4)
	assert.Equal(t, "30", ch.YTicks[3].Label)
	top := byKey["consumed"].Dots[2]
	assert.InDelta(t, wideChart.Bottom-22.0/30*(wideChart.Bottom-wideChart.Top), top.Y, 0.1)
	assert.Equal(t, wideChart.Left, byKey["consumed"].Dots[0].X)
	assert.Equal(t, wideChart.Right, top.X)
	assert.Equal(t, "start", ch.Ticks[0].Anchor)
	assert.Equal(t, "end", ch.Ticks[len(ch.Ticks)-1].Anchor)
	assert.Contains(t, ch.Desc, "full seats used went from 0 to 22")

	// Past the layout's dots, the lines alone carry the numbers.
	many := usageReport{Interval: "day"}
	for i := 0; i < 90; i++ {
		many.Points = append(many.Points, usagePoint{Start: day(1).AddDate(0, 0, i), Consumed: i})
	}
	assert.True(t, drawSeatChart(many, 90, wideChart).Dots)
	assert.False(t, drawSeatChart(many, 90, narrowChart).Dots)
	assert.Len(t, drawSeatChart(many, 90, narrowChart).Ticks, 3)

	empty := drawSeatChart(usageReport{Interval: "day"}, 30, wideChart)
	assert.True(t, empty.Empty)
}

// The page's chart is an image with a title and a description, scaled by
// its viewBox, drawn twice (wide, narrow) from the same numbers.
func TestSeatsTemplate_chartIsAccessible(t *testing.T) {
	c := New(Config{})
	u := usageReport{Interval: "day", From: "2026-11-01", To: "2026-11-02", Points: []usagePoint{
		{Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Consumed: 3, Usable: 20, Billable: 20, CostCents: 12345},
		{Start: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Consumed: 4, Usable: 20, Billable: 20, CostCents: 12345},
	}}
	d := seatsData{Tab: tabUse, Range: 30, Days: 30, Interval: "day", Ranges: seatRanges, Intervals: seatIntervals, DaysChoices: dormantDays, Usage: u,
		Chart: drawSeatChart(u, 30, wideChart), Narrow: drawSeatChart(u, 30, narrowChart)}
	rec := httptest.NewRecorder()
	c.renderView(rec, httptest.NewRequest(http.MethodGet, "/console/acme/seats", nil), http.StatusOK, "seats",
		view{P: testPerson(), Title: "Seats", Nav: "seats", Data: d})
	body := rec.Body.String()
	for _, id := range []string{"seat-chart", "seat-chart-narrow"} {
		assert.Contains(t, body, `id="`+id+`"`)
		assert.Contains(t, body, `role="img" aria-labelledby="`+id+`-title `+id+`-desc"`)
		assert.Contains(t, body, `<title id="`+id+`-title">Seat use over the last 30 days, by day</title>`)
	}
	assert.Contains(t, body, `viewBox="0 0 720 270"`)
	assert.Equal(t, 2, strings.Count(body, `data-values="3,4"`), "both charts carry the same full seats")
	assert.Contains(t, body, `<td class="num hide-narrow" data-k="cost_cents" data-cents="12345">$123.45</td>`)
	assert.NotContains(t, body, "style=", "no inline style (the CSP forbids it)")
	assert.NotContains(t, body, "dormant-h", "the dormant seats are a tab of their own")

	d.Tab = tabDormant
	rec = httptest.NewRecorder()
	c.renderView(rec, httptest.NewRequest(http.MethodGet, "/console/acme/seats/dormant", nil), http.StatusOK, "seats",
		view{P: testPerson(), Title: "Seats", Nav: "seats", Data: d})
	body = rec.Body.String()
	assert.Contains(t, body, "Everyone holding a seat has signed in", "the empty dormant list says so")
	assert.NotContains(t, body, `id="seat-chart"`)
}
