package postgres_test

// Benchmarks of the PostgreSQL store, single-threaded, each on its own database:
//
//	go test ./store/postgres -run '^$' -bench . -benchtime=5s -count=3
//
// BenchmarkBareInsert is the yardstick: one autocommit INSERT of a user-shaped
// row. BenchmarkCreateUser must reach at least half its rate.
// BenchmarkCreateUserVsBareInsert measures both alternately, which keeps the
// ratio meaningful on a shared, noisy host; run the separate ones on a quiet one.

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
)

// seedUsers bulk-loads n live, inactive users (seat none, so the tenant's
// counters stay right without ledger entries) into a tenant in one statement:
// userName user%09d@example.com (ASCII, so lower() is FoldKey), id
// seed-<tenant>-<i>, i from 0 to n-1.
func seedUsers(tb testing.TB, pool *pgxpool.Pool, tenant string, n int) {
	tb.Helper()
	_, err := pool.Exec(ctx, `with t as (
	update tenants set user_seq = user_seq + $2 where id = $1 returning user_seq - $2 as base
)
insert into users (tenant_id, id, seq, user_name, user_name_key, display_name, active, seat, version, created_at, updated_at)
select $1, 'seed-' || $1 || '-' || g, t.base + g + 1, n.name, lower(n.name), 'Seed User ' || g, false, 'none', 1, now(), now()
from t, generate_series(0, $2 - 1) as g,
	lateral (select 'user' || lpad(g::text, 9, '0') || '@example.com' as name) as n`, tenant, n)
	if err != nil {
		tb.Fatalf("seed %d users: %v", n, err)
	}
}

func benchStore(b *testing.B) *postgres.Store {
	b.Helper()
	s := openPG(b, time.Now)
	if _, err := s.CreateTenant(ctx, store.Tenant{ID: "bench", Name: "bench", Plan: "ultimate", Seats: 1 << 30,
		Settings: store.DefaultSettings()}, store.ActorAdmin); err != nil {
		b.Fatal(err)
	}
	return s
}

var benchActor = store.Actor{Kind: "token", ID: "tok-bench", Name: "okta"}

func benchUser(i int) store.User {
	return store.User{UserName: fmt.Sprintf("user%09d@example.com", i), Active: true,
		Name:   store.Name{GivenName: "Bench", FamilyName: "User"},
		Emails: []store.MultiValue{{Value: "x@example.com", Type: "work", Primary: true}},
		Role:   store.RoleAgent}
}

// bareTable creates bare_users: a table shaped like users (same columns and
// defaults) with a primary key and the unique userName index.
func bareTable(tb testing.TB, pool *pgxpool.Pool) {
	tb.Helper()
	if _, err := pool.Exec(ctx, `create table bare_users (like users including defaults);
alter table bare_users add constraint bare_users_pkey primary key (tenant_id, id);
create unique index bare_users_user_name_key_uq on bare_users (tenant_id, user_name_key) where deleted_at is null`); err != nil {
		tb.Fatal(err)
	}
}

var bareEmails = []byte(`[{"value":"x@example.com","type":"work","primary":true}]`)

