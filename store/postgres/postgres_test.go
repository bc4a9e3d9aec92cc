package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
	"github.com/roster-dev/roster/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

// open is the storetest factory: a store on a fresh database per test.
func open(t testing.TB, now func() time.Time) store.Store {
	return openPG(t, now)
}

func openPG(t testing.TB, now func() time.Time) *postgres.Store {
	s, err := postgres.Open(ctx, pgtest.New(t), postgres.Options{Now: now})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// TestConformance runs the store contract suite shared with store/memory.
func TestConformance(t *testing.T) {
	storetest.Run(t, open)
}

func connect(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// schemaOf renders the user-visible schema: tables, columns, constraints, indexes.
func schemaOf(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var out string
	require.NoError(t, pool.QueryRow(ctx, `select coalesce(string_agg(x, E'\n' order by x), '') from (
	select table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
	from information_schema.columns where table_schema = 'public'
	union all
	select indexdef from pg_indexes where schemaname = 'public'
	union all
	select conname || ' ' || pg_get_constraintdef(oid) from pg_constraint where connamespace = 'public'::regnamespace
) s (x)`).Scan(&out))
	return out
}

type applied struct {
	Version   string
	AppliedAt time.Time
}

func appliedMigrations(t *testing.T, pool *pgxpool.Pool) []applied {
	t.Helper()
	rows, err := pool.Query(ctx, `select version, applied_at from schema_migrations order by version`)
	require.NoError(t, err)
	defer rows.Close()
	var out []applied
	for rows.Next() {
		var a applied
		require.NoError(t, rows.Scan(&a.Version, &a.AppliedAt))
		out = append(out, a)
	}
	require.NoError(t, rows.Err())
	return out
}

func embeddedVersions(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(postgres.EmbeddedMigrations(), "*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, names)
	for i, n := range names {
		names[i] = strings.TrimSuffix(n, ".sql")
	}
	return names
}

// TestMigrate_twiceIsNoOp proves that migrating an up-to-date database
// changes nothing: no migration is recorded again, the schema is identical.
func TestMigrate_twiceIsNoOp(t *testing.T) {
	dsn := pgtest.NewEmpty(t)
	require.NoError(t, postgres.Migrate(ctx, dsn))
	pool := connect(t, dsn)
	before, schema := appliedMigrations(t, pool), schemaOf(t, pool)
	versions := make([]string, len(before))
	for i, a := range before {
		versions[i] = a.Version
	}
	assert.Equal(t, embeddedVersions(t), versions, "every embedded migration applied, in order")

	require.NoError(t, postgres.Migrate(ctx, dsn))
	require.NoError(t, postgres.Migrate(ctx, dsn))
	assert.Equal(t, before, appliedMigrations(t, pool), "nothing re-applied")
	assert.Equal(t, schema, schemaOf(t, pool), "schema unchanged")
}

// TestMigrate_concurrentAppliesOnce proves that processes migrating one empty
// database at the same time apply each migration exactly once: the advisory
// lock makes them take turns, and the later ones find nothing to do.
func TestMigrate_concurrentAppliesOnce(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		dsn := pgtest.NewEmpty(t)
		const n = 4
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = postgres.Migrate(ctx, dsn) })
		}
		wg.Wait()
		for _, err := range errs {
			assert.NoError(t, err)
		}
		assert.Len(t, appliedMigrations(t, connect(t, dsn)), len(embeddedVersions(t)))
	})
	t.Run("not idempotent migration", func(t *testing.T) {
		// A migration that fails when applied twice: a second application
		// would be an error, and the marker table would count it.
		dsn := pgtest.NewEmpty(t)
		fsys := fstest.MapFS{
			"0001_once.sql": {Data: []byte(`create table once_marker (n integer not null);
insert into once_marker values (1);`)},
		}
		const n = 6
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			pool := connect(t, dsn) // one pool per "process"
			wg.Go(func() { errs[i] = postgres.MigrateFS(ctx, pool, fsys) })
		}
		wg.Wait()
		for _, err := range errs {
			assert.NoError(t, err)
		}
		var count int
		require.NoError(t, connect(t, dsn).QueryRow(ctx, `select count(*) from once_marker`).Scan(&count))
		assert.Equal(t, 1, count)
	})
}

