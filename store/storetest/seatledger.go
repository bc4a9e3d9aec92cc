package storetest

// Seat ledger and contract properties. The rules they check live in
// package licensing; the store only records and counts.

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// testLedgerReplayAtAnyTime proves that replaying the ledger to any instant
// (licensing.CountsAt, or the store's own time-range query) reproduces the
// seats the store reported at that instant — through provisioning,
// deactivation, reactivation, role changes between seat classes, expiry and
// deletion.
func testLedgerReplayAtAnyTime(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	_, err := s.CreateRole(ctx, "acme", store.Role{Name: "viewer", Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, store.ActorAdmin)
	require.NoError(t, err)

	type snapshot struct {
		at     time.Time
		counts store.SeatCounts
	}
	var snaps []snapshot
	step := func(what string, fn func() error) {
		t.Helper()
		clock.Advance(time.Minute)
		require.NoError(t, fn(), what)
		c, err := s.SeatCounts(ctx, "acme")
		require.NoError(t, err)
		snaps = append(snaps, snapshot{store.Timestamp(clock.Now()), c})
	}
	var a, b, c, v store.User
	step("create a", func() (err error) {
		a, err = s.CreateUser(ctx, "acme", store.User{UserName: "a@x", Active: true}, token)
		return
	})
	step("create b", func() (err error) {
		b, err = s.CreateUser(ctx, "acme", store.User{UserName: "b@x", Active: true}, token)
		return
	})
	step("create idle c", func() (err error) { c, err = s.CreateUser(ctx, "acme", store.User{UserName: "c@x"}, token); return })
	step("create viewer", func() (err error) {
		v, err = s.CreateUser(ctx, "acme", store.User{UserName: "v@x", Active: true, Role: "viewer"}, token)
		return
	})
	step("deactivate a", func() error { return setActive(t, s, "acme", a.ID, false) })
	step("activate c", func() error { return setActive(t, s, "acme", c.ID, true) })
	step("b becomes a viewer", func() error {
		_, err := s.UpdateUser(ctx, "acme", b.ID, token, func(u *store.User) error { u.Role = "viewer"; return nil })
		return err
	})
	step("the viewer becomes an agent", func() error {
		_, err := s.UpdateUser(ctx, "acme", v.ID, token, func(u *store.User) error { u.Role = store.RoleAgent; return nil })
		return err
	})
	step("reactivate a", func() error { return setActive(t, s, "acme", a.ID, true) })
	step("c expires", func() error {
		past := clock.Now().Add(-time.Second)
		_, err := s.UpdateUser(ctx, "acme", c.ID, store.ActorSystem, func(u *store.User) error {
			u.AccessExpiresAt, u.Active = &past, false
			return nil
		})
		return err
	})
	step("delete b", func() error { return s.DeleteUser(ctx, "acme", b.ID, token) })
	step("delete a", func() error { return s.DeleteUser(ctx, "acme", a.ID, token) })

	events := ledger(t, s, "acme")
	require.NotEmpty(t, events)
	before := snaps[0].at.Add(-time.Second)
	assert.Equal(t, store.SeatCounts{}, licensing.CountsAt(store.SeatMoves(events), before), "nothing before the first event")
	for i, sn := range snaps {
		assert.Equal(t, sn.counts, licensing.CountsAt(store.SeatMoves(events), sn.at), "at step %d", i+1)
		// Between two steps nothing changes.
		assert.Equal(t, sn.counts, licensing.CountsAt(store.SeatMoves(events), sn.at.Add(30*time.Second)), "after step %d", i+1)
		// The store's time range (To exclusive) gives the same answer.
		upTo, err := s.ListSeatEvents(ctx, "acme", store.EventQuery{To: sn.at.Add(time.Microsecond), Limit: 1000})
		require.NoError(t, err)
		assert.Equal(t, sn.counts, licensing.Replay(store.SeatMoves(upTo)), "ledger up to step %d", i+1)
	}
	reasons := map[string]int{}
	for _, e := range events {
		reasons[e.Reason]++
	}
	assert.Equal(t, map[string]int{
		store.ReasonProvisioned: 3, store.ReasonDeactivated: 1, store.ReasonReactivated: 2,
		store.ReasonRoleChanged: 4, store.ReasonExpired: 1, store.ReasonDeleted: 2,
	}, reasons)
	assert.Nil(t, licensing.Unbalanced(store.SeatMoves(events), heldSeats(t, s, "acme")))
}

// heldSeats is the seat every live user of the tenant holds.
func heldSeats(t *testing.T, s store.Store, tenant string) map[string]store.SeatClass {
	t.Helper()
	page, err := s.ListUsers(ctx, tenant, store.UserQuery{Count: 1000})
	require.NoError(t, err)
	held := map[string]store.SeatClass{}
	for _, u := range page.Users {
		held[u.ID] = u.Seat
	}
	return held
}

// testLedgerBalancesRandomSequences drives random sequences of
// deactivations, reactivations, deletions, role changes and creations (some
// refused by the cap) and proves that every user's ledger entries add up to
// the seat they hold, that no user ever holds two seats or a negative one,
// and that the counters equal the replayed ledger.
func testLedgerBalancesRandomSequences(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	for seed := range 5 {
		tenant := tenantID("random", seed)
		newCappedTenant(t, s, tenant, 6)
		_, err := s.CreateRole(ctx, tenant, store.Role{Name: "viewer", Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, store.ActorAdmin)
		require.NoError(t, err)
		rng := rand.New(rand.NewPCG(uint64(seed), 42))
		var live []string
		created := 0
		for range 150 {
			var err error
			switch op := rng.IntN(6); {
			case op == 0 || len(live) == 0:
				role := []string{store.RoleAgent, "viewer"}[rng.IntN(2)]
				var u store.User
				u, err = s.CreateUser(ctx, tenant, store.User{UserName: fmt.Sprintf("u%d@x", created), Active: rng.IntN(3) > 0, Role: role}, token)
				created++
				if err == nil {
					live = append(live, u.ID)
				}
			case op == 1:
				i := rng.IntN(len(live))
				err = s.DeleteUser(ctx, tenant, live[i], token)
				live = append(live[:i], live[i+1:]...)
			case op == 2 || op == 3:
				err = setActive(t, s, tenant, live[rng.IntN(len(live))], op == 2)
			default:
				role := []string{store.RoleAgent, "viewer", store.RoleSupervisor}[rng.IntN(3)]
				_, err = s.UpdateUser(ctx, tenant, live[rng.IntN(len(live))], token, func(u *store.User) error { u.Role = role; return nil })
			}
			if err != nil {
				require.ErrorIs(t, err, store.ErrSeatLimit, "seed %d", seed)
			}
		}
		events := ledger(t, s, tenant)
		held := heldSeats(t, s, tenant)
		assert.Nil(t, licensing.Unbalanced(store.SeatMoves(events), held), "seed %d", seed)
		counts, err := s.SeatCounts(ctx, tenant)
		require.NoError(t, err)
		assert.Equal(t, counts, licensing.Replay(store.SeatMoves(events)), "seed %d", seed)
		assert.LessOrEqual(t, counts.Full, 6, "seed %d: the cap held", seed)
		var want store.SeatCounts
		for _, c := range held {
			want.Full += map[store.SeatClass]int{store.SeatFull: 1}[c]
			want.Light += map[store.SeatClass]int{store.SeatLight: 1}[c]
		}
		assert.Equal(t, want, counts, "seed %d: the counters are the seats users hold", seed)
	}
}

// testSeatsChurnNeverOversold races releases against consumptions at the
// cap: k users hold every seat; half the racers deactivate one of them, half
// activate an idle user. However they interleave, the seats held never
// exceed k, every success and refusal is consistent with the final state,
// and the counters equal the ledger.
func testSeatsChurnNeverOversold(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	const trials, k = 20, 5
	for trial := range trials {
		tenant := tenantID("churn", trial)
		newCappedTenant(t, s, tenant, k)
		holders := make([]string, k)
		idle := make([]string, 2*k)
		for i := range holders {
			holders[i] = newUser(t, s, tenant, fmt.Sprintf("h%d@x", i), true).ID
		}
		for i := range idle {
			idle[i] = newUser(t, s, tenant, fmt.Sprintf("i%d@x", i), false).ID
		}
		errs := parallel(k+len(idle), func(i int) error {
			if i < k {
				return setActive(t, s, tenant, holders[i], false)
			}
			return setActive(t, s, tenant, idle[i-k], true)
		})
		activated := 0
		for i, err := range errs {
			if i < k {
				require.NoError(t, err, "a release is never refused")
				continue
			}
			if err == nil {
				activated++
			} else {
				require.ErrorIs(t, err, store.ErrSeatLimit)
			}
		}
		counts, err := s.SeatCounts(ctx, tenant)
		require.NoError(t, err)
		require.LessOrEqual(t, counts.Full, k, "trial %d", trial)
		require.Equal(t, activated, counts.Full, "trial %d: every holder was released, so only the activations hold seats", trial)
		events := ledger(t, s, tenant)
		require.Equal(t, counts, licensing.Replay(store.SeatMoves(events)), "trial %d", trial)
		require.Nil(t, licensing.Unbalanced(store.SeatMoves(events), heldSeats(t, s, tenant)), "trial %d", trial)
	}
}

// testContractRoundTrip proves that the contract terms round-trip, that a
// new tenant's contract starts when it is created, and that a pending
// reduction lowers the cap exactly at its renewal, with nothing run at it.
func testContractRoundTrip(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	tn := newCappedTenant(t, s, "acme", 3)
	assert.Equal(t, tn.CreatedAt, tn.ContractStart, "the contract starts at creation")
	assert.Nil(t, tn.SeatsAtRenewal)
	assert.Nil(t, tn.SeatChanges)

	start := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)
	renewal := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	up, err := directory.New(s).UpdateTenant(ctx, "acme", store.ActorAdmin, func(x *store.Tenant) error {
		x.ContractStart = start
		x.Seats = 3
		one, at := 1, time.Date(2026, 9, 1, 0, 0, 0, 0, time.FixedZone("X", 7200)).Add(2*time.Hour) // the same instant
		x.SeatsAtRenewal, x.SeatsAtRenewalFrom = &one, &at
		x.SeatChanges = []store.SeatChange{{At: time.Date(2026, 1, 2, 3, 4, 5, 999, time.UTC), From: 2, To: 3}}
		return nil
	})
	require.NoError(t, err)
	got, err := s.GetTenant(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, up, got)
	assert.Equal(t, start, got.ContractStart)
	require.NotNil(t, got.SeatsAtRenewal)
	assert.Equal(t, 1, *got.SeatsAtRenewal)
	assert.True(t, renewal.Equal(*got.SeatsAtRenewalFrom))
	assert.Equal(t, []store.SeatChange{{At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), From: 2, To: 3}}, got.SeatChanges)
	_, err = directory.New(s).UpdateTenant(ctx, "acme", store.ActorAdmin, func(x *store.Tenant) error { x.ContractStart = time.Time{}; return nil })
	require.NoError(t, err)
	got, err = s.GetTenant(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, start, got.ContractStart, "a zero contract start keeps the one stored")

	// Half a pending reduction, or a negative count, is refused by every backend.
	for name, fn := range map[string]func(*store.Tenant){
		"count without date": func(x *store.Tenant) { n := 2; x.SeatsAtRenewal, x.SeatsAtRenewalFrom = &n, nil },
		"date without count": func(x *store.Tenant) { x.SeatsAtRenewal, x.SeatsAtRenewalFrom = nil, &renewal },
		"negative reduction": func(x *store.Tenant) { n := -1; x.SeatsAtRenewal = &n },
		"negative seats":     func(x *store.Tenant) { x.Seats = -3 },
	} {
		_, err := directory.New(s).UpdateTenant(ctx, "acme", store.ActorAdmin, func(x *store.Tenant) error { fn(x); return nil })
		assert.ErrorIs(t, err, store.ErrInvalid, name)
	}
	_, err = s.CreateTenant(ctx, store.Tenant{ID: "half", Plan: "ultimate", SeatsAtRenewalFrom: &renewal}, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrInvalid)
	got, err = s.GetTenant(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, start, got.ContractStart)
	require.NotNil(t, got.SeatsAtRenewal, "refused updates changed nothing")
	assert.Equal(t, 1, *got.SeatsAtRenewal)
	assert.Equal(t, 3, got.Seats)

	// The clock is in March 2026: three seats until the renewal.
	var users []string
	for i := range 3 {
		users = append(users, newUser(t, s, "acme", fmt.Sprintf("u%d@x", i), true).ID)
	}
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "over@x", Active: true}, token)
	var limit *store.SeatLimitError
	require.ErrorAs(t, err, &limit)
	assert.Equal(t, store.SeatLimitError{TenantID: "acme", InUse: 3, Purchased: 3}, *limit)
	require.NoError(t, setActive(t, s, "acme", users[0], false))
	require.NoError(t, setActive(t, s, "acme", users[1], false))

	// From the renewal on, one seat is purchased: the reduction is in force.
	clock.Advance(renewal.Sub(clock.Now()))
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "late@x", Active: true}, token)
	require.ErrorAs(t, err, &limit)
	assert.Equal(t, "1 of 1 seats are in use on tenant acme; raise the seat count or deactivate a user", limit.Error())
	err = setActive(t, s, "acme", users[0], true)
	require.ErrorAs(t, err, &limit, "reactivation meets the reduced cap")
	assert.Equal(t, store.SeatLimitError{TenantID: "acme", InUse: 1, Purchased: 1}, *limit)
	counts, err := s.SeatCounts(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, store.SeatCounts{Full: 1}, counts, "refusals changed nothing")
}

