package licensing

import (
	"fmt"
	"slices"
	"time"
)

// This file holds the contract rules of seats (docs/contract.md "Plans and
// prices", "Seats"): annual terms, seat changes (additions now and prorated,
// reductions at renewal) and replaying the seat ledger. Pure functions of
// their arguments, on licensing's own types: the store records a tenant's
// contract and its seat ledger and converts them at its edge
// (Tenant.Contract, SeatMoves).

// SeatClass is the kind of seat a user holds.
type SeatClass string

const (
	SeatNone  SeatClass = "none"  // inactive, deleted or expired: consumes nothing
	SeatFull  SeatClass = "full"  // a paid seat, counted against the purchased seats
	SeatLight SeatClass = "light" // a light (read-only) seat, priced separately, never capped
)

// SeatCounts are the seats a tenant's users hold at one instant.
type SeatCounts struct {
	Full  int
	Light int
}

// add moves the count of class by delta; a class of no seat counts nowhere.
func (c *SeatCounts) add(class SeatClass, delta int) {
	switch class {
	case SeatFull:
		c.Full += delta
	case SeatLight:
		c.Light += delta
	}
}

// SeatChange is one change of a tenant's purchased seats. The JSON names are
// the form a change is recorded in (the PostgreSQL store keeps a term's
// changes as a JSON array).
type SeatChange struct {
	At   time.Time `json:"at"`
	From int       `json:"from"`
	To   int       `json:"to"`
}

// Contract is what licensing knows of a tenant: the commercial terms its
// seats are capped and billed under.
type Contract struct {
	TenantID            string
	Plan                string // a plan id (Lookup)
	Seats               int    // purchased full seats
	Addons              []string
	Overage             bool // full seats beyond the usable ones are allowed (and billed)
	LightSeatPriceCents int  // per light seat per month

	// Start is the first day of the annual contract; renewals fall on its
	// anniversaries. Zero: the contract started at Created.
	Start   time.Time
	Created time.Time
	// SeatsAtRenewal is a pending reduction: the purchased seats from the
	// renewal at SeatsAtRenewalFrom on (both nil: none). Until then Seats is
	// what is purchased and capped; from then SeatsAtRenewal is, without
	// anything having to run at the renewal (SeatsInForce).
	SeatsAtRenewal     *int
	SeatsAtRenewalFrom *time.Time
	// SeatChanges are the changes of the purchased seats, oldest first, for
	// the proration of mid-term additions.
	SeatChanges []SeatChange
}

// StartDate is the contract start: Start, else Created.
func (c Contract) StartDate() time.Time {
	if c.Start.IsZero() {
		return c.Created
	}
	return c.Start
}

// SeatsInForce is the purchased full-seat count in force at the time at:
// Seats, or the pending reduction once its renewal has come. An addition is
// in force from the moment it is made (ChangeSeats sets Seats); a reduction
// of an annual plan only from the renewal. The PostgreSQL store applies the
// same rule in SQL (roster_purchased_seats, migration 0006) because its cap
// is checked on the locked tenant row; its tests compare the two.
//
// Its receiver is a pointer, as UsableAt's: the cap check of every write
// calls them, and a contract is some 200 bytes not worth copying there.
func (c *Contract) SeatsInForce(at time.Time) int {
	if c.SeatsAtRenewal != nil && c.SeatsAtRenewalFrom != nil && !at.Before(*c.SeatsAtRenewalFrom) {
		return *c.SeatsAtRenewal
	}
	return c.Seats
}

// UsableAt is the full-seat cap at the time at: the seats in force, raised
// to the contract minimum on a paid plan (UsableSeats). A write that would
// take more full seats is refused unless Overage is set.
func (c *Contract) UsableAt(at time.Time) int {
	plan, _ := Lookup(c.Plan)
	return UsableSeats(plan, c.SeatsInForce(at))
}

// clone is a deep copy: the changes of Roll and ChangeSeats never reach the
// caller's slices or pointers.
func (c Contract) clone() Contract {
	c.Addons = slices.Clone(c.Addons)
	c.SeatChanges = slices.Clone(c.SeatChanges)
	if c.SeatsAtRenewal != nil {
		n := *c.SeatsAtRenewal
		c.SeatsAtRenewal = &n
	}
	if c.SeatsAtRenewalFrom != nil {
		at := *c.SeatsAtRenewalFrom
		c.SeatsAtRenewalFrom = &at
	}
	return c
}

// Term is one annual contract term: [Start, Renewal).
type Term struct {
	Start   time.Time
	Renewal time.Time
}

// Days is the length of the term in calendar days: 365, or 366 when it spans
// a 29 February.
func (t Term) Days() int { return daysBetween(t.Start, t.Renewal) }