// TestMigrate_failureKeepsLastGoodVersion proves that a failing migration
// rolls back alone: the schema stays at the previous version, the later
// migrations are not attempted, and the error names the file.
func TestMigrate_failureKeepsLastGoodVersion(t *testing.T) {
	dsn := pgtest.NewEmpty(t)
	pool := connect(t, dsn)
	fsys := fstest.MapFS{
		"0001_a.sql": {Data: []byte(`create table a (id integer);`)},
		"0002_b.sql": {Data: []byte(`create table b (id integer);
insert into b values (1);
select no_such_function();`)},
		"0003_c.sql": {Data: []byte(`create table c (id integer);`)},
	}
	err := postgres.MigrateFS(ctx, pool, fsys)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "0002_b.sql")

	versions := func() []string {
		var out []string
		for _, a := range appliedMigrations(t, pool) {
			out = append(out, a.Version)
		}
		return out
	}
	exists := func(table string) bool {
		var ok bool
		require.NoError(t, pool.QueryRow(ctx, `select to_regclass($1) is not null`, table).Scan(&ok))
		return ok
	}
	assert.Equal(t, []string{"0001_a"}, versions())
	assert.True(t, exists("a"))
	assert.False(t, exists("b"), "the failed migration's statements are rolled back")
	assert.False(t, exists("c"), "later migrations are not attempted")

	// Once fixed, migrating carries on from the last good version.
	fsys["0002_b.sql"] = &fstest.MapFile{Data: []byte(`create table b (id integer);`)}
	require.NoError(t, postgres.MigrateFS(ctx, pool, fsys))
	assert.Equal(t, []string{"0001_a", "0002_b", "0003_c"}, versions())
	assert.True(t, exists("b"))
	assert.True(t, exists("c"))
}

// TestConvert_uniqueViolationIsConflict proves that unique violations become
// ConflictErrors naming the attribute, by constraint.
func TestConvert_uniqueViolationIsConflict(t *testing.T) {
	s := openPG(t, time.Now)
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateTenant(ctx, store.Tenant{ID: "acme"}, store.ActorAdmin)
	assert.Equal(t, &store.ConflictError{Field: "id", Value: "acme"}, err)

	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "a@x.com"}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "A@X.com"}, store.ActorAdmin)
	var exists *store.UserExistsError // a taken userName also names the user holding it
	require.ErrorAs(t, err, &exists)
	assert.Equal(t, store.ConflictError{Field: "userName", Value: "A@X.com"}, exists.ConflictError)

	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "auditor"}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "auditor"}, store.ActorAdmin)
	assert.Equal(t, &store.ConflictError{Field: "name", Value: "auditor"}, err)

	_, err = s.CreateGroup(ctx, "acme", store.Group{ID: "g1", DisplayName: "One"}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateGroup(ctx, "acme", store.Group{ID: "g1", DisplayName: "Two"}, store.ActorAdmin)
	assert.Equal(t, &store.ConflictError{Field: "id", Value: "g1"}, err)
}

