package licensing_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/licensing"
)

// november is a tenant on Ultimate (10 seats, HIPAA, light seats at $5)
// whose contract started on 1 January 2026: 7 full seats and a light one
// held since October; in November two users are invited on the 3rd and one
// of them leaves on the 5th, the seats go up to 12 on the 10th, a second light
// seat comes on the 15th, and on the 20th the seats are lowered to 9 (which
// waits for the renewal on 1 January 2027).
func november(t *testing.T) (licensing.Contract, []licensing.SeatMove) {
	c := licensing.Contract{TenantID: "acme", Plan: licensing.Ultimate, Seats: 10, Addons: []string{licensing.AddonHIPAA},
		LightSeatPriceCents: 500, Start: day(2026, 1, 1), Created: day(2026, 1, 1)}
	var err error
	c, _, err = licensing.ChangeSeats(c, 12, at(2026, 11, 10, 10))
	require.NoError(t, err)
	c, kind, err := licensing.ChangeSeats(c, 9, at(2026, 11, 20, 10))
	require.NoError(t, err)
	require.Equal(t, licensing.SeatsReductionAtRenewal, kind)
	var moves []licensing.SeatMove
	for i := range 7 {
		moves = append(moves, licensing.SeatMove{Time: at(2026, 10, 1+i, 9), UserID: string(rune('a' + i)), Class: licensing.SeatFull, Delta: 1})
	}
	moves = append(moves,
		licensing.SeatMove{Time: at(2026, 10, 20, 9), UserID: "v1", Class: licensing.SeatLight, Delta: 1},
		licensing.SeatMove{Time: at(2026, 11, 3, 9), UserID: "h", Class: licensing.SeatFull, Delta: 1},
		licensing.SeatMove{Time: at(2026, 11, 3, 15), UserID: "i", Class: licensing.SeatFull, Delta: 1},
		licensing.SeatMove{Time: at(2026, 11, 5, 12), UserID: "h", Class: licensing.SeatFull, Delta: -1},
		licensing.SeatMove{Time: at(2026, 11, 15, 12), UserID: "v2", Class: licensing.SeatLight, Delta: 1},
	)
	return c, moves
}

// TestUsage_novemberByWeek is the worked example of docs/contract.md:
// weeks start on Monday (1 November 2026 is a Sunday, so the first week is
// one day long), each point is the state at the end of its week, the week in
// progress is the state now, and weeks that have not begun are left out.
func TestUsage_novemberByWeek(t *testing.T) {
	c, moves := november(t)
	now := at(2026, 11, 22, 10)
	periods, err := licensing.UsagePeriods(day(2026, 11, 1), day(2026, 11, 30), licensing.UsageWeek, now)
	require.NoError(t, err)
	got := licensing.Usage(c, periods, licensing.SeatCounts{}, moves, now)
	// cost = billable × $139 + light × $5 + (full + light) × $25 HIPAA.
	want := []licensing.UsagePoint{
		{Start: day(2026, 11, 1), End: day(2026, 11, 2), At: day(2026, 11, 2),
			Consumed: 7, Light: 1, PeakConsumed: 7, Purchased: 10, Usable: 10, Billable: 10, CostCents: 10*13900 + 500 + 8*2500},
		{Start: day(2026, 11, 2), End: day(2026, 11, 9), At: day(2026, 11, 9),
			Consumed: 8, Light: 1, PeakConsumed: 9, Purchased: 10, Usable: 10, Billable: 10, CostCents: 10*13900 + 500 + 9*2500},
		{Start: day(2026, 11, 9), End: day(2026, 11, 16), At: day(2026, 11, 16),
			Consumed: 8, Light: 2, PeakConsumed: 8, Purchased: 12, Usable: 12, Billable: 12, CostCents: 12*13900 + 1000 + 10*2500},
		{Start: day(2026, 11, 16), End: day(2026, 11, 23), At: now,
			Consumed: 8, Light: 2, PeakConsumed: 8, Purchased: 12, Usable: 12, Billable: 12, CostCents: 12*13900 + 1000 + 10*2500},
	}
	assert.Equal(t, want, got)

	// A month-end state after the renewal has the reduction in force.
	periods, err = licensing.UsagePeriods(day(2026, 12, 1), day(2027, 1, 31), licensing.UsageMonth, at(2027, 2, 5, 0))
	require.NoError(t, err)
	got = licensing.Usage(c, periods, licensing.SeatCounts{}, moves, at(2027, 2, 5, 0))
	require.Len(t, got, 2)
	assert.Equal(t, 12, got[0].Purchased, "31 December: the reduction waits for the renewal")
	assert.Equal(t, 9, got[1].Purchased, "31 January: in force since 1 January")
	assert.Equal(t, 9, got[1].Billable)
}

