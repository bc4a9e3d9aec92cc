package admin_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/admin"
	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// ledgerReads counts the store's ledger reads under an admin API.
type ledgerReads struct {
	store.Store
	pages, histories atomic.Int64
}

func (s *ledgerReads) ListSeatEvents(ctx context.Context, tenantID string, q store.EventQuery) ([]store.SeatEvent, error) {
	s.pages.Add(1)
	return s.Store.ListSeatEvents(ctx, tenantID, q)
}

func (s *ledgerReads) SeatHistory(ctx context.Context, tenantID string, from, to time.Time) (store.SeatHistory, error) {
	s.histories.Add(1)
	return s.Store.SeatHistory(ctx, tenantID, from, to)
}

// TestAdmin_seatUsageReadsTheLedgerOnce proves that a history reads the
// ledger once, whatever the number of points: 400 daily points over a ledger
// of 10,374 entries are one SeatHistory read and no page of the ledger.
func TestAdmin_seatUsageReadsTheLedgerOnce(t *testing.T) {
	counted := &ledgerReads{}
	c := newClient(t, func(t *testing.T, now func() time.Time) store.Store {
		counted.Store = memory.New(memory.Options{Now: now})
		return counted
	})
	first := time.Date(2025, 10, 19, 0, 0, 0, 0, time.UTC)
	c.now = first.Add(-time.Hour)
	c.tenant("acme", "ultimate", 20)
	// Every day but the last, 13 users are invited from 09:00, a minute
	// apart, and deactivated at noon: 26 entries a day.
	for d := range 399 {
		day := first.AddDate(0, 0, d)
		var ids []string
		for k := range 13 {
			c.now = day.Add(9*time.Hour + time.Duration(k)*time.Minute)
			ids = append(ids, c.user("acme", fmt.Sprintf("u%d-%d@acme.test", d, k), true, store.RoleAgent).ID)
		}
		c.now = day.Add(12 * time.Hour)
		for _, id := range ids {
			require.NoError(t, c.setActive("acme", id, false))
		}
	}
	c.now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	counted.pages.Store(0)
	counted.histories.Store(0)

	r := c.do("GET", "/admin/v1/tenants/acme/seats/usage?from=2025-10-19&to=2026-11-22", "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	ps := points(t, r)
	require.Len(t, ps, 400)
	assert.Equal(t, int64(1), counted.histories.Load())
	assert.Zero(t, counted.pages.Load())
	for i, p := range ps {
		assert.Equal(t, 0.0, p["consumed"], "point %d: everyone is deactivated at noon", i)
		assert.Equal(t, map[bool]float64{true: 13, false: 0}[i < 399], p["peak_consumed"], "point %d: 13 held a seat in the morning", i)
	}
}

// BenchmarkSeatUsage answers histories of a PostgreSQL tenant whose ledger
// holds 100,000 entries over 2026 (one every five minutes, 2,000 users):
// the last 30 days by day, the whole year by month, and the whole year by
// day (365 points, every entry read).
func BenchmarkSeatUsage(b *testing.B) {
	now := time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := pgtest.Store(b, clock)
	ctx := context.Background()
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "big", Name: "Big", Plan: licensing.Ultimate, Seats: 1000,
		Settings: store.DefaultSettings(), ContractStart: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, store.ActorAdmin)
	require.NoError(b, err)
	const n = 100_000
	_, err = s.Pool().Exec(ctx, `insert into seat_events (tenant_id, seq, at, user_id, class, delta, reason, actor_kind, actor_id)
select 'big', i, timestamptz '2026-01-01' + i * interval '5 minutes', 'user-' || (i % 2000),
	'full', case when (i / 2000) % 2 = 0 then 1 else -1 end, 'provisioned', 'token', 'tok'
from generate_series(1, $1) as i`, n)
	require.NoError(b, err)
	_, err = s.Pool().Exec(ctx, `update tenants set seat_seq = $1 where id = 'big'`, n)
	require.NoError(b, err)
	_, err = s.Pool().Exec(ctx, `analyze seat_events`)
	require.NoError(b, err)

	api := admin.New(admin.Config{Store: s, AdminToken: adminToken, Now: clock, Rand: rand.Reader, BaseURL: "http://roster.test/"})
	b.Cleanup(api.Close)
	mux := http.NewServeMux()
	api.Register(mux)
	for _, bc := range []struct{ name, query string }{
		{"last_30_days_by_day", ""},
		{"year_by_month", "?from=2026-01-01&to=2026-12-31&interval=month"},
		{"year_by_day", "?from=2026-01-01&to=2026-12-31"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", "/admin/v1/tenants/big/seats/usage"+bc.query, nil)
				req.Header.Set("Authorization", "Bearer "+adminToken)
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
		})
	}
}