// bareInsert is one autocommit single-row INSERT of benchUser(i) into bare_users.
func bareInsert(tb testing.TB, pool *pgxpool.Pool, i int) {
	u := benchUser(i)
	if _, err := pool.Exec(ctx, `insert into bare_users
	(tenant_id, id, seq, user_name, user_name_key, name_given, name_family, active, emails, role, seat, version, created_at, updated_at)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'full', 1, $11, $11)`,
		"bench", fmt.Sprintf("bare-%d", i), i, u.UserName, store.FoldKey(u.UserName), u.Name.GivenName, u.Name.FamilyName,
		u.Active, bareEmails, u.Role, time.Now()); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkBareInsert is one autocommit single-row INSERT into a table shaped
// like users: the floor that CreateUser is measured against.
func BenchmarkBareInsert(b *testing.B) {
	s := benchStore(b)
	bareTable(b, s.Pool())
	i := 0
	for b.Loop() {
		i++
		bareInsert(b, s.Pool(), i)
	}
}

// BenchmarkCreateUserVsBareInsert alternates one bare insert and one
// CreateUser per iteration on one database, so that both see the same machine
// at the same moment (separate benchmarks drift apart on a noisy host), and
// reports each one's median and the rate ratio: bare time / create time over
// the whole run (the requirement is at least 0.5).
func BenchmarkCreateUserVsBareInsert(b *testing.B) {
	s := benchStore(b)
	bareTable(b, s.Pool())
	var bare, create []time.Duration
	var sumBare, sumCreate time.Duration
	i := 0
	for b.Loop() {
		i++
		t0 := time.Now()
		bareInsert(b, s.Pool(), i)
		t1 := time.Now()
		if _, err := s.CreateUser(ctx, "bench", benchUser(i), benchActor); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		bare, create = append(bare, t1.Sub(t0)), append(create, t2.Sub(t1))
		sumBare, sumCreate = sumBare+t1.Sub(t0), sumCreate+t2.Sub(t1)
	}
	slices.Sort(bare)
	slices.Sort(create)
	b.ReportMetric(float64(bare[len(bare)/2].Nanoseconds()), "bare-p50-ns")
	b.ReportMetric(float64(create[len(create)/2].Nanoseconds()), "create-p50-ns")
	b.ReportMetric(float64(sumBare)/float64(sumCreate), "rate-ratio")
}

// BenchmarkCreateUser creates active users through the store: the user, the
// seat counters, the ledger entry and the audit event, one statement each.
func BenchmarkCreateUser(b *testing.B) {
	s := benchStore(b)
	i := 0
	for b.Loop() {
		i++
		if _, err := s.CreateUser(ctx, "bench", benchUser(i), benchActor); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetUserByUserName looks users up by userName (in another case)
// among 1,000,000 users of one tenant, and reports the median and p99
// latency of the lookups.
func BenchmarkGetUserByUserName(b *testing.B) {
	const population = 1_000_000
	s := benchStore(b)
	start := time.Now()
	seedUsers(b, s.Pool(), "bench", population)
	if _, err := s.Pool().Exec(ctx, `analyze users`); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d users in %s", population, time.Since(start).Round(time.Millisecond))
	lat := make([]time.Duration, 0, 1<<16)
	i := 0
	for b.Loop() {
		i = (i + 7919) % population
		name := fmt.Sprintf("USER%09d@example.com", i) // the lookup is case-insensitive
		t0 := time.Now()
		if _, err := s.GetUserByUserName(ctx, "bench", name); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	reportLatency(b, lat)
}

// BenchmarkAddMember adds one member to a group per UpdateGroup: one
// membership row, never a rewrite of the group.
func BenchmarkAddMember(b *testing.B) {
	const n = 10_000
	s := benchStore(b)
	seedUsers(b, s.Pool(), "bench", n)
	addMembersOneByOne(b, s, "Big team", n)
}

// addMembersOneByOne creates a group of that name in the seeded tenant
// "bench" and measures adding its n seeded users one PATCH at a time.
func addMembersOneByOne(b *testing.B, s *postgres.Store, name string, n int) {
	b.Helper()
	if _, err := s.Pool().Exec(ctx, `analyze users`); err != nil {
		b.Fatal(err)
	}
	g, err := s.CreateGroup(ctx, "bench", store.Group{DisplayName: name}, benchActor)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("seed-bench-%d", i%n)
		i++
		if _, err := s.UpdateGroup(ctx, "bench", g.ID, benchActor, func(u *store.GroupUpdate) error { u.Add(id); return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// reportLatency adds the median and p99 of the measured operations.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns/op")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns/op")
}

// BenchmarkRecordActivity is the SCIM activity log's background write: one
// flush of 500 entries (the activity log's batch) into a tenant's ring,
// which has long wrapped; ns/op and allocs/op are per flush, "ns/entry" per
// entry. It never runs on a request's path (internal/activitylog).
func BenchmarkRecordActivity(b *testing.B) {
	s := benchStore(b)
	batch := make([]store.ActivityEntry, 500)
	for i := range batch {
		batch[i] = store.ActivityEntry{TenantID: "bench", At: time.Now(), TokenID: "0123456789abcdef", TokenName: "okta",
			Method: "GET", Path: fmt.Sprintf("/scim/v2/bench/Users?filter=userName%%20eq%%20%%22user%09d%%40example.com%%22", i),
			Status: 200, Duration: 850 * time.Microsecond}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.RecordActivity(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/entry")
}

// BenchmarkRecordActivityVsLookups puts the activity log's write beside the
// work it records, on one database at the same moment (the ratio holds on
// a noisy host where absolute times do not): each iteration answers 100
// SCIM user lookups (GetUserByUserNameWithGroups, what an IdP sends before
// every create) and writes their 100 activity entries in one flush.
// "write/lookups" is the flush's time over the lookups' time.
func BenchmarkRecordActivityVsLookups(b *testing.B) {
	s := benchStore(b)
	seedUsers(b, s.Pool(), "bench", 10_000)
	const n = 100
	batch := make([]store.ActivityEntry, n)
	var lookups, writes time.Duration
	i := 0
	for b.Loop() {
		start := time.Now()
		for j := range batch {
			i++
			name := fmt.Sprintf("user%09d@example.com", i%10_000)
			if _, _, err := s.GetUserByUserNameWithGroups(ctx, "bench", name); err != nil {
				b.Fatal(err)
			}
			batch[j] = store.ActivityEntry{TenantID: "bench", At: time.Now(), TokenID: "0123456789abcdef", TokenName: "okta",
				Method: "GET", Path: "/scim/v2/bench/Users?filter=userName%20eq%20%22" + name + "%22", Status: 200, Duration: 850 * time.Microsecond}
		}
		mid := time.Now()
		if err := s.RecordActivity(ctx, batch); err != nil {
			b.Fatal(err)
		}
		lookups += mid.Sub(start)
		writes += time.Since(mid)
	}
	b.ReportMetric(float64(lookups.Nanoseconds())/float64(b.N*n), "ns/lookup")
	b.ReportMetric(float64(writes.Nanoseconds())/float64(b.N*n), "ns/entry")
	b.ReportMetric(float64(writes)/float64(lookups), "write/lookups")
}
