package postgres

// Plans that do not depend on statistics.
//
// An IdP's first sync fills a new tenant — often a new database — faster
// than autovacuum analyses the tables: for the first minute or so of
// 100,000 creations PostgreSQL plans with no statistics at all. It then
// takes any equality to hold for 0.5 % of the rows and "deleted_at is null"
// for 0.5 % too, so a partial index (where deleted_at is null) looks 200
// times smaller than it is, and an index that only starts with tenant_id
// looks as good as the key of the row asked for. Lookups by id went through
// users_external_id_idx or the userName index — every user of the tenant
// walked for each id, 3.6 ms a member added at 20,000 users — until the
// table was analysed. The hot statements are therefore shaped so that the
// intended index is the only sensible plan whatever the statistics say
// (TestHotPlans_sameIndexWithoutStatistics explains each of them on tables
// never analysed and analysed, in the custom and the generic plan):
//
//   - A lookup by id names the whole primary key and tests liveness with
//     liveByKey, which no partial index's predicate matches: the primary key
//     is then the only index that applies to it.
//   - A lookup of many ids is one probe per id (a lateral subquery with
//     "offset 0"), never a join whose plan (a hash join over the tenant's
//     users, judged tiny) depends on a row estimate.
//   - A page in creation order reads users_tenant_seq_key in order rather
//     than sorting the tenant (ListUsers turns sorting off for that one
//     statement, in its own implicit transaction).
//   - users_external_id_idx covers every row (migration 0020), so it no
//     longer competes with the userName index for a lookup by userName.
//   - A lookup by userName is planned for each run while users is small,
//     and prepared once it is not (lookupplans.go): pgx prepares every
//     statement, and PostgreSQL keeps a prepared statement's generic plan
//     once it has chosen one — for a new tenant's first lookups, made while
//     users was empty and every partial index cost the same; one that
//     walked users_email_key_idx for each lookup was kept. Past 2 MB of
//     users no plan can prefer a walk to the unique index. Planning every
//     statement for each run (plan_cache_mode = force_custom_plan) was
//     measured: a user creation's statement took three times as long,
//     planned each time.
//
// Statistics can mislead the other way too. Once ANALYZE has run, they
// describe the tenants the tables held then: on a database whose first
// tenant has synced, every user belongs to that tenant, and a tenant created
// afterwards has no rows at all in the planner's eyes, however many it gets.
// Every index that starts with tenant_id then looks as good as the key
// asked for, and PostgreSQL took the smallest (users_tenant_seq_key,
// users_external_id_idx) for the new tenant's lookups by id and userName,
// member adds and group lookups, each walking the tenant's rows: a second
// tenant's first sync slowed down as it grew (the user phase of 50,000 had
// not ended after three minutes). So no table keeps statistics of
// tenant_id (migration 0025, TestTenantIDKeepsNoStatistics): the planner
// takes every tenant, known or new, to hold 1/200 of a table, and the
// plans rest on the keys the statements name.
//
// A filtered list (GET /Groups?filter=displayName eq "…", the lookup an IdP
// makes before creating each group, or any other filter) is planned for its
// values: pgx prepares it, and the generic plan PostgreSQL settles on after
// five runs — made, on a new database, while groups was still empty, where
// walking groups_tenant_seq_key in order and testing each group's name
// costs nothing — was kept, and every later lookup walked all the tenant's
// groups (TestFilteredLists_neverGenericPlan). customPlans turns generic
// plans off for the list's own batch, an implicit transaction; the
// statements stay prepared (no parse per run). Planning every statement so
// was measured and refused (above); a list's plan costs little next to it.
//
// Nothing here runs ANALYZE: the shapes hold on tables in any state.

// liveByKey is "u.deleted_at is null" for a statement that finds a user by
// its primary key. Written plainly, the test lets PostgreSQL use the
// partial indexes (where deleted_at is null), which without statistics it
// costs as 200 times smaller than they are; "is true" changes nothing (the
// test is never null) but matches no index predicate.
const liveByKey = `(u.deleted_at is null) is true`

// customPlans makes the statements after it in a batch (one implicit
// transaction) be planned for their arguments, never by a generic plan.
const customPlans = `select set_config('plan_cache_mode', 'force_custom_plan', true)`
