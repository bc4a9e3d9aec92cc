package memory

import (
	"context"
	"slices"
	"time"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/store"
)

// apiKeys are the tenants' admin API keys, by id across tenants (a key
// names its record, and so its tenant), in creation order.
type apiKeys struct {
	byID  map[string]store.APIKey
	order []string
}

// dropTenant forgets a deleted tenant's keys; the caller holds s.mu.
func (k *apiKeys) dropTenant(tenantID string) {
	k.order = slices.DeleteFunc(k.order, func(id string) bool {
		if k.byID[id].TenantID == tenantID {
			delete(k.byID, id)
			return true
		}
		return false
	})
}

func (s *Store) CreateAPIKey(_ context.Context, tenantID string, k store.APIKey, by store.Actor) (store.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.APIKey{}, err
	}
	if k.ID == "" {
		k.ID = s.newID()
	}
	if _, ok := s.keys.byID[k.ID]; ok {
		return store.APIKey{}, &store.ConflictError{Field: "id", Value: k.ID}
	}
	if s.keys.byID == nil {
		s.keys.byID = map[string]store.APIKey{}
	}
	k = k.Clone()
	if k.Permissions == nil {
		k.Permissions = []string{}
	}
	by.RequestID = ""
	k.TenantID, k.CreatedAt, k.CreatedBy = tenantID, s.clock(), by
	k.LastUsedAt, k.RevokedAt = tsPtr(k.LastUsedAt), tsPtr(k.RevokedAt)
	s.keys.byID[k.ID] = k
	s.keys.order = append(s.keys.order, k.ID)
	t.appendAudit(store.AuditEvent{Time: k.CreatedAt, Actor: by, Action: store.ActionAPIKeyCreated,
		TargetType: "api_key", TargetID: k.ID, After: store.APIKeyAudit(k)})
	return k.Clone(), nil
}

func (s *Store) GetAPIKey(_ context.Context, id string) (store.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys.byID[id]
	if !ok {
		return store.APIKey{}, store.ErrNotFound
	}
	return k.Clone(), nil
}

func (s *Store) ListAPIKeys(_ context.Context, tenantID string) ([]store.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.tenant(tenantID); err != nil {
		return nil, err
	}
	out := []store.APIKey{}
	for _, id := range s.keys.order {
		if k := s.keys.byID[id]; k.TenantID == tenantID {
			out = append(out, k.Clone())
		}
	}
	return out, nil
}

func (s *Store) RevokeAPIKey(_ context.Context, tenantID, id string, at time.Time, by store.Actor) (store.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.APIKey{}, err
	}
	k, ok := s.keys.byID[id]
	if !ok || k.TenantID != tenantID {
		return store.APIKey{}, store.ErrNotFound
	}
	if k.RevokedAt == nil {
		before := store.APIKeyAudit(k)
		at = store.Timestamp(at)
		k.RevokedAt = &at
		s.keys.byID[id] = k
		t.appendAudit(store.AuditEvent{Time: s.clock(), Actor: by, Action: store.ActionAPIKeyRevoked,
			TargetType: "api_key", TargetID: id, Before: before, After: store.APIKeyAudit(k)})
	}
	return k.Clone(), nil
}

func (s *Store) TouchAPIKeys(_ context.Context, used map[string]time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, at := range used {
		k, ok := s.keys.byID[id]
		if !ok {
			continue
		}
		at = store.Timestamp(at)
		if k.LastUsedAt == nil || at.After(*k.LastUsedAt) {
			k.LastUsedAt = &at
			s.keys.byID[id] = k
		}
	}
	return nil
}

// CheckAPIKey answers from the map: the memory store is always sure.
func (s *Store) CheckAPIKey(id string, hash []byte) store.TokenCheck {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys.byID[id]
	if !ok || !auth.Equal(hash, k.Hash) {
		return store.TokenNoMatch
	}
	return store.TokenMatch
}

func tsPtr(p *time.Time) *time.Time {
	if p == nil {
		return nil
	}
	v := store.Timestamp(*p)
	return &v
}
