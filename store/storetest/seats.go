package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// ledger returns every seat event of a tenant, oldest first, paging through.
func ledger(t *testing.T, s store.Store, tenant string) []store.SeatEvent {
	t.Helper()
	var all []store.SeatEvent
	var after int64
	for {
		page, err := s.ListSeatEvents(ctx, tenant, store.EventQuery{After: after, Limit: 50})
		require.NoError(t, err)
		all = append(all, page...)
		if len(page) < 50 {
			return all
		}
		after = page[len(page)-1].Seq
	}
}

// replay sums a ledger into seat counts, by the rule the seat report uses.
func replay(events []store.SeatEvent) store.SeatCounts {
	return licensing.Replay(store.SeatMoves(events))
}

type step struct {
	Reason string
	Class  store.SeatClass
	Delta  int
}

func steps(events []store.SeatEvent) []step {
	out := make([]step, 0, len(events))
	for _, e := range events {
		out = append(out, step{e.Reason, e.Class, e.Delta})
	}
	return out
}

func setActive(t *testing.T, s store.Store, tenant, id string, active bool) error {
	t.Helper()
	_, err := s.UpdateUser(ctx, tenant, id, token, func(u *store.User) error { u.Active = active; return nil })
	return err
}

func testSeatsLifecycle(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 3)

	inactive := newUser(t, s, "acme", "idle@x.com", false)
	assert.Equal(t, store.SeatNone, inactive.Seat, "an inactive user consumes nothing")
	u := newUser(t, s, "acme", "u@x.com", true)
	assert.Equal(t, store.SeatFull, u.Seat, "a seat is consumed at provisioning, not first sign-in")

	require.NoError(t, setActive(t, s, "acme", u.ID, false))
	require.NoError(t, setActive(t, s, "acme", u.ID, false), "deactivating twice releases once")
	require.NoError(t, setActive(t, s, "acme", u.ID, true))
	_, err := s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { x.Title = "no seat change"; return nil })
	require.NoError(t, err)
	require.NoError(t, s.DeleteUser(ctx, "acme", u.ID, token))
	require.NoError(t, s.DeleteUser(ctx, "acme", inactive.ID, token), "deleting an inactive user releases nothing")

	events := ledger(t, s, "acme")
	assert.Equal(t, []step{
		{store.ReasonProvisioned, store.SeatFull, 1},
		{store.ReasonDeactivated, store.SeatFull, -1},
		{store.ReasonReactivated, store.SeatFull, 1},
		{store.ReasonDeleted, store.SeatFull, -1},
	}, steps(events))
	for _, e := range events {
		assert.Equal(t, u.ID, e.UserID)
		assert.Equal(t, token, e.Actor)
		assert.Equal(t, "acme", e.TenantID)
	}
	assert.Equal(t, store.SeatCounts{}, replay(events), "the ledger balances")
	counts, err := s.SeatCounts(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, store.SeatCounts{}, counts)

	// Access expiry releases the seat with reason "expired".
	ext := newUser(t, s, "acme", "ext@x.com", true)
	past := clock.Now().Add(-time.Minute)
	_, err = s.UpdateUser(ctx, "acme", ext.ID, store.ActorSystem, func(x *store.User) error {
		x.AccessExpiresAt, x.Active = &past, false
		return nil
	})
	require.NoError(t, err)
	events = ledger(t, s, "acme")
	last := events[len(events)-1]
	assert.Equal(t, step{store.ReasonExpired, store.SeatFull, -1}, step{last.Reason, last.Class, last.Delta})
	assert.Equal(t, store.ActorSystem, last.Actor)

	// Ledger queries: by user, by time range, paged.
	byUser, err := s.ListSeatEvents(ctx, "acme", store.EventQuery{UserID: ext.ID})
	require.NoError(t, err)
	assert.Len(t, byUser, 2)
	clock.Advance(time.Hour)
	later := newUser(t, s, "acme", "later@x.com", true)
	recent, err := s.ListSeatEvents(ctx, "acme", store.EventQuery{From: clock.Now().Add(-time.Minute)})
	require.NoError(t, err)
	require.Len(t, recent, 1)
	assert.Equal(t, later.ID, recent[0].UserID)
	older, err := s.ListSeatEvents(ctx, "acme", store.EventQuery{To: clock.Now().Add(-time.Minute)})
	require.NoError(t, err)
	assert.Len(t, older, len(events))
	firstTwo, err := s.ListSeatEvents(ctx, "acme", store.EventQuery{Limit: 2})
	require.NoError(t, err)
	require.Len(t, firstTwo, 2)
	assert.Less(t, firstTwo[0].Seq, firstTwo[1].Seq)

	// Newest first (a person's history), paged backwards by seq.
	newest, err := s.ListSeatEvents(ctx, "acme", store.EventQuery{UserID: ext.ID, Newest: true, Limit: 1})
	require.NoError(t, err)
	require.Len(t, newest, 1)
	assert.Equal(t, byUser[1], newest[0])
	before, err := s.ListSeatEvents(ctx, "acme", store.EventQuery{UserID: ext.ID, Newest: true, After: newest[0].Seq})
	require.NoError(t, err)
	assert.Equal(t, byUser[:1], before)
	all, err := s.ListSeatEvents(ctx, "acme", store.EventQuery{Newest: true, Limit: 1000})
	require.NoError(t, err)
	require.Len(t, all, len(events)+1)
	assert.Equal(t, later.ID, all[0].UserID)
	assert.Greater(t, all[0].Seq, all[1].Seq)
}

