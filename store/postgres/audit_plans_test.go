package postgres_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// TestAuditRange_readsTheTimeIndex proves that a page of the audit trail
// in a range of the past reads the tenant's events of that range through
// audit_events_tenant_at_idx, analysed or not, instead of walking every
// newer event of the tenant through the primary key: a year of a busy
// tenant's trail (one event a minute), read for one day in its middle.
// (Ordered by seq, as it was, the analysed plan walked the primary key
// backwards from the newest event: PostgreSQL cannot know that seq
// follows at.)
func TestAuditRange_readsTheTimeIndex(t *testing.T) {
	dsn := pgtest.New(t)
	tr := &planTracer{}
	s, err := postgres.Open(ctx, dsn, postgres.Options{Tracer: tr})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	_, err = s.CreateTenant(ctx, store.Tenant{ID: "busy", Plan: "ultimate", Seats: 10, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err = s.Pool().Exec(ctx, `insert into audit_events (tenant_id, at, action, target_type, target_id)
select 'busy', $1::timestamptz + n * interval '1 minute', 'user.updated', 'user', 'u' || (n % 5000)
from generate_series(1, 525600) as n`, start)
	require.NoError(t, err)

	day := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	q := store.EventQuery{From: day, To: day.Add(24 * time.Hour), Limit: 101}
	for _, analysed := range []bool{false, true} {
		if analysed {
			_, err = s.Pool().Exec(ctx, "analyze audit_events")
			require.NoError(t, err)
		}
		tr.take(true)
		events, err := s.ListAudit(ctx, "busy", q)
		sts := tr.take(false)
		require.NoError(t, err)
		require.Len(t, events, 101)
		assert.Equal(t, day.Add(24*time.Hour-time.Minute), events[0].Time, "newest first")
		i := slices.IndexFunc(sts, func(st tracedStatement) bool { return strings.Contains(st.sql, "from audit_events where") })
		require.GreaterOrEqual(t, i, 0)
		custom, generic := planOf(t, s.Pool(), nil, sts[i])
		for _, plan := range []string{custom, generic} {
			assert.Contains(t, plan, "Index Scan Backward using audit_events_tenant_at_idx", "analysed %v:\n%s", analysed, plan)
			assert.NotContains(t, plan, "Sort", "analysed %v:\n%s", analysed, plan)
		}
		// The next page starts after the cursor's event, through the same index.
		next, err := s.ListAudit(ctx, "busy", store.EventQuery{From: q.From, To: q.To, After: events[100].Seq, Limit: 2})
		require.NoError(t, err)
		require.Len(t, next, 2)
		assert.Equal(t, events[100].Time.Add(-time.Minute), next[0].Time)
	}
}
