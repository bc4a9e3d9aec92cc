-- 0017_api_keys: tenants' admin API keys (rsk_<id>_<secret>,
-- store/postgres/apikeys.go). The id is unique across tenants, since the key
-- names its record and so its tenant; only a SHA-256 of the whole key is
-- stored. created_by_* is who minted it, for the list an admin reads.
-- Deleting the tenant deletes its keys.
create table api_keys (
    id              text        not null,
    tenant_id       text        not null,
    seq             bigint      generated always as identity,
    name            text        not null,
    permissions     text[]      not null default '{}',
    hash            bytea       not null,
    created_at      timestamptz not null,
    created_by_kind text        not null default '',
    created_by_id   text        not null default '',
    created_by_name text        not null default '',
    last_used_at    timestamptz,
    revoked_at      timestamptz,
    constraint api_keys_pkey primary key (id),
    constraint api_keys_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
);

create index api_keys_tenant_idx on api_keys (tenant_id, seq);
