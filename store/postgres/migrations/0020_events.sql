-- 0020_events: outbound events and webhook deliveries (docs/events.md).
--
-- Every change already writes its audit events and seat-ledger entries in
-- its own transaction. The triggers below add one narrow row to events per
-- such row, in that same statement and transaction: a change that rolls
-- back leaves none, a committed one is never lost. The row holds no copy of
-- the change: an event's JSON is made when it is read (the pull API, a
-- delivery) from the audit or ledger row it points at, by one mapping in Go
-- shared with the memory store.
--
-- seq is the commit order, handed out after the commit by the sequencer
-- (store/postgres/events.go): it reads the rows without one in id order,
-- numbers them and queues the deliveries of tenants that have endpoints, in
-- one transaction, one sequencer at a time (a transaction-scoped advisory
-- lock, which works behind a pooler in transaction mode).
--
-- Why id order is commit order where it matters: rows of a transaction still
-- running are invisible, so they are numbered by a later pass than anything
-- that committed before them. Two changes of one user are serialised by the
-- user's row lock, so the second one's rows are inserted after the first
-- committed.
create table events (
    id         bigint generated always as identity,
    tx         xid8        not null default pg_current_xact_id(),
    tenant_id  text        not null,
    source     "char"      not null, -- 'a': audit_events, 's': seat_events
    source_seq bigint      not null,
    -- What the sequencer needs to route most events without reading the
    -- change: the audit action (or seat.consumed / seat.released) and the
    -- record it is about (store.EventRoute).
    action     text        not null,
    target     text        not null,
    occurred_at timestamptz not null, -- the change's own time (its audit or ledger row's)
    seq        bigint,               -- null until sequenced
    constraint events_pkey primary key (id)
);
-- The sequencer's work, and the pull API's pages.
create index events_unsequenced_idx on events (id) where seq is null;
create index events_tenant_seq_idx on events (tenant_id, seq) where seq is not null;
create index events_occurred_idx on events (occurred_at);

-- Numbers of events: a sequence, so that a cursor never points past
-- numbers handed out again.
create sequence events_seq;

create function events_from_audit() returns trigger language plpgsql as $$
begin
    -- Only the actions that make events (store.EventActions; a test holds
    -- the two lists equal): sign-ins, roles, stores and keys make none.
    insert into events (tenant_id, source, source_seq, action, target, occurred_at)
    select tenant_id, 'a', seq, action, target_id, at from new_audit
    where tenant_id <> '' and action in ('user.created', 'user.updated', 'user.deleted',
        'group.created', 'group.updated', 'group.deleted',
        'role.approval_requested', 'role.approval_approved', 'role.approval_rejected', 'role.approval_superseded',
        'saml.updated', 'saml.deleted', 'token.created', 'token.revoked')
    order by seq;
    return null;
end $$;

create function events_from_seats() returns trigger language plpgsql as $$
begin
    insert into events (tenant_id, source, source_seq, action, target, occurred_at)
    select tenant_id, 's', seq, case when delta > 0 then 'seat.consumed' else 'seat.released' end, user_id, at
    from new_seats order by seq;
    return null;
end $$;

create trigger audit_events_events after insert on audit_events
    referencing new table as new_audit for each statement execute function events_from_audit();
create trigger seat_events_events after insert on seat_events
    referencing new table as new_seats for each statement execute function events_from_seats();

-- A group update's membership operations, for its events; the trail's own
-- answer leaves them out.
alter table audit_events add column members_json text;

create table webhooks (
    tenant_id       text        not null,
    id              text        not null,
    url             text        not null,
    events          text[]      not null default '{}',
    secret          text        not null,
    created_at      timestamptz not null,
    created_by_kind text        not null default '',
    created_by_id   text        not null default '',
    created_by_name text        not null default '',
    failing_since   timestamptz,
    disabled_at     timestamptz,
    disabled_reason text        not null default '',
    constraint webhooks_pkey primary key (tenant_id, id),
    constraint webhooks_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
);

-- One row per event and endpoint, with its last attempt. lease_until keeps
-- a claimed delivery from other deliverers until it runs out (a deliverer
-- that died loses it).
create table deliveries (
    id              bigint generated always as identity,
    tenant_id       text        not null,
    webhook_id      text        not null,
    event_seq       bigint      not null,
    part            integer     not null, -- which of the events its change made (store.EventID)
    event_type      text        not null,
    event_row       bigint      not null, -- events.id
    subject         text        not null,
    -- ready marks the head of its chain: the earliest pending delivery of
    -- one endpoint and subject, the only one a claim may take (deliveries
    -- of one user go out in order). The sequencer sets it on a delivery
    -- that starts a chain, a finished delivery passes it on.
    ready           boolean     not null default false,
    status          text        not null default 'pending',
    attempts        integer     not null default 0,
    next_at         timestamptz not null,
    lease_until     timestamptz,
    created_at      timestamptz not null,
    last_attempt_at timestamptz,
    response_code   integer     not null default 0,
    duration_ms     integer     not null default 0,
    last_error      text        not null default '',
    constraint deliveries_pkey primary key (id),
    constraint deliveries_webhook_fkey foreign key (tenant_id, webhook_id) references webhooks (tenant_id, id) on delete cascade
);
-- Due work (only chains' heads: a claim reads no more rows than it takes),
-- and the chains, to find a head.
create index deliveries_due_idx on deliveries (next_at) where ready and status = 'pending';
create index deliveries_chain_idx on deliveries (tenant_id, webhook_id, subject, event_seq, part) where status = 'pending';
-- The delivery log of an endpoint, newest first.
create index deliveries_log_idx on deliveries (tenant_id, webhook_id, id);
