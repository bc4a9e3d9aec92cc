package lifecycle_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/lifecycle"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func backends(t *testing.T, fn func(t *testing.T, st store.Store, c *clock)) {
	open := map[string]func(*testing.T, func() time.Time) store.Store{
		"memory":   func(t *testing.T, now func() time.Time) store.Store { return memory.New(memory.Options{Now: now}) },
		"postgres": func(t *testing.T, now func() time.Time) store.Store { return pgtest.Store(t, now) },
	}
	for _, name := range []string{"memory", "postgres"} {
		t.Run(name, func(t *testing.T) {
			c := &clock{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
			fn(t, open[name](t, c.Now), c)
		})
	}
}

func external(t *testing.T, st store.Store, tenant, name string, until time.Time, active bool) store.User {
	t.Helper()
	u, err := st.CreateUser(ctx, tenant, store.User{UserName: name, Active: active, UserType: "External", AccessExpiresAt: &until}, store.ActorAdmin)
	require.NoError(t, err)
	return u
}

// TestSweep_expiresAtTheInstant proves, under a fake clock, that the sweep
// deactivates an external user once their access has expired, not before,
// releases the seat with a ledger entry "expired" and an audit event by the
// sweep, leaves everyone else alone, and purges ended sessions.
func TestSweep_expiresAtTheInstant(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store, c *clock) {
		_, err := st.CreateTenant(ctx, store.Tenant{ID: "pay", Name: "Payments", Plan: "ultimate", Seats: 10, Settings: store.DefaultSettings()}, store.ActorAdmin)
		require.NoError(t, err)
		start := c.Now()
		auditor := external(t, st, "pay", "auditor@partner.test", start.Add(time.Hour), true)
		later := external(t, st, "pay", "later@partner.test", start.Add(3*time.Hour), true)
		external(t, st, "pay", "off@partner.test", start.Add(time.Hour), false)
		staff, err := st.CreateUser(ctx, "pay", store.User{UserName: "staff@pay.test", Active: true}, store.ActorAdmin)
		require.NoError(t, err)
		_, _, err = directory.New(st).SignIn(ctx, "pay", auditor.ID, store.Assertion{Issuer: "idp", ID: "a1", ExpiresAt: start.Add(time.Minute)},
			store.Session{ID: "s1", Hash: []byte{1}, ExpiresAt: start.Add(time.Hour)}, store.Actor{Kind: "user", ID: auditor.ID})
		require.NoError(t, err)

		sw := &lifecycle.Sweeper{Store: st, Now: c.Now, Batch: 2}
		res, err := sw.SweepOnce(ctx)
		require.NoError(t, err)
		assert.Equal(t, 0, res.Expired, "nobody is due yet")

		c.Advance(time.Hour - time.Second)
		res, err = sw.SweepOnce(ctx)
		require.NoError(t, err)
		assert.Equal(t, 0, res.Expired, "a second before the instant")
		assert.Equal(t, 1, res.Purged, "the spent assertion")

		c.Advance(time.Second)
		res, err = sw.SweepOnce(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, res.Expired)

		got, err := st.GetUser(ctx, "pay", auditor.ID)
		require.NoError(t, err)
		assert.False(t, got.Active)
		assert.Equal(t, store.SeatNone, got.Seat)
		_, err = st.GetSession(ctx, "s1")
		assert.ErrorIs(t, err, store.ErrNotFound, "the session ended with the deactivation")
		for _, id := range []string{later.ID, staff.ID} {
			u, err := st.GetUser(ctx, "pay", id)
			require.NoError(t, err)
			assert.True(t, u.Active)
		}
		counts, err := st.SeatCounts(ctx, "pay")
		require.NoError(t, err)
		assert.Equal(t, 2, counts.Full)

		evs, err := st.ListSeatEvents(ctx, "pay", store.EventQuery{UserID: auditor.ID})
		require.NoError(t, err)
		require.Len(t, evs, 2)
		assert.Equal(t, store.ReasonExpired, evs[1].Reason)
		assert.Equal(t, -1, evs[1].Delta)
		assert.Equal(t, lifecycle.Actor.ID, evs[1].Actor.ID)
		assert.Equal(t, store.Timestamp(start.Add(time.Hour)), evs[1].Time)
		trail, err := st.ListAudit(ctx, "pay", store.EventQuery{UserID: auditor.ID, ActorID: lifecycle.Actor.ID})
		require.NoError(t, err)
		require.Len(t, trail, 1)
		assert.Equal(t, "user.updated", trail[0].Action)

		// A sweep that finds nothing more changes nothing.
		res, err = sw.SweepOnce(ctx)
		require.NoError(t, err)
		assert.Equal(t, 0, res.Expired)

		// A restarted process (a new sweeper) picks up where time is.
		c.Advance(2 * time.Hour)
		res, err = (&lifecycle.Sweeper{Store: st, Now: c.Now}).SweepOnce(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, res.Expired)
		counts, err = st.SeatCounts(ctx, "pay")
		require.NoError(t, err)
		assert.Equal(t, 1, counts.Full, "only staff holds a seat")
	})
}

