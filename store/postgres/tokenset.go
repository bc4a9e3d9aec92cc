package postgres

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/store"
)

// tokenSet is every SCIM token in the database (tenant, id and hash), held
// in memory so that CheckToken answers a made-up token without a read: a
// flood of invented ids (with random tenant segments) never reaches
// PostgreSQL, and an unknown id is answered as fast as a known one with a
// wrong secret. Tokens are few (one or two per tenant and IdP), so the whole
// table fits.
//
// It is complete ("sure") only while the auth cache's listener is proven
// (authcache.go): the set is loaded after the listener's probe came back,
// and every notification reloads the named tenant's tokens (migration 0016
// makes a token insert notify, as 0010 did for revocation and deletion).
// While a tenant is being reloaded, an id the set lacks is unsure rather
// than refused, so a token created in another process is never refused
// between its commit and the reload.
//
// While the listener is not proven, the set is loaded whenever the listener
// is (re)tried and grows with every token read from the database; an id it
// lacks is unsure, which the guard pays for from its failure budget (a
// read). A token's hash is never rewritten by Roster, so a wrong hash for a
// known id is refused either way.
type tokenSet struct {
	mu      sync.RWMutex
	sure    bool                                // complete and kept current by notifications
	seq     uint64                              // bumped by every add; reloads keep newer adds
	stale   map[string]int                      // tenants being reloaded (count of reloads in flight)
	tenants map[string]map[string]tokenSetEntry // tenant → token id → entry
}

type tokenSetEntry struct {
	hash []byte // never modified once stored
	seq  uint64
}

// unprovenReload is how often the whole set is reloaded while the store
// does not listen at all (Options.NoListen).
const unprovenReload = 10 * time.Second

func newTokenSet() tokenSet {
	return tokenSet{stale: map[string]int{}, tenants: map[string]map[string]tokenSetEntry{}}
}

// check is Store.CheckToken.
func (t *tokenSet) check(tenantID, tokenID string, hash []byte) store.TokenCheck {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if e, ok := t.tenants[tenantID][tokenID]; ok {
		if auth.Equal(hash, e.hash) {
			return store.TokenMatch
		}
		return store.TokenNoMatch
	}
	if t.sure && t.stale[tenantID] == 0 {
		return store.TokenNoMatch
	}
	return store.TokenUnsure
}

// add records a token that exists (after its commit, or as read).
func (t *tokenSet) add(tenantID, tokenID string, hash []byte) {
	t.mu.RLock()
	e, ok := t.tenants[tenantID][tokenID]
	t.mu.RUnlock()
	if ok && auth.Equal(hash, e.hash) {
		return // the usual case: a token read again while the cache is off
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	e = tokenSetEntry{hash: bytes.Clone(hash), seq: t.seq}
	m := t.tenants[tenantID]
	if m == nil {
		m = map[string]tokenSetEntry{}
		t.tenants[tenantID] = m
	}
	m[tokenID] = e
}

// remove forgets a token a read did not find.
func (t *tokenSet) remove(tenantID, tokenID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.tenants[tenantID], tokenID)
	if len(t.tenants[tenantID]) == 0 {
		delete(t.tenants, tenantID)
	}
}

// dropTenant forgets a deleted tenant's tokens.
func (t *tokenSet) dropTenant(tenantID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.tenants, tenantID)
}

func (t *tokenSet) setSure(sure bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sure = sure
}

type tokenRow struct {
	tenant, id string
	hash       []byte
}

func (s *Store) readTokens(ctx context.Context, tenantID *string) ([]tokenRow, error) {
	rows, err := s.pool.Query(ctx, `select tenant_id, id, hash from tokens where $1::text is null or tenant_id = $1`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tokenRow
	for rows.Next() {
		var r tokenRow
		if err := rows.Scan(&r.tenant, &r.id, &r.hash); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// loadTokens replaces the whole set with the database's tokens; tokens
// added while the read ran are kept (their commit may postdate the read).
// It leaves sureness alone: the listener sets it once it is proven.
func (s *Store) loadTokens(ctx context.Context) error {
	t := &s.tokens
	t.mu.Lock()
	seq0 := t.seq
	t.mu.Unlock()
	rows, err := s.readTokens(ctx, nil)
	if err != nil {
		return err
	}
	fresh := map[string]map[string]tokenSetEntry{}
	for _, r := range rows {
		m := fresh[r.tenant]
		if m == nil {
			m = map[string]tokenSetEntry{}
			fresh[r.tenant] = m
		}
		m[r.id] = tokenSetEntry{hash: r.hash}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for tenant, m := range t.tenants {
		for id, e := range m {
			if e.seq > seq0 {
				if fresh[tenant] == nil {
					fresh[tenant] = map[string]tokenSetEntry{}
				}
				fresh[tenant][id] = e
			}
		}
	}
	t.tenants = fresh
	clear(t.stale)
	return nil
}

// reloadTenant re-reads one tenant's tokens after a notification named it.
// While it runs, the tenant's misses are unsure; if the read fails they stay
// so until the listener is re-proven (which reloads everything).
func (s *Store) reloadTenant(ctx context.Context, tenantID string) {
	s.reloadTenantFrom(ctx, tenantID, s.tokens.markStale(tenantID))
}

// markStale makes the tenant's misses unsure until reloadTenantFrom(…, seq0)
// has run, and answers seq0. The listener marks a tenant as soon as its
// notification arrives and reloads afterwards, so that a token created in
// another process is never refused while earlier reloads are still reading.
func (t *tokenSet) markStale(tenantID string) (seq0 uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stale[tenantID]++
	return t.seq
}

// reloadTenantFrom is reloadTenant after markStale answered seq0.
func (s *Store) reloadTenantFrom(ctx context.Context, tenantID string, seq0 uint64) {
	t := &s.tokens
	rows, err := s.readTokens(ctx, &tenantID)
	if err != nil {
		if ctx.Err() != nil {
			return // the listener is stopping; the next one reloads everything
		}
		s.log.Warn().Err(err).Str("tenant", tenantID).Msg("postgres: reloading the tenant's token ids failed; its unknown ids are looked up under the failure budget")
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fresh := map[string]tokenSetEntry{}
	for _, r := range rows {
		fresh[r.id] = tokenSetEntry{hash: r.hash}
	}
	for id, e := range t.tenants[tenantID] {
		if e.seq > seq0 {
			fresh[id] = e
		}
	}
	if len(fresh) == 0 {
		delete(t.tenants, tenantID)
	} else {
		t.tenants[tenantID] = fresh
	}
	if t.stale[tenantID]--; t.stale[tenantID] <= 0 {
		delete(t.stale, tenantID)
	}
}

// CheckToken answers from the in-memory token set (see tokenSet).
func (s *Store) CheckToken(tenantID, tokenID string, hash []byte) store.TokenCheck {
	return s.tokenChecks.count(s.tokens.check(tenantID, tokenID, hash))
}

// AuthReads is how many times Authenticate has read the database (its cache
// could not answer): for tests and load figures.
func (s *Store) AuthReads() int64 { return s.authReads.Load() }

// TokensKnown says whether the token set is complete and kept current (the
// change listener is proven), so that CheckToken is never unsure.
func (s *Store) TokensKnown() bool {
	s.tokens.mu.RLock()
	defer s.tokens.mu.RUnlock()
	return s.tokens.sure
}
