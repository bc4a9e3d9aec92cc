package console

// The Seats page: seat use over time as a chart drawn on the server (SVG)
// with its numbers in a table (GET …/seats/usage), what the seats cost
// (GET …/seats), the seats nobody uses (GET …/reports/dormant) with a bulk
// deactivation previewed by its dry run (POST …/users/deactivate), and
// people who may hold two seats (the seat report's possible_duplicates).

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

func init() {
	// Prices of the plan and add-ons are whole cents in an int.
	funcs["moneyInt"] = func(cents int) string { return money(int64(cents)) }
	routes = append(routes,
		route{"GET /console/{tenant}/seats", func(c *Console) pageFunc { return c.seatsTab(tabUse) }},
		route{"GET /console/{tenant}/seats/dormant", func(c *Console) pageFunc { return c.seatsTab(tabDormant) }},
		route{"GET /console/{tenant}/seats/duplicates", func(c *Console) pageFunc { return c.seatsTab(tabDuplicates) }},
		route{"GET /console/{tenant}/seats/dormant.csv", func(c *Console) pageFunc { return c.dormantCSV }},
		route{"POST /console/{tenant}/seats/deactivate", func(c *Console) pageFunc { return c.deactivateDormant }},
	)
}

// seatRanges are the ranges the page offers, in days, and the intervals.
var (
	seatRanges    = []int{30, 90, 365}
	seatIntervals = []string{"day", "week", "month"}
	dormantDays   = []int{30, 60, 90, 180}
)

type usagePoint struct {
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	At           time.Time `json:"at"`
	Consumed     int       `json:"consumed"`
	Light        int       `json:"light"`
	PeakConsumed int       `json:"peak_consumed"`
	Usable       int       `json:"usable"`
	Purchased    int       `json:"purchased"`
	Billable     int       `json:"billable"`
	CostCents    int64     `json:"cost_cents"`
}

type usageReport struct {
	Interval string       `json:"interval"`
	From     string       `json:"from"`
	To       string       `json:"to"`
	Note     string       `json:"note"`
	Points   []usagePoint `json:"points"`
}

// samePeople is GET …/reports/duplicates: seat holders who are probably
// one person, grouped with the keys they share.
type samePeople struct {
	Groups []struct {
		Reasons []struct {
			Reason string `json:"reason"` // same_email, same_display_name, same_username_local_part
			Key    string `json:"key"`
		} `json:"reasons"`
		Users []struct {
			ID               string     `json:"id"`
			UserName         string     `json:"userName"`
			Email            string     `json:"email"`
			DisplayName      string     `json:"displayName"`
			Role             string     `json:"role"`
			Seat             string     `json:"seat"`
			Managed          string     `json:"managed"`
			LastActiveAt     *time.Time `json:"last_active_at"`
			MonthlyCostCents int64      `json:"monthly_cost_cents"`
		} `json:"users"`
		ExtraMonthlyCents int64 `json:"extra_monthly_cents"`
	} `json:"groups"`
	ExtraMonthlyCents int64  `json:"extra_monthly_cents"`
	Note              string `json:"note"`
}

type dormantSeat struct {
	UserID           string     `json:"user_id"`
	UserName         string     `json:"user_name"`
	DisplayName      string     `json:"display_name"`
	Role             string     `json:"role"`
	Seat             string     `json:"seat"`
	ProvisionedAt    time.Time  `json:"provisioned_at"`
	LastActiveAt     *time.Time `json:"last_active_at"`
	DaysSinceActive  int        `json:"days_since_active"`
	NeverSignedIn    bool       `json:"never_signed_in"`
	MonthlyCostCents int64      `json:"monthly_cost_cents"`
}

type dormantReport struct {
	Days             int           `json:"days"`
	Users            int           `json:"users"`
	MonthlyCostCents int64         `json:"monthly_cost_cents"`
	Note             string        `json:"note"`
	Seats            []dormantSeat `json:"seats"`
}

// The Seats page's tabs. Use and cost is read from the ledger and the
// seat counters, whatever the size of the tenant; the dormant seats and
// the possible duplicates each read every active person (about a second
// at 100,000 people), so they are tabs of their own, read only when
// opened (docs/console.md "Page speed").
const (
	tabUse        = "use"
	tabDormant    = "dormant"
	tabDuplicates = "duplicates"
)

type seatsData struct {
	Tab         string
	Range, Days int
	Interval    string
	Ranges      []int
	Intervals   []string
	DaysChoices []int
	Usage       usageReport
	Chart       seatChart // the wide chart
	Narrow      seatChart // the same for a phone: fewer labels, larger type
	Report      seatsView
	Dormant     dormantReport
	Duplicates  samePeople
}

