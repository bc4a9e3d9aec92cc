package admin

// Seats and billing: the seat report, the seat ledger, and the
// contract part of a tenant's POST/PATCH (contract_start; seats lowered wait
// for the renewal). Every number comes from package licensing; this file only
// reads the store and renders.

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// ---- the seat report: GET /admin/v1/tenants/{id}/seats ----

// seatReportView is the JSON of licensing.SeatReport. Money is in US cents
// (fields ending _cents); monthly figures are per month of an annually billed
// term.
type seatReportView struct {
	Tenant         string   `json:"tenant"`
	AsOf           string   `json:"as_of"`
	Plan           planView `json:"plan"`
	MinimumSeats   int      `json:"minimum_seats"`
	PurchasedSeats int      `json:"purchased_seats"`
	UsableSeats    int      `json:"usable_seats"` // the cap: max(minimum, purchased) on paid plans
	ConsumedSeats  int      `json:"consumed_seats"`
	AvailableSeats int      `json:"available_seats"`
	OverageSeats   int      `json:"overage_seats"`
	OverageAllowed bool     `json:"overage_allowed"`
	BillableSeats  int      `json:"billable_seats"`

	LightSeats  lightSeatsView `json:"light_seats"`
	ActiveUsers int            `json:"active_users"`
	Addons      []addonView    `json:"addons"`

	MonthlyCostCents      int64       `json:"monthly_cost_cents"`
	Monthly               monthlyView `json:"monthly"`
	AnnualCommitmentCents int64       `json:"annual_commitment_cents"`

	BillableNow          billableView     `json:"billable_now"`
	BillableAfterRenewal afterRenewalView `json:"billable_after_renewal"`
	Contract             contractView     `json:"contract"`

	BillingTrigger string `json:"billing_trigger"`

	duplicatesView
}

type planView struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	SeatPriceCents int    `json:"seat_price_cents"`
	BilledAnnually bool   `json:"billed_annually"`
}

type lightSeatsView struct {
	Consumed     int   `json:"consumed"`
	PriceCents   int64 `json:"price_cents"`
	MonthlyCents int64 `json:"monthly_cents"`
}

type addonView struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Users          int    `json:"users"`
	UserPriceCents int    `json:"user_price_cents"`
	IncludedInPlan bool   `json:"included_in_plan"`
	MonthlyCents   int64  `json:"monthly_cents"`
}

type monthlyView struct {
	SeatsCents      int64 `json:"seats_cents"`
	LightSeatsCents int64 `json:"light_seats_cents"`
	AddonsCents     int64 `json:"addons_cents"`
	TotalCents      int64 `json:"total_cents"`
}

type billableView struct {
	PurchasedSeats   int   `json:"purchased_seats"`
	BillableSeats    int   `json:"billable_seats"`
	MonthlyCostCents int64 `json:"monthly_cost_cents"`
}

type afterRenewalView struct {
	At                    string `json:"at"`
	PurchasedSeats        int    `json:"purchased_seats"`
	BillableSeats         int    `json:"billable_seats"`
	MonthlyCostCents      int64  `json:"monthly_cost_cents"`
	AnnualCommitmentCents int64  `json:"annual_commitment_cents"`
}

type contractView struct {
	Start                  string          `json:"start"`
	TermStart              string          `json:"term_start"`
	Renewal                string          `json:"renewal"`
	DaysInTerm             int             `json:"days_in_term"`
	DaysToRenewal          int             `json:"days_to_renewal"`
	SeatsAtTermStart       int             `json:"seats_at_term_start"`
	PendingReduction       *pendingView    `json:"pending_reduction"`
	ProratedAdditions      []prorationView `json:"prorated_additions"`
	ProratedAdditionsCents int64           `json:"prorated_additions_cents"`
}

type pendingView struct {
	Seats       int    `json:"seats"`
	EffectiveAt string `json:"effective_at"`
}

type prorationView struct {
	At            string `json:"at"`
	From          int    `json:"from_seats"`
	To            int    `json:"to_seats"`
	BillableAdded int    `json:"billable_seats_added"`
	DaysLeft      int    `json:"days_to_renewal"`
	DaysInTerm    int    `json:"days_in_term"`
	AmountCents   int64  `json:"amount_cents"`
}

