package postgres

// The transaction of a directory use case (store.Store.Change; the
// contract is store/change.go, docs/architecture.md "The directory layer"):
// take the locks a store.Lock names in the one lock order — the role-mapping
// lock, a role's holders, the role row, a spent assertion, teams, users in
// id order, an approval, the tenant row —, read what the use case decides
// from in as few round trips as the locks allow, and write its store.Plan
// in a few set-based statements. Nothing here decides: the plan says what
// to write.

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/store"
)

// Change runs a directory use case in one transaction (store.Store): the
// spend of an assertion (first in the lock order), the users' locks (an
// approval's user first, then the approval), their groups, the role context
// and which users are deleted in one round trip; then the plan, in a few
// set-based statements. Ids no column can hold name no user.
func (s *Store) Change(ctx context.Context, tenantID string, lock store.Lock, fn func(*store.View) (*store.Plan, error)) error {
	if !keysOK(tenantID, lock.Approval, lock.Holders, lock.Role) {
		return store.ErrNotFound
	}
	if !keysOK(lock.Remap...) {
		return &store.InvalidError{Field: "mappings.group", Reason: "is not valid UTF-8 text"}
	}
	if err := checkSpend(lock.Spend); err != nil {
		return err
	}
	if lock.Tenant {
		defer s.auth.invalidate(tenantID) // after the commit (authcache.go)
	}
	return s.inTx(ctx, "Change", nil, func(tx pgx.Tx) error {
		ids := slices.Clip(lock.Users)
		holders, remapped, role, err := lockRoleAdmin(ctx, tx, tenantID, lock)
		if err != nil {
			return err
		}
		ids = append(append(ids, holders...), remapped...)
		var unassigned []string
		if lock.Unassigned {
			if unassigned, err = queryStrings(ctx, tx, `select id from users
where tenant_id = $1 and explicit_role = '' and deleted_at is null order by id`, tenantID); err != nil {
				return err
			}
			ids = append(ids, unassigned...)
		}
		if lock.Approval != "" {
			var userID string
			if err := tx.QueryRow(ctx, `select user_id from approvals where tenant_id = $1 and id = $2`, tenantID, lock.Approval).Scan(&userID); err != nil {
				return err
			}
			ids = append(ids, userID)
		}
		if lock.Link != nil {
			userID, err := linkUser(ctx, tx, tenantID, lock.Link)
			if err != nil {
				return err
			}
			if userID != "" {
				ids = append(ids, userID)
			}
		}
		v := &store.View{Users: map[string]store.User{}, Groups: map[string][]string{}, Holders: holders, Remapped: remapped, Role: role, Unassigned: unassigned}
		keys := keyed(lock) // import.go
		b := &pgx.Batch{}
		queueSpend(b, tenantID, lock.Spend, s.clock()) // first: the spend is first in the lock order
		keys.queueTeams(b, tenantID)
		if len(ids) > 0 {
			b.Queue(lockUsersSQL, tenantID, storable(ids))
			b.Queue(groupNamesSQL, tenantID, storable(ids))
			b.Queue(deletedSQL, tenantID, storable(ids))
		}
		if lock.Approval != "" {
			b.Queue(`select `+approvalCols+` from approvals where tenant_id = $1 and id = $2 for update`, tenantID, lock.Approval)
		}
		queueLink(b, tenantID, lock.Link) // after the users: the link's user is locked first
		if lock.Tenant {
			b.Queue(`select `+tenantCols+` from tenants where id = $1 for no key update`, tenantID)
		}
		b.Queue(roleContextSQL, tenantID)
		keys.queueUsers(b, tenantID)
		err = func() error {
			br := tx.SendBatch(ctx, b)
			defer br.Close()
			if err := readSpend(br, lock.Spend, v); err != nil {
				return err
			}
			if err := keys.readTeams(br, tenantID, v); err != nil {
				return err
			}
			if len(ids) > 0 {
				rows, err := br.Query()
				if err != nil {
					return err
				}
				list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
				if err != nil {
					return err
				}
				for _, u := range list {
					v.Users[u.ID] = u
				}
				if rows, err = br.Query(); err != nil {
					return err
				}
				if v.Groups, err = collectGroupNames(rows); err != nil {
					return err
				}
				if v.Deleted, err = readDeleted(br); err != nil {
					return err
				}
			}
			if lock.Approval != "" {
				a, err := scanApproval(br.QueryRow())
				if err != nil {
					return err
				}
				v.Approval = &a
			}
			if err := readLink(br, lock.Link, v); err != nil {
				return err
			}
			if lock.Tenant {
				t, err := scanTenant(br.QueryRow())
				if err != nil {
					return err
				}
				v.Tenant = &t
			}
			var err error
			if v.Roles, err = scanRoleContext(br.QueryRow()); err != nil {
				return err
			}
			if err := keys.readUsers(br, v); err != nil {
				return err
			}
			return br.Close()
		}()
		if err == nil {
			err = keys.readInTeams(ctx, tx, tenantID, v)
		}
		if err != nil {
			return err
		}
		v.Now = s.clock()
		p, err := fn(v)
		if err != nil {
			return callerErr{err}
		}
		if p == nil {
			return nil
		}
		if len(p.Writes) > 0 {
			if len(p.Moves) > 0 || p.Approval != nil || p.Tenant != nil || p.Role != nil || p.DeleteRole != "" || p.Mappings != nil || p.Session != nil || p.NewLink != nil || p.UseLink {
				return errors.New("postgres: a plan with writes has nothing else")
			}
			return s.applyWrites(ctx, tx, tenantID, v, p) // import.go
		}
		if p.Tenant != nil {
			if !lock.Tenant {
				return errors.New("postgres: a plan may change the tenant only when it locked it")
			}
			if err := applyTenant(ctx, tx, p, v); err != nil {
				return err
			}
		}
		if a := p.Approval; a != nil {
			if a.ID != lock.Approval {
				return errors.New("postgres: a plan may decide only the approval it locked")
			}
			if _, err := tx.Exec(ctx, `update approvals set status = $3, decided_at = $4, decided_by = $5
where tenant_id = $1 and id = $2`, tenantID, a.ID, a.Status, a.DecidedAt, a.DecidedBy); err != nil {
				return err
			}
			e := store.ApprovalAudit(*a, p.By, v.Now)
			if _, err := tx.Exec(ctx, auditInsert, auditArgs(tenantID, v.Now, p.By, e.Action, e.TargetType, e.TargetID, e.Detail, "", e.After)...); err != nil {
				return err
			}
		}
		if err := applyRoleAdmin(ctx, tx, tenantID, lock, p, v); err != nil {
			return err
		}
		if err := s.applyMoves(ctx, tx, tenantID, p.Moves, p.By, v.Now, p.Why); err != nil {
			return err
		}
		if err := applyLinks(ctx, tx, tenantID, lock, v, p); err != nil { // consolelinks.go
			return err
		}
		return applySignIn(ctx, tx, tenantID, v, p)
	})
}