// TestConvert_noServerTextUpward proves that the errors the store returns
// for an unavailable or misbehaving database carry the store's vocabulary
// and never the server's or the driver's text, which callers could echo.
func TestConvert_noServerTextUpward(t *testing.T) {
	dsn := pgtest.New(t)

	t.Run("cannot connect", func(t *testing.T) {
		cfg, err := pgxpool.ParseConfig(dsn)
		require.NoError(t, err)
		cfg.ConnConfig.Database = "no_such_database_xyz"
		pool, err := pgxpool.NewWithConfig(ctx, cfg) // connects lazily
		require.NoError(t, err)
		s := postgres.New(pool, postgres.Options{})
		defer s.Close()
		_, err = s.GetTenant(ctx, "acme")
		require.ErrorIs(t, err, store.ErrUnavailable)
		assert.NotContains(t, err.Error(), "no_such_database_xyz")
		assert.NotContains(t, err.Error(), "does not exist")
		assert.ErrorIs(t, s.Ping(ctx), store.ErrUnavailable)
	})

	t.Run("deadline", func(t *testing.T) {
		s := openPG(t, time.Now)
		dctx, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
		defer cancel()
		_, err := s.GetTenant(dctx, "acme")
		assert.ErrorIs(t, err, store.ErrUnavailable)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})

	t.Run("closed", func(t *testing.T) {
		s, err := postgres.Open(ctx, dsn, postgres.Options{})
		require.NoError(t, err)
		s.Close()
		_, err = s.ListTenants(ctx)
		assert.ErrorIs(t, err, store.ErrUnavailable)
	})

	t.Run("unexpected server error", func(t *testing.T) {
		s := openPG(t, time.Now)
		_, err := s.Pool().Exec(ctx, `drop table saml_configs`)
		require.NoError(t, err)
		_, err = s.GetSAMLConfig(ctx, "acme")
		require.Error(t, err)
		for _, target := range []error{store.ErrNotFound, store.ErrUnavailable, store.ErrInvalid, store.ErrConflict} {
			assert.NotErrorIs(t, err, target)
		}
		assert.Contains(t, err.Error(), "SQLSTATE 42P01", "the code is kept for the log")
		assert.NotContains(t, err.Error(), "saml_configs", "the server's message is not")
		assert.NotContains(t, err.Error(), "does not exist")
	})
}

// TestGetUserByUserName_usesIndex proves the lookup by userName is one probe
// of the unique index, not a scan of the tenant's users.
func TestGetUserByUserName_usesIndex(t *testing.T) {
	s := openPG(t, time.Now)
	for _, id := range []string{"big", "small"} {
		_, err := s.CreateTenant(ctx, store.Tenant{ID: id, Seats: 10, Settings: store.DefaultSettings()}, store.ActorAdmin)
		require.NoError(t, err)
	}
	seedUsers(t, s.Pool(), "big", 50_000)
	seedUsers(t, s.Pool(), "small", 10)
	_, err := s.Pool().Exec(ctx, `analyze users`)
	require.NoError(t, err)

	name := store.FoldKey("USER000004242@example.com")
	rows, err := s.Pool().Query(ctx, "explain "+postgres.GetByUserNameSQL, "big", name)
	require.NoError(t, err)
	var plan []string
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		plan = append(plan, line)
	}
	require.NoError(t, rows.Err())
	text := strings.Join(plan, "\n")
	assert.Regexp(t, regexp.MustCompile(`Index Scan using users_user_name_key_uq`), text)
	assert.NotContains(t, text, "Seq Scan")

	u, err := s.GetUserByUserName(ctx, "big", "USER000004242@EXAMPLE.COM")
	require.NoError(t, err)
	assert.Equal(t, "user000004242@example.com", u.UserName)
}

// TestDeleteUser_softDeleteKeepsRow proves a deleted user's row stays for the
// audit trail while every read answers not found and the name is free.
func TestDeleteUser_softDeleteKeepsRow(t *testing.T) {
	s := openPG(t, time.Now)
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Seats: 5, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	u, err := s.CreateUser(ctx, "acme", store.User{UserName: "a@x.com", Active: true}, store.ActorAdmin)
	require.NoError(t, err)
	require.NoError(t, s.DeleteUser(ctx, "acme", u.ID, store.ActorAdmin))
	var deleted bool
	var seat string
	require.NoError(t, s.Pool().QueryRow(ctx, `select deleted_at is not null, seat from users where tenant_id = 'acme' and id = $1`, u.ID).
		Scan(&deleted, &seat))
	assert.True(t, deleted)
	assert.Equal(t, "none", seat)
	_, err = s.GetUser(ctx, "acme", u.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "A@x.com", Active: true}, store.ActorAdmin)
	assert.NoError(t, err)
}