// TestUsagePeriods_refusals: each refusal names the parameter to change.
func TestUsagePeriods_refusals(t *testing.T) {
	now := at(2026, 12, 7, 12)
	tests := []struct {
		name     string
		from, to time.Time
		interval licensing.UsageInterval
		param    string
		reason   string
	}{
		{"unknown interval", day(2026, 11, 1), day(2026, 11, 30), "year", "interval", `unknown interval "year"; intervals: day, week, month`},
		{"from after to", day(2026, 11, 30), day(2026, 11, 1), licensing.UsageDay, "from", "must not be after to (2026-11-30 is after 2026-11-01)"},
		{"from in the future", day(2026, 12, 8), day(2026, 12, 9), licensing.UsageDay, "from", "must not be after today (2026-12-07)"},
		{"401 days", day(2025, 10, 31), day(2026, 12, 5), licensing.UsageDay, "interval", "more than 400 points"},
		{"401 days, even when most are to come", day(2026, 12, 1), day(2028, 1, 5), licensing.UsageDay, "interval", "more than 400 points"},
		{"centuries by month", day(1900, 1, 1), day(2026, 1, 1), licensing.UsageMonth, "interval", "more than 400 points"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := licensing.UsagePeriods(tc.from, tc.to, tc.interval, now)
			var ue *licensing.UsageError
			require.True(t, errors.As(err, &ue), "%v", err)
			assert.Equal(t, tc.param, ue.Param)
			assert.Contains(t, ue.Reason, tc.reason)
		})
	}
	// 400 days are fine.
	p, err := licensing.UsagePeriods(day(2025, 11, 3), day(2026, 12, 7), licensing.UsageDay, now)
	require.NoError(t, err)
	assert.Len(t, p, 400)
}

// TestUsagePeriods_tileTheRange drives random ranges, intervals and clocks
// and proves that the periods cover the range exactly (no gap, no overlap,
// from the first day's midnight to the midnight after the last day, cut at
// now), that each lies within one calendar interval (weeks from Monday,
// calendar months) and only the first and last may be cut short.
func TestUsagePeriods_tileTheRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 14))
	for i := range 500 {
		from := day(2024, 1, 1).AddDate(0, 0, rng.IntN(900)).Add(time.Duration(rng.IntN(24)) * time.Hour)
		to := from.AddDate(0, 0, rng.IntN(420))
		interval := licensing.UsageIntervals[rng.IntN(3)]
		now := from.Add(time.Duration(rng.IntN(500*24)) * time.Hour)
		periods, err := licensing.UsagePeriods(from, to, interval, now)
		if err != nil {
			var ue *licensing.UsageError
			require.True(t, errors.As(err, &ue))
			require.Equal(t, "interval", ue.Param, "case %d", i)
			require.Equal(t, licensing.UsageDay, interval, "case %d: only days reach 400 in 420 days", i)
			continue
		}
		require.NotEmpty(t, periods, "case %d: from is never after now", i)
		require.LessOrEqual(t, len(periods), licensing.MaxUsagePoints)
		first, end := day(from.Year(), from.Month(), from.Day()), day(to.Year(), to.Month(), to.Day()).AddDate(0, 0, 1)
		assert.Equal(t, first, periods[0].Start, "case %d", i)
		last := periods[len(periods)-1]
		if now.Before(end) {
			assert.True(t, !last.Start.After(now) && now.Before(last.End), "case %d: the last period is the one in progress", i)
		} else {
			assert.Equal(t, end, last.End, "case %d", i)
		}
		for j, p := range periods {
			require.True(t, p.Start.Before(p.End), "case %d", i)
			if j > 0 {
				require.Equal(t, periods[j-1].End, p.Start, "case %d: contiguous", i)
				assertIntervalStart(t, interval, p.Start)
			}
			if j < len(periods)-1 || p.End != end {
				assertIntervalStart(t, interval, p.End)
			}
			switch interval {
			case licensing.UsageDay:
				require.Equal(t, 24*time.Hour, p.End.Sub(p.Start))
			case licensing.UsageWeek:
				require.LessOrEqual(t, p.End.Sub(p.Start), 7*24*time.Hour)
			case licensing.UsageMonth:
				require.True(t, p.End.Equal(time.Date(p.Start.Year(), p.Start.Month()+1, 1, 0, 0, 0, 0, time.UTC)) || !p.End.After(time.Date(p.Start.Year(), p.Start.Month()+1, 1, 0, 0, 0, 0, time.UTC)))
			}
		}
	}
}

