package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/store"
)

// recordActivitySQL appends a batch of activity entries to their tenants'
// rings (migration 0022) in one statement: entries of unknown tenants are
// left out by the join with tenants (whose rows it holds FOR KEY SHARE, so
// that a tenant being deleted waits for it or is gone before it); each
// tenant's head counter is raised by its number of entries, which numbers
// them (the batch's order within a tenant), and entry n is upserted into
// slot n % 1000. The heads are locked in tenant order before any slot of
// their tenant is written, so two flushes touching the same tenants wait
// for each other and never deadlock; a tenant's head is only written
// together with its slots, so two rosterds never number two entries alike.
// A batch holds at most 1,000 entries per tenant (NewestActivityPerTenant):
// one statement may not upsert one slot twice.
const recordActivitySQL = `with input as (
    select * from unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::bigint[])
        with ordinality as v (tenant_id, at, token_id, token_name, method, path, status, detail, duration_us, ord)
), known as (
    select id from tenants where id in (select tenant_id from input) order by id for key share
), counts as (
    select i.tenant_id, count(*) as n from input i join known k on k.id = i.tenant_id group by i.tenant_id
), heads as (
    insert into scim_activity_heads as h (tenant_id, seq)
    select tenant_id, n from counts order by tenant_id
    on conflict (tenant_id) do update set seq = h.seq + excluded.seq
    returning h.tenant_id, h.seq
), numbered as (
    select i.*, h.seq - c.n + row_number() over (partition by i.tenant_id order by i.ord) as seq
    from input i join heads h on h.tenant_id = i.tenant_id join counts c on c.tenant_id = i.tenant_id
)
insert into scim_activity as a (tenant_id, slot, seq, at, token_id, token_name, method, path, status, detail, duration_us)
select tenant_id, (seq % 1000)::integer, seq, at, token_id, token_name, method, path, status, detail, duration_us
from numbered order by tenant_id, seq
on conflict (tenant_id, slot) do update set seq = excluded.seq, at = excluded.at, token_id = excluded.token_id,
    token_name = excluded.token_name, method = excluded.method, path = excluded.path, status = excluded.status,
    detail = excluded.detail, duration_us = excluded.duration_us`

func (s *Store) RecordActivity(ctx context.Context, entries []store.ActivityEntry) error {
	entries = store.NewestActivityPerTenant(entries)
	if len(entries) == 0 {
		return nil
	}
	n := len(entries)
	tenants, ats := make([]string, n), make([]time.Time, n)
	tokenIDs, tokenNames := make([]string, n), make([]string, n)
	methods, paths, details := make([]string, n), make([]string, n), make([]string, n)
	statuses, durations := make([]int32, n), make([]int64, n)
	for i, e := range entries {
		e = e.Normalize()
		tenants[i], ats[i], tokenIDs[i], tokenNames[i] = e.TenantID, e.At, e.TokenID, e.TokenName
		methods[i], paths[i], details[i] = e.Method, e.Path, e.Detail
		statuses[i], durations[i] = int32(e.Status), e.Duration.Microseconds()
	}
	_, err := s.pool.Exec(ctx, recordActivitySQL, tenants, ats, tokenIDs, tokenNames, methods, paths, statuses, details, durations)
	return s.convert("RecordActivity", err, nil)
}

func (s *Store) ListActivity(ctx context.Context, tenantID string, q store.ActivityQuery) ([]store.ActivityEntry, error) {
	limit := q.Limit
	if limit <= 0 || limit > store.ActivityKeep {
		limit = store.ActivityKeep
	}
	return listOfTenant(ctx, s, "ListActivity", `select at, token_id, token_name, method, path, status, detail, duration_us
from scim_activity where tenant_id = $1 and at >= $2 and (not $3 or status >= 400)
order by at desc, seq desc limit $4`, func(row pgx.Row) (store.ActivityEntry, error) {
		e := store.ActivityEntry{TenantID: tenantID}
		var us int64
		err := row.Scan(&e.At, &e.TokenID, &e.TokenName, &e.Method, &e.Path, &e.Status, &e.Detail, &us)
		e.At, e.Duration = store.Timestamp(e.At), time.Duration(us)*time.Microsecond
		return e, err
	}, tenantID, store.ActivityCutoff(s.clock(), q.Since), q.ErrorsOnly, limit)
}

func (s *Store) CountActivityErrors(ctx context.Context, tenantID string, since time.Time) (int, error) {
	var n int
	var known bool
	err := s.pool.QueryRow(ctx, `select exists (select 1 from tenants where id = $1),
    (select count(*) from scim_activity where tenant_id = $1 and at >= $2 and status >= 400)`,
		tenantID, store.ActivityCutoff(s.clock(), since)).Scan(&known, &n)
	if err != nil {
		return 0, s.convert("CountActivityErrors", err, nil)
	}
	if !known {
		return 0, store.ErrNotFound
	}
	return n, nil
}