func (c *Console) seatsTab(tab string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, p *person) error {
		return c.seatsPage(w, r, p, tab, r.URL.Query(), "")
	}
}

// seatsPage renders a tab of the page for the query q, with a problem of
// the last action when not empty.
func (c *Console) seatsPage(w http.ResponseWriter, r *http.Request, p *person, tab string, q url.Values, problem string) error {
	d := seatsData{Tab: tab, Range: 30, Interval: "day", Days: 30, Ranges: seatRanges, Intervals: seatIntervals, DaysChoices: dormantDays}
	var bad []string
	if v := q.Get("range"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !slices.Contains(seatRanges, n) {
			bad = append(bad, "Choose a range of 30, 90 or 365 days.")
		} else {
			d.Range = n
		}
	}
	if v := q.Get("interval"); v != "" {
		if !slices.Contains(seatIntervals, v) {
			bad = append(bad, "Choose an interval of a day, a week or a month.")
		} else {
			d.Interval = v
		}
	}
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !slices.Contains(dormantDays, n) {
			bad = append(bad, "Choose dormant seats by 30, 60, 90 or 180 days.")
		} else {
			d.Days = n
		}
	}
	today := c.now().UTC()
	from := today.AddDate(0, 0, 1-d.Range).Format(time.DateOnly)
	base := "/admin/v1/tenants/" + url.PathEscape(p.Tenant.ID)
	reads := []*apiRead{{path: base + "/seats?duplicates=false", out: &d.Report}}
	switch tab {
	case tabUse:
		reads = append(reads, &apiRead{path: base + "/seats/usage?" + url.Values{"from": {from}, "to": {today.Format(time.DateOnly)}, "interval": {d.Interval}}.Encode(), out: &d.Usage})
	case tabDormant:
		reads = append(reads, &apiRead{path: base + "/reports/dormant?days=" + strconv.Itoa(d.Days), out: &d.Dormant})
	case tabDuplicates:
		reads = append(reads, &apiRead{path: base + "/reports/duplicates", out: &d.Duplicates})
	}
	c.readAll(r, p, reads...)
	if err := firstErr(reads...); err != nil {
		return err
	}
	d.Dormant.Note = asSentence(d.Dormant.Note)
	d.Duplicates.Note = asSentence(d.Duplicates.Note)
	d.Report.BillingTrigger = asSentence(d.Report.BillingTrigger)
	d.Chart = drawSeatChart(d.Usage, d.Range, wideChart)
	d.Chart.XName = "Date (UTC): the state at the end of each " + d.Usage.Interval
	d.Narrow = drawSeatChart(d.Usage, d.Range, narrowChart)
	d.Narrow.XName = "Date (UTC), end of each " + d.Usage.Interval
	status := http.StatusOK
	if len(bad) > 0 || problem != "" {
		status = http.StatusBadRequest
	}
	if problem != "" {
		bad = append([]string{problem}, bad...)
	}
	c.renderView(w, r, status, "seats", view{P: p, Title: "Seats", Nav: "seats", Data: d, Problem: strings.Join(bad, " ")})
	return nil
}

// dormantCSV downloads the dormant-seat report as the admin API writes it.
func (c *Console) dormantCSV(w http.ResponseWriter, r *http.Request, p *person) error {
	days := 30
	if n, err := strconv.Atoi(r.URL.Query().Get("days")); err == nil {
		days = n // the API checks the range
	}
	path := "/admin/v1/tenants/" + url.PathEscape(p.Tenant.ID) + "/reports/dormant?days=" + strconv.Itoa(days)
	raw, hdr, err := c.callRaw(r.Context(), r, p, http.MethodGet, path, "text/csv", nil)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cd := hdr.Get("Content-Disposition")
	if cd == "" {
		cd = `attachment; filename="dormant-seats.csv"`
	}
	w.Header().Set("Content-Disposition", cd)
	_, _ = w.Write(raw)
	return nil
}

// activeChange is one person of a bulk deactivation's answer.
type activeChange struct {
	ID        string    `json:"id"`
	UserName  string    `json:"userName"`
	Managed   string    `json:"managed"`
	OldActive bool      `json:"old_active"`
	NewActive bool      `json:"new_active"`
	OldSeat   string    `json:"old_seat"`
	NewSeat   string    `json:"new_seat"`
	Changed   bool      `json:"changed"`
	Refused   *apiError `json:"refused"`
}

type activeAnswer struct {
	Changed   int            `json:"changed"`
	Refused   int            `json:"refused"`
	Users     []activeChange `json:"users"`
	Seats     seatEffect     `json:"seats"`
	WouldFail *apiError      `json:"would_fail"`
}