// DaysLeft is the number of calendar days from now's date to the renewal
// date: an addition on the renewal's eve pays for one day.
func (t Term) DaysLeft(now time.Time) int { return max(0, daysBetween(now, t.Renewal)) }

// anniversary is start moved on by n years; a contract that starts on
// 29 February renews on 28 February in common years (not on 1 March, as
// time.AddDate would have it).
func anniversary(start time.Time, n int) time.Time {
	start = start.UTC()
	y, m, d := start.Date()
	y += n
	if m == time.February && d == 29 && !isLeap(y) {
		d = 28
	}
	return time.Date(y, m, d, start.Hour(), start.Minute(), start.Second(), start.Nanosecond(), time.UTC)
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// daysBetween counts calendar days (UTC) from a's date to b's date.
func daysBetween(a, b time.Time) int {
	ay, am, ad := a.UTC().Date()
	by, bm, bd := b.UTC().Date()
	da := time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)
	db := time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da) / (24 * time.Hour))
}

// TermAt is the annual term of a contract that started at start in which now
// falls. Before the start, it is the first term.
func TermAt(start, now time.Time) Term {
	if now.Before(start) {
		return Term{Start: start.UTC(), Renewal: anniversary(start, 1)}
	}
	n := now.UTC().Year() - start.UTC().Year()
	for n > 0 && anniversary(start, n).After(now) {
		n--
	}
	for !anniversary(start, n+1).After(now) {
		n++
	}
	return Term{Start: anniversary(start, n), Renewal: anniversary(start, n+1)}
}

// Roll applies a pending seat reduction whose renewal has come by now: the
// reduced count becomes Seats, recorded as a change at the renewal. It
// returns t unchanged otherwise. Backends need not call it (the cap reads
// SeatsInForce); the admin API rolls before it changes seats.
func Roll(t Contract, now time.Time) Contract {
	if t.SeatsAtRenewal == nil || t.SeatsAtRenewalFrom == nil || now.Before(*t.SeatsAtRenewalFrom) {
		return t
	}
	t = t.clone()
	if *t.SeatsAtRenewal != t.Seats {
		t.SeatChanges = append(t.SeatChanges, SeatChange{At: *t.SeatsAtRenewalFrom, From: t.Seats, To: *t.SeatsAtRenewal})
	}
	t.Seats = *t.SeatsAtRenewal
	t.SeatsAtRenewal, t.SeatsAtRenewalFrom = nil, nil
	return t
}

// SeatChangeKind says how ChangeSeats took a new seat count.
type SeatChangeKind string

const (
	SeatsUnchanged          SeatChangeKind = "unchanged"            // the count in force already
	SeatsIncreased          SeatChangeKind = "increased"            // in force now, prorated to the renewal
	SeatsReductionAtRenewal SeatChangeKind = "reduction_at_renewal" // recorded; in force from the renewal
	SeatsReducedNow         SeatChangeKind = "reduced"              // a plan without an annual term: in force now
	SeatsReductionCancelled SeatChangeKind = "reduction_cancelled"  // a pending reduction withdrawn
)

// ChangeSeats applies a new purchased seat count under the contract rules of
// the tenant's plan and returns the changed tenant:
//   - an increase takes effect now (it is prorated to the renewal) and
//     withdraws any pending reduction;
//   - a reduction of an annually billed plan takes effect at the renewal:
//     Seats stays, SeatsAtRenewal records the new count; a second reduction
//     replaces the first;
//   - asking for the count in force withdraws a pending reduction;
//   - on a plan without an annual term (trial) every change is immediate.
//
// A pending reduction whose renewal has passed is rolled in first (Roll).
// Changes older than the current term are dropped from SeatChanges: only the
// current term is prorated.
func ChangeSeats(t Contract, seats int, now time.Time) (Contract, SeatChangeKind, error) {
	if seats < 0 {
		return t, "", fmt.Errorf("must not be negative")
	}
	t = Roll(t, now)
	plan, _ := Lookup(t.Plan)
	kind := SeatsUnchanged
	switch {
	case seats > t.Seats:
		t.SeatChanges = append(t.SeatChanges, SeatChange{At: now, From: t.Seats, To: seats})
		t.Seats = seats
		t.SeatsAtRenewal, t.SeatsAtRenewalFrom = nil, nil
		kind = SeatsIncreased
	case seats < t.Seats && !plan.BilledAnnually:
		t.SeatChanges = append(t.SeatChanges, SeatChange{At: now, From: t.Seats, To: seats})
		t.Seats = seats
		t.SeatsAtRenewal, t.SeatsAtRenewalFrom = nil, nil
		kind = SeatsReducedNow
	case seats < t.Seats:
		renewal := TermAt(t.StartDate(), now).Renewal
		n := seats
		t.SeatsAtRenewal, t.SeatsAtRenewalFrom = &n, &renewal
		kind = SeatsReductionAtRenewal
	case t.SeatsAtRenewal != nil:
		t.SeatsAtRenewal, t.SeatsAtRenewalFrom = nil, nil
		kind = SeatsReductionCancelled
	}
	t.SeatChanges = changesSince(t.SeatChanges, TermAt(t.StartDate(), now).Start)
	return t, kind, nil
}

