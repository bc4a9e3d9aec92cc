package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/store"
)

// Tenants' admin API keys (migration 0017). The admin API reads a key per
// request that presents one (GetAPIKey, by primary key); revocation is a
// committed row, so every process refuses a revoked key at its next request.

const apiKeyCols = `tenant_id, id, name, permissions, hash, created_at, created_by_kind, created_by_id, created_by_name, last_used_at, revoked_at`

func scanAPIKey(row pgx.Row) (store.APIKey, error) {
	var k store.APIKey
	if err := row.Scan(&k.TenantID, &k.ID, &k.Name, &k.Permissions, &k.Hash, &k.CreatedAt,
		&k.CreatedBy.Kind, &k.CreatedBy.ID, &k.CreatedBy.Name, &k.LastUsedAt, &k.RevokedAt); err != nil {
		return store.APIKey{}, err
	}
	if k.Permissions == nil {
		k.Permissions = []string{}
	}
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = store.Timestamp(k.CreatedAt), tsPtr(k.LastUsedAt), tsPtr(k.RevokedAt)
	return k, nil
}

func (s *Store) CreateAPIKey(ctx context.Context, tenantID string, k store.APIKey, by store.Actor) (store.APIKey, error) {
	if !keysOK(tenantID, k.ID) {
		return store.APIKey{}, store.ErrNotFound
	}
	if !keysOK(k.Name) || !keysOK(k.Permissions...) {
		return store.APIKey{}, &store.InvalidError{Field: "name", Reason: "must be text without NUL characters"}
	}
	if k.ID == "" {
		k.ID = s.newID()
	}
	perms := k.Permissions
	if perms == nil {
		perms = []string{}
	}
	by.RequestID = ""
	var out store.APIKey
	// The foreign key takes a key-share lock on the tenant row, which keeps
	// DeleteTenant from passing the audit insert.
	err := s.inTx(ctx, "CreateAPIKey", vals{"id": k.ID}, func(tx pgx.Tx) error {
		var err error
		now := s.clock()
		out, err = scanAPIKey(tx.QueryRow(ctx, `insert into api_keys
	(tenant_id, id, name, permissions, hash, created_at, created_by_kind, created_by_id, created_by_name, last_used_at, revoked_at)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
returning `+apiKeyCols, tenantID, k.ID, k.Name, perms, k.Hash, now, by.Kind, by.ID, by.Name, tsPtr(k.LastUsedAt), tsPtr(k.RevokedAt)))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, auditInsert, auditArgs(tenantID, now, by, store.ActionAPIKeyCreated, "api_key", out.ID, "", "", store.APIKeyAudit(out))...)
		return err
	})
	if err != nil {
		return store.APIKey{}, err
	}
	s.keys.add(tenantID, out.ID, out.Hash) // after the commit; other processes reload on its NOTIFY
	return out, nil
}

func (s *Store) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	if !keysOK(id) {
		return store.APIKey{}, store.ErrNotFound
	}
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `select `+apiKeyCols+` from api_keys where id = $1`, id))
	if err != nil {
		err = s.convert("GetAPIKey", err, nil)
		if errors.Is(err, store.ErrNotFound) {
			s.keys.remove(id)
		}
		return store.APIKey{}, err
	}
	s.keys.add(k.TenantID, k.ID, k.Hash) // known from now on, even while the listener is not proven
	return k, nil
}

func (s *Store) ListAPIKeys(ctx context.Context, tenantID string) ([]store.APIKey, error) {
	if !keysOK(tenantID) {
		return nil, store.ErrNotFound
	}
	out, err := listOfTenant(ctx, s, "ListAPIKeys", `select `+apiKeyCols+` from api_keys where tenant_id = $1 order by seq`, scanAPIKey, tenantID)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []store.APIKey{}
	}
	return out, nil
}

// RevokeAPIKey revokes a key; revoking it again keeps the first time and
// records nothing.
func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time, by store.Actor) (store.APIKey, error) {
	if !keysOK(tenantID, id) {
		return store.APIKey{}, store.ErrNotFound
	}
	var out store.APIKey
	err := s.inTx(ctx, "RevokeAPIKey", nil, func(tx pgx.Tx) error {
		old, err := scanAPIKey(tx.QueryRow(ctx, `select `+apiKeyCols+` from api_keys where tenant_id = $1 and id = $2 for no key update`, tenantID, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return callerErr{store.ErrNotFound}
		}
		if err != nil {
			return err
		}
		if old.RevokedAt != nil {
			out = old
			return nil
		}
		out, err = scanAPIKey(tx.QueryRow(ctx, `update api_keys set revoked_at = $3
where tenant_id = $1 and id = $2
returning `+apiKeyCols, tenantID, id, store.Timestamp(at)))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, auditInsert, auditArgs(tenantID, s.clock(), by, store.ActionAPIKeyRevoked, "api_key", id, "",
			store.APIKeyAudit(old), store.APIKeyAudit(out))...)
		return err
	})
	if err != nil {
		return store.APIKey{}, err
	}
	return out, nil
}

// TouchAPIKeys moves last_used_at forward for every key of the map in one
// statement; unknown keys are ignored.
func (s *Store) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	ids := make([]string, 0, len(used))
	ats := make([]time.Time, 0, len(used))
	for id, at := range used {
		if !keysOK(id) {
			continue
		}
		ids, ats = append(ids, id), append(ats, store.Timestamp(at))
	}
	_, err := s.pool.Exec(ctx, `update api_keys k set last_used_at = v.at
from unnest($1::text[], $2::timestamptz[]) as v (id, at)
where k.id = v.id and (k.last_used_at is null or k.last_used_at < v.at)`, ids, ats)
	return s.convert("TouchAPIKeys", err, nil)
}
