package licensing_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/licensing"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func at(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }

func ptr[T any](v T) *T { return &v }

func TestTermAt(t *testing.T) {
	tests := []struct {
		name           string
		start, now     time.Time
		termStart, end time.Time
		days           int
	}{
		{"first term", at(2026, 3, 15, 10), day(2026, 11, 28), at(2026, 3, 15, 10), at(2027, 3, 15, 10), 365},
		{"at the renewal instant the next term begins", at(2026, 3, 15, 10), at(2027, 3, 15, 10), at(2027, 3, 15, 10), at(2028, 3, 15, 10), 366},
		{"an hour before the renewal", at(2026, 3, 15, 10), at(2027, 3, 15, 9), at(2026, 3, 15, 10), at(2027, 3, 15, 10), 365},
		{"several years on", day(2020, 1, 10), day(2026, 11, 28), day(2026, 1, 10), day(2027, 1, 10), 365},
		{"before the start: the first term", day(2027, 1, 1), day(2026, 11, 28), day(2027, 1, 1), day(2028, 1, 1), 365},
		{"leap term spans 29 February", day(2027, 6, 1), day(2027, 12, 1), day(2027, 6, 1), day(2028, 6, 1), 366},
		{"29 February renews on 28 February in a common year", day(2024, 2, 29), day(2025, 6, 1), day(2025, 2, 28), day(2026, 2, 28), 365},
		{"… and on 29 February in a leap year", day(2024, 2, 29), day(2028, 3, 1), day(2028, 2, 29), day(2029, 2, 28), 365},
		{"a leap day start's first term", day(2024, 2, 29), day(2024, 3, 1), day(2024, 2, 29), day(2025, 2, 28), 365},
		{"time zones do not move the term", time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600)), day(2026, 5, 5),
			at(2025, 12, 31, 23), at(2026, 12, 31, 23), 365},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			term := licensing.TermAt(tc.start, tc.now)
			assert.True(t, tc.termStart.Equal(term.Start), "start %s", term.Start)
			assert.True(t, tc.end.Equal(term.Renewal), "renewal %s", term.Renewal)
			assert.Equal(t, tc.days, term.Days())
		})
	}
}

func TestTerm_DaysLeft(t *testing.T) {
	term := licensing.Term{Start: day(2028, 1, 1), Renewal: day(2029, 1, 1)}
	assert.Equal(t, 366, term.Days(), "2028 is a leap year")
	for now, want := range map[time.Time]int{
		day(2028, 1, 1):    366,
		day(2028, 7, 1):    184,
		at(2028, 7, 1, 23): 184, // the time of day does not count
		time.Date(2028, 12, 31, 23, 59, 0, 0, time.UTC): 1,
		day(2029, 1, 1): 0,
		day(2029, 3, 1): 0, // past the renewal: nothing left, never negative
	} {
		assert.Equal(t, want, term.DaysLeft(now), "%s", now)
	}
}

func ultimate(seats int) licensing.Contract {
	return licensing.Contract{TenantID: "acme", Plan: licensing.Ultimate, Seats: seats,
		Created: day(2026, 1, 1), Start: day(2026, 1, 1)}
}

// clone is a deep copy of a contract, to prove a function left its input alone.
func clone(c licensing.Contract) licensing.Contract {
	c.Addons = slices.Clone(c.Addons)
	c.SeatChanges = slices.Clone(c.SeatChanges)
	if c.SeatsAtRenewal != nil {
		c.SeatsAtRenewal = ptr(*c.SeatsAtRenewal)
	}
	if c.SeatsAtRenewalFrom != nil {
		c.SeatsAtRenewalFrom = ptr(*c.SeatsAtRenewalFrom)
	}
	return c
}