func assertIntervalStart(t *testing.T, interval licensing.UsageInterval, at time.Time) {
	t.Helper()
	require.Equal(t, day(at.Year(), at.Month(), at.Day()), at, "midnight UTC")
	switch interval {
	case licensing.UsageWeek:
		require.Equal(t, time.Monday, at.Weekday(), "%s", at)
	case licensing.UsageMonth:
		require.Equal(t, 1, at.Day(), "%s", at)
	}
}

// randomHistory is a contract whose purchased seats changed at random times
// (through ChangeSeats, as the admin API changes them), with the seats in
// force after each change (an oracle for PurchasedAt), and a random ledger
// of users consuming and releasing seats.
type history struct {
	contract licensing.Contract
	// steps[k] is the contract after the k-th change and the time it was made.
	steps []struct {
		at time.Time
		c  licensing.Contract
	}
	moves []licensing.SeatMove
	start time.Time
	now   time.Time
}

func randomHistory(rng *rand.Rand) history {
	plan := []string{licensing.Enterprise, licensing.EnterpriseBundle, licensing.Ultimate, licensing.Trial}[rng.IntN(4)]
	start := day(2024, 1, 1).AddDate(0, 0, rng.IntN(400))
	h := history{start: start}
	c := licensing.Contract{TenantID: "acme", Plan: plan, Seats: rng.IntN(20), Start: start, Created: start,
		Addons: []string{licensing.AddonHIPAA}, LightSeatPriceCents: rng.IntN(3) * 500}
	h.steps = append(h.steps, struct {
		at time.Time
		c  licensing.Contract
	}{start, c})
	now := start
	for range rng.IntN(12) {
		now = now.Add(time.Duration(1+rng.IntN(60*24)) * time.Hour)
		c, _, _ = licensing.ChangeSeats(c, rng.IntN(25), now)
		h.steps = append(h.steps, struct {
			at time.Time
			c  licensing.Contract
		}{now, c})
	}
	h.contract = c
	held := map[string]licensing.SeatClass{}
	t := start
	for k := range 300 {
		t = t.Add(time.Duration(rng.IntN(72*60)) * time.Minute)
		user := string(rune('a' + rng.IntN(26)))
		if cl, ok := held[user]; ok {
			h.moves = append(h.moves, licensing.SeatMove{Time: t, UserID: user, Class: cl, Delta: -1})
			delete(held, user)
		} else {
			cl := []licensing.SeatClass{licensing.SeatFull, licensing.SeatFull, licensing.SeatLight}[rng.IntN(3)]
			h.moves = append(h.moves, licensing.SeatMove{Time: t, UserID: user, Class: cl, Delta: 1})
			held[user] = cl
		}
		if k%50 == 0 { // several events at one instant
			h.moves = append(h.moves, licensing.SeatMove{Time: t, UserID: "same-instant", Class: licensing.SeatFull, Delta: 1},
				licensing.SeatMove{Time: t, UserID: "same-instant", Class: licensing.SeatFull, Delta: -1})
		}
	}
	if t.After(now) {
		now = t
	}
	h.now = now.Add(time.Duration(rng.IntN(30*24)) * time.Hour)
	rng.Shuffle(len(h.moves), func(i, j int) { h.moves[i], h.moves[j] = h.moves[j], h.moves[i] }) // any order
	return h
}

