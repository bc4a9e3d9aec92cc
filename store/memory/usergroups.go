package memory

import (
	"context"

	"github.com/roster-dev/roster/store"
)

// GroupsOfUsers answers the groups of each listed user, in one pass over the
// tenant's groups: for each group it walks the smaller of its members and
// the ids asked for.
func (s *Store) GroupsOfUsers(_ context.Context, tenantID string, userIDs []string) (map[string][]store.Group, error) {
	out := map[string][]store.Group{}
	if len(userIDs) == 0 {
		return out, nil
	}
	want := make(map[string]bool, len(userIDs))
	for _, id := range userIDs {
		want[id] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenantID]
	if !ok {
		return out, nil
	}
	for _, rec := range t.groupList { // creation order
		ref := store.Group{TenantID: tenantID, ID: rec.g.ID, DisplayName: rec.g.DisplayName}
		if len(rec.members) <= len(want) {
			for id := range rec.members {
				if want[id] {
					out[id] = append(out[id], ref)
				}
			}
			continue
		}
		for id := range want {
			if rec.members[id] {
				out[id] = append(out[id], ref)
			}
		}
	}
	return out, nil
}
