package postgres

import (
	"context"
	"errors"
	"slices"

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
	rows, err := s.pool.Query(ctx, `select `+roleCols+` from roles where tenant_id = $1 order by seq`, tenantID)
	if err != nil {
		return nil, s.convert("ListRoles", err, nil)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Role, error) { return scanRole(r) })
	if err != nil {
		return nil, s.convert("ListRoles", err, nil)
	}
	if len(out) == 0 {
		if err := s.tenantExists(ctx, s.pool, "ListRoles", tenantID); err != nil {
			return nil, err
		}
		out = []store.Role{}
	}
	return out, nil
}

// UpdateRole edits a role's description, permissions, privilege and seat
// class; the name is its key and stays. Users holding the role keep the seat
// they hold until their next write, as in every backend.
func (s *Store) UpdateRole(ctx context.Context, tenantID, name string, by store.Actor, fn func(*store.Role) error) (store.Role, error) {
	if !keysOK(tenantID, name) {
		return store.Role{}, store.ErrNotFound
	}
	var out store.Role
	err := s.inTx(ctx, "UpdateRole", nil, func(tx pgx.Tx) error {
		old, err := scanRole(tx.QueryRow(ctx, `select `+roleCols+` from roles where tenant_id = $1 and name = $2 for no key update`, tenantID, name))
		if err != nil {
			return err
		}
		r := old.Clone()
		if err := fn(&r); err != nil {
			return callerErr{err}
		}
		if r.SeatClass == "" {
			r.SeatClass = store.SeatFull
		}
		now := s.clock()
		out, err = scanRole(tx.QueryRow(ctx, `update roles
set description = $3, permissions = $4, privileged = $5, seat_class = $6, updated_at = $7
where tenant_id = $1 and name = $2
returning `+roleCols, tenantID, name, r.Description, r.Permissions, r.Privileged, r.SeatClass, now))
		if err != nil {
			return roleClassError(err)
		}
		_, err = tx.Exec(ctx, auditInsert, auditArgs(tenantID, now, by, store.ActionRoleUpdated, "role", name, "",
			store.RoleAudit(old), store.RoleAudit(out))...)
		return err
	})
	if err != nil {
		return store.Role{}, err
	}
	return out, nil
}

// DeleteRole deletes a custom role. Users holding it block the delete unless
// a replacement is named; then they move to it in the same transaction, with
// their seats re-derived (a class change is a role_changed ledger pair and is
// checked against the cap like any other consumption).
func (s *Store) DeleteRole(ctx context.Context, tenantID, name, replacement string, by store.Actor) error {
	if !keysOK(tenantID, name) {
		return store.ErrNotFound
	}
	return s.inTx(ctx, "DeleteRole", nil, func(tx pgx.Tx) error {
		// Lock order: the role, the holders, the tenant row.
		var one int
		if err := tx.QueryRow(ctx, `select 1 from roles where tenant_id = $1 and name = $2 for update`, tenantID, name).Scan(&one); err != nil {
			return err
		}
		type holder struct {
			id     string
			seat   store.SeatClass
			active bool
		}
		rows, err := tx.Query(ctx, `select id, seat, active from users
where tenant_id = $1 and role = $2 and deleted_at is null
order by seq
for no key update`, tenantID, name)
		if err != nil {
			return err
		}
		holders, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (holder, error) {
			var h holder
			err := r.Scan(&h.id, &h.seat, &h.active)
			return h, err
		})
		if err != nil {
			return err
		}
		if len(holders) > 0 && replacement == "" {
			return callerErr{&store.RoleInUseError{Role: name, Users: len(holders)}}
		}
		now := s.clock()
		b := &pgx.Batch{}
		if len(holders) > 0 {
			class := store.SeatFull
			var light bool
			if err := tx.QueryRow(ctx, `select exists (
	select 1 from roles where tenant_id = $1 and name = $2 and seat_class = 'light')`, tenantID, replacement).Scan(&light); err != nil {
				return err
			}
			if light {
				class = store.SeatLight
			}
			var ids, seats, evUser, evClass, evReason []string
			var evDelta []int32
			var all []store.Transition
			for _, h := range holders {
				seat := store.SeatFor(h.active, class)
				ts := store.SeatTransitions(store.OnUpdate, h.seat, seat, false)
				ids, seats = append(ids, h.id), append(seats, string(seat))
				for _, t := range ts {
					evUser, evClass, evDelta, evReason = append(evUser, h.id), append(evClass, string(t.Class)),
						append(evDelta, int32(t.Delta)), append(evReason, t.Reason)
				}
				all = append(all, ts...)
			}
			if len(all) > 0 {
				d := store.Delta(all)
				var inUse, purchased int
				var overage bool
				var seq int64
				if err := tx.QueryRow(ctx, `update tenants
set seats_full = seats_full + $2, seats_light = seats_light + $3, seat_seq = seat_seq + $4
where id = $1
returning seats_full, `+purchasedSQL("tenants", "$5")+`, coalesce((settings ->> 'overage')::boolean, false), seat_seq`,
					tenantID, d.Full, d.Light, len(all), now).Scan(&inUse, &purchased, &overage, &seq); err != nil {
					return err
				}
				if d.Full > 0 && !overage && inUse > purchased {
					return callerErr{&store.SeatLimitError{TenantID: tenantID, InUse: inUse - d.Full, Purchased: purchased}}
				}
				b.Queue(`insert into seat_events `+seatEventCols+`
select $1, $2 + ev.n, $3, ev.user_id, ev.class, ev.delta, ev.reason, $4, $5, $6, $7
from unnest($8::text[], $9::text[], $10::int[], $11::text[]) with ordinality as ev (user_id, class, delta, reason, n)`,
					slices.Concat([]any{tenantID, seq - int64(len(all)), now}, actorArgs(by),
						[]any{evUser, evClass, evDelta, evReason})...)
			}
			b.Queue(`update users u set role = $2, seat = v.seat, version = u.version + 1, updated_at = $3
from unnest($4::text[], $5::text[]) as v (id, seat)
where u.tenant_id = $1 and u.id = v.id`, tenantID, replacement, now, ids, seats)
		}
		b.Queue(`delete from roles where tenant_id = $1 and name = $2`, tenantID, name)
		b.Queue(auditInsert, auditArgs(tenantID, now, by, "role.deleted", "role", name, "", "", "")...)
		return tx.SendBatch(ctx, b).Close()
	})
}

