package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// testSeatsCapFollowsContractTerms proves that every backend's seat cap is
// licensing's rule (licensing.Contract.UsableAt: the seats in force, raised
// to the contract minimum on a paid plan) across contract terms. Each
// contract is made by licensing's own changes — additions in force at once,
// reductions of an annual plan only from the renewal, a second reduction
// replacing the first, an addition withdrawing a pending reduction, a moved
// contract start, a leap-day contract, a trial and an unknown plan reducing
// at once — and stored; then, at the instants around its term boundaries
// (the renewal to the microsecond, the next term, years later), activations
// succeed up to exactly UsableAt full seats and the next is refused naming
// it. The PostgreSQL cap is SQL (roster_purchased_seats,
// roster_usable_seats), so this is where SQL and licensing are compared on
// stored contracts.
func testSeatsCapFollowsContractTerms(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	may := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	type change struct {
		at    time.Time
		seats int       // a new purchased count (ChangeSeats), unless start is set
		start time.Time // a new contract start (ChangeContractStart)
	}
	cases := []struct {
		name    string
		plan    string
		start   time.Time
		seats   int
		changes []change
	}{
		{"an addition is in force at once", licensing.Ultimate, jan, 10, []change{{at: may, seats: 15}}},
		{"a reduction waits for the renewal", licensing.Ultimate, jan, 20, []change{{at: may, seats: 12}}},
		{"a second reduction replaces the first", licensing.Ultimate, jan, 20, []change{{at: may, seats: 12}, {at: may.AddDate(0, 1, 0), seats: 15}}},
		{"an addition withdraws a pending reduction", licensing.Ultimate, jan, 20, []change{{at: may, seats: 12}, {at: may.AddDate(0, 1, 0), seats: 25}}},
		{"a reduction below the minimum", licensing.Enterprise, jan, 12, []change{{at: may, seats: 3}}},
		{"a reduction in the second term waits for the second renewal", licensing.EnterpriseBundle, jan, 20, []change{{at: may.AddDate(1, 0, 0), seats: 9}}},
		{"a moved contract start moves the renewal", licensing.Ultimate, jan, 20, []change{{at: may, seats: 12}, {at: may, start: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)}}},
		{"a leap-day contract renews on 28 February", licensing.Ultimate, time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC), 20, []change{{at: time.Date(2028, 6, 1, 0, 0, 0, 0, time.UTC), seats: 12}}},
		{"a trial reduces at once", licensing.Trial, jan, 10, []change{{at: may, seats: 3}}},
		{"an unknown plan reduces at once", "gold", jan, 10, []change{{at: may, seats: 4}}},
	}
	for i, tc := range cases {
		tenant := fmt.Sprintf("t%02d", i)
		clock.Set(tc.start)
		stored, err := s.CreateTenant(ctx, store.Tenant{ID: tenant, Plan: tc.plan, Seats: tc.seats, ContractStart: tc.start,
			Settings: store.DefaultSettings()}, store.ActorAdmin)
		require.NoError(t, err, tc.name)
		c := stored.Contract()
		last := tc.start
		for _, ch := range tc.changes {
			if ch.start.IsZero() {
				c, _, err = licensing.ChangeSeats(c, ch.seats, ch.at)
				require.NoError(t, err)
			} else {
				c = licensing.ChangeContractStart(c, ch.start, ch.at)
			}
			last = ch.at
		}
		clock.Set(last)
		_, err = directory.New(s).UpdateTenant(ctx, tenant, store.ActorAdmin, func(x *store.Tenant) error { x.SetContract(c); return nil })
		require.NoError(t, err, tc.name)
		stored, err = s.GetTenant(ctx, tenant)
		require.NoError(t, err)

		users := make([]string, 30) // more than any case may use
		for j := range users {
			users[j] = newUser(t, s, tenant, fmt.Sprintf("u%02d@x", j), false).ID
		}
		renewal := licensing.TermAt(c.StartDate(), last).Renewal
		for _, at := range []time.Time{last, renewal.Add(-time.Microsecond), renewal, renewal.AddDate(0, 0, 1),
			licensing.TermAt(c.StartDate(), renewal).Renewal, renewal.AddDate(3, 0, 0)} {
			what := fmt.Sprintf("%s, at %s", tc.name, at.Format(time.RFC3339Nano))
			want := c.UsableAt(at)
			storedContract := stored.Contract()
			require.Equal(t, want, storedContract.UsableAt(at), "%s: the stored contract is the one made", what)
			clock.Set(at)
			taken := 0
			for _, id := range users {
				err := setActive(t, s, tenant, id, true)
				if err != nil {
					var limit *store.SeatLimitError
					require.ErrorAs(t, err, &limit, what)
					require.Equal(t, store.SeatLimitError{TenantID: tenant, InUse: want, Purchased: want}, *limit, what)
					break
				}
				taken++
			}
			require.Equal(t, want, taken, what)
			for _, id := range users[:taken] {
				require.NoError(t, setActive(t, s, tenant, id, false), what)
			}
		}
	}
}
