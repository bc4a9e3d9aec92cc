-- 0007_roles: role resolution (issue 6).
--
-- users.explicit_role is the role the user's own attributes (or an
-- operator) name; users.role stays the resolved one: explicit role, else the
-- first group → role mapping of a group the user is in, else the tenant's
-- default role. Roles written before this migration were all explicit.

alter table users add column explicit_role text not null default '';

update users set explicit_role = role where role <> '';

-- Privileged role grants over SCIM held for an operator
-- (settings.privileged_roles = approve).
create table approvals (
    tenant_id      text        not null,
    id             text        not null,
    seq            bigint      generated always as identity,
    user_id        text        not null,
    role           text        not null,
    status         text        not null default 'pending',
    requested_kind text        not null default '',
    requested_id   text        not null default '',
    requested_name text        not null default '',
    request_id     text        not null default '',
    created_at     timestamptz not null,
    decided_at     timestamptz,
    decided_by     text        not null default '',
    constraint approvals_pkey primary key (tenant_id, id),
    constraint approvals_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade,
    constraint approvals_status_check check (status in ('pending', 'approved', 'rejected', 'superseded'))
);

create index approvals_tenant_seq_idx on approvals (tenant_id, seq);

-- One pending request per user and role: an IdP that re-sends the attribute
-- on every push asks nothing new.
create unique index approvals_pending_uq on approvals (tenant_id, user_id, role) where status = 'pending';