// inForce is the oracle of PurchasedAt: the seats in force at the time at
// under the contract as it was then.
func (h history) inForce(at time.Time) int {
	c := h.steps[0].c
	for _, s := range h.steps {
		if !s.at.After(at) {
			c = s.c
		}
	}
	return c.SeatsInForce(at)
}

// TestUsage_ledgerAndContractProperties drives random contracts and ledgers
// through random ranges and intervals and proves, for every point:
//   - consumed and light are the ledger's deltas summed up to the point's
//     instant (before its end, or up to now for the interval in progress),
//     whatever the order the entries come in;
//   - the peak is the most full seats held at any instant of the interval,
//     never below the state at its start or at its end;
//   - purchased is what the contract had in force at the end of the interval
//     (the history of ChangeSeats replayed), within the history the contract
//     keeps;
//   - usable and billable follow the plan's rules: usable = UsableSeats,
//     billable = BillableSeats, so a paid plan never bills below the minimum,
//     the purchased seats or the seats in use;
//   - the cost is the seat report's monthly cost of that state;
//   - an opening balance plus the entries in range gives the same points as
//     the whole ledger;
//   - the point in progress agrees with the seat report of now.
func TestUsage_ledgerAndContractProperties(t *testing.T) {
	for seed := range 150 {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		h := randomHistory(rng)
		plan, _ := licensing.Lookup(h.contract.Plan)
		from := h.start.AddDate(0, 0, rng.IntN(530)-30) // sometimes before the contract
		if from.After(h.now) {
			from = h.now
		}
		to := from.AddDate(0, 0, rng.IntN(300))
		interval := licensing.UsageIntervals[rng.IntN(3)]
		periods, err := licensing.UsagePeriods(from, to, interval, h.now)
		require.NoError(t, err)
		points := licensing.Usage(h.contract, periods, licensing.SeatCounts{}, h.moves, h.now)
		require.Len(t, points, len(periods))

		var opening licensing.SeatCounts
		var inRange []licensing.SeatMove
		for _, m := range h.moves {
			if m.Time.Before(periods[0].Start) {
				opening = sumMove(opening, m)
			} else {
				inRange = append(inRange, m)
			}
		}
		assert.Equal(t, points, licensing.Usage(h.contract, periods, opening, inRange, h.now), "seed %d: opening + range = whole ledger", seed)

		firstKept := h.start
		if len(h.contract.SeatChanges) > 0 {
			firstKept = h.contract.SeatChanges[0].At
		}
		prev := licensing.CountsAt(h.moves, periods[0].Start.Add(-time.Nanosecond))
		ordered := sortedMoves(h.moves)
		for j, p := range points {
			inside := func(m licensing.SeatMove) bool { return m.Time.Before(p.End) }
			wantAt := p.End
			if h.now.Before(p.End) {
				inside, wantAt = func(m licensing.SeatMove) bool { return !m.Time.After(h.now) }, h.now
			}
			require.Equal(t, wantAt, p.At, "seed %d point %d", seed, j)
			var sum licensing.SeatCounts
			peak := prev.Full
			for _, m := range ordered {
				if !inside(m) {
					break
				}
				sum = sumMove(sum, m)
				if !m.Time.Before(p.Start) {
					peak = max(peak, sum.Full)
				}
			}
			require.Equal(t, sum.Full, p.Consumed, "seed %d point %d: consumed is the ledger summed to the point", seed, j)
			require.Equal(t, sum.Light, p.Light, "seed %d point %d", seed, j)
			require.Equal(t, peak, p.PeakConsumed, "seed %d point %d", seed, j)
			require.GreaterOrEqual(t, p.PeakConsumed, max(p.Consumed, prev.Full), "seed %d point %d", seed, j)
			prev = sum

			last := p.At
			if p.At.Equal(p.End) {
				last = p.At.Add(-time.Nanosecond)
			}
			if last.Before(h.contract.StartDate()) {
				require.Equal(t, []int{0, 0, 0}, []int{p.Purchased, p.Usable, p.Billable}, "seed %d point %d: before the contract", seed, j)
				require.Zero(t, p.CostCents)
				continue
			}
			if !last.Before(firstKept) {
				require.Equal(t, h.inForce(last), p.Purchased, "seed %d point %d at %s: purchased follows the contract's history", seed, j, last)
			}
			require.Equal(t, licensing.UsableSeats(plan, p.Purchased), p.Usable)
			require.Equal(t, licensing.BillableSeats(plan, p.Purchased, p.Consumed), p.Billable)
			if plan.Paid {
				require.GreaterOrEqual(t, p.Billable, max(licensing.MinimumSeats, p.Purchased, p.Consumed, p.Usable), "seed %d point %d", seed, j)
			} else {
				require.Zero(t, p.Billable)
				require.Zero(t, p.CostCents)
			}
			snapshot := h.contract
			snapshot.Seats, snapshot.SeatsAtRenewal, snapshot.SeatsAtRenewalFrom, snapshot.SeatChanges = p.Purchased, nil, nil, nil
			require.Equal(t, licensing.Report(snapshot, sum, last).MonthlyCostCents, p.CostCents, "seed %d point %d", seed, j)
		}

		lastP := points[len(points)-1]
		if h.now.Before(lastP.End) {
			r := licensing.Report(h.contract, licensing.CountsAt(h.moves, h.now), h.now)
			assert.Equal(t, []int{r.ConsumedSeats, r.LightSeats, r.PurchasedSeats, r.UsableSeats, r.BillableSeats},
				[]int{lastP.Consumed, lastP.Light, lastP.Purchased, lastP.Usable, lastP.Billable}, "seed %d: the point in progress is the seat report", seed)
			assert.Equal(t, r.MonthlyCostCents, lastP.CostCents, "seed %d", seed)
		}
	}
}

