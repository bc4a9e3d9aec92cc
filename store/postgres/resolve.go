package postgres

// Role resolution's reads and writes: the reads store.DecideRole and
// store.PlanMoves need (the role context, the users' groups under their
// locks), the writing of store.Moves (applyMoves, set-based), and the
// re-resolution a group write does inside its own transaction. The rules
// are store.DecideRole, store.PlanMoves and store.GroupChangeReach.
//
// Lock order: a change that re-resolves several users locks them FOR NO KEY
// UPDATE in id order before it changes memberships or moves seats (the tenant
// row), as a user write locks its user before the tenant row. The resolution
// reads memberships after taking the user's lock, so that of two concurrent
// membership changes of one user the second to lock it sees the first.

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// roleContextSQL reads what role resolution needs of a tenant ($1) in one row.
const roleContextSQL = `select t.settings,
	coalesce((select jsonb_agg(jsonb_build_array(r.name, r.privileged, r.seat_class) order by r.seq)
		from roles r where r.tenant_id = t.id), '[]'),
	coalesce((select jsonb_agg(jsonb_build_array(m.group_name, m.role) order by m.position)
		from role_mappings m where m.tenant_id = t.id), '[]')
from tenants t where t.id = $1`

func scanRoleContext(row pgx.Row) (*store.RoleContext, error) {
	var settings, roles, mappings []byte
	if err := row.Scan(&settings, &roles, &mappings); err != nil {
		return nil, err
	}
	rc := &store.RoleContext{Settings: store.DefaultSettings()}
	if err := json.Unmarshal(settings, &rc.Settings); err != nil {
		return nil, err
	}
	var rs [][3]any
	if err := json.Unmarshal(roles, &rs); err != nil {
		return nil, err
	}
	for _, r := range rs {
		name, _ := r[0].(string)
		privileged, _ := r[1].(bool)
		class, _ := r[2].(string)
		rc.Roles = append(rc.Roles, store.Role{Name: name, Privileged: privileged, SeatClass: store.SeatClass(class)})
	}
	var ms [][2]string
	if err := json.Unmarshal(mappings, &ms); err != nil {
		return nil, err
	}
	for _, m := range ms {
		rc.Mappings = append(rc.Mappings, store.RoleMapping{Group: m[0], Role: m[1]})
	}
	return rc, nil
}

// roleContext reads the tenant's role context; ErrNotFound for an unknown tenant.
func roleContext(ctx context.Context, q querier, tenantID string) (*store.RoleContext, error) {
	return scanRoleContext(q.QueryRow(ctx, roleContextSQL, tenantID))
}

// groupNamesSQL lists the displayNames of the groups of the users $2.
// Each membership's group is one probe of its primary key ("offset 0"
// keeps it a probe, not a join planned on a row estimate; plans.go).
const groupNamesSQL = `select m.user_id, g.display_name from group_members m
cross join lateral (select g.display_name, g.seq from groups g
	where g.tenant_id = m.tenant_id and g.id = m.group_id offset 0) as g
where m.tenant_id = $1 and m.user_id = any($2::text[])
order by g.seq`

func collectGroupNames(rows pgx.Rows) (map[string][]string, error) {
	out := map[string][]string{}
	var user, name string
	_, err := pgx.ForEachRow(rows, []any{&user, &name}, func() error {
		out[user] = append(out[user], name)
		return nil
	})
	return out, err
}

// resolutionInputs reads the role context and one user's groups in one round trip.
func resolutionInputs(ctx context.Context, tx pgx.Tx, tenantID, userID string) (*store.RoleContext, []string, error) {
	b := &pgx.Batch{}
	b.Queue(roleContextSQL, tenantID)
	b.Queue(groupNamesSQL, tenantID, []string{userID})
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	rc, err := scanRoleContext(br.QueryRow())
	if err != nil {
		return nil, nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, err
	}
	groups, err := collectGroupNames(rows)
	if err != nil {
		return nil, nil, err
	}
	return rc, groups[userID], br.Close()
}

