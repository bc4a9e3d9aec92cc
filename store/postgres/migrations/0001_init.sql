-- 0001_init: Roster's initial schema.
--
-- Every tenant-owned table is keyed by (tenant_id, …) and cascades from
-- tenants, so that deleting a tenant removes everything it owns. Ids are text:
-- clients may choose any string, and nothing casts client input to uuid.

create table tenants (
    id          text        not null,
    seq         bigint      generated always as identity,
    name        text        not null default '',
    plan        text        not null default '',
    seats       integer     not null default 0,
    addons      text[],
    settings    jsonb       not null default '{}',
    -- Seats held right now, moved in the transaction of every seat change.
    seats_full  integer     not null default 0,
    seats_light integer     not null default 0,
    -- Per-tenant counters. Bumping one locks the tenant row, so values are
    -- handed out in commit order: paging by seq never skips or repeats.
    user_seq    bigint      not null default 0,
    group_seq   bigint      not null default 0,
    seat_seq    bigint      not null default 0,
    created_at  timestamptz not null,
    updated_at  timestamptz not null,
    constraint tenants_pkey primary key (id),
    constraint tenants_seq_key unique (seq)
);

create table tokens (
    tenant_id    text        not null,
    id           text        not null,
    seq          bigint      generated always as identity,
    name         text        not null default '',
    hash         bytea,
    created_at   timestamptz not null,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    constraint tokens_pkey primary key (tenant_id, id),
    constraint tokens_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
);

create index tokens_tenant_seq_idx on tokens (tenant_id, seq);

create table saml_configs (
    tenant_id      text        not null,
    metadata_xml   text        not null default '',
    entity_id      text        not null default '',
    sso_url        text        not null default '',
    cert_not_after timestamptz not null,
    updated_at     timestamptz not null,
    constraint saml_configs_pkey primary key (tenant_id),
    constraint saml_configs_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
);

create table roles (
    tenant_id   text        not null,
    name        text        not null,
    seq         bigint      generated always as identity,
    description text        not null default '',
    permissions text[],
    privileged  boolean     not null default false,
    seat_class  text        not null default 'full',
    created_at  timestamptz not null,
    updated_at  timestamptz not null,
    constraint roles_pkey primary key (tenant_id, name),
    constraint roles_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade,
    constraint roles_seat_class_check check (seat_class in ('full', 'light'))
);

create index roles_tenant_seq_idx on roles (tenant_id, seq);

create table role_mappings (
    tenant_id  text    not null,
    position   integer not null,
    group_name text    not null,
    role       text    not null,
    constraint role_mappings_pkey primary key (tenant_id, position),
    constraint role_mappings_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
);

-- users: DELETE is a soft delete (deleted_at), so that the row stays for the
-- audit trail; every read filters deleted_at is null and the userName becomes
-- free again through the partial unique index.
create table users (
    tenant_id             text        not null,
    id                    text        not null,
    seq                   bigint      not null,
    external_id           text        not null default '',
    user_name             text        not null,
    user_name_key         text        not null, -- store.FoldKey(user_name)
    name_formatted        text        not null default '',
    name_family           text        not null default '',
    name_given            text        not null default '',
    name_middle           text        not null default '',
    name_honorific_prefix text        not null default '',
    name_honorific_suffix text        not null default '',
    display_name          text        not null default '',
    nick_name             text        not null default '',
    profile_url           text        not null default '',
    title                 text        not null default '',
    user_type             text        not null default '',
    preferred_language    text        not null default '',
    locale                text        not null default '',
    timezone              text        not null default '',
    active                boolean     not null default false,
    -- Multi-valued attributes as JSON arrays; null when the caller sent none.
    emails                jsonb,
    phone_numbers         jsonb,
    addresses             jsonb,
    scim_roles            jsonb,
    ent_employee_number   text        not null default '',
    ent_cost_center       text        not null default '',
    ent_organization      text        not null default '',
    ent_division          text        not null default '',
    ent_department        text        not null default '',
    ent_manager_id        text        not null default '',
    role                  text        not null default '',
    stores                text[],
    seat                  text        not null default 'none',
    access_expires_at     timestamptz,
    last_active_at        timestamptz,
    version               bigint      not null default 1,
    created_at            timestamptz not null,
    updated_at            timestamptz not null,
    deleted_at            timestamptz,
    constraint users_pkey primary key (tenant_id, id),
    constraint users_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade,
    constraint users_tenant_seq_key unique (tenant_id, seq),
    constraint users_seat_check check (seat in ('none', 'full', 'light'))
);

create unique index users_user_name_key_uq on users (tenant_id, user_name_key) where deleted_at is null;

create table groups (
    tenant_id        text        not null,
    id               text        not null,
    seq              bigint      not null,
    display_name     text        not null,
    display_name_key text        not null, -- store.FoldKey(display_name)
    external_id      text        not null default '',
    version          bigint      not null default 1,
    created_at       timestamptz not null,
    updated_at       timestamptz not null,
    constraint groups_pkey primary key (tenant_id, id),
    constraint groups_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade,
    constraint groups_tenant_seq_key unique (tenant_id, seq),
    constraint groups_display_name_key_uq unique (tenant_id, display_name_key)
);

-- One row per membership: adding a member inserts a row, never rewrites the group.
create table group_members (
    tenant_id text not null,
    group_id  text not null,
    user_id   text not null,
    constraint group_members_pkey primary key (tenant_id, group_id, user_id),
    constraint group_members_group_fkey foreign key (tenant_id, group_id)
        references groups (tenant_id, id) on delete cascade,
    constraint group_members_user_fkey foreign key (tenant_id, user_id)
        references users (tenant_id, id) on delete cascade
);

create index group_members_user_idx on group_members (tenant_id, user_id);

-- The seat ledger: append-only, seq per tenant (tenants.seat_seq).
create table seat_events (
    tenant_id  text        not null,
    seq        bigint      not null,
    at         timestamptz not null,
    user_id    text        not null,
    class      text        not null,
    delta      integer     not null,
    reason     text        not null,
    actor_kind text        not null default '',
    actor_id   text        not null default '',
    constraint seat_events_pkey primary key (tenant_id, seq),
    constraint seat_events_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
);

create index seat_events_user_idx on seat_events (tenant_id, user_id, seq);

-- The audit trail. seq comes from one identity for all tenants, so that
-- writes that do not otherwise touch the tenant row need not lock it; it
-- increases within a tenant, which is all that paging needs.
create table audit_events (
    tenant_id   text        not null,
    seq         bigint      generated always as identity,
    at          timestamptz not null,
    actor_kind  text        not null default '',
    actor_id    text        not null default '',
    action      text        not null,
    target_type text        not null default '',
    target_id   text        not null default '',
    detail      text        not null default '',
    constraint audit_events_pkey primary key (tenant_id, seq),
    constraint audit_events_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
);