// testSeatsNeverOversold proves that a seat cap of k holds exactly when 50
// activations race for it — new active users and reactivations mixed — in each
// of 100 trials: k succeed, the rest get SeatLimitError naming the numbers,
// and the counters and the ledger agree.
func testSeatsNeverOversold(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	const trials, racers, k = 100, 50, 7
	for trial := range trials {
		tenant := tenantID("seats", trial)
		newCappedTenant(t, s, tenant, k)
		// Half the racers reactivate existing inactive users, half create new active ones.
		errs, wins := raceActivations(t, s, tenant, trial, racers, 2, k)
		require.Equal(t, k, wins, "trial %d: exactly k activations win", trial)
		counts, err := s.SeatCounts(ctx, tenant)
		require.NoError(t, err)
		require.Equal(t, store.SeatCounts{Full: k}, counts, "trial %d", trial)
		require.Equal(t, counts, replay(ledger(t, s, tenant)), "trial %d", trial)
		active, err := s.ListUsers(ctx, tenant, store.UserQuery{Filter: store.Compare{Attr: "active", Op: store.OpEq, Value: true}})
		require.NoError(t, err)
		require.Equal(t, k, active.Total, "trial %d: refused changes left nothing behind", trial)
		all, err := s.ListUsers(ctx, tenant, store.UserQuery{})
		require.NoError(t, err)
		require.Equal(t, racers/2+(k-countEven(errs)), all.Total, "trial %d: refused creates wrote no user", trial)
	}
}

// countEven counts the successes among the reactivations (even racers).
func countEven(errs []error) int {
	n := 0
	for i := 0; i < len(errs); i += 2 {
		if errs[i] == nil {
			n++
		}
	}
	return n
}

func testSeatsOverage(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newCappedTenant(t, s, "acme", 1)
	newUser(t, s, "acme", "a@x.com", true)
	_, err := s.CreateUser(ctx, "acme", store.User{UserName: "b@x.com", Active: true}, token)
	var limit *store.SeatLimitError
	require.ErrorAs(t, err, &limit)
	assert.Equal(t, "1 of 1 seats are in use on tenant acme; raise the seat count or deactivate a user", limit.Error())

	// An inactive user can still be created when seats are full.
	idle, err := s.CreateUser(ctx, "acme", store.User{UserName: "b@x.com", Active: false}, token)
	require.NoError(t, err)
	assert.Equal(t, store.SeatNone, idle.Seat)
	assert.ErrorIs(t, setActive(t, s, "acme", idle.ID, true), store.ErrSeatLimit, "reactivation is capped too")
	got, err := s.GetUser(ctx, "acme", idle.ID)
	require.NoError(t, err)
	assert.False(t, got.Active, "a refused reactivation leaves the user inactive")

	_, err = directory.New(s).UpdateTenant(ctx, "acme", store.ActorAdmin, func(x *store.Tenant) error { x.Settings.Overage = true; return nil })
	require.NoError(t, err)
	require.NoError(t, setActive(t, s, "acme", idle.ID, true))
	counts, err := s.SeatCounts(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, 2, counts.Full, "overage consumes beyond the purchased count")
}

