package postgres_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// planTracer records the statements the store sends while it is on.
type planTracer struct {
	mu  sync.Mutex
	on  bool
	got []tracedStatement
}

type tracedStatement struct {
	sql  string
	args []any
}

func (p *planTracer) record(sql string, args []any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on {
		var kept []any
		for _, a := range args {
			if _, mode := a.(pgx.QueryExecMode); !mode { // how pgx sends it, not an argument
				kept = append(kept, a)
			}
		}
		p.got = append(p.got, tracedStatement{sql, kept})
	}
}

// take starts recording, or stops it and answers what was recorded.
func (p *planTracer) take(on bool) []tracedStatement {
	p.mu.Lock()
	defer p.mu.Unlock()
	got := p.got
	p.on, p.got = on, nil
	return got
}

func (p *planTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	p.record(d.SQL, d.Args)
	return ctx
}
func (p *planTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (p *planTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (p *planTracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	p.record(d.SQL, d.Args)
}
func (p *planTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// planOf answers the plan PostgreSQL makes for st with its arguments (a
// custom plan), and the generic plan a prepared statement switches to after
// five executions (pgx prepares every statement it sends).
func planOf(t *testing.T, pool *pgxpool.Pool, settings []string, st tracedStatement) (custom, generic string) {
	t.Helper()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	// The settings the store made for the statement, in its transaction.
	_, err = conn.Exec(ctx, "begin")
	require.NoError(t, err)
	defer conn.Exec(ctx, "rollback") //nolint:errcheck // ends the settings
	for _, set := range settings {
		_, err = conn.Exec(ctx, set)
		require.NoError(t, err)
	}
	lines := func(sql string, args ...any) string {
		rows, err := conn.Query(ctx, sql, args...)
		require.NoError(t, err, "%s", sql)
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err, "%s", sql)
		return strings.Join(plan, "\n")
	}
	custom = lines("explain (costs off) "+st.sql, st.args...)
	_, err = conn.Exec(ctx, "set plan_cache_mode = force_generic_plan")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "prepare hot as "+st.sql)
	require.NoError(t, err, "%s", st.sql)
	// EXECUTE takes no bind parameters: each argument goes in as a
	// literal of the type the statement gave its parameter.
	var types []string
	require.NoError(t, conn.QueryRow(ctx, `select parameter_types::text[] from pg_prepared_statements where name = 'hot'`).Scan(&types))
	require.Len(t, types, len(st.args), "%s", st.sql)
	params := make([]string, len(st.args))
	for i, typ := range types {
		var lit string
		require.NoError(t, conn.QueryRow(ctx, "select quote_nullable($1::"+typ+"::text)", st.args[i]).Scan(&lit))
		params[i] = lit + "::" + typ
	}
	execute := "execute hot"
	if len(params) > 0 { // EXECUTE takes no empty parentheses
		execute += "(" + strings.Join(params, ", ") + ")"
	}
	generic = lines("explain (costs off) " + execute)
	_, err = conn.Exec(ctx, "deallocate hot; reset plan_cache_mode")
	require.NoError(t, err)
	return custom, generic
}

// planned reports whether sql is one a plan can be asked for.
func planned(sql string) bool {
	s := strings.ToLower(strings.TrimSpace(sql))
	for _, p := range []string{"select", "insert", "update", "delete", "with"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// indexesOnlyFor are indexes a statement may only read when it names what
// they index: none of them is ever the way to a user by id, userName or
// creation order.
var indexesOnlyFor = map[string]*regexp.Regexp{
	"users_external_id_idx":    regexp.MustCompile(`external_id\s*=`),
	"users_email_key_idx":      regexp.MustCompile(`jsonb_path_query_first`),
	"users_access_expires_idx": regexp.MustCompile(`access_expires_at\s*(<|is not null)`),
}

var seqScanOfBigTable = regexp.MustCompile(`Seq Scan on (users|group_members|groups)\b`)

// tenantWalk is an index scan bounded by the tenant alone: it reads every
// row of the tenant in the index, whichever row the statement is after.
var tenantWalk = regexp.MustCompile(`(?m)Scan (using|on) (users|groups|group_members)_\w+( on \w+ \w+)?\n\s*Index Cond: \((\w+\.)?tenant_id = [^()]*\)$`)

// TestHotPlans_sameIndexWithoutStatistics proves that the statements of an
// IdP's first sync — the member add, the lookups of a user by id and by
// userName, role resolution's reads, list pages, the group lookup by
// displayName and the group creation's name check — read the intended index
// on tables that have never been analysed (a new database, right after the
// first 20,000 users were created: autovacuum analyses a table only a while
// after it grew), once they are, and for a tenant created after they were
// (a new customer on a database whose statistics describe the others), in
// the plan made for the arguments and in the generic plan of a prepared
// statement. Every statement the store sends for them is traced and
// explained; none may scan users, groups or group_members whole, nor reach
// a user through an index of something it does not look for. Before the
// statements were shaped for it, a member add probed each user through
// users_external_id_idx, walking the tenant's users for each member added;
// before tenant_id stopped keeping statistics (plans.go), a lookup by
// userName for the tenant created after ANALYZE walked that tenant's users
// through users_tenant_seq_key, since the statistics gave it no rows.
func TestHotPlans_sameIndexWithoutStatistics(t *testing.T) {
	dsn := pgtest.New(t)
	pool := connect(t, dsn)
	// Nothing analyses these tables behind the test's back.
	for _, table := range []string{"tenants", "users", "groups", "group_members", "group_member_counts", "roles", "role_mappings"} {
		_, err := pool.Exec(ctx, "alter table "+table+" set (autovacuum_enabled = false)")
		require.NoError(t, err)
	}
	tr := &planTracer{}
	s, err := postgres.Open(ctx, dsn, postgres.Options{Tracer: tr})
	require.NoError(t, err)
	t.Cleanup(s.Close)

	_, err = s.CreateTenant(ctx, store.Tenant{ID: "small", Plan: "ultimate", Seats: 1_000_000, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	seedUsers(t, pool, "small", 50)
	big := hotTenant(t, s, pool, "big")

	var analysed bool
	require.NoError(t, pool.QueryRow(ctx, `select exists (select 1 from pg_stat_user_tables
where relname in ('users', 'groups', 'group_members') and (last_analyze is not null or last_autoanalyze is not null))`).Scan(&analysed))
	require.False(t, analysed, "the tables must not have been analysed yet")
	big.check(t, tr, pool, "never analysed")

	_, err = pool.Exec(ctx, "analyze")
	require.NoError(t, err)
	big.check(t, tr, pool, "analysed")

	// A tenant the statistics have never seen, as large as the first.
	late := hotTenant(t, s, pool, "late")
	late.check(t, tr, pool, "analysed, then a new tenant")
}

// hotFixture is a tenant of 20,000 users, 1,000 groups (200 of them with
// 100 members each) and a role group, and the operations of a sync on it.
type hotFixture struct {
	ops []hotOp
}

type hotOp struct {
	name  string
	want  []string // indexes the statements must read, at least once each
	walks bool     // a page: it reads the tenant in order, from its start
	run   func() error
}

func hotTenant(t *testing.T, s *postgres.Store, pool *pgxpool.Pool, tenant string) hotFixture {
	t.Helper()
	_, err := s.CreateTenant(ctx, store.Tenant{ID: tenant, Plan: "ultimate", Seats: 1_000_000, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateRole(ctx, tenant, store.Role{Name: "auditor", Permissions: []string{"reporting.view_org"}, SeatClass: store.SeatLight}, store.ActorAdmin)
	require.NoError(t, err)
	require.NoError(t, directory.New(s).PutRoleMappings(ctx, tenant, []store.RoleMapping{{Group: "Auditors", Role: "auditor"}}, store.ActorAdmin))
	seedUsers(t, pool, tenant, 20_000)
	_, errs := s.CreateUsersTogether(ctx, tenant, []store.User{
		{UserName: "new1@example.com", Active: true}, {UserName: "new2@example.com", Active: true},
	}, store.ActorAdmin)
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	ids := make([]string, 0, 20_000)
	for i := range 20_000 {
		ids = append(ids, fmt.Sprintf("seed-%s-%d", tenant, i))
	}
	var groups []string
	for i := range 1000 {
		g, err := s.CreateGroup(ctx, tenant, store.Group{DisplayName: fmt.Sprintf("Team %03d", i)}, store.ActorAdmin)
		require.NoError(t, err)
		groups = append(groups, g.ID)
	}
	for i, gid := range groups[:200] { // every user a member
		_, err := s.UpdateGroup(ctx, tenant, gid, store.ActorAdmin, func(u *store.GroupUpdate) error {
			u.Add(ids[i*100 : i*100+100]...)
			return nil
		})
		require.NoError(t, err)
	}
	auditors, err := s.CreateGroup(ctx, tenant, store.Group{DisplayName: "Auditors"}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.UpdateGroup(ctx, tenant, auditors.ID, store.ActorAdmin, func(u *store.GroupUpdate) error {
		u.Add(ids[12_000:12_100]...)
		return nil
	})
	require.NoError(t, err)

	add := func(gid string, members []string) func() error {
		return func() error {
			_, err := s.UpdateGroup(ctx, tenant, gid, store.ActorAdmin, func(u *store.GroupUpdate) error {
				u.Add(members...)
				return nil
			})
			return err
		}
	}
	round := 0 // names made by the checks are new in each round
	return hotFixture{ops: []hotOp{
		{"member add, new group", []string{"users_pkey"}, false, func() error { round++; return add(groups[500+round], ids[10_000:10_100])() }},
		// The probe for a present member names the whole primary key of
		// group_members; PostgreSQL may as well read group_members_user_idx
		// (tenant, user), which holds the groups of that one user.
		{"member add, group with members", []string{"users_pkey"}, false, add(groups[1], ids[200:400])},
		{"member add, role group", []string{"users_pkey", "group_members_user_idx"}, false, add(auditors.ID, ids[12_200:12_300])},
		{"user by id", []string{"users_pkey", "group_members_user_idx"}, false, func() error {
			_, _, err := s.GetUserWithGroups(ctx, tenant, ids[4242])
			return err
		}},
		{"users by id, together", []string{"users_pkey"}, false, func() error {
			_, _, errs := s.ReadUsersTogether(ctx, tenant, false, ids[7000:7016])
			return errs[0]
		}},
		{"user by userName", []string{"users_user_name_key_uq"}, false, func() error {
			_, _, err := s.GetUserByUserNameWithGroups(ctx, tenant, "user000004242@example.com")
			return err
		}},
		{"users by userName, together", []string{"users_user_name_key_uq"}, false, func() error {
			_, _, errs := s.ReadUsersTogether(ctx, tenant, true, []string{"user000000001@example.com", "user000019999@example.com"})
			return errs[0]
		}},
		{"user update, role resolution", []string{"users_pkey", "group_members_user_idx"}, false, func() error {
			_, err := s.UpdateUser(ctx, tenant, ids[12_050], store.ActorAdmin, func(u *store.User) error {
				u.DisplayName = fmt.Sprintf("Renamed %d", round)
				return nil
			})
			return err
		}},
		{"user creation", nil, false, func() error {
			round++
			_, errs := s.CreateUsersTogether(ctx, tenant, []store.User{{UserName: fmt.Sprintf("later%d@example.com", round), Active: true}}, store.ActorAdmin)
			return errs[0]
		}},
		{"users page", []string{"users_tenant_seq_key"}, true, func() error {
			_, err := s.ListUsers(ctx, tenant, store.UserQuery{StartIndex: 10_001, Count: 100})
			return err
		}},
		{"groups page", []string{"groups_tenant_seq_key"}, true, func() error {
			_, err := s.ListGroups(ctx, tenant, store.GroupQuery{StartIndex: 101, Count: 100})
			return err
		}},
		{"group by displayName", []string{"groups_display_name_lower_idx"}, false, func() error {
			_, err := s.ListGroups(ctx, tenant, store.GroupQuery{Count: 100,
				Filter: store.Compare{Attr: "displayName", Op: store.OpEq, Value: "Team 042"}})
			return err
		}},
		{"group creation", []string{"groups_display_name_key_uq"}, false, func() error {
			_, err := s.CreateGroup(ctx, tenant, store.Group{DisplayName: fmt.Sprintf("Later %d", round)}, store.ActorAdmin)
			return err
		}},
	}}
}

// check runs each operation, explains every statement it sent and checks
// the plans.
func (f hotFixture) check(t *testing.T, tr *planTracer, pool *pgxpool.Pool, when string) {
	t.Helper()
	for _, op := range f.ops {
		tr.take(true)
		require.NoError(t, op.run(), op.name)
		sts := tr.take(false)
		seen := map[string]bool{}
		var settings []string
		for _, st := range sts {
			if strings.HasPrefix(st.sql, "select set_config(") {
				settings = append(settings, st.sql)
				continue
			}
			if !planned(st.sql) {
				continue
			}
			custom, generic := planOf(t, pool, settings, st)
			// A count reads every live user (or group) of the tenant: a
			// scan, or any index that starts with the tenant, is its plan.
			counts := strings.HasPrefix(st.sql, "select (select count(*)")
			for kind, plan := range map[string]string{"custom": custom, "generic": generic} {
				assert.True(t, counts || !seqScanOfBigTable.MatchString(plan), "%s, %s, %s plan of\n%s\n%s", when, op.name, kind, st.sql, plan)
				assert.True(t, counts || op.walks || !tenantWalk.MatchString(plan), "%s, %s, %s plan walks the tenant:\n%s\n%s", when, op.name, kind, st.sql, plan)
				for idx, allowed := range indexesOnlyFor {
					if !counts && regexp.MustCompile(`(using|on) `+idx+`\b`).MatchString(plan) && !allowed.MatchString(st.sql) {
						t.Errorf("%s, %s, %s plan reads %s for\n%s\n%s", when, op.name, kind, idx, st.sql, plan)
					}
				}
				for _, idx := range op.want {
					if regexp.MustCompile(`(using|on) ` + idx + `\b`).MatchString(plan) {
						seen[kind+" "+idx] = true
					}
				}
			}
		}
		for _, idx := range op.want {
			for _, kind := range []string{"custom", "generic"} {
				assert.True(t, seen[kind+" "+idx], "%s, %s: no %s plan reads %s", when, op.name, kind, idx)
			}
		}
	}
}

// TestLookupByUserName_notPreparedWhileSmall proves a lookup by userName is
// planned for each run while users is small: on a new database the first
// lookups run while users is empty, where every partial index of users
// costs the same, and a prepared statement's generic plan made then
// (PostgreSQL switches to one after five runs) walked users_email_key_idx
// for every later lookup until autovacuum analysed the table. Once users
// is large they are prepared (TestUserNameLookup_preparedOnlyOnceUsersIsLarge).
func TestLookupByUserName_notPreparedWhileSmall(t *testing.T) {
	dsn := pgtest.New(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.MaxConns = 1 // every statement prepared on the one session read below
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	s := postgres.New(pool, postgres.Options{})
	t.Cleanup(s.Close)
	_, err = s.CreateTenant(ctx, store.Tenant{ID: "new", Plan: "ultimate", Seats: 10, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	lookups := func() {
		for i := range 10 {
			name := fmt.Sprintf("user%09d@example.com", i)
			_, _, _ = s.GetUserByUserNameWithGroups(ctx, "new", name)
			_, _ = s.GetUserByUserName(ctx, "new", name)
			_, _, _ = s.ReadUsersTogether(ctx, "new", true, []string{name, "nobody@example.com"})
		}
	}
	lookups() // on the empty table
	seedUsers(t, s.Pool(), "new", 20)
	time.Sleep(100 * time.Millisecond) // the size check, in the background
	lookups()
	require.False(t, s.LookupsPrepared())
	var prepared int
	require.NoError(t, s.Pool().QueryRow(ctx, `select count(*) from pg_prepared_statements
where statement like '%user_name_key = %' and statement not like '%pg_prepared_statements%'`).Scan(&prepared))
	assert.Zero(t, prepared, "lookups by userName on a small users table are not prepared statements")
}

// TestTenantIDKeepsNoStatistics proves that no table keeps statistics of
// its tenant_id (migration 0025): statistics would describe the tenants
// there when ANALYZE ran and give a tenant created later no rows, and the
// planner then took any index starting with tenant_id for that tenant's
// lookups (TestHotPlans_sameIndexWithoutStatistics). A table added with a
// tenant_id column must set it too.
func TestTenantIDKeepsNoStatistics(t *testing.T) {
	dsn := pgtest.New(t)
	s, err := postgres.Open(ctx, dsn, postgres.Options{})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	pool := s.Pool()
	rows, err := pool.Query(ctx, `select c.relname from pg_class c
join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p') and a.attstattarget <> 0
order by 1`)
	require.NoError(t, err)
	keeping, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Empty(t, keeping, "tables whose tenant_id keeps statistics")

	for _, id := range []string{"one", "two"} {
		_, err := s.CreateTenant(ctx, store.Tenant{ID: id, Plan: "ultimate", Seats: 10, Settings: store.DefaultSettings()}, store.ActorAdmin)
		require.NoError(t, err)
	}
	seedUsers(t, pool, "one", 5000)
	seedUsers(t, pool, "two", 10)
	_, err = pool.Exec(ctx, "analyze users")
	require.NoError(t, err)
	var collected, others int
	require.NoError(t, pool.QueryRow(ctx, `select count(*) filter (where attname = 'tenant_id'), count(*) filter (where attname <> 'tenant_id')
from pg_stats where schemaname = current_schema() and tablename = 'users'`).Scan(&collected, &others))
	assert.Zero(t, collected, "statistics of users.tenant_id after ANALYZE")
	assert.NotZero(t, others, "ANALYZE collected nothing at all: the check above proves nothing")
}

// TestFilteredLists_neverGenericPlan proves a filtered list of groups or
// users is planned for its values. An IdP looks each group up by
// displayName before creating it: on a new database the first lookups run
// while groups is empty, and the generic plan PostgreSQL settled on after
// five of them walked groups_tenant_seq_key, testing the name of every
// group of the tenant, for every later lookup on that connection.
func TestFilteredLists_neverGenericPlan(t *testing.T) {
	dsn := pgtest.New(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.MaxConns = 1 // every statement prepared on the one session read below
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	s := postgres.New(pool, postgres.Options{})
	t.Cleanup(s.Close)
	_, err = s.CreateTenant(ctx, store.Tenant{ID: "new", Plan: "ultimate", Seats: 10, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	lookups := func(round int) {
		for i := range 10 {
			page, err := s.ListGroups(ctx, "new", store.GroupQuery{Count: 100,
				Filter: store.Compare{Attr: "displayName", Op: store.OpEq, Value: fmt.Sprintf("Team %d", i*37)}})
			require.NoError(t, err)
			assert.Len(t, page.Groups, round, "Team %d", i*37)
			_, err = s.ListUsers(ctx, "new", store.UserQuery{Count: 100,
				Filter: store.Compare{Attr: "externalId", Op: store.OpEq, Value: fmt.Sprintf("ext-%d", i)}})
			require.NoError(t, err)
		}
	}
	lookups(0) // on empty tables
	for i := range 400 {
		_, err := s.CreateGroup(ctx, "new", store.Group{DisplayName: fmt.Sprintf("Team %d", i)}, store.ActorAdmin)
		require.NoError(t, err)
	}
	seedUsers(t, s.Pool(), "new", 5000)
	lookups(1)

	rows, err := s.Pool().Query(ctx, `select statement, generic_plans from pg_prepared_statements
where (statement like '%from groups g where g.tenant_id = $1 and%' or statement like '%from users u where u.tenant_id = $1 and%')
	and statement not like '%pg_prepared_statements%'`)
	require.NoError(t, err)
	type prepared struct {
		SQL     string
		Generic int64
	}
	sts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[prepared])
	require.NoError(t, err)
	require.NotEmpty(t, sts, "no filtered list was prepared: the check proves nothing")
	for _, st := range sts {
		assert.Zero(t, st.Generic, "a filtered list ran generic plans:\n%s", st.SQL)
	}
}

// TestNumberEvents_readsOnlyTheWaitingRows: the sequencer's numbering
// statement reaches the rows it numbers through events_unsequenced_idx
// (only the rows waiting), on a table never analysed and once analysed —
// not by walking or hashing every event, which grew with the table (a
// first sync's events cost seconds of database time so).
func TestNumberEvents_readsOnlyTheWaitingRows(t *testing.T) {
	dsn := pgtest.New(t)
	pool := connect(t, dsn)
	_, err := pool.Exec(ctx, `alter table events set (autovacuum_enabled = false);
insert into events (tenant_id, source, source_seq, action, target, occurred_at, seq)
select 'acme', 'a', g, 'user.created', 'u' || g, now(), g from generate_series(1, 50000) g;
insert into events (tenant_id, source, source_seq, action, target, occurred_at)
select 'acme', 'a', g, 'user.created', 'u' || g, now() from generate_series(50001, 52000) g`)
	require.NoError(t, err)
	rows, err := pool.Query(ctx, `select id from events where seq is null order by id`)
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Len(t, ids, 2000)
	seqs := make([]int64, len(ids))
	for i := range seqs {
		seqs[i] = int64(50001 + i)
	}
	for _, state := range []string{"never analysed", "analysed"} {
		if state == "analysed" {
			_, err := pool.Exec(ctx, "analyze events")
			require.NoError(t, err)
		}
		st := tracedStatement{sql: postgres.NumberEventsSQL, args: []any{ids, seqs}}
		custom, generic := planOf(t, pool, nil, st)
		for kind, plan := range map[string]string{"custom": custom, "generic": generic} {
			assert.Contains(t, plan, "events_unsequenced_idx", "%s, %s plan:\n%s", state, kind, plan)
			assert.NotContains(t, plan, "Seq Scan on events", "%s, %s plan:\n%s", state, kind, plan)
			assert.NotContains(t, plan, "events_pkey", "%s, %s plan:\n%s", state, kind, plan)
		}
	}
}

// TestUserNameLookup_preparedOnlyOnceUsersIsLarge: lookups by userName are
// sent planned for each run while users is small — on a new database
// PostgreSQL's generic plan for them may walk another index of the tenant
// (shown here: the plan it makes for a handful of users) and a prepared
// statement would keep it — and prepared once users has reached the size
// from which every plan, custom or generic, probes the unique userName
// index (checked here, at that size, with the tables never analysed).
func TestUserNameLookup_preparedOnlyOnceUsersIsLarge(t *testing.T) {
	dsn := pgtest.New(t)
	pool := connect(t, dsn)
	for _, table := range []string{"users", "groups", "group_members"} {
		_, err := pool.Exec(ctx, "alter table "+table+" set (autovacuum_enabled = false)")
		require.NoError(t, err)
	}
	s, err := postgres.Open(ctx, dsn, postgres.Options{})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	_, err = s.CreateTenant(ctx, store.Tenant{ID: "new", Plan: "ultimate", Seats: 1_000_000, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)

	seedUsers(t, pool, "new", 3)
	lookup := func() {
		t.Helper()
		_, err := s.GetUserByUserName(ctx, "new", "user000000001@example.com")
		require.NoError(t, err)
	}
	lookup()
	time.Sleep(200 * time.Millisecond) // the size check runs in the background
	lookup()
	assert.False(t, s.LookupsPrepared(), "3 users: planned for each run")
	argsOf := func(name string) []any {
		if name == "batched" {
			return []any{"new", []string{"user000000001@example.com", "user000000002@example.com"}}
		}
		return []any{"new", "user000000001@example.com"}
	}
	walks := false
	for name, sql := range postgres.UserNameLookups {
		_, generic := planOf(t, pool, nil, tracedStatement{sql: sql, args: argsOf(name)})
		walks = walks || !strings.Contains(generic, "users_user_name_key_uq")
	}
	t.Logf("with 3 users, a generic plan walks another index: %v", walks)

	// Grow users to the size from which lookups are prepared.
	var pages int64
	for i := 0; pages < postgres.PreparedLookupsFrom; i++ {
		_, err := pool.Exec(ctx, `insert into users (tenant_id, id, seq, user_name, user_name_key, display_name, active, seat, version, created_at, updated_at)
select 'new', 'grow-' || $1::int || '-' || g, 1000000 * ($1::int + 1) + g, 'grow' || $1::int || '-' || g || '@example.com', 'grow' || $1::int || '-' || g || '@example.com',
	'Grown User', false, 'none', 1, now(), now() from generate_series(1, 500) g`, i)
		require.NoError(t, err)
		require.NoError(t, pool.QueryRow(ctx, `select pg_relation_size('users') / current_setting('block_size')::bigint`).Scan(&pages))
	}
	for _, state := range []string{"never analysed", "analysed"} {
		if state == "analysed" {
			_, err := pool.Exec(ctx, "analyze users")
			require.NoError(t, err)
		}
		for name, sql := range postgres.UserNameLookups {
			custom, generic := planOf(t, pool, nil, tracedStatement{sql: sql, args: argsOf(name)})
			for kind, plan := range map[string]string{"custom": custom, "generic": generic} {
				plan, _, _ = strings.Cut(plan, "SubPlan") // the user's groups: none yet, any plan
				assert.Contains(t, plan, "users_user_name_key_uq", "%d pages, %s, %s, %s plan:\n%s", pages, state, name, kind, plan)
				assert.NotRegexp(t, seqScanOfBigTable, plan, "%s, %s, %s plan", state, name, kind)
				assert.NotRegexp(t, tenantWalk, plan, "%s, %s, %s plan", state, name, kind)
			}
		}
	}
	require.Eventually(t, func() bool { lookup(); return s.LookupsPrepared() }, 15*time.Second, 100*time.Millisecond,
		"lookups are prepared once users holds %d pages", postgres.PreparedLookupsFrom)
}
