package licensing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/licensing"
)

// TestReport_seats checks the seat arithmetic of the report, figure by
// figure, against numbers worked out by hand from the price list.
func TestReport_seats(t *testing.T) {
	now := day(2026, 5, 1)
	type want struct {
		min, purchased, usable, consumed, available, overage, billable int
		seatCents, monthlyCents                                        int64
	}
	tests := []struct {
		name    string
		plan    string
		seats   int
		overage bool
		held    licensing.SeatCounts
		want    want
	}{
		// Below the minimum the tenant is billed for 8 and may use 8.
		{"below the minimum bills 8", licensing.Ultimate, 5, false, licensing.SeatCounts{Full: 3},
			want{8, 5, 8, 3, 5, 0, 8, 8 * 13900, 8 * 13900}},
		{"3 purchased, 8 used: still within the minimum", licensing.Enterprise, 3, false, licensing.SeatCounts{Full: 8},
			want{8, 3, 8, 8, 0, 0, 8, 8 * 8900, 8 * 8900}},
		{"nothing used still bills the minimum", licensing.Enterprise, 0, false, licensing.SeatCounts{},
			want{8, 0, 8, 0, 8, 0, 8, 8 * 8900, 8 * 8900}},
		{"purchased above the minimum bills purchased", licensing.Ultimate, 20, false, licensing.SeatCounts{Full: 12},
			want{8, 20, 20, 12, 8, 0, 20, 20 * 13900, 20 * 13900}},
		{"overage bills what is consumed", licensing.Ultimate, 10, true, licensing.SeatCounts{Full: 13},
			want{8, 10, 10, 13, 0, 3, 13, 13 * 13900, 13 * 13900}},
		{"overage below the minimum counts beyond the minimum", licensing.Ultimate, 3, true, licensing.SeatCounts{Full: 10},
			want{8, 3, 8, 10, 0, 2, 10, 10 * 13900, 10 * 13900}},
		{"exactly full", licensing.EnterpriseBundle, 10, false, licensing.SeatCounts{Full: 10},
			want{8, 10, 10, 10, 0, 0, 10, 10 * 12900, 10 * 12900}},
		{"a trial bills nothing", licensing.Trial, 50, false, licensing.SeatCounts{Full: 3},
			want{0, 50, 50, 3, 47, 0, 0, 0, 0}},
		{"a trial may use only what it was given", licensing.Trial, 3, false, licensing.SeatCounts{Full: 3},
			want{0, 3, 3, 3, 0, 0, 0, 0, 0}},
		{"an unknown plan bills nothing", "gold", 5, false, licensing.SeatCounts{Full: 3},
			want{0, 5, 5, 3, 2, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := ultimate(tc.seats)
			tn.Plan, tn.Overage = tc.plan, tc.overage
			r := licensing.Report(tn, tc.held, now)
			got := want{r.MinimumSeats, r.PurchasedSeats, r.UsableSeats, r.ConsumedSeats, r.AvailableSeats, r.OverageSeats, r.BillableSeats,
				r.SeatMonthlyCents, r.MonthlyCostCents}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.plan, r.Plan.ID)
			assert.Equal(t, tc.overage, r.OverageAllowed)
			assert.Equal(t, "acme", r.TenantID)
			assert.Equal(t, now, r.AsOf)
		})
	}
}

func TestReport_addons(t *testing.T) {
	now := day(2026, 5, 1)
	type line struct {
		ID       string
		Users    int
		Included bool
		Cents    int64
	}
	tests := []struct {
		name   string
		plan   string
		addons []string
		held   licensing.SeatCounts
		lines  []line
		total  int64
	}{
		{"none", licensing.Ultimate, nil, licensing.SeatCounts{Full: 10}, []line{}, 0},
		{"copilot and HIPAA per active user", licensing.Enterprise, []string{"ai_copilot", "hipaa"}, licensing.SeatCounts{Full: 10},
			[]line{{"ai_copilot", 10, false, 40000}, {"hipaa", 10, false, 25000}}, 65000},
		{"the bundle includes copilot: never billed twice", licensing.EnterpriseBundle, []string{"ai_copilot", "hipaa"}, licensing.SeatCounts{Full: 10},
			[]line{{"ai_copilot", 10, true, 0}, {"hipaa", 10, false, 25000}}, 25000},
		{"the bundle shows copilot even when not named", licensing.EnterpriseBundle, nil, licensing.SeatCounts{Full: 4},
			[]line{{"ai_copilot", 4, true, 0}}, 0},
		{"light-seat users are active users", licensing.Ultimate, []string{"hipaa"}, licensing.SeatCounts{Full: 3, Light: 2},
			[]line{{"hipaa", 5, false, 5 * 2500}}, 5 * 2500},
		{"billed per user, not per billable seat", licensing.Ultimate, []string{"ai_copilot"}, licensing.SeatCounts{Full: 2},
			[]line{{"ai_copilot", 2, false, 8000}}, 8000},
		{"a trial bills no add-on", licensing.Trial, []string{"hipaa"}, licensing.SeatCounts{Full: 2},
			[]line{{"hipaa", 2, false, 0}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := ultimate(10)
			tn.Plan, tn.Addons = tc.plan, tc.addons
			r := licensing.Report(tn, tc.held, now)
			got := []line{}
			for _, a := range r.Addons {
				got = append(got, line{a.ID, a.Users, a.IncludedInPlan, a.MonthlyCents})
			}
			assert.Equal(t, tc.lines, got)
			assert.Equal(t, tc.total, r.AddonMonthlyCents)
			assert.Equal(t, r.SeatMonthlyCents+r.LightMonthlyCents+tc.total, r.MonthlyCostCents)
		})
	}
}