// recordDecision writes what a role decision asks for beyond the user row:
// the audit event of a privileged grant, a pending approval (once per user
// and role) and its audit event.
func (s *Store) recordDecision(ctx context.Context, tx pgx.Tx, tenantID, userID string, d store.RoleDecision, by store.Actor, now time.Time) error {
	if d.Grant {
		e := store.GrantAudit(d, userID, by, now)
		if _, err := tx.Exec(ctx, auditInsert, auditArgs(tenantID, now, by, e.Action, e.TargetType, e.TargetID, e.Detail, "", "")...); err != nil {
			return err
		}
	}
	if d.Pending == nil {
		return nil
	}
	a := *d.Pending
	a.TenantID, a.ID, a.UserID, a.Status, a.CreatedAt = tenantID, s.newID(), userID, store.ApprovalPending, now
	// Once per user and role while pending; never again once rejected.
	tag, err := tx.Exec(ctx, `insert into approvals
	(tenant_id, id, user_id, role, status, requested_kind, requested_id, requested_name, request_id, created_at)
select $1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9
where not exists (select 1 from approvals where tenant_id = $1 and user_id = $3 and role = $4 and status = 'rejected')
on conflict (tenant_id, user_id, role) where status = 'pending' do nothing`,
		tenantID, a.ID, userID, a.Role, by.Kind, by.ID, by.Name, by.RequestID, now)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	e := store.PendingAudit(a, by, now)
	_, err = tx.Exec(ctx, auditInsert, auditArgs(tenantID, now, by, e.Action, e.TargetType, e.TargetID, e.Detail, "", e.After)...)
	return err
}

// lockUsersSQL locks live users ($2, sorted, each once) in id order, the
// order every multi-user write takes: one probe of the primary key per id,
// in the order given ("offset 0" keeps each a probe; see plans.go).
const lockUsersSQL = `select ` + userCols + ` from unnest($2::text[]) as a (id)
cross join lateral (select * from users u
	where u.tenant_id = $1 and u.id = a.id and ` + liveByKey + `
	offset 0 for no key update) as u`

// lockUsers locks the live users among ids, in id order, and returns them by id.
func lockUsers(ctx context.Context, tx pgx.Tx, tenantID string, ids []string) (map[string]store.User, error) {
	rows, err := tx.Query(ctx, lockUsersSQL, tenantID, lockOrder(ids))
	if err != nil {
		return nil, err
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.User, len(users))
	for _, u := range users {
		out[u.ID] = u
	}
	return out, nil
}

// lockUsersWithGroups locks the live users among ids, in id order, and
// reads their groups' displayNames after the locks, in one round trip.
func lockUsersWithGroups(ctx context.Context, tx pgx.Tx, tenantID string, ids []string) (map[string]store.User, map[string][]string, error) {
	// The users' locks, then their groups, in one round trip.
	b := &pgx.Batch{}
	b.Queue(lockUsersSQL, tenantID, storable(ids))
	b.Queue(groupNamesSQL, tenantID, storable(ids))
	br := tx.SendBatch(ctx, b)
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
	if err != nil {
		br.Close()
		return nil, nil, err
	}
	users := make(map[string]store.User, len(list))
	for _, u := range list {
		users[u.ID] = u
	}
	rows, err = br.Query()
	if err != nil {
		br.Close()
		return nil, nil, err
	}
	groups, err := collectGroupNames(rows)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, err
	}
	return users, groups, nil
}

