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
	groups := []store.Group{}
	for _, g := range t.groupList {
		if g.members[id] {
			groups = append(groups, store.Group{TenantID: tenantID, ID: g.g.ID, DisplayName: g.g.DisplayName})
		}
	}
	return rec.u.Clone(), groups, nil
}