func TestChangeSeats(t *testing.T) {
	now := day(2026, 5, 1)
	renewal := day(2027, 1, 1)
	pending := func(t licensing.Contract, n int, from time.Time) licensing.Contract {
		t.SeatsAtRenewal, t.SeatsAtRenewalFrom = &n, &from
		return t
	}
	trial := ultimate(10)
	trial.Plan = licensing.Trial
	tests := []struct {
		name       string
		tenant     licensing.Contract
		now        time.Time
		seats      int
		kind       licensing.SeatChangeKind
		wantSeats  int
		wantLater  *int // SeatsAtRenewal
		wantFrom   *time.Time
		wantChange []licensing.SeatChange
	}{
		{name: "increase takes effect now", tenant: ultimate(10), now: now, seats: 15,
			kind: licensing.SeatsIncreased, wantSeats: 15, wantChange: []licensing.SeatChange{{At: now, From: 10, To: 15}}},
		{name: "reduction waits for the renewal", tenant: ultimate(20), now: now, seats: 12,
			kind: licensing.SeatsReductionAtRenewal, wantSeats: 20, wantLater: ptr(12), wantFrom: &renewal},
		{name: "a second reduction replaces the first", tenant: pending(ultimate(20), 12, renewal), now: now, seats: 15,
			kind: licensing.SeatsReductionAtRenewal, wantSeats: 20, wantLater: ptr(15), wantFrom: &renewal},
		{name: "an increase withdraws a pending reduction", tenant: pending(ultimate(20), 12, renewal), now: now, seats: 25,
			kind: licensing.SeatsIncreased, wantSeats: 25, wantChange: []licensing.SeatChange{{At: now, From: 20, To: 25}}},
		{name: "the count in force withdraws a pending reduction", tenant: pending(ultimate(20), 12, renewal), now: now, seats: 20,
			kind: licensing.SeatsReductionCancelled, wantSeats: 20},
		{name: "no change", tenant: ultimate(20), now: now, seats: 20, kind: licensing.SeatsUnchanged, wantSeats: 20},
		{name: "a trial has no term: reductions are immediate", tenant: trial, now: now, seats: 3,
			kind: licensing.SeatsReducedNow, wantSeats: 3, wantChange: []licensing.SeatChange{{At: now, From: 10, To: 3}}},
		{name: "a due reduction is rolled in before the change", tenant: pending(ultimate(20), 12, renewal), now: day(2027, 2, 1), seats: 30,
			kind: licensing.SeatsIncreased, wantSeats: 30,
			wantChange: []licensing.SeatChange{{At: renewal, From: 20, To: 12}, {At: day(2027, 2, 1), From: 12, To: 30}}},
		{name: "a reduction in the next term waits for the next renewal", tenant: ultimate(20), now: day(2027, 2, 1), seats: 9,
			kind: licensing.SeatsReductionAtRenewal, wantSeats: 20, wantLater: ptr(9), wantFrom: ptr(day(2028, 1, 1))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := clone(tc.tenant)
			got, kind, err := licensing.ChangeSeats(tc.tenant, tc.seats, tc.now)
			require.NoError(t, err)
			assert.Equal(t, tc.kind, kind)
			assert.Equal(t, tc.wantSeats, got.Seats)
			assert.Equal(t, tc.wantLater, got.SeatsAtRenewal)
			assert.Equal(t, tc.wantFrom, got.SeatsAtRenewalFrom)
			assert.Equal(t, tc.wantChange, got.SeatChanges)
			assert.Equal(t, before, tc.tenant, "the input is not changed")
		})
	}
	_, _, err := licensing.ChangeSeats(ultimate(10), -1, now)
	assert.Error(t, err)
}

// TestChangeSeats_purchasedInForce proves that a reduction lowers the count
// the cap uses exactly at the renewal, with nothing run in between.
func TestChangeSeats_purchasedInForce(t *testing.T) {
	got, _, err := licensing.ChangeSeats(ultimate(20), 12, day(2026, 5, 1))
	require.NoError(t, err)
	renewal := day(2027, 1, 1)
	assert.Equal(t, 20, got.SeatsInForce(renewal.Add(-time.Microsecond)))
	assert.Equal(t, 12, got.SeatsInForce(renewal))
	assert.Equal(t, 12, got.SeatsInForce(renewal.AddDate(3, 0, 0)))
	rolled := licensing.Roll(got, renewal)
	assert.Equal(t, 12, rolled.Seats)
	assert.Nil(t, rolled.SeatsAtRenewal)
	assert.Equal(t, []licensing.SeatChange{{At: renewal, From: 20, To: 12}}, rolled.SeatChanges)
	assert.Equal(t, got, licensing.Roll(got, renewal.Add(-time.Second)), "not due: unchanged")
}

func TestChangeSeats_keepsOnlyTheCurrentTerm(t *testing.T) {
	tn := ultimate(10)
	tn.SeatChanges = []licensing.SeatChange{
		{At: day(2026, 2, 1), From: 8, To: 9},
		{At: day(2026, 3, 1), From: 9, To: 10},
	}
	got, _, err := licensing.ChangeSeats(tn, 11, day(2027, 3, 1)) // next term
	require.NoError(t, err)
	assert.Equal(t, []licensing.SeatChange{
		{At: day(2026, 3, 1), From: 9, To: 10}, // the last one before the term: the count it started with
		{At: day(2027, 3, 1), From: 10, To: 11},
	}, got.SeatChanges)
}

func TestChangeContractStart_movesPendingReduction(t *testing.T) {
	tn, _, err := licensing.ChangeSeats(ultimate(20), 12, day(2026, 5, 1))
	require.NoError(t, err)
	got := licensing.ChangeContractStart(tn, day(2025, 7, 1), day(2026, 5, 1))
	assert.Equal(t, day(2025, 7, 1), got.Start)
	assert.Equal(t, ptr(day(2026, 7, 1)), got.SeatsAtRenewalFrom)
	assert.Equal(t, ptr(12), got.SeatsAtRenewal)
}