// billingTrigger is the rule the seed's admins found documented inconsistently.
const billingTrigger = "a seat is consumed when a user is provisioned or reactivated active (invite time, not first sign-in) " +
	"and released when the user is deactivated, deleted or their access expires; every change is in the seat ledger (/seats/events)"

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func viewSeatReport(r licensing.SeatReport) seatReportView {
	v := seatReportView{
		Tenant:         r.TenantID,
		AsOf:           rfc3339(r.AsOf),
		Plan:           planView{ID: r.Plan.ID, Name: r.Plan.Name, SeatPriceCents: r.Plan.SeatPriceCents, BilledAnnually: r.Plan.BilledAnnually},
		MinimumSeats:   r.MinimumSeats,
		PurchasedSeats: r.PurchasedSeats,
		UsableSeats:    r.UsableSeats,
		ConsumedSeats:  r.ConsumedSeats,
		AvailableSeats: r.AvailableSeats,
		OverageSeats:   r.OverageSeats,
		OverageAllowed: r.OverageAllowed,
		BillableSeats:  r.BillableSeats,
		LightSeats:     lightSeatsView{Consumed: r.LightSeats, PriceCents: r.LightPriceCents, MonthlyCents: r.LightMonthlyCents},
		ActiveUsers:    r.ActiveUsers,
		Addons:         []addonView{},

		MonthlyCostCents: r.MonthlyCostCents,
		Monthly: monthlyView{SeatsCents: r.SeatMonthlyCents, LightSeatsCents: r.LightMonthlyCents,
			AddonsCents: r.AddonMonthlyCents, TotalCents: r.MonthlyCostCents},
		AnnualCommitmentCents: r.AnnualCommitmentCents,

		BillableNow: billableView{PurchasedSeats: r.PurchasedSeats, BillableSeats: r.BillableSeats, MonthlyCostCents: r.MonthlyCostCents},
		BillableAfterRenewal: afterRenewalView{At: rfc3339(r.AfterRenewal.At), PurchasedSeats: r.AfterRenewal.PurchasedSeats,
			BillableSeats: r.AfterRenewal.BillableSeats, MonthlyCostCents: r.AfterRenewal.MonthlyCostCents,
			AnnualCommitmentCents: r.AfterRenewal.AnnualCommitmentCents},
		Contract: contractView{
			TermStart: rfc3339(r.Term.Start), Renewal: rfc3339(r.Term.Renewal),
			DaysInTerm: r.DaysInTerm, DaysToRenewal: r.DaysToRenewal, SeatsAtTermStart: r.TermStartSeats,
			ProratedAdditions: []prorationView{}, ProratedAdditionsCents: r.ProratedAddedCents,
		},
		BillingTrigger: billingTrigger,
	}
	for _, a := range r.Addons {
		v.Addons = append(v.Addons, addonView{ID: a.ID, Name: a.Name, Users: a.Users, UserPriceCents: a.UserPriceCents,
			IncludedInPlan: a.IncludedInPlan, MonthlyCents: a.MonthlyCents})
	}
	if p := r.PendingReduction; p != nil {
		v.Contract.PendingReduction = &pendingView{Seats: p.Seats, EffectiveAt: rfc3339(p.EffectiveAt)}
	}
	for _, p := range r.Prorations {
		v.Contract.ProratedAdditions = append(v.Contract.ProratedAdditions, prorationView{At: rfc3339(p.At), From: p.From, To: p.To,
			BillableAdded: p.BillableAdded, DaysLeft: p.DaysLeft, DaysInTerm: p.DaysInTerm, AmountCents: p.AmountCents})
	}
	return v
}

// getSeats answers the tenant's seat report at the API's clock.
// With ?duplicates=false the possible duplicates are left out (an empty
// list): finding them reads every active person, which a summary — the
// console's overview — need not pay for at 100,000 people.
func (a *API) getSeats(w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "duplicates"); err != nil {
		return err
	}
	withDuplicates := true
	if v, ok := param(r.URL.Query(), "duplicates"); ok {
		switch v {
		case "true":
		case "false":
			withDuplicates = false
		default:
			return invalid(FieldError{"duplicates", "must be true or false"})
		}
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	counts, err := a.store.SeatCounts(r.Context(), t.ID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no tenant %q", t.ID)
	}
	if err != nil {
		return err
	}
	contract := t.Contract()
	report := licensing.Report(contract, counts, a.now())
	v := viewSeatReport(report)
	v.Contract.Start = rfc3339(contract.StartDate())
	var users []licensing.SeatHolder
	if withDuplicates {
		if users, err = a.activeUsers(r, t.ID); err != nil {
			return err
		}
	}
	v.duplicatesView = viewDuplicates(licensing.Duplicates(contract, users))
	writeJSON(w, http.StatusOK, v)
	return nil
}

// ---- the seat ledger: GET /admin/v1/tenants/{id}/seats/events ----

