package licensing

import (
	"fmt"
	"slices"
	"time"
)

// This file holds the seat-usage history (GET /admin/v1/tenants/{id}/seats/usage,
// docs/contract.md "Seat usage history"): the seats a tenant held, had
// purchased and was billed for, interval by interval, replayed from its seat
// ledger and the history of its purchased seats.
//
// Each point is the state at the END of its interval, not the peak within
// it. The billing rule of this package is instantaneous — Report bills
// max(minimum, purchased, consumed) of one instant, and nothing here bills a
// high-water mark or trues up a period's peak — so the end of an interval
// is the figure a billing admin can reconcile with the seat report and the
// invoice (a month's last point is that month's closing bill). The peak is
// still worth seeing — a user invited on the 3rd and deactivated on the 20th
// never shows in a month-end snapshot — so each point also carries
// PeakConsumed, for information.

// Currency is the currency of every amount of this package: prices, costs
// and reports are in its cents.
const Currency = "USD"

// UsageInterval is the length of the intervals of a usage history.
type UsageInterval string

const (
	UsageDay   UsageInterval = "day"   // a UTC calendar day
	UsageWeek  UsageInterval = "week"  // Monday 00:00 UTC to the next Monday
	UsageMonth UsageInterval = "month" // a UTC calendar month
)

// UsageIntervals are the intervals a usage history may be asked by.
var UsageIntervals = []UsageInterval{UsageDay, UsageWeek, UsageMonth}

// MaxUsagePoints bounds the points of one usage history (400 days fit).
const MaxUsagePoints = 400

// UsageError is a usage query that cannot be answered; Param names the
// query parameter at fault (from, to or interval).
type UsageError struct {
	Param  string
	Reason string
}

func (e *UsageError) Error() string { return e.Param + ": " + e.Reason }

// UsagePeriod is one interval of a usage history: [Start, End).
type UsagePeriod struct {
	Start, End time.Time
}

// UsagePeriods cuts the days from (its date) to to (its date, inclusive)
// into calendar intervals, in UTC: days, weeks starting on Monday, or
// calendar months. The first and last are cut at from and at the end of
// to's day, so that no point describes a time outside the range asked for.
// Intervals that begin after now are left out (the history stops at now).
// It refuses, naming the parameter: an unknown interval, from after to, from
// after now's date, and more than MaxUsagePoints intervals.
func UsagePeriods(from, to time.Time, interval UsageInterval, now time.Time) ([]UsagePeriod, error) {
	if !slices.Contains(UsageIntervals, interval) {
		return nil, &UsageError{"interval", fmt.Sprintf("unknown interval %q; intervals: day, week, month", interval)}
	}
	from, to = dateOf(from), dateOf(to)
	if from.After(to) {
		return nil, &UsageError{"from", fmt.Sprintf("must not be after to (%s is after %s)", from.Format(time.DateOnly), to.Format(time.DateOnly))}
	}
	if today := dateOf(now); from.After(today) {
		return nil, &UsageError{"from", fmt.Sprintf("must not be after today (%s); the history ends now", today.Format(time.DateOnly))}
	}
	end := to.AddDate(0, 0, 1)
	var out []UsagePeriod
	for start := from; start.Before(end); {
		if len(out) == MaxUsagePoints {
			return nil, &UsageError{"interval", fmt.Sprintf("%s to %s by %s is more than %d points; shorten the range or choose a longer interval",
				from.Format(time.DateOnly), to.Format(time.DateOnly), interval, MaxUsagePoints)}
		}
		next := intervalStart(start, interval, 1)
		if next.After(end) {
			next = end
		}
		out = append(out, UsagePeriod{Start: start, End: next})
		start = next
	}
	// The limit is the range's, whatever the clock; the answer stops at now.
	for len(out) > 0 && out[len(out)-1].Start.After(now) {
		out = out[:len(out)-1]
	}
	return out, nil
}

