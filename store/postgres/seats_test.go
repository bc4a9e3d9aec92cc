package postgres_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
	"github.com/roster-dev/roster/store/storetest"
)

// process is one rosterd's store: its own pool on the shared database.
func process(t *testing.T, dsn string, now func() time.Time) *postgres.Store {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.MaxConns = 25
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	s := postgres.New(pool, postgres.Options{Now: now})
	t.Cleanup(s.Close)
	return s
}

// TestSeats_capHoldsAcrossProcesses proves that the seat cap is decided in
// the database, not in a process: two stores with their own connection
// pools on one database (two rosterd processes) race 50 activations — new
// active users and reactivations, alternating between the processes — for
// k seats, in each of 40 trials. Exactly k win, the losers get the cap's
// numbers, and counters, ledger and users agree. Half the trials cap through
// a seat reduction that took effect at a renewal in the past (the count in
// force is computed in SQL, not read from the seats column). k is above the
// contract minimum of the paid plan, so the purchased count is the cap.
func TestSeats_capHoldsAcrossProcesses(t *testing.T) {
	dsn := pgtest.New(t)
	now := func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }
	a, b := process(t, dsn, now), process(t, dsn, now)
	procs := []store.Store{a, b}
	const trials, racers, k = 40, 50, 9
	for trial := range trials {
		tenant := fmt.Sprintf("cap-%03d", trial)
		tn := store.Tenant{ID: tenant, Plan: licensing.Ultimate, Seats: k, Settings: store.DefaultSettings()}
		if trial%2 == 1 {
			// 20 purchased, reduced to k at a renewal that has passed.
			reduced, renewal := k, now().Add(-time.Hour)
			tn.Seats, tn.SeatsAtRenewal, tn.SeatsAtRenewalFrom = 20, &reduced, &renewal
		}
		_, err := a.CreateTenant(ctx, tn, store.ActorAdmin)
		require.NoError(t, err)
		idle := make([]string, racers/2)
		for i := range idle {
			u, err := procs[i%2].CreateUser(ctx, tenant, store.User{UserName: fmt.Sprintf("idle%02d@x", i), Role: store.RoleAgent}, store.ActorAdmin)
			require.NoError(t, err)
			idle[i] = u.ID
		}
		errs := race(racers, func(i int) error {
			s := procs[i%2]
			if i < racers/2 {
				_, err := s.UpdateUser(ctx, tenant, idle[i], store.ActorAdmin, func(u *store.User) error { u.Active = true; return nil })
				return err
			}
			_, err := s.CreateUser(ctx, tenant, store.User{UserName: fmt.Sprintf("new%02d@x", i), Active: true, Role: store.RoleAgent}, store.ActorAdmin)
			return err
		})
		wins := storetest.SeatWins(t, errs, tenant, k, trial)
		require.Equal(t, k, wins, "trial %d: exactly k activations win across both processes", trial)
		for _, s := range procs {
			counts, err := s.SeatCounts(ctx, tenant)
			require.NoError(t, err)
			require.Equal(t, store.SeatCounts{Full: k}, counts, "trial %d", trial)
		}
		var events []store.SeatEvent
		for after := int64(0); ; {
			page, err := b.ListSeatEvents(ctx, tenant, store.EventQuery{After: after, Limit: 100})
			require.NoError(t, err)
			events = append(events, page...)
			if len(page) < 100 {
				break
			}
			after = page[len(page)-1].Seq
		}
		require.Len(t, events, k, "trial %d: one ledger entry per seat won", trial)
		for i, e := range events {
			require.Equal(t, int64(i+1), e.Seq, "trial %d: the ledger has no gaps", trial)
		}
		require.Equal(t, store.SeatCounts{Full: k}, licensing.Replay(store.SeatMoves(events)), "trial %d", trial)
		active, err := a.ListUsers(ctx, tenant, store.UserQuery{Filter: store.Compare{Attr: "active", Op: store.OpEq, Value: true}})
		require.NoError(t, err)
		require.Equal(t, k, active.Total, "trial %d: refused changes left nothing behind", trial)
	}
}

