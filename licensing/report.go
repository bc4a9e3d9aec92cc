package licensing

import (
	"slices"
	"time"
)

// SeatReport is what a tenant uses and pays for at one instant: the answer
// to "what is billed, and why" (GET /admin/v1/tenants/{id}/seats). Money is
// in US cents; "monthly" figures are per month of an annually billed term.
type SeatReport struct {
	TenantID string
	AsOf     time.Time

	Plan           Plan
	MinimumSeats   int  // the contract minimum (0 on a plan that bills nothing)
	PurchasedSeats int  // full seats purchased and in force now
	UsableSeats    int  // the cap: max(minimum, purchased) on paid plans, purchased on trial (UsableSeats)
	ConsumedSeats  int  // full seats held by active users now
	AvailableSeats int  // usable - consumed, never below 0
	OverageSeats   int  // consumed - usable, never below 0
	OverageAllowed bool // the tenant's overage setting

	// BillableSeats = max(minimum, purchased, consumed): what is billed now.
	BillableSeats     int
	SeatMonthlyCents  int64 // BillableSeats × the plan's seat price
	LightSeats        int   // light seats held now; never capped, not in the minimum
	LightPriceCents   int64 // per light seat per month (tenant setting)
	LightMonthlyCents int64
	ActiveUsers       int // full + light: the users add-ons are billed for
	Addons            []AddonCharge
	AddonMonthlyCents int64
	MonthlyCostCents  int64 // seats + light seats + add-ons, billed now

	Term             Term
	DaysInTerm       int
	DaysToRenewal    int
	PendingReduction *PendingReduction // nil: none

	// Mid-term additions of the current term, each prorated to the renewal.
	Prorations            []Proration
	ProratedAddedCents    int64
	TermStartSeats        int   // purchased seats when the term began
	AnnualCommitmentCents int64 // this term's seat commitment: max(minimum, TermStartSeats) × price × 12 + ProratedAddedCents

	AfterRenewal AfterRenewal
}

// AddonCharge is one add-on line: billed per active user per month, or
// included in the plan at no charge.
type AddonCharge struct {
	Addon
	Users          int
	IncludedInPlan bool
	MonthlyCents   int64
}

// PendingReduction is a seat reduction waiting for the renewal.
type PendingReduction struct {
	Seats       int
	EffectiveAt time.Time
}

// Proration is one mid-term addition of purchased seats.
type Proration struct {
	At            time.Time
	From, To      int   // purchased seats before and after
	BillableAdded int   // billable seats added: max(minimum, To) - max(minimum, From)
	DaysLeft      int   // from the addition's date to the renewal date
	DaysInTerm    int   // 365 or 366
	AmountCents   int64 // BillableAdded × price × 12 × DaysLeft / DaysInTerm, rounded to the cent
}

// AfterRenewal is the bill of the next term if nothing but the pending
// reduction changes: consumption and add-ons as they are now.
type AfterRenewal struct {
	At                    time.Time
	PurchasedSeats        int
	BillableSeats         int
	MonthlyCostCents      int64
	AnnualCommitmentCents int64 // max(minimum, PurchasedSeats) × price × 12
}

