package directory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// winners counts the races that succeeded; each that did not must have
// failed with loser.
func winners(t *testing.T, errs []error, loser error) int {
	t.Helper()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			assert.ErrorIs(t, err, loser)
		}
	}
	return won
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

// The role suite's helpers (store/storetest).
var (
	roleTenant   = storetest.RoleTenant
	roleOf       = storetest.RoleOf
	userNamed    = storetest.UserNamed
	newGroup     = storetest.NewGroup
	auditActions = storetest.AuditActions
	counts       = storetest.Counts
)