func TestReport_lightSeats(t *testing.T) {
	tn := ultimate(10)
	tn.LightSeatPriceCents = 1500
	r := licensing.Report(tn, licensing.SeatCounts{Full: 10, Light: 4}, day(2026, 5, 1))
	assert.Equal(t, 4, r.LightSeats)
	assert.Equal(t, int64(1500), r.LightPriceCents)
	assert.Equal(t, int64(6000), r.LightMonthlyCents)
	assert.Equal(t, 10, r.BillableSeats, "light seats are not in the full-seat count")
	assert.Equal(t, 0, r.AvailableSeats)
	assert.Equal(t, int64(10*13900+6000), r.MonthlyCostCents)

	tn.LightSeatPriceCents, tn.Seats = 0, 2
	r = licensing.Report(tn, licensing.SeatCounts{Full: 1, Light: 40}, day(2026, 5, 1))
	assert.Equal(t, int64(0), r.LightMonthlyCents, "light seats are free by default")
	assert.Equal(t, 8, r.BillableSeats, "and do not fill the minimum")
}

// TestReport_reductionAtRenewal: a reduction shows in "after renewal" and
// not in what is billed now.
func TestReport_reductionAtRenewal(t *testing.T) {
	tn, _, err := licensing.ChangeSeats(ultimate(20), 12, day(2026, 5, 1))
	require.NoError(t, err)
	now := day(2026, 6, 1)
	r := licensing.Report(tn, licensing.SeatCounts{Full: 10}, now)
	assert.Equal(t, 20, r.PurchasedSeats)
	assert.Equal(t, 20, r.BillableSeats)
	assert.Equal(t, int64(20*13900), r.MonthlyCostCents)
	require.NotNil(t, r.PendingReduction)
	assert.Equal(t, licensing.PendingReduction{Seats: 12, EffectiveAt: day(2027, 1, 1)}, *r.PendingReduction)
	assert.Equal(t, licensing.AfterRenewal{
		At: day(2027, 1, 1), PurchasedSeats: 12, BillableSeats: 12,
		MonthlyCostCents: 12 * 13900, AnnualCommitmentCents: 12 * 13900 * 12,
	}, r.AfterRenewal)
	assert.Equal(t, int64(20*13900*12), r.AnnualCommitmentCents, "this term's commitment stays")
	assert.Equal(t, 214, r.DaysToRenewal)

	// Reduced below what is in use: after renewal the consumed seats are billed.
	tn, _, err = licensing.ChangeSeats(ultimate(20), 6, day(2026, 5, 1))
	require.NoError(t, err)
	r = licensing.Report(tn, licensing.SeatCounts{Full: 10}, now)
	assert.Equal(t, 6, r.AfterRenewal.PurchasedSeats)
	assert.Equal(t, 10, r.AfterRenewal.BillableSeats)
	assert.Equal(t, int64(8*13900*12), r.AfterRenewal.AnnualCommitmentCents, "the commitment never goes under the minimum")

	// Once the renewal has come, the reduction is in force.
	r = licensing.Report(tn, licensing.SeatCounts{Full: 5}, day(2027, 1, 2))
	assert.Equal(t, 6, r.PurchasedSeats)
	assert.Nil(t, r.PendingReduction)
	assert.Equal(t, 8, r.BillableSeats)
	assert.Equal(t, day(2027, 1, 1), r.Term.Start)
	assert.Equal(t, 6, r.TermStartSeats)
}

