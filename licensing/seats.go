package licensing

import (
	"fmt"
	"slices"
	"time"

	"github.com/roster-dev/roster/store"
)

// This file holds the contract rules of seats (docs/contract.md "Plans and
// prices", "Seats"): annual terms, seat changes (additions now and prorated,
// reductions at renewal) and replaying the seat ledger. Pure functions of
// their arguments; the store only records.

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

// ContractOf is the tenant's contract start: ContractStart, else CreatedAt.
func ContractOf(t store.Tenant) time.Time {
	if t.ContractStart.IsZero() {
		return t.CreatedAt
	}
	return t.ContractStart
}

// Roll applies a pending seat reduction whose renewal has come by now: the
// reduced count becomes Seats, recorded as a change at the renewal. It
// returns t unchanged otherwise. Backends need not call it (the cap reads
// store.Tenant.PurchasedAt); the admin API rolls before it changes seats.
func Roll(t store.Tenant, now time.Time) store.Tenant {
	if t.SeatsAtRenewal == nil || t.SeatsAtRenewalFrom == nil || now.Before(*t.SeatsAtRenewalFrom) {
		return t
	}
	t = t.Clone()
	if *t.SeatsAtRenewal != t.Seats {
		t.SeatChanges = append(t.SeatChanges, store.SeatChange{At: *t.SeatsAtRenewalFrom, From: t.Seats, To: *t.SeatsAtRenewal})
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
func ChangeSeats(t store.Tenant, seats int, now time.Time) (store.Tenant, SeatChangeKind, error) {
	if seats < 0 {
		return t, "", fmt.Errorf("must not be negative")
	}
	t = Roll(t, now)
	plan, _ := Lookup(t.Plan)
	kind := SeatsUnchanged
	switch {
	case seats > t.Seats:
		t.SeatChanges = append(t.SeatChanges, store.SeatChange{At: now, From: t.Seats, To: seats})
		t.Seats = seats
		t.SeatsAtRenewal, t.SeatsAtRenewalFrom = nil, nil
		kind = SeatsIncreased
	case seats < t.Seats && !plan.BilledAnnually:
		t.SeatChanges = append(t.SeatChanges, store.SeatChange{At: now, From: t.Seats, To: seats})
		t.Seats = seats
		t.SeatsAtRenewal, t.SeatsAtRenewalFrom = nil, nil
		kind = SeatsReducedNow
	case seats < t.Seats:
		renewal := TermAt(ContractOf(t), now).Renewal
		n := seats
		t.SeatsAtRenewal, t.SeatsAtRenewalFrom = &n, &renewal
		kind = SeatsReductionAtRenewal
	case t.SeatsAtRenewal != nil:
		t.SeatsAtRenewal, t.SeatsAtRenewalFrom = nil, nil
		kind = SeatsReductionCancelled
	}
	t.SeatChanges = changesSince(t.SeatChanges, TermAt(ContractOf(t), now).Start)
	return t, kind, nil
}

// ChangePlan applies the contract side of a plan change from the plan
// fromPlan to t.Plan: leaving a plan without an annual term (a trial) for an
// annually billed one starts the contract at now — the first paid term, with
// no seat history to prorate — and drops a pending reduction. Other changes
// keep the term (the new price applies to the whole term; plan changes are not
// prorated).
func ChangePlan(t store.Tenant, fromPlan string, now time.Time) store.Tenant {
	from, _ := Lookup(fromPlan)
	to, _ := Lookup(t.Plan)
	if from.BilledAnnually || !to.BilledAnnually {
		return t
	}
	t = t.Clone()
	t.ContractStart, t.SeatChanges = now, nil
	t.SeatsAtRenewal, t.SeatsAtRenewalFrom = nil, nil
	return t
}

// ChangeContractStart moves the contract start; a pending reduction moves to
// the renewal of the new term.
func ChangeContractStart(t store.Tenant, start, now time.Time) store.Tenant {
	t = Roll(t, now)
	t.ContractStart = start
	if t.SeatsAtRenewal != nil {
		renewal := TermAt(start, now).Renewal
		t.SeatsAtRenewalFrom = &renewal
	}
	return t
}

// changesSince keeps the changes at or after from, and the last one before
// it (which says the count the term started with).
func changesSince(cs []store.SeatChange, from time.Time) []store.SeatChange {
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
	return append([]store.SeatChange(nil), cs[first:]...)
}

// CountsAt replays a seat ledger to the seats held at time at: the sum of the
// events that happened at or before it. events may be in any order and of any
// tenant mix the caller chose; a ledger read oldest first is the usual input.
func CountsAt(events []store.SeatEvent, at time.Time) store.SeatCounts {
	var c store.SeatCounts
	for i := range events {
		e := &events[i] // no copy: an event is some 200 bytes
		if e.Time.After(at) {
			continue
		}
		switch e.Class {
		case store.SeatFull:
			c.Full += e.Delta
		case store.SeatLight:
			c.Light += e.Delta
		}
	}
	return c
}

// Replay sums a whole ledger: the seats held after its last event.
func Replay(events []store.SeatEvent) store.SeatCounts {
	var c store.SeatCounts
	for i := range events {
		e := &events[i]
		switch e.Class {
		case store.SeatFull:
			c.Full += e.Delta
		case store.SeatLight:
			c.Light += e.Delta
		}
	}
	return c
}

// UserBalance is what one user's ledger entries add up to.
type UserBalance struct {
	UserID string
	Seats  store.SeatCounts
}

// Unbalanced checks a ledger against the seats users hold now: each user's
// entries must add up to their current seat (held: the user's seat class,
// none for a user not in it, deleted or inactive). A user's running sum must
// also never go below zero nor above one seat (a role change releases before
// it consumes). It returns the users that break either rule, in order of
// first appearance; nil when the ledger balances.
func Unbalanced(events []store.SeatEvent, held map[string]store.SeatClass) []UserBalance {
	sums := map[string]*store.SeatCounts{}
	var order []string
	broken := map[string]bool{}
	for _, e := range events {
		c, ok := sums[e.UserID]
		if !ok {
			c = &store.SeatCounts{}
			sums[e.UserID] = c
			order = append(order, e.UserID)
		}
		switch e.Class {
		case store.SeatFull:
			c.Full += e.Delta
		case store.SeatLight:
			c.Light += e.Delta
		}
		if c.Full < 0 || c.Light < 0 || c.Full+c.Light > 1 {
			broken[e.UserID] = true
		}
	}
	var extra []string
	for id := range held {
		if _, ok := sums[id]; !ok {
			sums[id] = &store.SeatCounts{}
			extra = append(extra, id)
		}
	}
	slices.Sort(extra)
	order = append(order, extra...)
	var out []UserBalance
	for _, id := range order {
		c := *sums[id]
		want := store.SeatCounts{}
		switch held[id] {
		case store.SeatFull:
			want.Full = 1
		case store.SeatLight:
			want.Light = 1
		}
		if c != want || broken[id] {
			out = append(out, UserBalance{UserID: id, Seats: c})
		}
	}
	return out
}
