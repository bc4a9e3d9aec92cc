package memory

import (
	"context"

	"github.com/roster-dev/roster/store"
)

// GetUserWithGroups is GetUser plus the user's groups (ID, DisplayName).
func (s *Store) GetUserWithGroups(_ context.Context, tenantID, id string) (store.User, []store.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.User{}, nil, err
	}
	rec, err := t.liveUser(id)
	if err != nil {
		return store.User{}, nil, err
	}
	return rec.u.Clone(), t.groupsOf(tenantID, id), nil
}

// GetUserByUserNameWithGroups is GetUserByUserName plus the user's groups.
func (s *Store) GetUserByUserNameWithGroups(_ context.Context, tenantID, userName string) (store.User, []store.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tenant(tenantID)
	if err != nil {
		return store.User{}, nil, err
	}
	rec, ok := t.byKey[store.FoldKey(userName)]
	if !ok {
		return store.User{}, nil, store.ErrNotFound
	}
	return rec.u.Clone(), t.groupsOf(tenantID, rec.u.ID), nil
}

// groupsOf lists the groups the user is in, in creation order (ID and
// DisplayName only).
func (t *tenant) groupsOf(tenantID, userID string) []store.Group {
	groups := []store.Group{}
	for _, g := range t.groupList {
		if g.members[userID] {
			groups = append(groups, store.Group{TenantID: tenantID, ID: g.g.ID, DisplayName: g.g.DisplayName})
		}
	}
	return groups
}