// ChangePlan applies the contract side of a plan change from the plan
// fromPlan to t.Plan: leaving a plan without an annual term (a trial) for an
// annually billed one starts the contract at now — the first paid term, with
// no seat history to prorate — and drops a pending reduction. Other changes
// keep the term (the new price applies to the whole term; plan changes are not
// prorated).
func ChangePlan(t Contract, fromPlan string, now time.Time) Contract {
	from, _ := Lookup(fromPlan)
	to, _ := Lookup(t.Plan)
	if from.BilledAnnually || !to.BilledAnnually {
		return t
	}
	t = t.clone()
	t.Start, t.SeatChanges = now, nil
	t.SeatsAtRenewal, t.SeatsAtRenewalFrom = nil, nil
	return t
}

// ChangeContractStart moves the contract start; a pending reduction moves to
// the renewal of the new term.
func ChangeContractStart(t Contract, start, now time.Time) Contract {
	t = Roll(t, now)
	t.Start = start
	if t.SeatsAtRenewal != nil {
		renewal := TermAt(start, now).Renewal
		t.SeatsAtRenewalFrom = &renewal
	}
	return t
}

// changesSince keeps the changes at or after from, and the last one before
// it (which says the count the term started with).
func changesSince(cs []SeatChange, from time.Time) []SeatChange {
	first := len(cs)
	for i, c := range cs {
		if !c.At.Before(from) {
			first = i
			break
		}
	}
	if first > 0 {
		first--
	}
	if first == 0 {
		return cs
	}
	return append([]SeatChange(nil), cs[first:]...)
}

// SeatMove is what licensing reads of one seat-ledger entry: a consumption
// (Delta +1) or a release (Delta -1) of a seat of one class by one user.
type SeatMove struct {
	Time   time.Time
	UserID string
	Class  SeatClass
	Delta  int
}

// CountsAt replays a seat ledger to the seats held at time at: the sum of the
// events that happened at or before it. events may be in any order and of any
// tenant mix the caller chose; a ledger read oldest first is the usual input.
func CountsAt(events []SeatMove, at time.Time) SeatCounts {
	var c SeatCounts
	for i := range events {
		e := &events[i] // no copy
		if e.Time.After(at) {
			continue
		}
		c.add(e.Class, e.Delta)
	}
	return c
}

// Replay sums a whole ledger: the seats held after its last event.
func Replay(events []SeatMove) SeatCounts {
	var c SeatCounts
	for i := range events {
		e := &events[i]
		c.add(e.Class, e.Delta)
	}
	return c
}

// UserBalance is what one user's ledger entries add up to.
type UserBalance struct {
	UserID string
	Seats  SeatCounts
}

// Unbalanced checks a ledger against the seats users hold now: each user's
// entries must add up to their current seat (held: the user's seat class,
// none for a user not in it, deleted or inactive). A user's running sum must
// also never go below zero nor above one seat (a role change releases before
// it consumes). It returns the users that break either rule, in order of
// first appearance; nil when the ledger balances.
func Unbalanced(events []SeatMove, held map[string]SeatClass) []UserBalance {
	sums := map[string]*SeatCounts{}
	var order []string
	broken := map[string]bool{}
	for _, e := range events {
		c, ok := sums[e.UserID]
		if !ok {
			c = &SeatCounts{}
			sums[e.UserID] = c
			order = append(order, e.UserID)
		}
		c.add(e.Class, e.Delta)
		if c.Full < 0 || c.Light < 0 || c.Full+c.Light > 1 {
			broken[e.UserID] = true
		}
	}
	var extra []string
	for id := range held {
		if _, ok := sums[id]; !ok {
			sums[id] = &SeatCounts{}
			extra = append(extra, id)
		}
	}
	slices.Sort(extra)
	order = append(order, extra...)
	var out []UserBalance
	for _, id := range order {
		c := *sums[id]
		want := SeatCounts{}
		switch held[id] {
		case SeatFull:
			want.Full = 1
		case SeatLight:
			want.Light = 1
		}
		if c != want || broken[id] {
			out = append(out, UserBalance{UserID: id, Seats: c})
		}
	}
	return out
}