// PutRoleMappings replaces the tenant's mappings, keeping their order.
func (s *Store) PutRoleMappings(ctx context.Context, tenantID string, m []store.RoleMapping, by store.Actor) error {
	if !keysOK(tenantID) {
		return store.ErrNotFound
	}
	groups := make([]string, len(m))
	roles := make([]string, len(m))
	for i, x := range m {
		groups[i], roles[i] = x.Group, x.Role
	}
	return s.inTx(ctx, "PutRoleMappings", nil, func(tx pgx.Tx) error {
		// The tenant row lock serialises writers of the list.
		var one int
		if err := tx.QueryRow(ctx, `select 1 from tenants where id = $1 for no key update`, tenantID).Scan(&one); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `select group_name, role from role_mappings where tenant_id = $1 order by position`, tenantID)
		if err != nil {
			return err
		}
		old, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.RoleMapping, error) {
			var m store.RoleMapping
			err := r.Scan(&m.Group, &m.Role)
			return m, err
		})
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`delete from role_mappings where tenant_id = $1`, tenantID)
		b.Queue(`insert into role_mappings (tenant_id, position, group_name, role)
select $1, v.n, v.group_name, v.role from unnest($2::text[], $3::text[]) with ordinality as v (group_name, role, n)`,
			tenantID, groups, roles)
		b.Queue(auditInsert, auditArgs(tenantID, s.clock(), by, store.ActionMappingsUpdated, "role_mappings", tenantID, "",
			store.MappingsAudit(old), store.MappingsAudit(m))...)
		return tx.SendBatch(ctx, b).Close()
	})
}

func (s *Store) GetRoleMappings(ctx context.Context, tenantID string) ([]store.RoleMapping, error) {
	if !keysOK(tenantID) {
		return nil, store.ErrNotFound
	}
	rows, err := s.pool.Query(ctx, `select group_name, role from role_mappings where tenant_id = $1 order by position`, tenantID)
	if err != nil {
		return nil, s.convert("GetRoleMappings", err, nil)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.RoleMapping, error) {
		var m store.RoleMapping
		err := r.Scan(&m.Group, &m.Role)
		return m, err
	})
	if err != nil {
		return nil, s.convert("GetRoleMappings", err, nil)
	}
	if len(out) == 0 {
		if err := s.tenantExists(ctx, s.pool, "GetRoleMappings", tenantID); err != nil {
			return nil, err
		}
		out = []store.RoleMapping{}
	}
	return out, nil
}