// testLedgerReplay proves that replaying the ledger up to any event
// reproduces the consumed count the store reported at that moment.
func testLedgerReplay(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 5)
	var users []string
	var counts []store.SeatCounts // after each change
	record := func() {
		c, err := s.SeatCounts(ctx, "acme")
		require.NoError(t, err)
		counts = append(counts, c)
	}
	for i := range 4 {
		users = append(users, newUser(t, s, "acme", fmt.Sprintf("u%d@x.com", i), true).ID)
		record()
	}
	require.NoError(t, setActive(t, s, "acme", users[0], false))
	record()
	require.NoError(t, setActive(t, s, "acme", users[1], false))
	record()
	require.NoError(t, setActive(t, s, "acme", users[0], true))
	record()
	require.NoError(t, s.DeleteUser(ctx, "acme", users[2], token))
	record()
	require.NoError(t, s.DeleteUser(ctx, "acme", users[1], token)) // inactive: no event
	events := ledger(t, s, "acme")
	require.Len(t, events, len(counts))
	for i := range events {
		assert.Equal(t, counts[i], replay(events[:i+1]), "after event %d", i+1)
	}
}

func testLightSeats(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newCappedTenant(t, s, "acme", 1)
	_, err := s.CreateRole(ctx, "acme", store.Role{Name: "viewer", Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, store.ActorAdmin)
	require.NoError(t, err)
	full := newUser(t, s, "acme", "full@x.com", true)
	for i := range 3 {
		v, err := s.CreateUser(ctx, "acme", store.User{UserName: fmt.Sprintf("v%d@x.com", i), Active: true, Role: "viewer"}, token)
		require.NoError(t, err, "light seats never count against the full-seat cap")
		assert.Equal(t, store.SeatLight, v.Seat)
	}
	counts, err := s.SeatCounts(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, store.SeatCounts{Full: 1, Light: 3}, counts)

	// full -> light moves the seat in one ledger pair; light -> full is capped.
	moved, err := s.UpdateUser(ctx, "acme", full.ID, token, func(u *store.User) error { u.Role = "viewer"; return nil })
	require.NoError(t, err)
	assert.Equal(t, store.SeatLight, moved.Seat)
	events := ledger(t, s, "acme")
	assert.Equal(t, []step{
		{store.ReasonRoleChanged, store.SeatFull, -1},
		{store.ReasonRoleChanged, store.SeatLight, 1},
	}, steps(events[len(events)-2:]))
	_, err = s.UpdateUser(ctx, "acme", full.ID, token, func(u *store.User) error { u.Role = store.RoleAgent; return nil })
	require.NoError(t, err, "the freed full seat can be taken again")
	v0, err := s.GetUserByUserName(ctx, "acme", "v0@x.com")
	require.NoError(t, err)
	_, err = s.UpdateUser(ctx, "acme", v0.ID, token, func(u *store.User) error { u.Role = store.RoleSupervisor; return nil })
	assert.ErrorIs(t, err, store.ErrSeatLimit)
	counts, err = s.SeatCounts(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, store.SeatCounts{Full: 1, Light: 3}, counts)
	assert.Equal(t, counts, replay(ledger(t, s, "acme")))
}

// testSeatsUsableMinimum: a paid tenant that bought fewer seats than the
// contract minimum is billed for 8 and may use 8 — on creation, reactivation,
// a role change into a full seat and a bulk role change alike — and the 9th
// is refused naming 8. A trial may use only the seats it was given. A plan
// change moves the cap at once, both ways.
func testSeatsUsableMinimum(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "Acme", Plan: "enterprise", Seats: 3, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "viewer", Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, store.ActorAdmin)
	require.NoError(t, err)
	var ids []string
	for i := range 5 {
		ids = append(ids, newUser(t, s, "acme", fmt.Sprintf("u%d@x.com", i), true).ID)
	}
	idle := newUser(t, s, "acme", "idle@x.com", false)
	require.NoError(t, setActive(t, s, "acme", idle.ID, true), "the 6th seat: a reactivation beyond the 3 purchased")
	light, err := s.CreateUser(ctx, "acme", store.User{UserName: "light@x.com", Active: true, Role: "viewer"}, token)
	require.NoError(t, err)
	_, err = s.UpdateUser(ctx, "acme", light.ID, token, func(u *store.User) error { u.Role = store.RoleAgent; return nil })
	require.NoError(t, err, "the 7th seat: a role change from a light to a full seat")
	light2, err := s.CreateUser(ctx, "acme", store.User{UserName: "light2@x.com", Active: true, Role: "viewer"}, token)
	require.NoError(t, err)
	_, err = directory.New(s).SetUsersRole(ctx, "acme", []string{light2.ID}, store.RoleAgent, store.ActorAdmin)
	require.NoError(t, err, "the 8th seat: a bulk role change")
	assert.Equal(t, store.SeatCounts{Full: 8}, counts(t, s, "acme"))

	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "ninth@x.com", Active: true}, token)
	var limit *store.SeatLimitError
	require.ErrorAs(t, err, &limit)
	assert.Equal(t, store.SeatLimitError{TenantID: "acme", InUse: 8, Purchased: 8}, *limit)
	assert.Equal(t, "8 of 8 seats are in use on tenant acme; raise the seat count or deactivate a user", limit.Error())
	_, err = s.GetUserByUserName(ctx, "acme", "ninth@x.com")
	assert.ErrorIs(t, err, store.ErrNotFound, "a refused creation writes nothing")

	// Purchased beyond the minimum: the purchased count is the cap.
	_, err = directory.New(s).UpdateTenant(ctx, "acme", store.ActorAdmin, func(x *store.Tenant) error { x.Seats = 9; return nil })
	require.NoError(t, err)
	newUser(t, s, "acme", "ninth@x.com", true)
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "tenth@x.com", Active: true}, token)
	require.ErrorAs(t, err, &limit)
	assert.Equal(t, store.SeatLimitError{TenantID: "acme", InUse: 9, Purchased: 9}, *limit)

	// Down to a trial of 3 seats: nothing is taken away, nothing more is given.
	_, err = directory.New(s).UpdateTenant(ctx, "acme", store.ActorAdmin, func(x *store.Tenant) error { x.Plan, x.Seats = "trial", 3; return nil })
	require.NoError(t, err)
	require.NoError(t, setActive(t, s, "acme", ids[0], false), "a release is never refused")
	err = setActive(t, s, "acme", ids[0], true)
	require.ErrorAs(t, err, &limit)
	assert.Equal(t, store.SeatLimitError{TenantID: "acme", InUse: 8, Purchased: 3}, *limit)

	// Back to a paid plan with 3 purchased: 8 usable again, and 8 in use.
	_, err = directory.New(s).UpdateTenant(ctx, "acme", store.ActorAdmin, func(x *store.Tenant) error { x.Plan = "ultimate"; return nil })
	require.NoError(t, err)
	err = setActive(t, s, "acme", ids[0], true)
	require.ErrorAs(t, err, &limit)
	assert.Equal(t, store.SeatLimitError{TenantID: "acme", InUse: 8, Purchased: 8}, *limit)
	require.NoError(t, setActive(t, s, "acme", ids[1], false))
	require.NoError(t, setActive(t, s, "acme", ids[0], true))
	assert.Equal(t, store.SeatCounts{Full: 8}, counts(t, s, "acme"))
	assert.Equal(t, counts(t, s, "acme"), replay(ledger(t, s, "acme")))

	// A trial of 3 is refused from the 4th.
	newCappedTenant(t, s, "free", 3)
	for i := range 3 {
		newUser(t, s, "free", fmt.Sprintf("u%d@x.com", i), true)
	}
	_, err = s.CreateUser(ctx, "free", store.User{UserName: "u3@x.com", Active: true}, token)
	require.ErrorAs(t, err, &limit)
	assert.Equal(t, store.SeatLimitError{TenantID: "free", InUse: 3, Purchased: 3}, *limit)
}

