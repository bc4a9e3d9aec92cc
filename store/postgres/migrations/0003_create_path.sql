-- 0003_create_path: make user creation, the hottest write, cheaper.
--
-- 1. No foreign-key triggers on the rows every creation writes (users,
-- seat_events, audit_events): each costs a trigger and a lookup per row, and
-- here checks nothing the writes do not already guarantee.
--
-- Every such row is written by a transaction that holds a lock on a row that
-- DeleteTenant deletes: the tenant row (user creation bumps tenants.user_seq,
-- every ledger entry bumps tenants.seat_seq; AppendAudit takes a key-share
-- lock on it), or the user, group or role row the audit event is about.
-- So the tenant exists when the row is written and cannot be deleted before
-- it commits. DeleteTenant deletes these tables' rows explicitly, after the
-- tenant row, in new statements that see every such committed write.

alter table users drop constraint users_tenant_fkey;
alter table seat_events drop constraint seat_events_tenant_fkey;
alter table audit_events drop constraint audit_events_tenant_fkey;

-- 2. No index on the ledger by user: every activation inserts into it at a
-- random point (user ids are random). The ledger of one user is an operator
-- query; it walks the tenant's ledger in order through seat_events_pkey.
drop index seat_events_user_idx;
