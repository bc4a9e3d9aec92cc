-- 0005_sp_keys: each tenant's SAML service-provider key pair (issue 4).
--
-- Created on first use by SPKeyPair: insert … on conflict do nothing, then
-- read back, so that processes racing on a tenant's first login all use the
-- pair that was stored first. The private key is stored as PKCS#8 PEM; it
-- signs AuthnRequests and decrypts assertions for this tenant only.

create table sp_keys (
    tenant_id  text        not null,
    key_pem    bytea       not null,
    cert_pem   bytea       not null,
    created_at timestamptz not null,
    constraint sp_keys_pkey primary key (tenant_id),
    constraint sp_keys_tenant_fkey foreign key (tenant_id) references tenants (id) on delete cascade
);
