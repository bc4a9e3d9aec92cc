-- 0008_lifecycle: sign-in and the user lifecycle (issue 7).
--
-- sessions: application sessions; only a SHA-256 of the token is stored.
-- saml_requests: SP-initiated AuthnRequests in flight.
-- saml_assertions: spent SAML assertions, one row per (tenant, issuer, id),
-- kept until the assertion expires. The primary key makes "accepted once"
-- hold across every rosterd process: a second insert conflicts.
-- tenant_stores: the tenant's store catalogue; users.stores must name its
-- entries (checked by trigger inside every user write, so that the Go write
-- paths stay one statement).

create table sessions (
    id         text        not null,
    tenant_id  text        not null,
    user_id    text        not null,
    hash       bytea       not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    constraint sessions_pkey primary key (id),
    constraint sessions_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
);

create index sessions_user_idx on sessions (tenant_id, user_id);
create index sessions_expires_idx on sessions (expires_at);

create table saml_assertions (
    tenant_id    text        not null,
    issuer       text        not null,
    assertion_id text        not null,
    expires_at   timestamptz not null,
    constraint saml_assertions_pkey primary key (tenant_id, issuer, assertion_id),
    constraint saml_assertions_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
);

create index saml_assertions_expires_idx on saml_assertions (expires_at);

-- SP-initiated logins in flight, found again by the RelayState the IdP echoes.
create table saml_requests (
    tenant_id    text        not null,
    relay_state  text        not null,
    request_id   text        not null,
    browser_hash bytea,
    expires_at   timestamptz not null,
    constraint saml_requests_pkey primary key (tenant_id, relay_state),
    constraint saml_requests_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
);

create index saml_requests_expires_idx on saml_requests (expires_at);

create table tenant_stores (
    tenant_id  text        not null,
    id         text        not null,
    seq        bigint      generated always as identity,
    name       text        not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint tenant_stores_pkey primary key (tenant_id, id),
    constraint tenant_stores_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
);

create index tenant_stores_tenant_seq_idx on tenant_stores (tenant_id, seq);

-- Stores that users already hold become catalogue entries (named by their
-- id), so that existing users stay writable.
insert into tenant_stores (tenant_id, id, name, created_at, updated_at)
select distinct u.tenant_id, s.id, s.id, now(), now()
from users u cross join unnest(u.stores) as s (id)
where u.deleted_at is null
on conflict do nothing;

-- The access-expiry sweep: active, live users with an expiry, by expiry.
-- Partial, so that users without an expiry (nearly all) cost nothing here.
create index users_access_expires_idx on users (access_expires_at)
    where active and deleted_at is null and access_expires_at is not null;

-- users.stores ⊆ the tenant's catalogue. The stores named are key-share
-- locked, so that a concurrent DeleteOutlet waits for this write and then
-- strips the store from it. The unknown ones travel in DETAIL as a JSON
-- array under SQLSTATE RS001 (store/postgres/errors.go).
create function roster_check_user_stores() returns trigger language plpgsql as $$
declare
    missing text[];
begin
    perform 1 from tenant_stores ts
    where ts.tenant_id = new.tenant_id and ts.id = any (new.stores)
    for key share;
    select array_agg(m.s order by m.first) into missing
    from (
        select x.s, min(x.ord) as first
        from unnest(new.stores) with ordinality as x (s, ord)
        where not exists (select 1 from tenant_stores ts where ts.tenant_id = new.tenant_id and ts.id = x.s)
        group by x.s
    ) m;
    if missing is not null then
        raise exception 'user stores not in the tenant''s store catalogue'
            using errcode = 'RS001', detail = to_json(missing)::text;
    end if;
    return new;
end
$$;

create trigger users_stores_check
    before insert or update of stores on users
    for each row
    when (new.stores is not null and cardinality(new.stores) > 0)
    execute function roster_check_user_stores();

-- Deactivation and deletion end the user's sessions in the same
-- transaction (a later reactivation revives none); deletion also removes
-- all their store access.
create function roster_user_signed_out() returns trigger language plpgsql as $$
begin
    if old.deleted_at is null and new.deleted_at is not null then
        new.stores := null;
    end if;
    delete from sessions where tenant_id = new.tenant_id and user_id = new.id;
    return new;
end
$$;

create trigger users_signed_out
    before update on users
    for each row
    when ((old.active and not new.active) or (old.deleted_at is null and new.deleted_at is not null))
    execute function roster_user_signed_out();