// Report computes a tenant's seat report at now from its contract (plan,
// purchased seats, terms, add-ons, overage, light-seat price) and the seats
// its users hold (the store's counters, or CountsAt of its ledger). An
// unknown plan id bills as a plan of price 0 with that id.
func Report(t Contract, held SeatCounts, now time.Time) SeatReport {
	t = Roll(t, now)
	plan, ok := Lookup(t.Plan)
	if !ok {
		plan = Plan{ID: t.Plan, Name: t.Plan}
	}
	price := int64(plan.SeatPriceCents)
	r := SeatReport{
		TenantID:       t.TenantID,
		AsOf:           now,
		Plan:           plan,
		MinimumSeats:   plan.MinimumSeats,
		PurchasedSeats: t.Seats,
		UsableSeats:    UsableSeats(plan, t.Seats),
		ConsumedSeats:  held.Full,
		AvailableSeats: max(0, UsableSeats(plan, t.Seats)-held.Full),
		OverageSeats:   max(0, held.Full-UsableSeats(plan, t.Seats)),
		OverageAllowed: t.Overage,
		LightSeats:     held.Light,
		ActiveUsers:    held.Full + held.Light,
	}
	r.BillableSeats = BillableSeats(plan, t.Seats, held.Full)
	r.SeatMonthlyCents = int64(r.BillableSeats) * price
	if plan.Paid {
		r.LightPriceCents = int64(t.LightSeatPriceCents)
	}
	r.LightMonthlyCents = int64(held.Light) * r.LightPriceCents
	r.Addons = addonCharges(plan, t.Addons, r.ActiveUsers)
	for _, a := range r.Addons {
		r.AddonMonthlyCents += a.MonthlyCents
	}
	r.MonthlyCostCents = r.SeatMonthlyCents + r.LightMonthlyCents + r.AddonMonthlyCents

	r.Term = TermAt(t.StartDate(), now)
	r.DaysInTerm = r.Term.Days()
	r.DaysToRenewal = r.Term.DaysLeft(now)
	if t.SeatsAtRenewal != nil && t.SeatsAtRenewalFrom != nil {
		r.PendingReduction = &PendingReduction{Seats: *t.SeatsAtRenewal, EffectiveAt: *t.SeatsAtRenewalFrom}
	}

	r.TermStartSeats = t.Seats
	inTerm := false
	for _, c := range t.SeatChanges {
		switch {
		case !c.At.After(r.Term.Start):
			r.TermStartSeats = c.To
		case !inTerm:
			r.TermStartSeats, inTerm = c.From, true
			fallthrough
		default:
			if p, ok := prorate(plan, c, r.Term, r.DaysInTerm); ok {
				r.Prorations = append(r.Prorations, p)
				r.ProratedAddedCents += p.AmountCents
			}
		}
	}
	r.AnnualCommitmentCents = int64(BillableSeats(plan, r.TermStartSeats, 0))*price*12 + r.ProratedAddedCents

	after := t.Seats
	if r.PendingReduction != nil {
		after = r.PendingReduction.Seats
	}
	r.AfterRenewal = AfterRenewal{At: r.Term.Renewal, PurchasedSeats: after, BillableSeats: BillableSeats(plan, after, held.Full)}
	r.AfterRenewal.MonthlyCostCents = int64(r.AfterRenewal.BillableSeats)*price + r.LightMonthlyCents + r.AddonMonthlyCents
	r.AfterRenewal.AnnualCommitmentCents = int64(BillableSeats(plan, after, 0)) * price * 12
	return r
}

// prorate prices a mid-term change of purchased seats: an addition is billed
// for the days left to the renewal; a change that adds no billable seat
// (still under the minimum, or a reduction) yields no line.
func prorate(plan Plan, c SeatChange, term Term, termDays int) (Proration, bool) {
	added := BillableSeats(plan, c.To, 0) - BillableSeats(plan, c.From, 0)
	if added <= 0 || c.At.Before(term.Start) || !c.At.Before(term.Renewal) {
		return Proration{}, false
	}
	p := Proration{At: c.At, From: c.From, To: c.To, BillableAdded: added, DaysLeft: term.DaysLeft(c.At), DaysInTerm: termDays}
	p.AmountCents = divRound(int64(added)*int64(plan.SeatPriceCents)*12*int64(p.DaysLeft), int64(p.DaysInTerm))
	return p, true
}

// divRound divides non-negative a by positive b, rounding half up.
func divRound(a, b int64) int64 { return (2*a + b) / (2 * b) }

// addonCharges prices the tenant's add-ons, and lists the add-ons its plan
// includes (at no charge) whether or not the tenant named them: the
// Enterprise Bundle's AI Copilot is never billed twice.
func addonCharges(plan Plan, ids []string, activeUsers int) []AddonCharge {
	out := []AddonCharge{}
	seen := map[string]bool{}
	add := func(id string) {
		a, ok := LookupAddon(id)
		if !ok || seen[id] {
			return
		}
		seen[id] = true
		c := AddonCharge{Addon: a, Users: activeUsers, IncludedInPlan: slices.Contains(plan.IncludesAddons, id)}
		if !c.IncludedInPlan && plan.Paid {
			c.MonthlyCents = int64(activeUsers) * int64(a.UserPriceCents)
		}
		out = append(out, c)
	}
	for _, id := range plan.IncludesAddons {
		add(id)
	}
	for _, id := range ids {
		add(id)
	}
	return out
}