// TestSeats_capAgreesWithLicensing proves that the seat cap computed in SQL
// (roster_usable_seats, migration 0014, on the locked tenant row) is
// licensing.UsableSeats for every plan of the price list and an unknown plan
// id, and that the writes that check it — a creation, a reactivation, a role
// change into a full seat — admit exactly what the licensing rules and the
// seat report say for each (plan, purchased, consumed): a seat is taken while
// the report shows one available, and a refusal names the usable count.
func TestSeats_capAgreesWithLicensing(t *testing.T) {
	dsn := pgtest.New(t)
	pool := connect(t, dsn)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	s := process(t, dsn, func() time.Time { return now })
	plans := append(licensing.PlanIDs(), "gold")
	for _, id := range plans {
		p, _ := licensing.Lookup(id)
		for purchased := range 31 {
			var got int
			require.NoError(t, pool.QueryRow(ctx, `select roster_usable_seats($1, $2)`, id, purchased).Scan(&got))
			require.Equal(t, licensing.UsableSeats(p, purchased), got, "plan %s, %d purchased", id, purchased)
		}
	}

	setOverage := func(tenant string, on bool) {
		t.Helper()
		_, err := directory.New(s).UpdateTenant(ctx, tenant, store.ActorAdmin, func(x *store.Tenant) error { x.Settings.Overage = on; return nil })
		require.NoError(t, err)
	}
	for _, id := range plans {
		p, _ := licensing.Lookup(id)
		for _, purchased := range []int{0, 3, 7, 8, 9, 12} {
			tenant := fmt.Sprintf("%s-%d", strings.ReplaceAll(id, "_", "-"), purchased)
			_, err := s.CreateTenant(ctx, store.Tenant{ID: tenant, Plan: id, Seats: purchased, Settings: store.DefaultSettings()}, store.ActorAdmin)
			require.NoError(t, err)
			_, err = s.CreateRole(ctx, tenant, store.Role{Name: "viewer", Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, store.ActorAdmin)
			require.NoError(t, err)
			// consumed goes from 0 to 14: each step tries one activation, and
			// when it is refused takes the seat with overage on instead.
			for consumed := range 15 {
				tn, err := s.GetTenant(ctx, tenant)
				require.NoError(t, err)
				held, err := s.SeatCounts(ctx, tenant)
				require.NoError(t, err)
				require.Equal(t, consumed, held.Full)
				want := consumed+1 <= licensing.UsableSeats(p, purchased)
				require.Equal(t, want, licensing.Report(tn.Contract(), held, now).AvailableSeats > 0, "%s: the report agrees with the rule", tenant)
				name := fmt.Sprintf("u%02d@x", consumed)
				var attempt error
				switch consumed % 3 {
				case 0: // a creation
					_, attempt = s.CreateUser(ctx, tenant, store.User{UserName: name, Active: true, Role: store.RoleAgent}, store.ActorAdmin)
				case 1: // a reactivation
					u, err := s.CreateUser(ctx, tenant, store.User{UserName: name, Role: store.RoleAgent}, store.ActorAdmin)
					require.NoError(t, err)
					_, attempt = s.UpdateUser(ctx, tenant, u.ID, store.ActorAdmin, func(u *store.User) error { u.Active = true; return nil })
				case 2: // a role change from a light seat to a full one
					u, err := s.CreateUser(ctx, tenant, store.User{UserName: name, Active: true, Role: "viewer"}, store.ActorAdmin)
					require.NoError(t, err)
					_, attempt = directory.New(s).SetUsersRole(ctx, tenant, []string{u.ID}, store.RoleAgent, store.ActorAdmin)
				}
				if want {
					require.NoError(t, attempt, "%s with %d consumed", tenant, consumed)
					continue
				}
				var limit *store.SeatLimitError
				require.ErrorAs(t, attempt, &limit, "%s with %d consumed", tenant, consumed)
				require.Equal(t, store.SeatLimitError{TenantID: tenant, InUse: consumed, Purchased: licensing.UsableSeats(p, purchased)}, *limit)
				setOverage(tenant, true)
				switch consumed % 3 {
				case 0:
					_, err = s.CreateUser(ctx, tenant, store.User{UserName: name, Active: true, Role: store.RoleAgent}, store.ActorAdmin)
				case 1:
					u, gerr := s.GetUserByUserName(ctx, tenant, name)
					require.NoError(t, gerr)
					_, err = s.UpdateUser(ctx, tenant, u.ID, store.ActorAdmin, func(u *store.User) error { u.Active = true; return nil })
				case 2:
					u, gerr := s.GetUserByUserName(ctx, tenant, name)
					require.NoError(t, gerr)
					_, err = directory.New(s).SetUsersRole(ctx, tenant, []string{u.ID}, store.RoleAgent, store.ActorAdmin)
				}
				require.NoError(t, err)
				setOverage(tenant, false)
			}
		}
	}
}

// race runs fn n times at once, released together, and returns the errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	for range n {
		<-done
	}
	return errs
}