// maxDeactivate bounds one deactivation from the page.
const maxDeactivate = 100

// deactivateDormant deactivates the people ticked in the dormant list:
// first the dry run's answer (who, what it does to seats and cost, who may
// not be changed by hand), then, confirmed, the change itself — all or
// nothing, in one request of the admin API.
func (c *Console) deactivateDormant(w http.ResponseWriter, r *http.Request, p *person) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	tab := tabDormant
	if r.PostFormValue("from") == tabDuplicates {
		tab = tabDuplicates
	}
	back := "/console/" + url.PathEscape(p.Tenant.ID) + "/seats/" + tab
	q := url.Values{}
	if days := r.PostFormValue("days"); days != "" {
		q.Set("days", days)
		back += "?" + q.Encode()
	}
	var users []string
	for _, u := range r.PostForm["user"] {
		if u = strings.TrimSpace(u); u != "" && !slices.Contains(users, u) {
			users = append(users, u)
		}
	}
	switch {
	case len(users) == 0:
		return c.seatsPage(w, r, p, tab, q, "Tick the people to deactivate first.")
	case len(users) > maxDeactivate:
		return c.seatsPage(w, r, p, tab, q, fmt.Sprintf("Deactivate at most %d people at a time; you ticked %d.", maxDeactivate, len(users)))
	}
	path := "/admin/v1/tenants/" + url.PathEscape(p.Tenant.ID) + "/users/deactivate"
	body := map[string]any{"users": users}
	if r.PostFormValue("confirm") != "yes" {
		var a activeAnswer
		if err := c.call(r.Context(), r, p, http.MethodPost, path+"?dry_run=true", body, &a); err != nil {
			return err
		}
		d := struct {
			Answer activeAnswer
			Users  []string
			Back   string
			Days   string
			From   string
		}{a, users, back, r.PostFormValue("days"), tab}
		c.renderView(w, r, http.StatusOK, "seats-deactivate", view{P: p, Title: "Deactivate dormant seats", Nav: "seats", Data: d})
		return nil
	}
	var a activeAnswer
	if err := c.call(r.Context(), r, p, http.MethodPost, path, body, &a); err != nil {
		return err
	}
	s := a.Seats
	done := fmt.Sprintf("Deactivated %d %s. Full seats %d → %d, light seats %d → %d; monthly cost %s → %s.",
		a.Changed, plural(a.Changed, "person", "people"), s.FullBefore, s.FullAfter, s.LightBefore, s.LightAfter,
		money(s.MonthlyCostCentsBefore), money(s.MonthlyCostCentsAfter))
	redirect(w, r, back, done)
	return nil
}

// asSentence is a note of the admin API as a sentence: a capital first and a
// full stop last.
func asSentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ---- the chart ----

// seatChart is an SVG line chart of seat use, laid out here so that the
// template only draws: coordinates are in the viewBox, which scales to any
// width.
type seatChart struct {
	chartLayout
	Title, Desc string
	XName       string // what the x axis is
	Range       int
	Interval    string
	YTicks      []chartTick
	Ticks       []chartTick // the dates on the x axis
	Series      []chartSeries
	Dots        bool
	Empty       bool
}

// chartLayout is the frame of a chart, in viewBox units.
type chartLayout struct {
	ID                       string // the svg's id; its title and desc ids derive from it
	W, H                     int
	Left, Right, Top, Bottom float64
	TickX                    float64 // where the y labels end
	XLabelY, AxisLabelY      float64 // the baselines of the date labels and of the x axis's name
	XTicks                   int     // about how many dates are written
	MaxDots                  int     // the most points drawn as dots (each with a tooltip)
}

var (
	wideChart   = chartLayout{ID: "seat-chart", W: 720, H: 270, Left: 44, Right: 704, Top: 12, Bottom: 226, TickX: 38, XLabelY: 242, AxisLabelY: 264, XTicks: 6, MaxDots: 92}
	narrowChart = chartLayout{ID: "seat-chart-narrow", W: 380, H: 300, Left: 40, Right: 352, Top: 16, Bottom: 236, TickX: 34, XLabelY: 256, AxisLabelY: 288, XTicks: 3, MaxDots: 31}
)

type chartTick struct {
	Pos    float64
	Label  string
	Anchor string // text-anchor: start, middle or end
}

type chartSeries struct {
	Key, Label, Class string
	Values            string // the numbers, comma-separated (data-values)
	Points            string // the polyline
	Dots              []chartDot
	Last              int
}

type chartDot struct {
	X, Y  float64
	Value int
	Date  string
	Title string
}

