package directory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/postgres/pgtest"
	"github.com/roster-dev/roster/store/storetest"
)

// The directory's use cases run on both backends: the rules are decided here
// once, and each backend must lock, read and write what they ask alike.

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	ctx   = context.Background()
	token = store.Actor{Kind: "token", ID: "tok-1"}
)

func forEachBackend(t *testing.T, fn func(*testing.T, storetest.Factory)) {
	backends := []struct {
		name string
		open storetest.Factory
	}{
		{"memory", func(t testing.TB, now func() time.Time) store.Store {
			s := memory.New(memory.Options{Now: now})
			t.Cleanup(s.Close)
			return s
		}},
		{"postgres", func(t testing.TB, now func() time.Time) store.Store { return pgtest.Store(t, now) }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.open)
		})
	}
}

// roleTenant creates a trial tenant (its cap is exactly seats) with a light
// custom role "auditor", a privileged custom role "owner", and the mappings
// given.
func roleTenant(t *testing.T, s store.Store, id string, seats int, policy string, mappings ...store.RoleMapping) {
	t.Helper()
	settings := store.DefaultSettings()
	if policy != "" {
		settings.PrivilegedRoles = policy
	}
	_, err := s.CreateTenant(ctx, store.Tenant{ID: id, Name: "Tenant " + id, Plan: "trial", Seats: seats, Settings: settings}, store.ActorSystem)
	require.NoError(t, err)
	_, err = s.CreateRole(ctx, id, store.Role{Name: "auditor", Permissions: []string{"reporting.view_org"}, SeatClass: store.SeatLight}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateRole(ctx, id, store.Role{Name: "owner", Permissions: []string{"billing.manage"}, Privileged: true}, store.ActorAdmin)
	require.NoError(t, err)
	require.NoError(t, directory.New(s).PutRoleMappings(ctx, id, mappings, store.ActorAdmin))
}

func roleOf(t *testing.T, s store.Store, tenant, id string) (string, store.SeatClass) {
	t.Helper()
	u, err := s.GetUser(ctx, tenant, id)
	require.NoError(t, err)
	return u.Role, u.Seat
}

func userNamed(t *testing.T, s store.Store, tenant, userName string, explicit string) store.User {
	t.Helper()
	u, err := s.CreateUser(ctx, tenant, store.User{UserName: userName, Active: true, ExplicitRole: explicit}, token)
	require.NoError(t, err)
	return u
}

func newGroup(t *testing.T, s store.Store, tenant, name string, members ...string) store.Group {
	t.Helper()
	g := store.Group{DisplayName: name}
	for _, m := range members {
		g.Members = append(g.Members, store.Member{UserID: m})
	}
	g, err := s.CreateGroup(ctx, tenant, g, token)
	require.NoError(t, err)
	return g
}

func auditActions(t *testing.T, s store.Store, tenant string, q store.EventQuery) []string {
	t.Helper()
	q.Limit = 1000
	events, err := s.ListAudit(ctx, tenant, q)
	require.NoError(t, err)
	var out []string
	for i := len(events) - 1; i >= 0; i-- {
		out = append(out, events[i].Action)
	}
	return out
}

func counts(t *testing.T, s store.Store, tenant string) store.SeatCounts {
	t.Helper()
	c, err := s.SeatCounts(ctx, tenant)
	require.NoError(t, err)
	return c
}

// ledger returns every seat event of a tenant, oldest first.
func ledger(t *testing.T, s store.Store, tenant string) []store.SeatEvent {
	t.Helper()
	events, err := s.ListSeatEvents(ctx, tenant, store.EventQuery{Limit: 10000})
	require.NoError(t, err)
	return events
}

func replay(events []store.SeatEvent) store.SeatCounts {
	return licensing.Replay(store.SeatMoves(events))
}

type step struct {
	Reason string
	Class  store.SeatClass
	Delta  int
}
