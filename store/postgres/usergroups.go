package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/store"
)

// groupsOfUsersSQL reads the memberships of a page of users with their
// groups' names, in group creation order: one probe of group_members_user_idx
// per id, so the cost follows the page, not the tenant. The "offset 0" keeps
// PostgreSQL from flattening the lateral probe into a join: its generic plan
// (pgx prepares statements) of that join, or of "user_id = any($2)", walked
// every membership of the tenant's groups — on 1,000 users in 3 of 10 groups
// each, 3 ms for one id and 3-10 ms for a page of 100, against 0.1 ms and
// 1.5 ms for this shape (EXPLAIN ANALYZE, generic plan, unanalysed tables).
const groupsOfUsersSQL = `select a.id, g.id, g.display_name
from unnest($2::text[]) as a (id)
cross join lateral (select m.group_id from group_members m
	where m.tenant_id = $1 and m.user_id = a.id offset 0) as m
join groups g on g.tenant_id = $1 and g.id = m.group_id
order by g.seq`

// GroupsOfUsers answers the groups of each listed user in one query.
// Deleting a user removes their memberships, so every row is a live user's.
func (s *Store) GroupsOfUsers(ctx context.Context, tenantID string, userIDs []string) (map[string][]store.Group, error) {
	out := map[string][]store.Group{}
	ids := make([]string, 0, len(userIDs))
	seen := make(map[string]bool, len(userIDs))
	for _, id := range userIDs {
		if !seen[id] && textOK(id) { // an id the database cannot hold is no user's
			seen[id] = true
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