// planMoves locks the listed users (live ones, each once), reads their
// groups as this transaction sees them, and re-resolves each under rc after
// mutate (when given) edits it (store.PlanMoves).
func planMoves(ctx context.Context, tx pgx.Tx, tenantID string, ids []string, rc *store.RoleContext, by store.Actor,
	mutate func(*store.User)) ([]store.Move, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	users, groups, err := lockUsersWithGroups(ctx, tx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	moves, err := store.PlanMoves(ids, users, groups, rc, by, mutate)
	if err != nil {
		return nil, callerErr{err}
	}
	return moves, nil
}

// applyMoves writes planned moves in a few set-based statements: the seat
// counters (cap-checked, all or nothing), the ledger, the users, and an
// audit event per user (user.updated naming the role change), then the
// privileged grants and approval requests.
func (s *Store) applyMoves(ctx context.Context, tx pgx.Tx, tenantID string, moves []store.Move, by store.Actor, now time.Time, why string) error {
	if len(moves) == 0 {
		return nil
	}
	var all []licensing.Transition
	var evUser, evClass, evReason []string
	var evDelta []int32
	var ids, roles, explicit, seats, details, befores, afters []string
	var active []bool
	var drifted []*time.Time
	for _, m := range moves {
		for _, t := range m.Transitions {
			evUser, evClass, evDelta, evReason = append(evUser, m.After.ID), append(evClass, string(t.Class)),
				append(evDelta, int32(t.Delta)), append(evReason, t.Reason)
		}
		all = append(all, m.Transitions...)
		after := m.After
		after.Version, after.UpdatedAt = m.Before.Version+1, now
		ids, roles, explicit, seats = append(ids, after.ID), append(roles, after.Role), append(explicit, after.ExplicitRole), append(seats, string(after.Seat))
		active, drifted = append(active, after.Active), append(drifted, after.DriftedAt)
		details = append(details, store.MoveDetail(m, why))
		befores, afters = append(befores, store.AuditJSON(m.Before)), append(afters, store.AuditJSON(after))
	}
	b := &pgx.Batch{}
	if len(all) > 0 {
		d := licensing.Delta(all)
		var inUse, purchased int
		var overage bool
		var seq int64
		if err := tx.QueryRow(ctx, `update tenants
set seats_full = seats_full + $2, seats_light = seats_light + $3, seat_seq = seat_seq + $4
where id = $1
returning seats_full, `+usableSQL("tenants", "$5")+`, coalesce((settings ->> 'overage')::boolean, false), seat_seq`,
			tenantID, d.Full, d.Light, len(all), now).Scan(&inUse, &purchased, &overage, &seq); err != nil {
			return err
		}
		if !licensing.CapAllows(inUse-d.Full, d.Full, purchased, overage) {
			return callerErr{&store.SeatLimitError{TenantID: tenantID, InUse: inUse - d.Full, Purchased: purchased}}
		}
		b.Queue(`insert into seat_events `+seatEventCols+`
select $1, $2 + ev.n, $3, ev.user_id, ev.class, ev.delta, ev.reason, $4, $5, $6, $7
from unnest($8::text[], $9::text[], $10::int[], $11::text[]) with ordinality as ev (user_id, class, delta, reason, n)`,
			slices.Concat([]any{tenantID, seq - int64(len(all)), now}, actorArgs(by),
				[]any{evUser, evClass, evDelta, evReason})...)
	}
	// One primary-key probe per moved user, then the row at the place it
	// found: joined on the id alone, PostgreSQL without statistics judges
	// the tenant's users a few rows and walks all of them for the moves
	// (plans.go). The users are locked (lockUsers), so no other transaction
	// moves a row between the probe and the update.
	b.Queue(`update users u set role = v.role, explicit_role = v.explicit, seat = v.seat, active = v.active, drifted_at = v.drifted,
	version = u.version + 1, updated_at = $2
from (select v.*, x.ctid as at from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::timestamptz[])
		as v (id, role, explicit, seat, active, drifted)
	cross join lateral (select x.ctid from users x where x.tenant_id = $1 and x.id = v.id offset 0) as x) as v
where u.ctid = v.at and u.tenant_id = $1`, tenantID, now, ids, roles, explicit, seats, active, drifted)
	b.Queue(`insert into audit_events `+auditColsDetail+`
select $1, $2, $3, $4, $5, $6, 'user.updated', 'user', v.id, v.detail, v.before, v.after
from unnest($7::text[], $8::text[], $9::text[], $10::text[]) with ordinality as v (id, detail, before, after, n)
order by v.n`, slices.Concat([]any{tenantID, now}, actorArgs(by), []any{ids, details, befores, afters})...)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	for _, m := range moves {
		if err := s.recordDecision(ctx, tx, tenantID, m.After.ID, m.Decision, by, now); err != nil {
			return err
		}
	}
	return nil
}

const auditColsDetail = `(tenant_id, at, actor_kind, actor_id, actor_name, request_id, action, target_type, target_id, detail, before_json, after_json)`

// mappedMembersSQL lists the users ($3: no explicit role only when true) in
// the groups whose displayName keys are $2.
const mappedMembersSQL = `select distinct m.user_id from group_members m
join groups g on g.tenant_id = m.tenant_id and g.id = m.group_id
join users u on u.tenant_id = m.tenant_id and u.id = m.user_id
where m.tenant_id = $1 and g.display_name_key = any($2::text[]) and u.deleted_at is null
	and (not $3 or u.explicit_role = '')
order by m.user_id`

func mappingKeys(lists ...[]store.RoleMapping) []string {
	keys := []string{}
	for _, l := range lists {
		for _, m := range l {
			if k := store.FoldKey(m.Group); !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

const approvalCols = `tenant_id, id, user_id, role, status, created_at, decided_at, decided_by,
	requested_kind, requested_id, requested_name, request_id`

func scanApproval(row pgx.Row) (store.Approval, error) {
	var a store.Approval
	if err := row.Scan(&a.TenantID, &a.ID, &a.UserID, &a.Role, &a.Status, &a.CreatedAt, &a.DecidedAt, &a.DecidedBy,
		&a.RequestedBy.Kind, &a.RequestedBy.ID, &a.RequestedBy.Name, &a.RequestedBy.RequestID); err != nil {
		return store.Approval{}, err
	}
	a.CreatedAt, a.DecidedAt = store.Timestamp(a.CreatedAt), tsPtr(a.DecidedAt)
	return a, nil
}

func (s *Store) ListApprovals(ctx context.Context, tenantID, status string) ([]store.Approval, error) {
	if !keysOK(tenantID, status) {
		return nil, store.ErrNotFound
	}
	return listOfTenant(ctx, s, "ListApprovals", `select `+approvalCols+` from approvals
where tenant_id = $1 and ($2 = '' or status = $2) order by seq`, scanApproval, tenantID, status)
}

// mappingsShared takes the mappings lock shared (see lockMappings).
const mappingsShared = `select pg_advisory_xact_lock_shared(hashtextextended('roster.role_mappings:' || $1, 0))`

// lockGroupWithRoles locks a group row (lock: "for update" or "for no key
// update") and reads the role context, after the shared mappings lock, in
// one round trip.
func lockGroupWithRoles(ctx context.Context, tx pgx.Tx, tenantID, groupID, lock string) (store.Group, *store.RoleContext, error) {
	b := &pgx.Batch{}
	b.Queue(mappingsShared, tenantID)
	b.Queue(`select `+groupCols+` from groups g where g.tenant_id = $1 and g.id = $2 `+lock, tenantID, groupID)
	b.Queue(roleContextSQL, tenantID)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return store.Group{}, nil, err
	}
	g, err := scanGroup(br.QueryRow())
	if err != nil {
		return store.Group{}, nil, err
	}
	rc, err := scanRoleContext(br.QueryRow())
	if err != nil {
		return store.Group{}, nil, err
	}
	return g, rc, br.Close()
}

// roleGroupChange takes the shared mappings lock, reads the role context and
// lists and locks the users a change of a group can move (roleGroupMembers).
func roleGroupChange(ctx context.Context, tx pgx.Tx, tenantID, groupID, oldName, newName string, ops []store.MemberOp) (*store.RoleContext, []string, error) {
	b := &pgx.Batch{}
	b.Queue(mappingsShared, tenantID)
	b.Queue(roleContextSQL, tenantID)
	br := tx.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, nil, err
	}
	rc, err := scanRoleContext(br.QueryRow())
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, err
	}
	ids, err := roleGroupMembers(ctx, tx, rc, tenantID, groupID, oldName, newName, ops)
	return rc, ids, err
}

// roleGroupMembers lists and locks the users whose role a change of the
// group can move (store.GroupChangeReach; newName "" when it is deleted),
// reading the members only when the change reaches them all. Nothing is
// read for a team.
func roleGroupMembers(ctx context.Context, tx pgx.Tx, rc *store.RoleContext, tenantID, groupID, oldName, newName string, ops []store.MemberOp) ([]string, error) {
	reach, whole, ids := store.GroupChangeReach(rc, oldName, newName, ops)
	if !reach {
		return nil, nil
	}
	ids = storable(ids)
	if whole {
		members, err := queryStrings(ctx, tx, `select user_id from group_members where tenant_id = $1 and group_id = $2`, tenantID, groupID)
		if err != nil {
			return nil, err
		}
		ids = store.LockOrder(append(ids, members...))
	}
	if _, err := lockUsers(ctx, tx, tenantID, ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// errStaleDefault says a fast creation assumed a default role the tenant no
// longer has; CreateUser then resolves the role from the database.
var errStaleDefault = errors.New("postgres: the tenant's default role changed")

// fastCreate binds a creation without reading the tenant first, when the
// role it resolves to needs nothing but what is known here: an explicit
// built-in role that is not privileged, or — with no explicit role — the
// tenant's default role as last read (agent until read), which the statement
// checks (and which, if it moved, sends CreateUser down the slow path).
// ok is false when the creation needs the tenant's roles.
func (s *Store) fastCreate(tenantID string, u store.User, by store.Actor) (*pendingCreate, bool, error) {
	if err := store.ValidateUser(&u); err != nil {
		return nil, false, err
	}
	var guard *string
	role := store.ExplicitFrom(nil, &u)
	if role == "" {
		def := store.RoleAgent
		if v, ok := s.defaultRoles.Load(tenantID); ok {
			def = v.(string)
		}
		if def == "" {
			def = store.RoleAgent
		}
		role, guard = def, &def
	}
	if role != store.RoleAgent && role != store.RoleSupervisor {
		return nil, false, nil
	}
	if u.ID == "" {
		u.ID = s.newID()
	}
	now := s.clock()
	u = u.Clone()
	u.TenantID, u.Version, u.CreatedAt, u.UpdatedAt = tenantID, 1, now, now
	rc := &store.RoleContext{Settings: store.Settings{DefaultRole: role, PrivilegedRoles: store.PrivilegedDeny}}
	c, err := s.bindCreate(rc, tenantID, u, by, now, guard)
	return c, err == nil, err
}

// defaultMoved reads the tenant's default role, caches it, and says whether
// it differs from the one a creation assumed.
func (s *Store) defaultMoved(ctx context.Context, tenantID, assumed string) bool {
	var def string
	if err := s.pool.QueryRow(ctx, `select coalesce(nullif(settings ->> 'default_role', ''), 'agent') from tenants where id = $1`,
		tenantID).Scan(&def); err != nil {
		return false // an unknown tenant: whyNotCreated says so
	}
	s.defaultRoles.Store(tenantID, def)
	return def != assumed
}

// resolution is what a user's role resolves from: the tenant's role context
// and the displayNames of the user's groups.
type resolution struct {
	rc     *store.RoleContext
	groups []string
}

// lockUserWithRoles locks a live user (as lockUser) and reads, after the
// lock, the role context and the user's groups, in one round trip.
func lockUserWithRoles(ctx context.Context, tx pgx.Tx, tenantID, id string) (store.User, *resolution, error) {
	b := &pgx.Batch{}
	b.Queue(`select `+userCols+` from users u
where u.tenant_id = $1 and u.id = $2 and `+liveByKey+`
for no key update`, tenantID, id)
	b.Queue(roleContextSQL, tenantID)
	b.Queue(groupNamesSQL, tenantID, []string{id})
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	u, err := scanUser(br.QueryRow())
	if err != nil {
		return store.User{}, nil, err
	}
	rc, err := scanRoleContext(br.QueryRow())
	if err != nil {
		return store.User{}, nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return store.User{}, nil, err
	}
	groups, err := collectGroupNames(rows)
	if err != nil {
		return store.User{}, nil, err
	}
	return u, &resolution{rc: rc, groups: groups[id]}, br.Close()
}
