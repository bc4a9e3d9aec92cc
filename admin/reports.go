package admin

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// Reports: GET /admin/v1/tenants/{id}/reports/dormant?days=N.

// defaultDormantDays is the window when days is not given.
const defaultDormantDays = 30

// maxDormantDays bounds days (ten years).
const maxDormantDays = 3650

type dormantSeatView struct {
	UserID               string     `json:"user_id"`
	UserName             string     `json:"user_name"`
	DisplayName          string     `json:"display_name,omitempty"`
	Role                 string     `json:"role"`
	Seat                 string     `json:"seat"`
	UserType             string     `json:"user_type,omitempty"`
	ProvisionedAt        time.Time  `json:"provisioned_at"`
	DaysSinceProvisioned int        `json:"days_since_provisioned"`
	LastActiveAt         *time.Time `json:"last_active_at"`
	DaysSinceActive      int        `json:"days_since_active"`
	NeverSignedIn        bool       `json:"never_signed_in"`
	MonthlyCostCents     int64      `json:"monthly_cost_cents"`
}

type dormantView struct {
	TenantID         string            `json:"tenant_id"`
	AsOf             time.Time         `json:"as_of"`
	Days             int               `json:"days"`
	Plan             string            `json:"plan"`
	Users            int               `json:"users"`
	MonthlyCostCents int64             `json:"monthly_cost_cents"`
	Note             string            `json:"note"`
	Seats            []dormantSeatView `json:"seats"`

	duplicatesView
}

// dormantReport lists the tenant's seat holders with no sign-in for days days
// (default 30) or never, most expensive first, then the longest idle. With
// Accept: text/csv it answers the same rows as CSV.
func (a *API) dormantReport(w http.ResponseWriter, r *http.Request) error {
	days := defaultDormantDays
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxDormantDays {
			return invalid(FieldError{"days", fmt.Sprintf("must be a whole number of days from 1 to %d, e.g. days=30", maxDormantDays)})
		}
		days = n
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	users, err := a.activeUsers(r, t.ID)
	if err != nil {
		return err
	}
	contract := t.Contract()
	rep := licensing.Dormant(contract, users, days, a.now())
	if wantsCSV(r) {
		return writeDormantCSV(w, rep)
	}
	v := dormantView{TenantID: rep.TenantID, AsOf: rep.AsOf, Days: rep.Days, Plan: rep.Plan.ID, Users: len(rep.Seats),
		MonthlyCostCents: rep.MonthlyCostCents, Seats: make([]dormantSeatView, 0, len(rep.Seats)),
		Note:           "costs are list prices per month; releasing seats lowers the bill only above the plan minimum and the purchased seats, and purchased seats are reduced at the renewal",
		duplicatesView: viewDuplicates(licensing.Duplicates(contract, users))}
	for _, s := range rep.Seats {
		v.Seats = append(v.Seats, dormantSeatView{
			UserID: s.UserID, UserName: s.UserName, DisplayName: s.DisplayName, Role: s.Role, Seat: string(s.Seat), UserType: s.UserType,
			ProvisionedAt: s.ProvisionedAt, DaysSinceProvisioned: s.DaysSinceProvisioned, LastActiveAt: s.LastActiveAt,
			DaysSinceActive: s.DaysSinceActive, NeverSignedIn: s.NeverSignedIn, MonthlyCostCents: s.MonthlyCostCents,
		})
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// activeUsers reads every active user of the tenant, a page at a time, as
// the seat reports read them: newest first by keyset (ListPeople), so that
// each page costs the same at 100,000 people as at 100 (an offset would
// read every earlier page again).
func (a *API) activeUsers(r *http.Request, tenantID string) ([]licensing.SeatHolder, error) {
	const pageSize = 2000
	var all []store.User
	q := store.PeopleQuery{Filter: store.Compare{Attr: "active", Op: store.OpEq, Value: true}, Limit: pageSize}
	for {
		page, err := a.store.ListPeople(r.Context(), tenantID, q)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Users...)
		if page.Next == 0 {
			return store.SeatHolders(all), nil
		}
		q.Before = page.Next
	}
}

func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(mt), "text/csv") {
			return true
		}
	}
	return false
}

// writeDormantCSV writes the report's rows with a header line; cells that a
// spreadsheet would run as a formula are prefixed with a quote.
func writeDormantCSV(w http.ResponseWriter, rep licensing.DormantReport) error {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="dormant-%s-%dd.csv"`, safeFileName(rep.TenantID), rep.Days))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"user_id", "user_name", "display_name", "role", "seat", "user_type", "provisioned_at",
		"days_since_provisioned", "last_active_at", "days_since_active", "never_signed_in", "monthly_cost_cents"})
	for _, s := range rep.Seats {
		last := ""
		if s.LastActiveAt != nil {
			last = s.LastActiveAt.UTC().Format(time.RFC3339)
		}
		_ = cw.Write([]string{cell(s.UserID), cell(s.UserName), cell(s.DisplayName), cell(s.Role), string(s.Seat), cell(s.UserType),
			s.ProvisionedAt.UTC().Format(time.RFC3339), strconv.Itoa(s.DaysSinceProvisioned), last, strconv.Itoa(s.DaysSinceActive),
			strconv.FormatBool(s.NeverSignedIn), strconv.FormatInt(s.MonthlyCostCents, 10)})
	}
	cw.Flush()
	return nil
}

// cell neutralises CSV formula injection (=, +, -, @, tab, CR at the start).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