func ev(when time.Time, user string, class licensing.SeatClass, delta int) licensing.SeatMove {
	return licensing.SeatMove{Time: when, UserID: user, Class: class, Delta: delta}
}

func TestCountsAt(t *testing.T) {
	t0 := day(2026, 1, 1)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	events := []licensing.SeatMove{
		ev(h(1), "a", licensing.SeatFull, 1),
		ev(h(2), "b", licensing.SeatFull, 1),
		ev(h(2), "c", licensing.SeatLight, 1),
		ev(h(3), "a", licensing.SeatFull, -1),
		ev(h(4), "b", licensing.SeatFull, -1),
		ev(h(4), "b", licensing.SeatLight, 1),
		ev(h(5), "c", licensing.SeatLight, -1),
	}
	tests := []struct {
		at   time.Time
		want licensing.SeatCounts
	}{
		{h(0), licensing.SeatCounts{}},
		{h(1), licensing.SeatCounts{Full: 1}}, // an event at the instant counts
		{h(1).Add(30 * time.Minute), licensing.SeatCounts{Full: 1}},
		{h(2), licensing.SeatCounts{Full: 2, Light: 1}},
		{h(3), licensing.SeatCounts{Full: 1, Light: 1}},
		{h(4), licensing.SeatCounts{Full: 0, Light: 2}},
		{h(5), licensing.SeatCounts{Light: 1}},
		{h(100), licensing.SeatCounts{Light: 1}},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, licensing.CountsAt(events, tc.at), "at %s", tc.at)
	}
	assert.Equal(t, licensing.SeatCounts{Light: 1}, licensing.Replay(events))
	assert.Equal(t, licensing.SeatCounts{}, licensing.Replay(nil))
}

func TestUnbalanced(t *testing.T) {
	t0 := day(2026, 1, 1)
	full, light := licensing.SeatFull, licensing.SeatLight
	tests := []struct {
		name   string
		events []licensing.SeatMove
		held   map[string]licensing.SeatClass
		want   []string
	}{
		{"deactivate, reactivate, delete balances", []licensing.SeatMove{
			ev(t0, "a", full, 1),
			ev(t0, "a", full, -1),
			ev(t0, "a", full, 1),
			ev(t0, "a", full, -1),
		}, map[string]licensing.SeatClass{}, nil},
		{"a held seat matches its consumption", []licensing.SeatMove{
			ev(t0, "a", full, 1),
			ev(t0, "a", full, -1),
			ev(t0, "a", light, 1),
		}, map[string]licensing.SeatClass{"a": light, "idle": licensing.SeatNone}, nil},
		{"a release without a consumption", []licensing.SeatMove{
			ev(t0, "a", full, -1),
			ev(t0, "a", full, 1),
		}, map[string]licensing.SeatClass{"a": full}, []string{"a"}},
		{"two seats at once", []licensing.SeatMove{
			ev(t0, "a", full, 1),
			ev(t0, "a", light, 1),
			ev(t0, "a", full, -1),
		}, map[string]licensing.SeatClass{"a": light}, []string{"a"}},
		{"a held seat with no consumption", nil, map[string]licensing.SeatClass{"z": full, "y": full}, []string{"y", "z"}},
		{"a consumption never released", []licensing.SeatMove{
			ev(t0, "a", full, 1),
		}, map[string]licensing.SeatClass{}, []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, b := range licensing.Unbalanced(tc.events, tc.held) {
				got = append(got, b.UserID)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestChangePlan(t *testing.T) {
	now := day(2026, 11, 22)
	trial := ultimate(5)
	trial.Plan = licensing.Trial
	trial.SeatChanges = []licensing.SeatChange{{At: day(2026, 3, 1), From: 3, To: 5}}
	converted := clone(trial)
	converted.Plan = licensing.Ultimate
	got := licensing.ChangePlan(converted, licensing.Trial, now)
	assert.Equal(t, now, got.Start, "a converted trial starts its first paid term now")
	assert.Nil(t, got.SeatChanges, "nothing of the trial is prorated")
	assert.Equal(t, day(2027, 11, 22), licensing.TermAt(got.Start, now).Renewal)

	for _, tc := range []struct{ from, to string }{
		{licensing.Enterprise, licensing.Ultimate}, // upgrade: same term
		{licensing.Ultimate, licensing.Trial},      // back to trial: nothing to start
		{licensing.Trial, licensing.Trial},         // no change
		{licensing.EnterpriseBundle, licensing.Enterprise},
	} {
		tn := ultimate(10)
		tn.Plan = tc.to
		assert.Equal(t, tn, licensing.ChangePlan(tn, tc.from, now), "%s -> %s keeps the term", tc.from, tc.to)
	}
}
