-- 0019_console_links: single-use links that sign one user into the console
-- (docs/contract.md "Console links"). Only a SHA-256 of the code is
-- stored; the code is unique across tenants, as a random 32-byte code is.
-- used_at is set once, when the link is redeemed; a redemption locks the
-- link's user first, then the link row (store/postgres/consolelinks.go).
-- Deleting the tenant deletes its links. sessions.console_link marks the
-- sessions a link started: they outlive a plan without SAML SSO.
create table console_links (
    code_hash  bytea       not null,
    tenant_id  text        not null,
    user_id    text        not null,
    created_by text        not null default '',
    created_at timestamptz not null,
    expires_at timestamptz not null,
    used_at    timestamptz,
    constraint console_links_pkey primary key (code_hash),
    constraint console_links_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
);

create index console_links_tenant_idx on console_links (tenant_id, expires_at);

alter table sessions add column console_link boolean not null default false;