// testSeatsUsableMinimumRace: 20 concurrent activations of a paid tenant
// that bought 3 seats — creations (which the PostgreSQL store writes in
// batches) and reactivations mixed — give exactly the 8 seats of the
// minimum, in each of 20 trials, and every refusal names 8 of 8.
func testSeatsUsableMinimumRace(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	const trials, racers, usable = 20, 20, 8
	for trial := range trials {
		tenant := tenantID("minimum", trial)
		_, err := s.CreateTenant(ctx, store.Tenant{ID: tenant, Plan: []string{"enterprise", "enterprise_bundle", "ultimate"}[trial%3],
			Seats: trial % 4, Settings: store.DefaultSettings()}, store.ActorAdmin)
		require.NoError(t, err)
		_, wins := raceActivations(t, s, tenant, trial, racers, 4, usable)
		require.Equal(t, usable, wins, "trial %d: exactly the minimum is usable", trial)
		c := counts(t, s, tenant)
		require.Equal(t, store.SeatCounts{Full: usable}, c, "trial %d", trial)
		require.Equal(t, c, replay(ledger(t, s, tenant)), "trial %d", trial)
	}
}

// raceActivations runs racers concurrent activations on tenant: every
// reactivateEvery-th racer reactivates one of racers/reactivateEvery users
// made inactive first, the others create new active users. Every refusal
// must be the seat limit naming usable of usable; it answers each racer's error
// and how many won.
func raceActivations(t *testing.T, s store.Store, tenant string, trial, racers, reactivateEvery, usable int) ([]error, int) {
	t.Helper()
	inactive := make([]string, racers/reactivateEvery)
	for i := range inactive {
		inactive[i] = newUser(t, s, tenant, fmt.Sprintf("idle%02d@x.com", i), false).ID
	}
	errs := parallel(racers, func(i int) error {
		if i%reactivateEvery == 0 {
			return setActive(t, s, tenant, inactive[i/reactivateEvery], true)
		}
		_, err := s.CreateUser(ctx, tenant, store.User{UserName: fmt.Sprintf("new%02d@x.com", i), Active: true}, token)
		return err
	})
	return errs, SeatWins(t, errs, tenant, usable, trial)
}