// TestSweep_severalProcessesReleaseOnce proves that sweepers running at
// once (as in several rosterd processes) deactivate every due user exactly
// once: one "expired" release per user, seat counts equal to active users.
func TestSweep_severalProcessesReleaseOnce(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store, c *clock) {
		const users = 40
		for _, id := range []string{"a", "b"} {
			_, err := st.CreateTenant(ctx, store.Tenant{ID: id, Plan: "ultimate", Seats: users, Settings: store.DefaultSettings()}, store.ActorAdmin)
			require.NoError(t, err)
		}
		for i := range users {
			tenant := []string{"a", "b"}[i%2]
			external(t, st, tenant, fmt.Sprintf("ext%02d@partner.test", i), c.Now().Add(time.Duration(i)*time.Minute), true)
		}
		c.Advance(time.Hour)

		var wg sync.WaitGroup
		results := make([]lifecycle.Result, 4)
		errs := make([]error, 4)
		start := make(chan struct{})
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i], errs[i] = (&lifecycle.Sweeper{Store: st, Now: c.Now, Batch: 7}).SweepOnce(ctx)
			}()
		}
		close(start)
		wg.Wait()
		total := 0
		for i := range results {
			require.NoError(t, errs[i])
			assert.Zero(t, results[i].Failed)
			total += results[i].Expired
		}
		assert.Equal(t, users, total, "each due user deactivated by exactly one sweeper")
		for _, id := range []string{"a", "b"} {
			counts, err := st.SeatCounts(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, 0, counts.Full)
			evs, err := st.ListSeatEvents(ctx, id, store.EventQuery{Limit: 1000})
			require.NoError(t, err)
			released := map[string]int{}
			for _, e := range evs {
				if e.Delta < 0 {
					assert.Equal(t, store.ReasonExpired, e.Reason)
					released[e.UserID]++
				}
			}
			assert.Len(t, released, users/2)
			for u, n := range released {
				assert.Equal(t, 1, n, "user %s released once", u)
			}
		}
	})
}

// TestSweep_anyRoleExpires proves that the sweep deactivates external users
// whatever role they hold — a privileged one (which SCIM may not grant on
// this tenant) or a custom light-seat role — releasing the right seat class.
func TestSweep_anyRoleExpires(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store, c *clock) {
		_, err := st.CreateTenant(ctx, store.Tenant{ID: "pay", Plan: "ultimate", Seats: 5, Settings: store.DefaultSettings()}, store.ActorAdmin)
		require.NoError(t, err)
		_, err = st.CreateRole(ctx, "pay", store.Role{Name: "viewer", Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, store.ActorAdmin)
		require.NoError(t, err)
		until := c.Now().Add(time.Hour)
		var ids []string
		for _, role := range []string{store.RoleAdmin, "viewer"} {
			u, err := st.CreateUser(ctx, "pay", store.User{UserName: role + "@partner.test", Active: true, UserType: "External",
				AccessExpiresAt: &until, ExplicitRole: role, Role: role}, store.ActorAdmin)
			require.NoError(t, err)
			ids = append(ids, u.ID)
		}
		counts, err := st.SeatCounts(ctx, "pay")
		require.NoError(t, err)
		require.Equal(t, store.SeatCounts{Full: 1, Light: 1}, counts)

		c.Advance(time.Hour)
		res, err := (&lifecycle.Sweeper{Store: st, Now: c.Now}).SweepOnce(ctx)
		require.NoError(t, err)
		assert.Equal(t, 2, res.Expired)
		assert.Zero(t, res.Failed)
		counts, err = st.SeatCounts(ctx, "pay")
		require.NoError(t, err)
		assert.Equal(t, store.SeatCounts{}, counts)
		for _, id := range ids {
			u, err := st.GetUser(ctx, "pay", id)
			require.NoError(t, err)
			assert.False(t, u.Active)
		}
	})
}