// maxSeatEventPage bounds a page of the ledger.
const maxSeatEventPage = 1000

// seatEventView is one ledger entry.
type seatEventView struct {
	Seq    int64     `json:"seq"`
	At     string    `json:"at"`
	UserID string    `json:"user_id"`
	Seat   string    `json:"seat"`   // full | light
	Delta  int       `json:"delta"`  // +1 consumed, -1 released
	Reason string    `json:"reason"` // provisioned, reactivated, deactivated, deleted, expired, role_changed
	Actor  actorView `json:"actor"`
}

// listSeatEvents pages through the tenant's seat ledger, oldest first:
// ?from=&to=&user=&cursor=&limit=. from is inclusive, to exclusive; user is a
// user id, or the userName of a current user; cursor is the next_cursor of
// the previous page.
func (a *API) listSeatEvents(w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "from", "to", "user", "cursor", "limit"); err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	eq := store.EventQuery{Limit: 100}
	var bad []FieldError
	if v, ok := param(q, "from"); ok {
		if eq.From, err = parseInstant(v); err != nil {
			bad = append(bad, FieldError{"from", err.Error()})
		}
	}
	if v, ok := param(q, "to"); ok {
		if eq.To, err = parseInstant(v); err != nil {
			bad = append(bad, FieldError{"to", err.Error()})
		}
	}
	if !eq.From.IsZero() && !eq.To.IsZero() && !eq.From.Before(eq.To) {
		bad = append(bad, FieldError{"to", "must be after from"})
	}
	if v, ok := param(q, "cursor"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			bad = append(bad, FieldError{"cursor", "must be the next_cursor of a previous page"})
		}
		eq.After = n
	}
	if v, ok := param(q, "limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSeatEventPage {
			bad = append(bad, FieldError{"limit", fmt.Sprintf("must be a number between 1 and %d", maxSeatEventPage)})
		}
		eq.Limit = n
	}
	if v, ok := param(q, "user"); ok {
		if v == "" {
			bad = append(bad, FieldError{"user", "must be a user id or userName"})
		}
		eq.UserID = v
	}
	if len(bad) > 0 {
		return invalid(bad...)
	}
	if eq.UserID != "" {
		// A userName of a current user names them; anything else is taken
		// as an id, so that the ledger of a deleted user stays reachable.
		if _, err := a.store.GetUser(r.Context(), t.ID, eq.UserID); errors.Is(err, store.ErrNotFound) {
			if u, err := a.store.GetUserByUserName(r.Context(), t.ID, eq.UserID); err == nil {
				eq.UserID = u.ID
			}
		}
	}
	limit := eq.Limit
	eq.Limit = limit + 1 // one more says whether there is a next page
	events, err := a.store.ListSeatEvents(r.Context(), t.ID, eq)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no tenant %q", t.ID)
	}
	if err != nil {
		return err
	}
	page := map[string]any{}
	if len(events) > limit {
		events = events[:limit]
		page["next_cursor"] = strconv.FormatInt(events[len(events)-1].Seq, 10)
	} else {
		page["next_cursor"] = nil
	}
	out := make([]seatEventView, 0, len(events))
	for _, e := range events {
		out = append(out, seatEventView{Seq: e.Seq, At: e.Time.UTC().Format(time.RFC3339Nano), UserID: e.UserID,
			Seat: string(e.Class), Delta: e.Delta, Reason: e.Reason,
			Actor: actorView{Kind: e.Actor.Kind, ID: e.Actor.ID, Name: e.Actor.Name, RequestID: e.Actor.RequestID}})
	}
	page["events"] = out
	writeJSON(w, http.StatusOK, page)
	return nil
}

// param is a query parameter given once; a repeated one is taken as its
// first value.
func param(q map[string][]string, name string) (string, bool) {
	v, ok := q[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return strings.TrimSpace(v[0]), true
}

// onlyParams refuses query parameters the endpoint does not know, naming
// them, so that a misspelt filter never silently returns everything.
func onlyParams(r *http.Request, known ...string) error {
	var bad []FieldError
	for name := range r.URL.Query() {
		if !slices.Contains(known, name) {
			msg := "is not a parameter of this endpoint"
			if len(known) > 0 {
				msg += "; parameters: " + strings.Join(known, ", ")
			}
			bad = append(bad, FieldError{name, msg})
		}
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(x, y FieldError) int { return strings.Compare(x.Field, y.Field) })
		return invalid(bad...)
	}
	return nil
}

// parseInstant reads an RFC 3339 time, or a date (midnight UTC).
func parseInstant(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("must be an RFC 3339 time such as 2026-01-02T15:04:05Z, or a date such as 2026-01-02")
}