// BenchmarkSeatLedger reads pages of a tenant's ledger of 200,000 entries
// (2,000 users): a page deep in it by cursor, one user's entries (through
// seat_events_user_idx, migration 0012), and a day's entries (no index: the
// walk by sequence stops at the page size).
func BenchmarkSeatLedger(b *testing.B) {
	s := openPG(b, nil)
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "big", Plan: licensing.Ultimate, Seats: 10}, store.ActorAdmin)
	require.NoError(b, err)
	const n = 200_000
	_, err = s.Pool().Exec(ctx, `insert into seat_events (tenant_id, seq, at, user_id, class, delta, reason, actor_kind, actor_id)
select 'big', i, timestamptz '2026-01-01' + i * interval '1 minute', 'user-' || (i % 2000),
	'full', case when i % 2 = 0 then 1 else -1 end, 'provisioned', 'token', 'tok'
from generate_series(1, $1) as i`, n)
	require.NoError(b, err)
	_, err = s.Pool().Exec(ctx, `update tenants set seat_seq = $1 where id = 'big'`, n)
	require.NoError(b, err)
	_, err = s.Pool().Exec(ctx, `analyze seat_events`)
	require.NoError(b, err)
	b.Run("page_by_cursor", func(b *testing.B) {
		for b.Loop() {
			page, err := s.ListSeatEvents(ctx, "big", store.EventQuery{After: n / 2, Limit: 100})
			if err != nil || len(page) != 100 {
				b.Fatal(err, len(page))
			}
		}
	})
	b.Run("one_user", func(b *testing.B) {
		for b.Loop() {
			page, err := s.ListSeatEvents(ctx, "big", store.EventQuery{UserID: "user-1234", Limit: 100})
			if err != nil || len(page) != 100 {
				b.Fatal(err, len(page))
			}
		}
	})
	b.Run("time_range", func(b *testing.B) {
		from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		for b.Loop() {
			page, err := s.ListSeatEvents(ctx, "big", store.EventQuery{From: from, To: from.Add(24 * time.Hour), Limit: 100})
			if err != nil || len(page) != 100 {
				b.Fatal(err, len(page))
			}
		}
	})
}

// TestSeats_inForceAgreesWithLicensing proves that the seats in force
// computed in SQL (roster_purchased_seats, migration 0006, which every seat
// cap reads on the locked tenant row) are licensing.Contract.SeatsInForce
// over a table of contract terms, the renewal instant to the microsecond
// included. The caps of stored contracts made by licensing's changes across
// term boundaries are compared with licensing.Contract.UsableAt on both
// backends by storetest (Seats_capFollowsContractTerms).
func TestSeats_inForceAgreesWithLicensing(t *testing.T) {
	pool := connect(t, pgtest.New(t))
	renewal := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	micro := time.Microsecond
	for _, tc := range []struct {
		seats   int
		later   *int
		from    *time.Time
		at      time.Time
		comment string
	}{
		{10, nil, nil, renewal, "no pending reduction"},
		{20, ptr(12), &renewal, renewal.AddDate(-1, 0, 0), "the term's start"},
		{20, ptr(12), &renewal, renewal.Add(-micro), "the renewal's eve"},
		{20, ptr(12), &renewal, renewal, "the renewal"},
		{20, ptr(12), &renewal, renewal.Add(micro), "just after the renewal"},
		{20, ptr(12), &renewal, renewal.AddDate(5, 0, 0), "long after"},
		{20, ptr(0), &renewal, renewal, "down to nothing"},
		{5, ptr(5), &renewal, renewal, "a reduction to the count in force"},
		{20, ptr(12), nil, renewal, "a count without a date is no reduction"},
		{20, nil, &renewal, renewal, "a date without a count is no reduction"},
	} {
		var got int
		require.NoError(t, pool.QueryRow(ctx, `select roster_purchased_seats($1, $2, $3, $4)`,
			tc.seats, tc.later, tc.from, tc.at).Scan(&got))
		c := licensing.Contract{Seats: tc.seats, SeatsAtRenewal: tc.later, SeatsAtRenewalFrom: tc.from}
		require.Equal(t, c.SeatsInForce(tc.at), got, tc.comment)
	}
}