// SeatWins counts the racers of a seat-cap race that won (nil error) and
// requires every other to be refused by the seat limit naming usable of
// usable seats: a race may end only in wins or that one refusal.
func SeatWins(t *testing.T, errs []error, tenant string, usable, trial int) int {
	t.Helper()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		var limit *store.SeatLimitError
		require.ErrorAs(t, err, &limit, "trial %d", trial)
		require.Equal(t, store.SeatLimitError{TenantID: tenant, InUse: usable, Purchased: usable}, *limit, "trial %d", trial)
	}
	return wins
}

// testSeatsByPlan: SeatsByPlan sums the seats held now over the tenants of
// each plan — full and light apart, inactive users holding nothing, a
// deleted tenant gone — and leaves out plans no tenant has.
func testSeatsByPlan(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	got, err := s.SeatsByPlan(ctx)
	require.NoError(t, err)
	assert.Empty(t, got, "no tenant, no plan")

	newTenant(t, s, "acme", 10)
	newTenant(t, s, "beta", 10)
	newCappedTenant(t, s, "gamma", 5)
	newCappedTenant(t, s, "gone", 5)
	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "viewer", Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, store.ActorAdmin)
	require.NoError(t, err)
	newUser(t, s, "acme", "a1@x.com", true)
	newUser(t, s, "acme", "a2@x.com", true)
	newUser(t, s, "acme", "off@x.com", false)
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "v@x.com", Active: true, Role: "viewer"}, token)
	require.NoError(t, err)
	newUser(t, s, "beta", "b1@x.com", true)
	newUser(t, s, "gamma", "g1@x.com", true)
	newUser(t, s, "gone", "x1@x.com", true)
	require.NoError(t, s.DeleteTenant(ctx, "gone", store.ActorAdmin))

	got, err = s.SeatsByPlan(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.PlanSeats{
		{Plan: "trial", Tenants: 1, Seats: store.SeatCounts{Full: 1}},
		{Plan: "ultimate", Tenants: 2, Seats: store.SeatCounts{Full: 3, Light: 1}},
	}, got)
}
