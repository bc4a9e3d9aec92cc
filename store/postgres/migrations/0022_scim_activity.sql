-- 0022_scim_activity: the SCIM provisioning activity log (docs/contract.md
-- "SCIM activity"): per tenant the newest 1,000 SCIM requests as Roster
-- answered them, read back no older than 7 days.
--
-- A ring per tenant: scim_activity_heads counts the entries a tenant ever
-- recorded, and entry n lives in slot n % 1000, upserted in place. So a
-- write never deletes, storage per tenant never exceeds 1,000 rows, and
-- there is no trimming job. The counter is a table of its own, not a column
-- of tenants: a tenant row write would take the tenant's lock that every
-- seat-counting write takes, and fire the roster_auth notification that
-- empties every rosterd's auth cache (0010).
--
-- scim_activity is only ever updated in place, never on its key: with
-- half of each page left free, an update can stay on its page (a HOT
-- update, no index write), and the table's size is bounded by the rings
-- anyway.
create table scim_activity_heads (
    tenant_id text   not null,
    seq       bigint not null,
    constraint scim_activity_heads_pkey primary key (tenant_id),
    constraint scim_activity_heads_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
);

create table scim_activity (
    tenant_id   text        not null,
    slot        integer     not null,
    seq         bigint      not null,
    at          timestamptz not null,
    token_id    text        not null default '',
    token_name  text        not null default '',
    method      text        not null,
    path        text        not null,
    status      integer     not null,
    detail      text        not null default '',
    duration_us bigint      not null default 0,
    constraint scim_activity_pkey primary key (tenant_id, slot),
    constraint scim_activity_slot_check check (slot >= 0 and slot < 1000),
    constraint scim_activity_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
) with (fillfactor = 50);