// ---- the contract part of a tenant's POST and PATCH ----

// earliestContract bounds contract_start from below.
var earliestContract = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// applyContract finishes a tenant POST or PATCH under the contract rules
// (licensing.ChangeSeats): in.apply has set t.Seats to the requested count;
// here an increase takes effect now and is kept for proration, a reduction of
// an annually billed plan waits for the renewal (Seats stays, SeatsAtRenewal
// is set), a trial converted to a paid plan starts its contract now, and
// contract_start moves the term. before is the tenant as stored
// (zero on POST). It returns the faults of the contract fields.
func applyContract(before store.Tenant, t *store.Tenant, in tenantInput, now time.Time) []FieldError {
	var bad []FieldError
	var start time.Time
	if in.ContractStart != nil {
		var err error
		start, err = parseInstant(strings.TrimSpace(*in.ContractStart))
		switch {
		case err != nil:
			bad = append(bad, FieldError{"contract_start", err.Error()})
		case start.After(now):
			bad = append(bad, FieldError{"contract_start", "must not be in the future: the contract's first day, today or earlier"})
		case start.Before(earliestContract):
			bad = append(bad, FieldError{"contract_start", "must be on or after 2000-01-01"})
		}
	}
	if len(bad) > 0 {
		return bad
	}
	if before.ID == "" { // POST: the term starts with the seats given
		if in.ContractStart != nil {
			t.ContractStart = start
		}
		return nil
	}
	requested := t.Seats
	t.Seats = before.Seats
	changed := licensing.Roll(t.Contract(), now)
	changed = licensing.ChangePlan(changed, before.Plan, now) // a trial converted starts its first term now
	if in.ContractStart != nil {
		changed = licensing.ChangeContractStart(changed, start, now)
	}
	if in.Seats != nil && requested >= 0 && requested <= maxSeats { // out of range: in.apply said so
		var err error
		if changed, _, err = licensing.ChangeSeats(changed, requested, now); err != nil {
			return []FieldError{{"seats", err.Error()}}
		}
	}
	t.SetContract(changed)
	return nil
}

// tenantContractView is the contract part of a tenant as the admin API shows
// it: seats lowered by a PATCH show here until the renewal (the seat report
// has the term, the renewal and the money).
type tenantContractView struct {
	Start            string       `json:"start"`
	PendingReduction *pendingView `json:"pending_reduction"`
}

func viewTenantContract(t store.Tenant) tenantContractView {
	v := tenantContractView{Start: rfc3339(t.Contract().StartDate())}
	if t.SeatsAtRenewal != nil && t.SeatsAtRenewalFrom != nil {
		v.PendingReduction = &pendingView{Seats: *t.SeatsAtRenewal, EffectiveAt: rfc3339(*t.SeatsAtRenewalFrom)}
	}
	return v
}

// duplicatesView lists seat holders who share an email address (one person,
// one seat) in the seat and dormant reports.
type duplicatesView struct {
	PossibleDuplicates []duplicateView `json:"possible_duplicates"`
	// What the duplicates cost per month beyond one seat per address.
	PossibleDuplicatesExtraCents int64 `json:"possible_duplicates_extra_monthly_cents"`
}

type duplicateView struct {
	Email             string                `json:"email"`
	Users             []duplicateHolderView `json:"users"`
	MonthlyCostCents  int64                 `json:"monthly_cost_cents"`
	ExtraMonthlyCents int64                 `json:"extra_monthly_cents"`
}

type duplicateHolderView struct {
	UserID           string `json:"user_id"`
	UserName         string `json:"user_name"`
	Role             string `json:"role"`
	Seat             string `json:"seat"`
	MonthlyCostCents int64  `json:"monthly_cost_cents"`
}

func viewDuplicates(groups []licensing.DuplicateGroup) duplicatesView {
	v := duplicatesView{PossibleDuplicates: make([]duplicateView, 0, len(groups))}
	for _, g := range groups {
		d := duplicateView{Email: g.Email, MonthlyCostCents: g.MonthlyCostCents, ExtraMonthlyCents: g.ExtraMonthlyCents}
		for _, h := range g.Holders {
			d.Users = append(d.Users, duplicateHolderView{UserID: h.UserID, UserName: h.UserName, Role: h.Role,
				Seat: string(h.Seat), MonthlyCostCents: h.MonthlyCostCents})
		}
		v.PossibleDuplicates = append(v.PossibleDuplicates, d)
		v.PossibleDuplicatesExtraCents += g.ExtraMonthlyCents
	}
	return v
}