// TestDeleteTenant_cascades proves deleting a tenant leaves no row of it in any table.
func TestDeleteTenant_cascades(t *testing.T) {
	s := openPG(t, time.Now)
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Seats: 5, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	u, err := s.CreateUser(ctx, "acme", store.User{UserName: "a@x.com", Active: true}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateGroup(ctx, "acme", store.Group{DisplayName: "G", Members: []store.Member{{UserID: u.ID}}}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateToken(ctx, "acme", store.Token{Name: "okta"}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "viewer"}, store.ActorAdmin)
	require.NoError(t, err)
	require.NoError(t, directory.New(s).PutRoleMappings(ctx, "acme", []store.RoleMapping{{Group: "G", Role: "viewer"}}, store.ActorAdmin))
	_, err = s.PutSAMLConfig(ctx, "acme", store.SAMLConfig{EntityID: "e"}, store.ActorAdmin)
	require.NoError(t, err)

	require.NoError(t, s.RecordActivity(ctx, []store.ActivityEntry{{TenantID: "acme", At: time.Now(), Method: "GET", Path: "/", Status: 200}}))

	require.NoError(t, s.DeleteTenant(ctx, "acme", store.ActorAdmin))
	for _, table := range []string{"users", "groups", "group_members", "tokens", "roles", "role_mappings",
		"saml_configs", "seat_events", "audit_events", "scim_activity", "scim_activity_heads"} {
		var n int
		require.NoError(t, s.Pool().QueryRow(ctx, fmt.Sprintf(`select count(*) from %s where tenant_id = 'acme'`, table)).Scan(&n))
		assert.Zero(t, n, table)
	}
}

// TestActivity_storageBounded proves that the activity log's storage stays
// at 1,000 rows per tenant however much is recorded: the ring overwrites
// its slots, nothing grows and nothing needs trimming.
func TestActivity_storageBounded(t *testing.T) {
	s := openPG(t, time.Now)
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Seats: 5, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	at := time.Now().Add(-time.Hour)
	for b := range 5 {
		batch := make([]store.ActivityEntry, 700)
		for i := range batch {
			batch[i] = store.ActivityEntry{TenantID: "acme", At: at, Method: "GET", Path: fmt.Sprintf("/%d/%d", b, i), Status: 200}
		}
		require.NoError(t, s.RecordActivity(ctx, batch))
	}
	var rows int
	var head int64
	require.NoError(t, s.Pool().QueryRow(ctx, `select count(*), (select seq from scim_activity_heads where tenant_id = 'acme')
from scim_activity where tenant_id = 'acme'`).Scan(&rows, &head))
	assert.Equal(t, store.ActivityKeep, rows)
	assert.Equal(t, int64(3500), head, "every entry was numbered")
}

// TestGroups_memberCountUnderConcurrency proves that the kept member count
// stays equal to the membership while group updates (adds, removes,
// replaces) race with deletions of the users involved, and that the lock
// order of the two (see migration 0004) lets every one of them through:
// no deadlock, no ErrUnavailable.
func TestGroups_memberCountUnderConcurrency(t *testing.T) {
	s := openPG(t, time.Now)
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Seats: 1000, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	const n = 40
	users := make([]string, n)
	for i := range users {
		u, err := s.CreateUser(ctx, "acme", store.User{UserName: fmt.Sprintf("u%02d@x.com", i), Active: true}, store.ActorAdmin)
		require.NoError(t, err)
		users[i] = u.ID
	}
	groups := make([]string, 4)
	for i := range groups {
		g, err := s.CreateGroup(ctx, "acme", store.Group{DisplayName: fmt.Sprintf("G%d", i),
			Members: []store.Member{{UserID: users[i]}, {UserID: users[i+1]}}}, store.ActorAdmin)
		require.NoError(t, err)
		groups[i] = g.ID
	}

	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := range 8 {
		wg.Go(func() {
			for k := range 30 {
				g := groups[(w+k)%len(groups)]
				a, b := users[(w*7+k)%n], users[(w*11+k*3)%n]
				_, err := s.UpdateGroup(ctx, "acme", g, store.ActorAdmin, func(u *store.GroupUpdate) error {
					switch k % 3 {
					case 0:
						u.Add(a, b)
					case 1:
						u.Remove(a)
						u.Add(b)
					default:
						u.Replace(a, b)
					}
					return nil
				})
				var unknown *store.UnknownMembersError
				if err != nil && !errors.As(err, &unknown) { // a member may be deleted meanwhile
					errs <- err
				}
			}
		})
	}
	for i := 0; i < n; i += 3 {
		wg.Go(func() {
			if err := s.DeleteUser(ctx, "acme", users[i], store.ActorAdmin); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	for _, id := range groups {
		g, err := s.GetGroup(ctx, "acme", id, true)
		require.NoError(t, err)
		assert.Len(t, g.Members, g.MemberCount, "group %s", id)
		for _, m := range g.Members {
			_, err := s.GetUser(ctx, "acme", m.UserID)
			assert.NoError(t, err, "a member is a live user")
		}
	}
}

// TestAudit_recordsTheChosenSeat proves the audited user of a creation shows
// the seat the store chose in the database (the JSON is encoded once, under
// the full-seat plan, and its seat replaced in SQL).
func TestAudit_recordsTheChosenSeat(t *testing.T) {
	s := openPG(t, time.Now)
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Seats: 10, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "viewer", SeatClass: store.SeatLight}, store.ActorAdmin)
	require.NoError(t, err)
	for _, tc := range []struct {
		role   string
		active bool
		seat   store.SeatClass
	}{
		{"viewer", true, store.SeatLight}, {store.RoleAgent, true, store.SeatFull}, {"viewer", false, store.SeatNone},
	} {
		u, err := s.CreateUser(ctx, "acme", store.User{UserName: tc.role + fmt.Sprint(tc.active), Active: tc.active, Role: tc.role}, store.ActorAdmin)
		require.NoError(t, err)
		assert.Equal(t, tc.seat, u.Seat)
		events, err := s.ListAudit(ctx, "acme", store.EventQuery{Limit: 1})
		require.NoError(t, err)
		require.Len(t, events, 1)
		assert.Contains(t, events[0].After, `"seat":"`+store.SCIMSeat(tc.seat)+`"`)
		assert.Equal(t, store.AuditJSON(u), events[0].After, "the audited user is the returned one")
	}
}

// TestBoundStatements_noTokensLeft proves every {token} of the statement
// templates became a placeholder.
func TestBoundStatements_noTokensLeft(t *testing.T) {
	token := regexp.MustCompile(`\{[a-z_]+\}`)
	for name, sql := range postgres.BoundStatements {
		assert.Empty(t, token.FindAllString(sql, -1), name)
	}
}

// TestKeys_unstorableTextIsNotFound proves that keys PostgreSQL text cannot
// hold (NUL, invalid UTF-8) find nothing, as in the in-memory store, rather
// than failing, and that such member ids are unknown members.
func TestKeys_unstorableTextIsNotFound(t *testing.T) {
	s := openPG(t, time.Now)
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Seats: 10, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	for _, bad := range []string{"a\xff", "a\x00b"} {
		_, err := s.GetTenant(ctx, bad)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.GetUser(ctx, "acme", bad)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.GetUser(ctx, bad, "x")
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.ErrorIs(t, s.DeleteUser(ctx, "acme", bad, store.ActorAdmin), store.ErrNotFound)
		_, err = s.GetGroup(ctx, "acme", bad, true)
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.GetToken(ctx, "acme", bad)
		assert.ErrorIs(t, err, store.ErrNotFound)

		_, err = s.CreateGroup(ctx, "acme", store.Group{DisplayName: "G " + fmt.Sprint(len(bad)), Members: []store.Member{{UserID: bad}}}, store.ActorAdmin)
		var unknown *store.UnknownMembersError
		require.ErrorAs(t, err, &unknown)
		assert.Equal(t, []string{bad}, unknown.IDs)
	}
	_, err = s.CreateTenant(ctx, store.Tenant{ID: "b\x00"}, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrInvalid, "a tenant id that cannot be stored is invalid")
	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "r\x00"}, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrInvalid, "a value that cannot be stored is invalid")
}