// lockRoleAdmin takes the role-administration locks of a Change (store.Lock):
// the mappings lock, the holders, the role's row, the holders again; or the
// users a new mapping list can move. It answers the holders and those
// users, each in id order.
func lockRoleAdmin(ctx context.Context, tx pgx.Tx, tenantID string, lock store.Lock) (holders, remapped []string, role *store.Role, err error) {
	if lock.Mappings {
		if err := lockMappings(ctx, tx, tenantID); err != nil {
			return nil, nil, nil, err
		}
	}
	if lock.Holders != "" {
		// The holders first, as every user write locks its user before it
		// touches the role row; then the role, which stops new holders; then
		// the holders again (any that committed in between).
		if _, err := lockUsers(ctx, tx, tenantID, holdersOf(ctx, tx, tenantID, lock.Holders, &err)); err != nil {
			return nil, nil, nil, err
		}
		if err != nil {
			return nil, nil, nil, err
		}
	}
	if lock.Role != "" {
		r, err := scanRole(tx.QueryRow(ctx, `select `+roleCols+` from roles where tenant_id = $1 and name = $2 for update`, tenantID, lock.Role))
		if err != nil {
			return nil, nil, nil, err
		}
		role = &r
	}
	if lock.Holders != "" {
		if holders = holdersOf(ctx, tx, tenantID, lock.Holders, &err); err != nil {
			return nil, nil, nil, err
		}
	}
	if lock.Remap != nil {
		rc, err := roleContext(ctx, tx, tenantID)
		if err != nil {
			return nil, nil, nil, err
		}
		keys := mappingKeys(rc.Mappings)
		for _, g := range lock.Remap {
			if k := store.FoldKey(g); !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		if remapped, err = queryStrings(ctx, tx, mappedMembersSQL, tenantID, keys, true); err != nil {
			return nil, nil, nil, err
		}
	}
	return holders, remapped, role, nil
}

// applyTenant writes a plan's tenant and its audit event.
func applyTenant(ctx context.Context, tx pgx.Tx, p *store.Plan, v *store.View) error {
	t := p.Tenant
	settings, err := json.Marshal(t.Settings)
	if err != nil {
		return err
	}
	contract, err := contractArgs(*t)
	if err != nil {
		return err
	}
	out, err := scanTenant(tx.QueryRow(ctx, `update tenants
set name = $2, plan = $3, seats = $4, addons = $5, settings = $6, updated_at = $7,
    contract_start = $8, seats_at_renewal = $9, seats_at_renewal_from = $10, seat_changes = $11
where id = $1
returning `+tenantCols, append([]any{v.Tenant.ID, t.Name, t.Plan, t.Seats, t.Addons, settings, v.Now}, contract...)...))
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, auditInsert, auditArgs(out.ID, v.Now, p.By, store.ActionTenantUpdated, "tenant", out.ID, "",
		store.TenantAudit(*v.Tenant), store.TenantAudit(out))...)
	return err
}