// dateOf is midnight UTC of t's UTC date.
func dateOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// intervalStart is the start of the interval n intervals after the one t
// falls in (n = 0: t's own).
func intervalStart(t time.Time, interval UsageInterval, n int) time.Time {
	d := dateOf(t)
	switch interval {
	case UsageWeek:
		monday := d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
		return monday.AddDate(0, 0, 7*n)
	case UsageMonth:
		return time.Date(d.Year(), d.Month()+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	default:
		return d.AddDate(0, 0, n)
	}
}

// UsagePoint is a tenant's seats at the end of one interval: At is End, or
// now for the interval in progress. The money is what Report bills at At —
// the monthly cost of that state (seats, light seats, add-ons), not a share
// of it for the interval's length.
type UsagePoint struct {
	Start, End time.Time
	At         time.Time

	Consumed     int // full seats held at At (the ledger replayed to At)
	Light        int // light seats held at At
	PeakConsumed int // the most full seats held at any instant of [Start, At]
	Purchased    int // full seats purchased and in force at At
	Usable       int // the cap at At (UsableSeats)
	Billable     int // BillableSeats at At
	CostCents    int64
}

// PurchasedAt is the purchased full-seat count that was in force at the time
// at, read from the history of the contract: the count before the first
// recorded change after at, else the count in force now (SeatsInForce, which
// also applies a pending reduction from its renewal on). SeatChanges keeps
// the current term's changes and the last one before it (ChangeSeats), so
// before that last one the history knows only the count it started from.
func (c *Contract) PurchasedAt(at time.Time) int {
	if c.SeatsAtRenewal != nil && c.SeatsAtRenewalFrom != nil && !at.Before(*c.SeatsAtRenewalFrom) {
		return *c.SeatsAtRenewal
	}
	for _, ch := range c.SeatChanges {
		if ch.At.After(at) {
			return ch.From
		}
	}
	return c.Seats
}

// Usage replays a tenant's seat ledger over periods (UsagePeriods) and
// prices the state at the end of each under the contract's rules, as Report
// does for now. opening is the seats held before the first period (the
// ledger summed up to its start); moves are ledger entries in any order —
// those before the first period's start are added to the opening, those
// after now or after the last period are ignored — so that a caller may pass
// the whole ledger with a zero opening, or an opening and only the entries
// in range. The plan, add-ons, overage and light-seat price are the
// contract's current ones (their history is not kept); the purchased seats
// follow their history (PurchasedAt). A point before the contract's start
// has its seats but nothing purchased, usable or billed.
func Usage(c Contract, periods []UsagePeriod, opening SeatCounts, moves []SeatMove, now time.Time) []UsagePoint {
	out := make([]UsagePoint, 0, len(periods))
	if len(periods) == 0 {
		return out
	}
	// A ledger read in sequence order is in time order but for writers that
	// raced; only then is a copy sorted.
	byTime := func(a, b SeatMove) int { return a.Time.Compare(b.Time) }
	sorted := moves
	if !slices.IsSortedFunc(moves, byTime) {
		sorted = slices.Clone(moves)
		slices.SortStableFunc(sorted, byTime)
	}
	held := opening
	i := 0
	for ; i < len(sorted) && sorted[i].Time.Before(periods[0].Start); i++ {
		held.add(sorted[i].Class, sorted[i].Delta)
	}
	snapshot := c.clone()
	snapshot.SeatChanges, snapshot.SeatsAtRenewal, snapshot.SeatsAtRenewalFrom = nil, nil, nil
	for _, p := range periods {
		// A complete interval is the state after everything before its end;
		// the interval in progress, the state after everything until now.
		at, inside := p.End, func(t time.Time) bool { return t.Before(p.End) }
		if now.Before(p.End) {
			at, inside = now, func(t time.Time) bool { return !t.After(now) }
		}
		peak := held.Full
		for ; i < len(sorted) && inside(sorted[i].Time); i++ {
			held.add(sorted[i].Class, sorted[i].Delta)
			peak = max(peak, held.Full)
		}
		// The contract as it stood at the last instant of the interval: a
		// reduction that takes effect at its end belongs to the next one.
		last := at
		if at.Equal(p.End) {
			last = at.Add(-time.Nanosecond)
		}
		point := UsagePoint{Start: p.Start, End: p.End, At: at, Consumed: held.Full, Light: held.Light, PeakConsumed: peak}
		// Before the contract began nothing was purchased or billed (a
		// trial converted to a paid plan starts its contract then).
		if !last.Before(c.StartDate()) {
			snapshot.Seats = c.PurchasedAt(last)
			r := Report(snapshot, held, last)
			point.Purchased, point.Usable, point.Billable, point.CostCents = r.PurchasedSeats, r.UsableSeats, r.BillableSeats, r.MonthlyCostCents
		}
		out = append(out, point)
	}
	return out
}