func sumMove(c licensing.SeatCounts, m licensing.SeatMove) licensing.SeatCounts {
	switch m.Class {
	case licensing.SeatFull:
		c.Full += m.Delta
	case licensing.SeatLight:
		c.Light += m.Delta
	}
	return c
}

func sortedMoves(moves []licensing.SeatMove) []licensing.SeatMove {
	out := append([]licensing.SeatMove(nil), moves...)
	for i := 1; i < len(out); i++ { // insertion sort: stable, and not the code under test
		for j := i; j > 0 && out[j].Time.Before(out[j-1].Time); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// TestUsage_empty: no periods, no points; a tenant with no ledger holds
// nothing and is billed its minimum, from its contract's start on.
func TestUsage_empty(t *testing.T) {
	c := licensing.Contract{TenantID: "acme", Plan: licensing.Enterprise, Seats: 3, Start: day(2026, 1, 1), Created: day(2026, 1, 1)}
	assert.Empty(t, licensing.Usage(c, nil, licensing.SeatCounts{}, nil, day(2026, 5, 1)))
	periods, err := licensing.UsagePeriods(day(2026, 4, 1), day(2026, 4, 30), licensing.UsageMonth, day(2026, 5, 1))
	require.NoError(t, err)
	got := licensing.Usage(c, periods, licensing.SeatCounts{}, nil, day(2026, 5, 1))
	require.Len(t, got, 1)
	assert.Equal(t, licensing.UsagePoint{Start: day(2026, 4, 1), End: day(2026, 5, 1), At: day(2026, 5, 1),
		Purchased: 3, Usable: 8, Billable: 8, CostCents: 8 * 8900}, got[0])

	// A contract that starts on 15 April bills nothing at the end of March.
	c.Start = day(2026, 4, 15)
	periods, err = licensing.UsagePeriods(day(2026, 3, 1), day(2026, 4, 30), licensing.UsageMonth, day(2026, 5, 1))
	require.NoError(t, err)
	got = licensing.Usage(c, periods, licensing.SeatCounts{}, nil, day(2026, 5, 1))
	require.Len(t, got, 2)
	assert.Equal(t, licensing.UsagePoint{Start: day(2026, 3, 1), End: day(2026, 4, 1), At: day(2026, 4, 1)}, got[0])
	assert.Equal(t, 8, got[1].Billable)
}
