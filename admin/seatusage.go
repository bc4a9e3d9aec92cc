package admin

// The seat-usage history: GET /admin/v1/tenants/{id}/seats/usage. The
// numbers come from licensing.Usage (the rules of the seat report, applied
// at the end of each interval); this file reads the ledger once
// (store.SeatHistory) and renders.

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// defaultUsageDays is the range when neither from nor to is given: the last
// 30 days, today included.
const defaultUsageDays = 30

// usageNote says what a point is, in every answer.
const usageNote = "each point is the state at the end of its interval (for the interval in progress: now, see at); " +
	"peak_consumed is the most full seats held at any instant of the interval; " +
	"cost_cents is the monthly cost of that state (seats, light seats and add-ons at today's plan and prices), not a share of it for the interval"

type usageView struct {
	Tenant   string           `json:"tenant"`
	Interval string           `json:"interval"`
	From     string           `json:"from"`
	To       string           `json:"to"`
	AsOf     string           `json:"as_of"`
	Plan     string           `json:"plan"`
	Currency string           `json:"currency"`
	Note     string           `json:"note"`
	Points   []usagePointView `json:"points"`
}

type usagePointView struct {
	Start        string `json:"start"`
	End          string `json:"end"`
	At           string `json:"at"`
	Consumed     int    `json:"consumed"`
	Light        int    `json:"light"`
	PeakConsumed int    `json:"peak_consumed"`
	Usable       int    `json:"usable"`
	Purchased    int    `json:"purchased"`
	Billable     int    `json:"billable"`
	CostCents    int64  `json:"cost_cents"`
}

// usageColumns are the CSV header; each row carries the JSON point's numbers.
var usageColumns = []string{"start", "end", "at", "consumed", "light", "peak_consumed", "usable", "purchased", "billable", "cost_cents", "currency"}

// seatUsage answers the tenant's seat usage, interval by interval:
// ?from=YYYY-MM-DD&to=YYYY-MM-DD (UTC dates, to inclusive; default the last
// 30 days)&interval=day|week|month (default day)&format=json|csv (default:
// CSV when Accept asks for text/csv).
func (a *API) seatUsage(w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "from", "to", "interval", "format"); err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	now := a.now()
	q := r.URL.Query()
	var bad []FieldError
	date := func(name string) (time.Time, bool) {
		v, ok := param(q, name)
		if !ok {
			return time.Time{}, false
		}
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			bad = append(bad, FieldError{name, fmt.Sprintf("%q is not a date; give a UTC date such as 2026-11-01", v)})
			return time.Time{}, false
		}
		return d, true
	}
	from, hasFrom := date("from")
	to, hasTo := date("to")
	interval := licensing.UsageDay
	if v, ok := param(q, "interval"); ok {
		interval = licensing.UsageInterval(v)
	}
	csvOut := wantsCSV(r)
	if v, ok := param(q, "format"); ok {
		switch v {
		case "csv":
			csvOut = true
		case "json":
			csvOut = false
		default:
			bad = append(bad, FieldError{"format", fmt.Sprintf("unknown format %q; formats: json, csv", v)})
		}
	}
	if len(bad) > 0 {
		return invalid(bad...)
	}
	if !hasTo {
		to = now.UTC()
		if hasFrom && from.After(to) {
			to = from // licensing refuses a from after today, naming from
		}
	}
	if !hasFrom {
		from = to.AddDate(0, 0, 1-defaultUsageDays)
	}
	periods, err := licensing.UsagePeriods(from, to, interval, now)
	var ue *licensing.UsageError
	if errors.As(err, &ue) {
		return invalid(FieldError{ue.Param, ue.Reason})
	}
	if err != nil {
		return err
	}
	// The ledger is read once for the whole range (the entries before it
	// summed in the store), never per point.
	h, err := a.store.SeatHistory(r.Context(), t.ID, periods[0].Start, periods[len(periods)-1].End)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no tenant %q", t.ID)
	}
	if err != nil {
		return err
	}
	points := licensing.Usage(t.Contract(), periods, h.Opening, h.Moves, now)
	v := usageView{Tenant: t.ID, Interval: string(interval), From: from.Format(time.DateOnly), To: to.UTC().Format(time.DateOnly),
		AsOf: rfc3339(now), Plan: t.Plan, Currency: licensing.Currency, Note: usageNote, Points: make([]usagePointView, 0, len(points))}
	for _, p := range points {
		v.Points = append(v.Points, usagePointView{Start: rfc3339(p.Start), End: rfc3339(p.End), At: rfc3339(p.At),
			Consumed: p.Consumed, Light: p.Light, PeakConsumed: p.PeakConsumed, Usable: p.Usable, Purchased: p.Purchased,
			Billable: p.Billable, CostCents: p.CostCents})
	}
	if csvOut {
		writeUsageCSV(w, v)
		return nil
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// writeUsageCSV writes the points with a header row; every cell is a number
// or a time, so none needs guarding against formulas.
func writeUsageCSV(w http.ResponseWriter, v usageView) {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="seat-usage-%s-%s-%s-%s.csv"`, safeFileName(v.Tenant), v.From, v.To, v.Interval))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.Write(usageColumns)
	for _, p := range v.Points {
		_ = cw.Write([]string{p.Start, p.End, p.At, strconv.Itoa(p.Consumed), strconv.Itoa(p.Light), strconv.Itoa(p.PeakConsumed),
			strconv.Itoa(p.Usable), strconv.Itoa(p.Purchased), strconv.Itoa(p.Billable), strconv.FormatInt(p.CostCents, 10), v.Currency})
	}
	cw.Flush()
}
