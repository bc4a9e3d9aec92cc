package admin

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/licensing"
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

// activeUsers reads every active user of the tenant as the seat reports
// read them, in one read of only what they need (ActiveSeatHolders).
func (a *API) activeUsers(r *http.Request, tenantID string) ([]licensing.SeatHolder, error) {
	return a.store.ActiveSeatHolders(r.Context(), tenantID)
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

// ---- possible duplicate people: GET /admin/v1/tenants/{id}/reports/duplicates ----

type samePersonUserView struct {
	ID               string     `json:"id"`
	UserName         string     `json:"userName"`
	Email            string     `json:"email"`
	DisplayName      string     `json:"displayName"`
	Role             string     `json:"role"`
	Seat             string     `json:"seat"`
	Managed          string     `json:"managed"`
	LastActiveAt     *time.Time `json:"last_active_at"` // last sign-in; null: never
	MonthlyCostCents int64      `json:"monthly_cost_cents"`
}

type samePersonReasonView struct {
	Reason string `json:"reason"` // same_email | same_display_name | same_username_local_part
	Key    string `json:"key"`
}

type samePersonGroupView struct {
	Reasons           []samePersonReasonView `json:"reasons"`
	Users             []samePersonUserView   `json:"users"`
	MonthlyCostCents  int64                  `json:"monthly_cost_cents"`
	ExtraMonthlyCents int64                  `json:"extra_monthly_cents"`
}

// duplicatesReport lists the active seat holders who are probably one
// person holding several seats (licensing.SamePeople: the same email
// without case or +tag, the same displayName, or the same userName local
// part on another domain), grouped, most saving first. One read of the
// tenant's active users, as the dormant report makes.
func (a *API) duplicatesReport(w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	users, err := a.activeUsers(r, t.ID)
	if err != nil {
		return err
	}
	groups := licensing.SamePeople(t.Contract(), users)
	out := make([]samePersonGroupView, 0, len(groups))
	var extra int64
	for _, g := range groups {
		v := samePersonGroupView{MonthlyCostCents: g.MonthlyCostCents, ExtraMonthlyCents: g.ExtraMonthlyCents,
			Reasons: make([]samePersonReasonView, 0, len(g.Reasons)), Users: make([]samePersonUserView, 0, len(g.Holders))}
		for _, x := range g.Reasons {
			v.Reasons = append(v.Reasons, samePersonReasonView{Reason: x.Reason, Key: x.Key})
		}
		for _, h := range g.Holders {
			v.Users = append(v.Users, samePersonUserView{ID: h.ID, UserName: h.UserName, Email: h.Email, DisplayName: h.DisplayName,
				Role: h.Role, Seat: string(h.Seat), Managed: h.Managed, LastActiveAt: h.LastActiveAt,
				MonthlyCostCents: h.MonthlyCostCents})
		}
		extra += g.ExtraMonthlyCents
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenant_id": t.ID, "as_of": a.now().UTC(), "groups": out,
		"extra_monthly_cents": extra,
		"note":                "possible duplicates only: the IdP decides who exists; deactivate or delete the extra accounts there (or here for people managed by hand)"})
	return nil
}