// testSeatHistory proves that SeatHistory splits the ledger at from, on
// both backends: Opening is the entries before from summed (nothing before
// the first entry; at each step the seats the store then reported; an entry
// exactly at from is not in it), Moves are the entries of [from, to) in
// ledger order, exactly as the time-range query lists them; opening plus
// moves to the end are the seats held now; another tenant's entries never
// count; an unknown tenant is ErrNotFound.
func testSeatHistory(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	newTenant(t, s, "other", 10)
	_, err := s.CreateRole(ctx, "acme", store.Role{Name: "viewer", Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, store.ActorAdmin)
	require.NoError(t, err)
	start := store.Timestamp(clock.Now())

	type snapshot struct {
		at     time.Time
		counts store.SeatCounts
	}
	var snaps []snapshot
	var users []store.User
	for i := range 6 {
		clock.Advance(time.Hour)
		role := store.RoleAgent
		if i%3 == 2 {
			role = "viewer"
		}
		u, err := s.CreateUser(ctx, "acme", store.User{UserName: fmt.Sprintf("u%d@x", i), Active: true, Role: role}, token)
		require.NoError(t, err)
		users = append(users, u)
		_, err = s.CreateUser(ctx, "other", store.User{UserName: fmt.Sprintf("o%d@x", i), Active: true}, token)
		require.NoError(t, err)
		if i%2 == 1 {
			require.NoError(t, setActive(t, s, "acme", users[i-1].ID, false))
		}
		c, err := s.SeatCounts(ctx, "acme")
		require.NoError(t, err)
		snaps = append(snaps, snapshot{store.Timestamp(clock.Now()), c})
	}
	now := snaps[len(snaps)-1].counts
	all := ledger(t, s, "acme")

	h, err := s.SeatHistory(ctx, "acme", start, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, store.SeatCounts{}, h.Opening, "nothing before the first entry")
	assert.Equal(t, store.SeatMoves(all), h.Moves, "the whole ledger, in order")
	for i, sn := range snaps {
		h, err := s.SeatHistory(ctx, "acme", sn.at.Add(time.Microsecond), time.Time{})
		require.NoError(t, err)
		assert.Equal(t, sn.counts, h.Opening, "just after step %d", i+1)
		h, err = s.SeatHistory(ctx, "acme", sn.at.Add(30*time.Minute), time.Time{})
		require.NoError(t, err)
		assert.Equal(t, sn.counts, h.Opening, "between step %d and the next", i+1)

		// Split at the instant of the step: its entries are in the range,
		// not in the opening, and the two add up to the seats held now.
		h, err = s.SeatHistory(ctx, "acme", sn.at, time.Time{})
		require.NoError(t, err)
		if i > 0 {
			assert.Equal(t, snaps[i-1].counts, h.Opening, "at the instant of step %d", i+1)
		}
		rest := licensing.Replay(h.Moves)
		assert.Equal(t, now, store.SeatCounts{Full: h.Opening.Full + rest.Full, Light: h.Opening.Light + rest.Light}, "split at step %d", i+1)

		// A bounded range is what the time-range query lists.
		to := sn.at.Add(90 * time.Minute)
		h, err = s.SeatHistory(ctx, "acme", sn.at, to)
		require.NoError(t, err)
		listed, err := s.ListSeatEvents(ctx, "acme", store.EventQuery{From: sn.at, To: to, Limit: 1000})
		require.NoError(t, err)
		require.NotEmpty(t, listed)
		assert.Equal(t, store.SeatMoves(listed), h.Moves, "range from step %d", i+1)
	}
	h, err = s.SeatHistory(ctx, "other", clock.Now().Add(time.Hour), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, store.SeatCounts{Full: 6}, h.Opening, "each tenant its own ledger")
	assert.Empty(t, h.Moves)

	_, err = s.SeatHistory(ctx, "nope", clock.Now(), time.Time{})
	assert.ErrorIs(t, err, store.ErrNotFound)
}