func ptr[T any](v T) *T { return &v }

// TestSeats_capPredicateAgreesWithLicensing proves that the seat cap the
// PostgreSQL store writes in SQL — the usable seats (usableSQL) and the cap
// predicate of the statements that create users (capSQL, in createUserSQL's
// and createBatchSQL's where clause) — is licensing's: Contract.UsableAt and
// CapAllows, evaluated on the same tenant row, over a table of seats in use,
// full-seat changes, purchased seats, plans with and without a contract
// minimum, pending reductions before, at and after their renewal, and
// overage on and off. Each row also says the expected answer, so that the
// two cannot drift apart together. Where the change is one seat, the writes
// that check the cap — a creation (the cap in SQL), a reactivation and a
// role's seat class changed from light to full, which moves its holder into
// a full seat (the cap in Go, on the counter the statement moved) — admit
// exactly what the table says.
func TestSeats_capPredicateAgreesWithLicensing(t *testing.T) {
	dsn := pgtest.New(t)
	pool := connect(t, dsn)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	s := process(t, dsn, func() time.Time { return now })
	future, past := now.AddDate(0, 3, 0), now.AddDate(0, -3, 0)
	for i, tc := range []struct {
		name         string
		plan         string
		seats        int
		later        *int       // pending reduction (SeatsAtRenewal)
		from         *time.Time // its renewal (SeatsAtRenewalFrom)
		overage      bool
		inUse, delta int
		usable       int  // the expected usable seats
		allowed      bool // the expected answer of the cap
	}{
		{"paid, below the minimum: the minimum is usable", licensing.Ultimate, 3, nil, nil, false, 7, 1, 8, true},
		{"paid, the minimum taken", licensing.Ultimate, 3, nil, nil, false, 8, 1, 8, false},
		{"paid, above the minimum: the last seat", licensing.Enterprise, 12, nil, nil, false, 11, 1, 12, true},
		{"paid, above the minimum: all taken", licensing.Enterprise, 12, nil, nil, false, 12, 1, 12, false},
		{"paid, two at once that fit", licensing.Ultimate, 12, nil, nil, false, 10, 2, 12, true},
		{"paid, three at once, one too many", licensing.Ultimate, 12, nil, nil, false, 10, 3, 12, false},
		{"trial: no minimum", licensing.Trial, 3, nil, nil, false, 2, 1, 3, true},
		{"trial: the granted seats taken", licensing.Trial, 3, nil, nil, false, 3, 1, 3, false},
		{"trial without seats", licensing.Trial, 0, nil, nil, false, 0, 1, 0, false},
		{"trial without seats, overage", licensing.Trial, 0, nil, nil, true, 0, 1, 0, true},
		{"an unknown plan has no minimum", "gold", 3, nil, nil, false, 3, 1, 3, false},
		{"reduction before its renewal: the seats bought are in force", licensing.Ultimate, 20, ptr(10), &future, false, 15, 1, 20, true},
		{"reduction at its renewal: in force", licensing.Ultimate, 20, ptr(10), &now, false, 10, 1, 10, false},
		{"reduction after its renewal: in force", licensing.Ultimate, 20, ptr(10), &past, false, 9, 1, 10, true},
		{"reduction after its renewal, beyond the new cap", licensing.Ultimate, 20, ptr(10), &past, false, 15, 1, 10, false},
		{"reduction below the minimum: the minimum stays usable", licensing.Enterprise, 20, ptr(4), &past, false, 7, 1, 8, true},
		{"reduction below the minimum, the minimum taken", licensing.Enterprise, 20, ptr(4), &past, false, 8, 1, 8, false},
		{"trial reduced: no minimum", licensing.Trial, 10, ptr(2), &past, false, 2, 1, 2, false},
		{"beyond the cap with overage", licensing.Ultimate, 20, ptr(10), &past, true, 15, 1, 10, true},
		{"all taken with overage", licensing.Ultimate, 12, nil, nil, true, 12, 3, 12, true},
		{"beyond the cap, no full seat moved", licensing.Ultimate, 20, ptr(10), &past, false, 15, 0, 10, true},
		{"beyond the cap, a release", licensing.Ultimate, 20, ptr(10), &past, false, 15, -1, 10, true},
		{"a release at the cap", licensing.Trial, 0, nil, nil, false, 1, -1, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tenant := fmt.Sprintf("agree-%02d", i)
			settings := store.DefaultSettings()
			settings.Overage = tc.overage
			_, err := s.CreateTenant(ctx, store.Tenant{ID: tenant, Plan: tc.plan, Seats: tc.seats,
				SeatsAtRenewal: tc.later, SeatsAtRenewalFrom: tc.from, Settings: settings}, store.ActorAdmin)
			require.NoError(t, err)
			// The full seats in use, set on the row as if held: the cap reads
			// the counter, not the users.
			holding := func() {
				t.Helper()
				_, err := pool.Exec(ctx, `update tenants set seats_full = $2 where id = $1`, tenant, tc.inUse)
				require.NoError(t, err)
			}
			holding()

			var usableSQL int
			var allowedSQL bool
			require.NoError(t, pool.QueryRow(ctx, `select `+postgres.UsableSQL("tn", "$2::timestamptz")+`, `+
				postgres.CapSQL("tn", "$3::int", "$2::timestamptz")+` from tenants tn where tn.id = $1`,
				tenant, now, tc.delta).Scan(&usableSQL, &allowedSQL))
			tn, err := s.GetTenant(ctx, tenant)
			require.NoError(t, err)
			c := tn.Contract()
			usable := c.UsableAt(now)
			allowed := licensing.CapAllows(tc.inUse, tc.delta, usable, c.Overage)
			require.Equal(t, tc.usable, usable, "licensing's usable seats")
			require.Equal(t, tc.allowed, allowed, "licensing's cap")
			assert.Equal(t, usable, usableSQL, "usableSQL agrees with Contract.UsableAt")
			assert.Equal(t, allowed, allowedSQL, "capSQL agrees with CapAllows")
			if tc.delta != 1 {
				return
			}

			_, err = s.CreateRole(ctx, tenant, store.Role{Name: "viewer", Permissions: []string{"conversations.view_all"}, SeatClass: store.SeatLight}, store.ActorAdmin)
			require.NoError(t, err)
			idle, err := s.CreateUser(ctx, tenant, store.User{UserName: "idle@x", Role: store.RoleAgent}, store.ActorAdmin)
			require.NoError(t, err)
			_, err = s.CreateUser(ctx, tenant, store.User{UserName: "light@x", Active: true, Role: "viewer"}, store.ActorAdmin)
			require.NoError(t, err)
			for _, w := range []struct {
				name  string
				write func() error
			}{
				{"a creation", func() error {
					_, err := s.CreateUser(ctx, tenant, store.User{UserName: "new@x", Active: true, Role: store.RoleAgent}, store.ActorAdmin)
					return err
				}},
				{"a reactivation", func() error {
					_, err := s.UpdateUser(ctx, tenant, idle.ID, store.ActorAdmin, func(u *store.User) error { u.Active = true; return nil })
					return err
				}},
				{"a role's seat class made full", func() error {
					_, err := directory.New(s).UpdateRole(ctx, tenant, "viewer", store.ActorAdmin, func(r *store.Role) error { r.SeatClass = store.SeatFull; return nil })
					return err
				}},
			} {
				holding()
				err := w.write()
				if tc.allowed {
					assert.NoError(t, err, w.name)
					continue
				}
				var limit *store.SeatLimitError
				if assert.ErrorAs(t, err, &limit, w.name) {
					assert.Equal(t, store.SeatLimitError{TenantID: tenant, InUse: tc.inUse, Purchased: tc.usable}, *limit, w.name)
				}
			}
		})
	}
}
