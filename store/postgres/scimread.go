package postgres

import (
	"context"
	"encoding/json"

	"github.com/roster-dev/roster/store"
)

// getUserWithGroupsSQL reads a user and, in the same statement, the ids and
// names of their groups (group_members_user_idx).
const getUserWithGroupsSQL = userWithGroupsCols + `
where u.tenant_id = $1 and u.id = $2 and ` + liveByKey

// getByUserNameWithGroupsSQL is the same by the userName key (the unique
// index on (tenant_id, user_name_key)).
const getByUserNameWithGroupsSQL = userWithGroupsCols + `
where u.tenant_id = $1 and u.user_name_key = $2 and u.deleted_at is null`

// userWithGroupsCols is the user's groups (ids and names, as JSON) and
// columns. Each of the user's groups is one probe of the groups' primary key
// ("offset 0" keeps it a probe; plans.go): joined, the groups were read, on
// tables never analysed, by walking every group of the tenant for each
// membership.
const userWithGroupsCols = `select coalesce((
	select json_agg(json_build_object('id', g.id, 'displayName', g.display_name) order by g.seq)
	from group_members m cross join lateral (select g.id, g.display_name, g.seq from groups g
		where g.tenant_id = m.tenant_id and g.id = m.group_id offset 0) as g
	where m.tenant_id = u.tenant_id and m.user_id = u.id), '[]'), ` + userCols + ` from users u`

// GetUserWithGroups is GetUser plus the user's groups (ID, DisplayName), in
// one round trip, shared with the concurrent lookups by id (readbatch.go).
func (s *Store) GetUserWithGroups(ctx context.Context, tenantID, id string) (store.User, []store.Group, error) {
	if !keysOK(tenantID, id) {
		return store.User{}, nil, store.ErrNotFound
	}
	return s.readUser(ctx, readKind{readByID, tenantID}, id)
}

// GetUserByUserNameWithGroups is GetUserByUserName plus the user's groups,
// in one round trip, shared with the concurrent lookups by userName.
func (s *Store) GetUserByUserNameWithGroups(ctx context.Context, tenantID, userName string) (store.User, []store.Group, error) {
	if !keysOK(tenantID) {
		return store.User{}, nil, store.ErrNotFound
	}
	return s.readUser(ctx, readKind{readByUserName, tenantID}, store.FoldKey(userName))
}

// userWithGroups is one lookup alone.
func (s *Store) userWithGroups(ctx context.Context, op, sql string, kind int, tenantID, key string) (store.User, []store.Group, error) {
	u, groups, err := scanUserWithGroups(s.pool.QueryRow(ctx, sql, s.lookupArgs(kind, tenantID, key)...), tenantID)
	if err != nil {
		return store.User{}, nil, s.convert(op, err, nil)
	}
	return u, groups, nil
}

// decodeGroupRefs decodes the groups column of userWithGroupsCols.
func decodeGroupRefs(tenantID string, raw []byte) ([]store.Group, error) {
	if string(raw) == "[]" { // in no group: the common case, without a decoder
		return []store.Group{}, nil
	}
	var refs []struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
	}
	if err := json.Unmarshal(raw, &refs); err != nil {
		return nil, err
	}
	groups := make([]store.Group, len(refs))
	for i, r := range refs {
		groups[i] = store.Group{TenantID: tenantID, ID: r.ID, DisplayName: r.DisplayName}
	}
	return groups, nil
}
