package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/store"
)

// Authenticate reads the tenant, the token and the SAML configuration in one
// statement, or answers them from the auth cache (authcache.go), which every
// revocation, plan, settings or SSO change empties for the tenant before the
// next request: the SCIM guard runs it on every request. The tenant goes
// through scanTenant, so it decodes exactly as everywhere else; a cached
// tenant's seat counters and a cached token's last use may lag.
func (s *Store) Authenticate(ctx context.Context, tenantID, tokenID string) (store.Tenant, store.Token, *store.SAMLConfig, error) {
	if !keysOK(tenantID, tokenID) {
		return store.Tenant{}, store.Token{}, nil, store.ErrNotFound
	}
	k := authKey{tenantID, tokenID}
	if e, ok := s.auth.get(k); ok {
		s.authHits.Add(1)
		return e.tenant.Clone(), e.token, cloneSAML(e.saml), nil
	}
	gen, _ := s.auth.begin()
	s.authReads.Add(1)
	t, tok, cfg, err := s.authenticate(ctx, tenantID, tokenID)
	switch {
	case err == nil:
		s.auth.put(k, gen, authEntry{tenant: t.Clone(), token: tok, saml: cloneSAML(cfg)})
		s.tokens.add(tenantID, tokenID, tok.Hash) // known from now on, even while the listener is not proven
	case errors.Is(err, store.ErrNotFound):
		s.tokens.remove(tenantID, tokenID)
	}
	return t, tok, cfg, err
}

func cloneSAML(c *store.SAMLConfig) *store.SAMLConfig {
	if c == nil {
		return nil
	}
	x := *c
	return &x
}

// authenticate is Authenticate's database read.
func (s *Store) authenticate(ctx context.Context, tenantID, tokenID string) (store.Tenant, store.Token, *store.SAMLConfig, error) {
	var (
		k                   store.Token
		entityID, ssoURL    *string
		notAfter, updatedAt *time.Time
	)
	row := withExtra{s.pool.QueryRow(ctx, `select `+tenantCols+`,
	k.k_tenant_id, k.k_id, k.k_name, k.k_hash, k.k_created_at, k.k_last_used_at, k.k_revoked_at,
	c.c_entity_id, c.c_sso_url, c.c_cert_not_after, c.c_updated_at
from tenants
cross join lateral (
	select tenant_id as k_tenant_id, id as k_id, name as k_name, hash as k_hash, created_at as k_created_at,
		last_used_at as k_last_used_at, revoked_at as k_revoked_at
	from tokens where tenant_id = $1 and id = $2) as k
left join lateral (
	select entity_id as c_entity_id, sso_url as c_sso_url, cert_not_after as c_cert_not_after, updated_at as c_updated_at
	from saml_configs where tenant_id = $1) as c on true
where id = $1`, tenantID, tokenID), []any{
		&k.TenantID, &k.ID, &k.Name, &k.Hash, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt,
		&entityID, &ssoURL, &notAfter, &updatedAt,
	}}
	t, err := scanTenant(row)
	if err != nil {
		return store.Tenant{}, store.Token{}, nil, s.convert("Authenticate", err, nil)
	}
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = store.Timestamp(k.CreatedAt), tsPtr(k.LastUsedAt), tsPtr(k.RevokedAt)
	var cfg *store.SAMLConfig
	if entityID != nil {
		cfg = &store.SAMLConfig{TenantID: tenantID, EntityID: *entityID, SSOURL: *ssoURL,
			CertNotAfter: store.Timestamp(*notAfter), UpdatedAt: store.Timestamp(*updatedAt)}
	}
	return t, k, cfg, nil
}

// withExtra is a row whose Scan fills extra destinations after the ones the
// caller names: a tenant scanner reads its columns, the rest land in extra.
type withExtra struct {
	row   pgx.Row
	extra []any
}

func (r withExtra) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra...)...) }

// SPKeyPair returns the tenant's SP key pair, creating it on first use. The
// pair is made outside any transaction (RSA key generation takes tens of
// milliseconds); the insert keeps the first stored pair, and every caller
// reads that one back.
func (s *Store) SPKeyPair(ctx context.Context, tenantID string, create func() (keyPEM, certPEM []byte, err error)) ([]byte, []byte, error) {
	if !keysOK(tenantID) {
		return nil, nil, store.ErrNotFound
	}
	read := func() ([]byte, []byte, error) {
		var key, cert []byte
		err := s.pool.QueryRow(ctx, `select key_pem, cert_pem from sp_keys where tenant_id = $1`, tenantID).Scan(&key, &cert)
		return key, cert, err
	}
	key, cert, err := read()
	if err == nil {
		return key, cert, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, s.convert("SPKeyPair", err, nil)
	}
	newKey, newCert, err := create()
	if err != nil {
		return nil, nil, err
	}
	// An unknown tenant fails the foreign key: ErrNotFound.
	if _, err := s.pool.Exec(ctx, `insert into sp_keys (tenant_id, key_pem, cert_pem, created_at)
values ($1, $2, $3, $4)
on conflict on constraint sp_keys_pkey do nothing`, tenantID, newKey, newCert, s.clock()); err != nil {
		return nil, nil, s.convert("SPKeyPair", err, nil)
	}
	key, cert, err = read()
	if err != nil {
		return nil, nil, s.convert("SPKeyPair", err, nil)
	}
	return key, cert, nil
}
