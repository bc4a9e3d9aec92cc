package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/roster-dev/roster/store"
)

const roleCols = `tenant_id, name, description, permissions, privileged, seat_class, created_at, updated_at`

func scanRole(row pgx.Row) (store.Role, error) {
	var r store.Role
	if err := row.Scan(&r.TenantID, &r.Name, &r.Description, &r.Permissions, &r.Privileged, &r.SeatClass, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return store.Role{}, err
	}
	r.CreatedAt, r.UpdatedAt = store.Timestamp(r.CreatedAt), store.Timestamp(r.UpdatedAt)
	return r, nil
}

// roleClassError turns the seat_class check into the store's vocabulary.
func roleClassError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.ConstraintName == "roles_seat_class_check" {
		return callerErr{&store.InvalidError{Field: "seatClass", Reason: "must be full or light"}}
	}
	return err
}

func (s *Store) CreateRole(ctx context.Context, tenantID string, r store.Role, by store.Actor) (store.Role, error) {
	if !keysOK(tenantID) {
		return store.Role{}, store.ErrNotFound
	}
	if err := store.ValidateRole(&r); err != nil {
		return store.Role{}, err
	}
	if r.SeatClass == "" {
		r.SeatClass = store.SeatFull
	}
	now := s.clock()
	var out store.Role
	err := s.inTx(ctx, "CreateRole", vals{"name": r.Name}, func(tx pgx.Tx) error {
		var err error
		out, err = scanRole(tx.QueryRow(ctx, `insert into roles (tenant_id, name, description, permissions, privileged, seat_class, created_at, updated_at)
values ($1, $2, $3, $4, $5, $6, $7, $7)
returning `+roleCols, tenantID, r.Name, r.Description, r.Permissions, r.Privileged, r.SeatClass, now))
		if err != nil {
			return roleClassError(err)
		}
		_, err = tx.Exec(ctx, auditInsert, auditArgs(tenantID, now, by, store.ActionRoleCreated, "role", out.Name, "", "", store.RoleAudit(out))...)
		return err
	})
	if err != nil {
		return store.Role{}, err
	}
	return out, nil
}

func (s *Store) GetRole(ctx context.Context, tenantID, name string) (store.Role, error) {
	if !keysOK(tenantID, name) {
		return store.Role{}, store.ErrNotFound
	}
	r, err := scanRole(s.pool.QueryRow(ctx, `select `+roleCols+` from roles where tenant_id = $1 and name = $2`, tenantID, name))
	if err != nil {
		return store.Role{}, s.convert("GetRole", err, nil)
	}
	return r, nil
}

func (s *Store) ListRoles(ctx context.Context, tenantID string) ([]store.Role, error) {
	if !keysOK(tenantID) {
		return nil, store.ErrNotFound
	}
	return listOfTenant(ctx, s, "ListRoles", `select `+roleCols+` from roles where tenant_id = $1 order by seq`, scanRole, tenantID)
}

// UpdateRole edits a role's description, permissions, privilege and seat
// class; the name is its key and stays. Users holding the role keep the seat
// they hold until their next write, as in every backend.
// holdersOf lists, in id order, the live users who hold the role or name it
// explicitly; a failure is left in *errp.
func holdersOf(ctx context.Context, tx pgx.Tx, tenantID, name string, errp *error) []string {
	ids, err := queryStrings(ctx, tx, `select id from users
where tenant_id = $1 and (role = $2 or explicit_role = $2) and deleted_at is null
order by id`, tenantID, name)
	if err != nil {
		*errp = err
	}
	return ids
}

// lockMappings serialises the writers of a tenant's role mappings (this
// transaction-level advisory lock, exclusive) against the group writes that
// read them (shared, see roleGroupChange): a group change either sees the new
// mappings or is seen by the re-resolution of the mapping change.
func lockMappings(ctx context.Context, tx pgx.Tx, tenantID string) error {
	_, err := tx.Exec(ctx, `select pg_advisory_xact_lock(hashtextextended('roster.role_mappings:' || $1, 0))`, tenantID)
	return err
}

// queueMappings queues the replacement of the tenant's mapping list.
func queueMappings(b *pgx.Batch, tenantID string, m []store.RoleMapping) {
	groups := make([]string, len(m))
	roles := make([]string, len(m))
	for i, x := range m {
		groups[i], roles[i] = x.Group, x.Role
	}
	b.Queue(`delete from role_mappings where tenant_id = $1`, tenantID)
	b.Queue(`insert into role_mappings (tenant_id, position, group_name, role)
select $1, v.n, v.group_name, v.role from unnest($2::text[], $3::text[]) with ordinality as v (group_name, role, n)`,
		tenantID, groups, roles)
}

func (s *Store) GetRoleMappings(ctx context.Context, tenantID string) ([]store.RoleMapping, error) {
	if !keysOK(tenantID) {
		return nil, store.ErrNotFound
	}
	return listOfTenant(ctx, s, "GetRoleMappings", `select group_name, role from role_mappings where tenant_id = $1 order by position`,
		func(r pgx.Row) (store.RoleMapping, error) {
			var m store.RoleMapping
			err := r.Scan(&m.Group, &m.Role)
			return m, err
		}, tenantID)
}