// TestMigrate_memberOrderBackfilled proves that migration 0015 gives the
// memberships of a database that predates it their users' order, so that
// GroupMembers reads them in user creation order, and drops a membership
// whose user row is gone, keeping the group's member count true.
func TestMigrate_memberOrderBackfilled(t *testing.T) {
	dsn := pgtest.NewEmpty(t)
	pool := connect(t, dsn)
	before := fstest.MapFS{}
	for _, v := range embeddedVersions(t) {
		if v < "0015" {
			b, err := fs.ReadFile(postgres.EmbeddedMigrations(), v+".sql")
			require.NoError(t, err)
			before[v+".sql"] = &fstest.MapFile{Data: b}
		}
	}
	require.NoError(t, postgres.MigrateFS(ctx, pool, before))
	_, err := pool.Exec(ctx, `
insert into tenants (id, plan, contract_start, created_at, updated_at) values ('acme', 'ultimate', now(), now(), now());
insert into users (tenant_id, id, seq, user_name, user_name_key, created_at, updated_at)
select 'acme', 'u-' || (20 - i), i, 'u' || i, 'u' || i, now(), now() from generate_series(1, 12) as i;
insert into groups (tenant_id, id, seq, display_name, display_name_key, created_at, updated_at)
values ('acme', 'g', 1, 'G', 'g', now(), now());
insert into group_members (tenant_id, group_id, user_id)
select 'acme', 'g', 'u-' || (20 - i) from generate_series(1, 12) as i
union all select 'acme', 'g', 'gone';
insert into group_member_counts (tenant_id, group_id, members) values ('acme', 'g', 13);`)
	require.NoError(t, err)
	require.NoError(t, postgres.MigrateFS(ctx, pool, postgres.EmbeddedMigrations()))

	st, err := postgres.Open(ctx, dsn, postgres.Options{})
	require.NoError(t, err)
	defer st.Close()
	var got []string
	var pos store.MemberPos
	for {
		chunk, next, err := st.GroupMembers(ctx, "acme", "g", pos, 5)
		require.NoError(t, err)
		for _, m := range chunk {
			got = append(got, m.UserID)
		}
		if len(chunk) < 5 {
			break
		}
		pos = next
	}
	var want []string
	for i := 1; i <= 12; i++ {
		want = append(want, fmt.Sprintf("u-%d", 20-i))
	}
	assert.Equal(t, want, got, "in user creation order (seq), not id order")
	g, err := st.GetGroup(ctx, "acme", "g", false)
	require.NoError(t, err)
	assert.Equal(t, 12, g.MemberCount, "the membership of no user is gone, and counted out")
}