// TestReport_proration: mid-term additions are billed for the days left to
// the renewal, in leap years over 366 days, and only for the seats above the
// minimum.
func TestReport_proration(t *testing.T) {
	tests := []struct {
		name       string
		start      time.Time
		changes    []licensing.SeatChange
		seats      int
		now        time.Time
		termStart  int
		lines      []licensing.Proration
		total      int64
		commitment int64
	}{
		{
			name: "leap year", start: day(2028, 1, 1), seats: 15, now: day(2028, 8, 1),
			changes:   []licensing.SeatChange{{At: day(2028, 7, 1), From: 10, To: 15}},
			termStart: 10,
			// 5 × 13900 × 12 × 184 / 366 = 419278.69
			lines: []licensing.Proration{{At: day(2028, 7, 1), From: 10, To: 15, BillableAdded: 5, DaysLeft: 184, DaysInTerm: 366, AmountCents: 419279}},
			total: 419279, commitment: 10*13900*12 + 419279,
		},
		{
			name: "common year", start: day(2026, 1, 1), seats: 15, now: day(2026, 8, 1),
			changes:   []licensing.SeatChange{{At: day(2026, 7, 1), From: 10, To: 15}},
			termStart: 10,
			// 5 × 13900 × 12 × 184 / 365 = 420427.40
			lines: []licensing.Proration{{At: day(2026, 7, 1), From: 10, To: 15, BillableAdded: 5, DaysLeft: 184, DaysInTerm: 365, AmountCents: 420427}},
			total: 420427, commitment: 10*13900*12 + 420427,
		},
		{
			name: "from under the minimum only the seats above it are added", start: day(2026, 1, 1), seats: 10, now: day(2026, 8, 1),
			changes: []licensing.SeatChange{
				{At: day(2026, 3, 1), From: 5, To: 7}, // still under the minimum: nothing to add
				{At: day(2026, 7, 1), From: 7, To: 10},
			},
			termStart: 5,
			// 2 × 13900 × 12 × 184 / 365 = 168170.96
			lines: []licensing.Proration{{At: day(2026, 7, 1), From: 7, To: 10, BillableAdded: 2, DaysLeft: 184, DaysInTerm: 365, AmountCents: 168171}},
			total: 168171, commitment: 8*13900*12 + 168171,
		},
		{
			name: "changes of the previous term are not prorated again", start: day(2026, 1, 1), seats: 12, now: day(2027, 2, 1),
			changes: []licensing.SeatChange{
				{At: day(2026, 7, 1), From: 10, To: 12},
			},
			termStart: 12, lines: nil, total: 0, commitment: 12 * 13900 * 12,
		},
		{
			name: "an addition on the renewal's eve pays one day", start: day(2026, 1, 1), seats: 11, now: day(2026, 12, 31),
			changes:   []licensing.SeatChange{{At: at(2026, 12, 31, 15), From: 10, To: 11}},
			termStart: 10,
			// 1 × 13900 × 12 / 365 = 456.99
			lines: []licensing.Proration{{At: at(2026, 12, 31, 15), From: 10, To: 11, BillableAdded: 1, DaysLeft: 1, DaysInTerm: 365, AmountCents: 457}},
			total: 457, commitment: 10*13900*12 + 457,
		},
		{
			name: "no changes", start: day(2026, 1, 1), seats: 9, now: day(2026, 8, 1),
			termStart: 9, lines: nil, total: 0, commitment: 9 * 13900 * 12,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := ultimate(tc.seats)
			tn.Start, tn.SeatChanges = tc.start, tc.changes
			r := licensing.Report(tn, licensing.SeatCounts{Full: 1}, tc.now)
			assert.Equal(t, tc.termStart, r.TermStartSeats)
			assert.Equal(t, tc.lines, r.Prorations)
			assert.Equal(t, tc.total, r.ProratedAddedCents)
			assert.Equal(t, tc.commitment, r.AnnualCommitmentCents)
		})
	}
}

// TestReport_fromTheLedger: the report of a past instant is the report of
// the ledger replayed to it.
func TestReport_fromTheLedger(t *testing.T) {
	t0 := day(2026, 2, 1)
	var events []licensing.SeatMove
	for i := range 12 {
		events = append(events, ev(t0.Add(time.Duration(i)*time.Hour), "u", licensing.SeatFull, 1))
	}
	events = append(events, ev(t0.Add(20*time.Hour), "u", licensing.SeatFull, -1))
	tn := ultimate(10)
	tn.Overage = true
	at := t0.Add(11 * time.Hour)
	r := licensing.Report(tn, licensing.CountsAt(events, at), at)
	assert.Equal(t, 12, r.ConsumedSeats)
	assert.Equal(t, 2, r.OverageSeats)
	r = licensing.Report(tn, licensing.CountsAt(events, t0.Add(30*time.Hour)), t0.Add(30*time.Hour))
	assert.Equal(t, 11, r.ConsumedSeats)
}
