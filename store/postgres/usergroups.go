package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/store"
)

// groupsOfUsersSQL reads the memberships of a page of users with their
// groups' names (group_members_user_idx), in group creation order.
const groupsOfUsersSQL = `select m.user_id, g.id, g.display_name
from group_members m join groups g on g.tenant_id = m.tenant_id and g.id = m.group_id
where m.tenant_id = $1 and m.user_id = any($2::text[])
order by g.seq`

// GroupsOfUsers answers the groups of each listed user in one query.
// Deleting a user removes their memberships, so every row is a live user's.
func (s *Store) GroupsOfUsers(ctx context.Context, tenantID string, userIDs []string) (map[string][]store.Group, error) {
	out := map[string][]store.Group{}
	ids := make([]string, 0, len(userIDs))
	for _, id := range userIDs {
		if textOK(id) { // an id the database cannot hold is no user's
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || !textOK(tenantID) {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, groupsOfUsersSQL, tenantID, ids)
	if err != nil {
		return nil, s.convert("GroupsOfUsers", err, nil)
	}
	var userID string
	g := store.Group{TenantID: tenantID}
	_, err = pgx.ForEachRow(rows, []any{&userID, &g.ID, &g.DisplayName}, func() error {
		out[userID] = append(out[userID], g)
		return nil
	})
	if err != nil {
		return nil, s.convert("GroupsOfUsers", err, nil)
	}
	return out, nil
}