// TestImportByEmail_usesIndexUnanalysed proves the import's email match (one
// person, one seat) reads users_email_key_idx, also on a table that has
// never been analysed (a first import right after a bulk load), and that
// the index expression and store.EmailKey agree: the primary address wins,
// else the first, in any case.
func TestImportByEmail_usesIndexUnanalysed(t *testing.T) {
	s := openPG(t, time.Now)
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "big", Seats: 10, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.Pool().Exec(ctx, `with t as (
	update tenants set user_seq = user_seq + $2 where id = $1 returning user_seq - $2 as base
)
insert into users (tenant_id, id, seq, user_name, user_name_key, display_name, emails, active, seat, version, created_at, updated_at)
select $1, 'seed-' || g, t.base + g + 1, 'upn' || g || '@corp.test', 'upn' || g || '@corp.test', 'Seed ' || g,
	jsonb_build_array(jsonb_build_object('value', 'Other' || g || '@Home.test'),
		jsonb_build_object('value', 'Person' || g || '@Example.test', 'primary', true)),
	false, 'none', 1, now(), now()
from t, generate_series(0, $2 - 1) as g`, "big", 30_000)
	require.NoError(t, err)

	rows, err := s.Pool().Query(ctx, "explain "+postgres.ImportByEmailSQL, "big", []string{"person4242@example.test"})
	require.NoError(t, err)
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	text := strings.Join(plan, "\n")
	assert.Contains(t, text, "users_email_key_idx", text)
	assert.NotContains(t, text, "Seq Scan", text)

	// The primary address is the key, in any case; a secondary one matches nobody.
	rows, err = s.Pool().Query(ctx, `select x.id from (`+postgres.ImportByEmailSQL+`) x`, "big", []string{
		store.EmailKey([]store.MultiValue{{Value: "Other4242@Home.test"}, {Value: "PERSON4242@example.TEST", Primary: true}}),
		"other7@home.test",
	})
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Equal(t, []string{"seed-4242"}, ids)
}