// applyRoleAdmin writes a plan's role deletion and new mapping list, in one
// round trip.
func applyRoleAdmin(ctx context.Context, tx pgx.Tx, tenantID string, lock store.Lock, p *store.Plan, v *store.View) error {
	b := &pgx.Batch{}
	if r := p.Role; r != nil {
		if r.Name != lock.Role {
			return errors.New("postgres: a plan may change only the role it locked")
		}
		b.Queue(`update roles
set description = $3, permissions = $4, privileged = $5, seat_class = $6, updated_at = $7
where tenant_id = $1 and name = $2`, tenantID, r.Name, r.Description, r.Permissions, r.Privileged, r.SeatClass, v.Now)
		b.Queue(auditInsert, auditArgs(tenantID, v.Now, p.By, store.ActionRoleUpdated, "role", r.Name, "",
			store.RoleAudit(*v.Role), store.RoleAudit(*r))...)
	}
	if name := p.DeleteRole; name != "" {
		b.Queue(`delete from roles where tenant_id = $1 and name = $2`, tenantID, name)
		b.Queue(auditInsert, auditArgs(tenantID, v.Now, p.By, "role.deleted", "role", name, "", "", "")...)
		b.Queue(`update approvals set status = 'superseded', decided_at = $3, decided_by = 'system:rosterd'
where tenant_id = $1 and role = $2 and status = 'pending'`, tenantID, name, v.Now)
	}
	if p.Mappings != nil {
		queueMappings(b, tenantID, p.Mappings)
		b.Queue(auditInsert, auditArgs(tenantID, v.Now, p.By, store.ActionMappingsUpdated, "role_mappings", tenantID, "",
			store.MappingsAudit(v.Roles.Mappings), store.MappingsAudit(p.Mappings))...)
	}
	if b.Len() == 0 {
		return nil
	}
	return roleClassError(tx.SendBatch(ctx, b).Close())
}
