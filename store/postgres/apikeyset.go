package postgres

import (
	"bytes"
	"context"
	"sync"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/store"
)

// keySet is every admin API key in the database (id, tenant and hash), held
// in memory so that CheckAPIKey answers a made-up key without a read: a
// flood of invented keys never reaches PostgreSQL. It follows the SCIM
// token set (tokenset.go) and is kept by the same listener (authcache.go):
// complete ("sure") only while the listener is proven, loaded after its
// probe, and reloaded for the tenant every notification names (migration
// 0017 makes a key insert or delete notify). Keys are looked up by id
// alone, so while any tenant is being reloaded an id the set lacks is
// unsure rather than refused. A key's hash is never rewritten, so a wrong
// hash for a known id is refused either way; revocation is read from the
// row (GetAPIKey) on every request that passes this check.
type keySet struct {
	mu    sync.RWMutex
	sure  bool
	seq   uint64
	stale map[string]int // tenants being reloaded
	byID  map[string]keySetEntry
}

type keySetEntry struct {
	tenant string
	hash   []byte // never modified once stored
	seq    uint64
}

func newKeySet() keySet {
	return keySet{stale: map[string]int{}, byID: map[string]keySetEntry{}}
}

func (k *keySet) check(id string, hash []byte) store.TokenCheck {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if e, ok := k.byID[id]; ok {
		if auth.Equal(hash, e.hash) {
			return store.TokenMatch
		}
		return store.TokenNoMatch
	}
	if k.sure && len(k.stale) == 0 {
		return store.TokenNoMatch
	}
	return store.TokenUnsure
}

// add records a key that exists (after its commit, or as read).
func (k *keySet) add(tenantID, id string, hash []byte) {
	k.mu.RLock()
	e, ok := k.byID[id]
	k.mu.RUnlock()
	if ok && auth.Equal(hash, e.hash) {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.seq++
	k.byID[id] = keySetEntry{tenant: tenantID, hash: bytes.Clone(hash), seq: k.seq}
}

// remove forgets a key a read did not find.
func (k *keySet) remove(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.byID, id)
}

// dropTenant forgets a deleted tenant's keys.
func (k *keySet) dropTenant(tenantID string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, e := range k.byID {
		if e.tenant == tenantID {
			delete(k.byID, id)
		}
	}
}

func (k *keySet) setSure(sure bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sure = sure
}

type keyRow struct {
	tenant, id string
	hash       []byte
}

func (s *Store) readAPIKeyHashes(ctx context.Context, tenantID *string) ([]keyRow, error) {
	rows, err := s.pool.Query(ctx, `select tenant_id, id, hash from api_keys where $1::text is null or tenant_id = $1`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyRow
	for rows.Next() {
		var r keyRow
		if err := rows.Scan(&r.tenant, &r.id, &r.hash); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// loadAPIKeys replaces the whole set with the database's keys; keys added
// while the read ran are kept (their commit may postdate the read). It
// leaves sureness alone: the listener sets it once it is proven.
func (s *Store) loadAPIKeys(ctx context.Context) error {
	k := &s.keys
	k.mu.Lock()
	seq0 := k.seq
	k.mu.Unlock()
	rows, err := s.readAPIKeyHashes(ctx, nil)
	if err != nil {
		return err
	}
	fresh := make(map[string]keySetEntry, len(rows))
	for _, r := range rows {
		fresh[r.id] = keySetEntry{tenant: r.tenant, hash: r.hash}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, e := range k.byID {
		if e.seq > seq0 {
			fresh[id] = e
		}
	}
	k.byID = fresh
	clear(k.stale)
	return nil
}

// reloadTenantAPIKeys re-reads one tenant's keys after a notification named
// it. While it runs, misses are unsure; if the read fails they stay so until
// the listener is re-proven (which reloads everything).
func (s *Store) reloadTenantAPIKeys(ctx context.Context, tenantID string) {
	s.reloadTenantAPIKeysFrom(ctx, tenantID, s.keys.markStale(tenantID))
}

// markStale makes misses unsure until reloadTenantAPIKeysFrom(…, seq0) has
// run for the tenant, and answers seq0 (as tokenSet.markStale).
func (k *keySet) markStale(tenantID string) (seq0 uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stale[tenantID]++
	return k.seq
}

// reloadTenantAPIKeysFrom is reloadTenantAPIKeys after markStale answered seq0.
func (s *Store) reloadTenantAPIKeysFrom(ctx context.Context, tenantID string, seq0 uint64) {
	k := &s.keys
	rows, err := s.readAPIKeyHashes(ctx, &tenantID)
	if err != nil {
		if ctx.Err() != nil {
			return // the listener is stopping; the next one reloads everything
		}
		s.log.Warn().Err(err).Str("tenant", tenantID).Msg("postgres: reloading the tenant's API key ids failed; unknown ids are looked up under the failure budget")
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, e := range k.byID {
		if e.tenant == tenantID && e.seq <= seq0 {
			delete(k.byID, id)
		}
	}
	for _, r := range rows {
		if _, ok := k.byID[r.id]; !ok {
			k.byID[r.id] = keySetEntry{tenant: r.tenant, hash: r.hash}
		}
	}
	if k.stale[tenantID]--; k.stale[tenantID] <= 0 {
		delete(k.stale, tenantID)
	}
}

// CheckAPIKey answers from the in-memory key set (see keySet).
func (s *Store) CheckAPIKey(id string, hash []byte) store.TokenCheck {
	return s.keyChecks.count(s.keys.check(id, hash))
}
