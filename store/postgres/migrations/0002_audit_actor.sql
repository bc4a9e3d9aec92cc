-- 0002_audit_actor: the whole actor (token name, request id) on ledger and
-- audit entries, and the audited record before and after the change.
--
-- No index serves the audit trail's filters by user, actor or action: every
-- user creation writes an audit event, and an index on it costs the create
-- path more than these rare operator queries gain (they walk the tenant's
-- trail newest first through audit_events_pkey and stop at the page size).

alter table seat_events
    add column actor_name text not null default '',
    add column request_id text not null default '';

alter table audit_events
    add column actor_name  text not null default '',
    add column request_id  text not null default '',
    add column before_json text not null default '', -- store.AuditJSON of the target before ('' on create)
    add column after_json  text not null default ''; -- … and after ('' on delete)
