package licensing_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/licensing"
)

// TestSeats_contractProperties drives random sequences of seat changes over
// three contract years and checks, after each, the rules the report and the
// cap rely on:
//   - an increase is in force at once, a reduction of an annual plan only
//     from the renewal, and never before it;
//   - billable = max(minimum, purchased, consumed); available and overage are
//     the two sides of purchased - consumed; the monthly cost is its parts;
//   - a prorated addition never costs more than a full year of the seats it
//     adds, and never charges for seats under the minimum.
func TestSeats_contractProperties(t *testing.T) {
	for seed := range 200 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		plan := []string{licensing.Enterprise, licensing.EnterpriseBundle, licensing.Ultimate, licensing.Trial}[rng.IntN(4)]
		p, _ := licensing.Lookup(plan)
		start := day(2024, 1, 1).AddDate(0, 0, rng.IntN(700))
		tn := licensing.Contract{TenantID: "acme", Plan: plan, Seats: rng.IntN(20), Start: start, Created: start,
			Addons: []string{licensing.AddonHIPAA}}
		now := start
		for step := range 30 {
			now = now.Add(time.Duration(rng.IntN(40*24)) * time.Hour)
			inForce := tn.SeatsInForce(now)
			want := rng.IntN(30)
			next, kind, err := licensing.ChangeSeats(tn, want, now)
			require.NoError(t, err)
			got := next.SeatsInForce(now)
			switch {
			case want >= inForce || !p.BilledAnnually:
				require.Equal(t, want, got, "seed %d step %d: %s", seed, step, kind)
			default:
				require.Equal(t, inForce, got, "seed %d step %d: a reduction waits", seed, step)
				renewal := licensing.TermAt(start, now).Renewal
				require.Equal(t, inForce, next.SeatsInForce(renewal.Add(-time.Microsecond)), "seed %d step %d", seed, step)
				require.Equal(t, want, next.SeatsInForce(renewal), "seed %d step %d: in force at the renewal", seed, step)
			}
			tn = next

			held := licensing.SeatCounts{Full: rng.IntN(30), Light: rng.IntN(5)}
			r := licensing.Report(tn, held, now)
			require.Equal(t, tn.SeatsInForce(now), r.PurchasedSeats, "seed %d step %d", seed, step)
			if p.Paid {
				require.Equal(t, max(8, r.PurchasedSeats, held.Full), r.BillableSeats)
			} else {
				require.Zero(t, r.BillableSeats)
				require.Zero(t, r.MonthlyCostCents)
			}
			require.Equal(t, licensing.UsableSeats(p, r.PurchasedSeats), r.UsableSeats)
			require.Equal(t, r.UsableSeats, tn.UsableAt(now), "seed %d step %d: the cap is the report's usable seats", seed, step)
			require.Equal(t, r.UsableSeats-held.Full, r.AvailableSeats-r.OverageSeats)
			require.GreaterOrEqual(t, r.BillableSeats, map[bool]int{true: r.UsableSeats, false: 0}[p.Paid],
				"seed %d step %d: a paid tenant is billed for every seat it may use", seed, step)
			require.True(t, r.AvailableSeats == 0 || r.OverageSeats == 0)
			require.Equal(t, r.SeatMonthlyCents+r.LightMonthlyCents+r.AddonMonthlyCents, r.MonthlyCostCents)
			require.True(t, !r.Term.Start.After(now) && now.Before(r.Term.Renewal), "seed %d step %d: now is in the term", seed, step)
			require.Contains(t, []int{365, 366}, r.DaysInTerm)
			var sum int64
			for _, pr := range r.Prorations {
				require.LessOrEqual(t, pr.AmountCents, int64(pr.BillableAdded)*int64(p.SeatPriceCents)*12)
				require.LessOrEqual(t, pr.DaysLeft, pr.DaysInTerm)
				require.Equal(t, max(8, pr.To)-max(8, pr.From), pr.BillableAdded)
				require.False(t, pr.At.Before(r.Term.Start))
				sum += pr.AmountCents
			}
			require.Equal(t, sum, r.ProratedAddedCents)
			if r.PendingReduction != nil {
				require.Less(t, r.PendingReduction.Seats, r.PurchasedSeats)
				require.Equal(t, r.Term.Renewal, r.PendingReduction.EffectiveAt)
				require.LessOrEqual(t, r.AfterRenewal.BillableSeats, r.BillableSeats)
			}
		}
	}
}
