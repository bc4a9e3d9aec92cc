-- 0017_api_keys: tenants' admin API keys (rsk_<id>_<secret>,
-- store/postgres/apikeys.go). The id is unique across tenants, since the key
-- names its record and so its tenant; only a SHA-256 of the whole key is
-- stored. created_by_* is who minted it, for the list an admin reads.
-- Deleting the tenant deletes its keys. Each rosterd keeps the ids and
-- hashes in memory (store/postgres/apikeyset.go), so that a made-up key is
-- refused without a read; an insert or delete notifies the others, as
-- migrations 0010 and 0016 do for SCIM tokens.
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

create trigger api_keys_auth_insert after insert on api_keys for each row
	execute function roster_auth_notify_owned();
create trigger api_keys_auth_delete after delete on api_keys for each row
	execute function roster_auth_notify_owned();