var chartLines = []struct {
	Key, Label, Class string
	Of                func(usagePoint) int
}{
	{"consumed", "Full seats used", "s-consumed", func(p usagePoint) int { return p.Consumed }},
	{"light", "Light seats used", "s-light", func(p usagePoint) int { return p.Light }},
	{"usable", "Usable seats (purchased, at least the plan minimum)", "s-usable", func(p usagePoint) int { return p.Usable }},
	{"billable", "Billable seats", "s-billable", func(p usagePoint) int { return p.Billable }},
}

func pointLabel(p usagePoint, interval string) string {
	switch interval {
	case "month":
		return p.Start.UTC().Format("Jan 2006")
	case "week":
		return "week of " + p.Start.UTC().Format("2 Jan 2006")
	}
	return p.Start.UTC().Format("2 Jan 2006")
}

func drawSeatChart(u usageReport, days int, layout chartLayout) seatChart {
	ch := seatChart{chartLayout: layout, Range: days, Interval: u.Interval}
	n := len(u.Points)
	ch.Title = fmt.Sprintf("Seat use over the last %d days, by %s", days, u.Interval)
	if n == 0 {
		ch.Empty = true
		ch.Desc = "There is no seat use to show for this range."
		return ch
	}
	top := 0
	for _, p := range u.Points {
		for _, l := range chartLines {
			top = max(top, l.Of(p))
		}
	}
	step, yMax := niceScale(top)
	for v := 0; v <= yMax; v += step {
		ch.YTicks = append(ch.YTicks, chartTick{Pos: ch.y(v, yMax), Label: strconv.Itoa(v), Anchor: "end"})
	}
	x := func(i int) float64 {
		if n == 1 {
			return (ch.Left + ch.Right) / 2
		}
		return round1(ch.Left + float64(i)*(ch.Right-ch.Left)/float64(n-1))
	}
	short := func(p usagePoint) string {
		if u.Interval == "month" {
			return p.Start.UTC().Format("Jan 06")
		}
		return p.Start.UTC().Format("2 Jan")
	}
	// A few date labels, the first and last among them, kept inside the
	// frame.
	ticks := min(n, ch.XTicks)
	seen := map[int]bool{}
	for k := 0; k < ticks; k++ {
		i := 0
		if ticks > 1 {
			i = int(math.Round(float64(k) * float64(n-1) / float64(ticks-1)))
		}
		if seen[i] {
			continue
		}
		seen[i] = true
		anchor := "middle"
		switch {
		case ticks > 1 && k == 0:
			anchor = "start"
		case ticks > 1 && k == ticks-1:
			anchor = "end"
		}
		ch.Ticks = append(ch.Ticks, chartTick{Pos: x(i), Label: short(u.Points[i]), Anchor: anchor})
	}
	ch.Dots = n <= ch.MaxDots
	var desc []string
	for _, l := range chartLines {
		s := chartSeries{Key: l.Key, Label: l.Label, Class: l.Class}
		vals := make([]string, n)
		pts := make([]string, n)
		for i, p := range u.Points {
			v := l.Of(p)
			vals[i] = strconv.Itoa(v)
			pts[i] = fmt.Sprintf("%g,%g", x(i), ch.y(v, yMax))
			if ch.Dots {
				s.Dots = append(s.Dots, chartDot{X: x(i), Y: ch.y(v, yMax), Value: v, Date: p.Start.UTC().Format(time.DateOnly),
					Title: fmt.Sprintf("%s: %d %s", pointLabel(p, u.Interval), v, strings.ToLower(l.Label))})
			}
		}
		s.Values, s.Points, s.Last = strings.Join(vals, ","), strings.Join(pts, " "), l.Of(u.Points[n-1])
		first := l.Of(u.Points[0])
		desc = append(desc, fmt.Sprintf("%s went from %d to %d", strings.ToLower(l.Label), first, s.Last))
		ch.Series = append(ch.Series, s)
	}
	ch.Desc = fmt.Sprintf("From %s to %s, %s. The table below lists every point.",
		pointLabel(u.Points[0], u.Interval), pointLabel(u.Points[n-1], u.Interval), strings.Join(desc, "; "))
	return ch
}

func (ch seatChart) y(v, yMax int) float64 {
	return round1(ch.Bottom - float64(v)*(ch.Bottom-ch.Top)/float64(yMax))
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// niceScale picks a whole step of 1, 2, 2.5 or 5 times a power of ten
// giving about four steps up to at least top, and the axis maximum.
func niceScale(top int) (step, yMax int) {
	if top < 4 {
		return 1, 4
	}
	raw := float64(top) / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw && m*mag == math.Trunc(m*mag) {
			step = int(m * mag)
			break
		}
	}
	yMax = (top + step - 1) / step * step
	return step, yMax
}
