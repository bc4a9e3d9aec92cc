package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// userStringCols are the columns of the user's simple strings
// (store.UserStrings, whose Column is u.<column>), in the table's order.
var userStringCols = func() []string {
	out := make([]string, len(store.UserStrings))
	for i, a := range store.UserStrings {
		c, ok := strings.CutPrefix(a.Column, "u.")
		if !ok || c == "" || strings.ContainsAny(c, " .()") {
			panic("postgres: the simple string " + a.Name + " has no users column (store.UserSchema)")
		}
		out[i] = c
	}
	return out
}()

// userWriteCols are the user columns a caller's values set, in the order of
// userWriteArgs: the simple strings, then the attributes written their own
// way (a folded key, booleans, JSON, the roles, arrays, times).
var userWriteCols = slices.Concat(userStringCols, []string{
	"user_name_key", "active", "emails", "phone_numbers", "addresses", "scim_roles", "ent_manager_id",
	"role", "stores", "access_expires_at", "last_active_at", "explicit_role",
	"managed", "idp", "drifted_at",
})

// colNames are the template tokens of userWriteArgs: {c_<column>}.
var colNames = func() []string {
	out := make([]string, len(userWriteCols))
	for i, c := range userWriteCols {
		out[i] = "c_" + c
	}
	return out
}()

func userWriteArgs(u *store.User) ([]any, error) {
	emails, err := jsonArg(u.Emails)
	if err != nil {
		return nil, err
	}
	phones, err := jsonArg(u.PhoneNumbers)
	if err != nil {
		return nil, err
	}
	addresses, err := jsonArg(u.Addresses)
	if err != nil {
		return nil, err
	}
	roles, err := jsonArg(u.Roles)
	if err != nil {
		return nil, err
	}
	args := make([]any, 0, len(userWriteCols))
	for i := range store.UserStrings {
		args = append(args, *store.UserStrings[i].Field(u))
	}
	return append(args,
		store.FoldKey(u.UserName), u.Active, emails, phones, addresses, roles, u.Enterprise.ManagerID,
		u.Role, u.Stores, tsPtr(u.AccessExpiresAt), tsPtr(u.LastActiveAt), u.ExplicitRole,
		u.Managed, u.IdP, tsPtr(u.DriftedAt),
	), nil
}

// userCols are the columns scanUser reads, qualified by the alias u: the
// simple strings in the order of store.UserStrings, then the rest. Spelled
// out because constant statements are built from it;
// TestUserCols_followTheTable holds it to userColumns, which the table
// derives.
const userCols = `u.tenant_id, u.id,
u.external_id, u.user_name,
u.name_formatted, u.name_family, u.name_given, u.name_middle, u.name_honorific_prefix, u.name_honorific_suffix,
u.display_name, u.nick_name, u.profile_url, u.title, u.user_type, u.preferred_language, u.locale, u.timezone,
u.ent_employee_number, u.ent_cost_center, u.ent_organization, u.ent_division, u.ent_department,
u.active, u.emails, u.phone_numbers, u.addresses, u.scim_roles, u.ent_manager_id,
u.role, u.stores, u.seat, u.access_expires_at, u.last_active_at, u.version, u.created_at, u.updated_at, u.explicit_role,
u.managed, u.idp, u.drifted_at`

// userColumns is what userCols must say, derived from the table.
var userColumns = "u." + strings.Join(slices.Concat([]string{"tenant_id", "id"}, userStringCols, []string{
	"active", "emails", "phone_numbers", "addresses", "scim_roles", "ent_manager_id",
	"role", "stores", "seat", "access_expires_at", "last_active_at", "version", "created_at", "updated_at", "explicit_role",
	"managed", "idp", "drifted_at",
}), ", u.")

var userColCount = strings.Count(userColumns, ",") + 1

// scanUser reads userCols, after the extra destinations when given.
func scanUser(row pgx.Row, extra ...any) (store.User, error) {
	var u store.User
	var emails, phones, addresses, roles []byte
	dest := make([]any, 0, len(extra)+userColCount)
	dest = append(dest, extra...)
	dest = append(dest, &u.TenantID, &u.ID)
	for i := range store.UserStrings {
		dest = append(dest, store.UserStrings[i].Field(&u))
	}
	dest = append(dest,
		&u.Active, &emails, &phones, &addresses, &roles, &u.Enterprise.ManagerID,
		&u.Role, &u.Stores, &u.Seat, &u.AccessExpiresAt, &u.LastActiveAt, &u.Version, &u.CreatedAt, &u.UpdatedAt, &u.ExplicitRole,
		&u.Managed, &u.IdP, &u.DriftedAt,
	)
	if err := row.Scan(dest...); err != nil {
		return store.User{}, err
	}
	for _, e := range []error{
		fromJSON(emails, &u.Emails), fromJSON(phones, &u.PhoneNumbers),
		fromJSON(addresses, &u.Addresses), fromJSON(roles, &u.Roles),
	} {
		if e != nil {
			return store.User{}, e
		}
	}
	u.AccessExpiresAt, u.LastActiveAt, u.DriftedAt = tsPtr(u.AccessExpiresAt), tsPtr(u.LastActiveAt), tsPtr(u.DriftedAt)
	u.CreatedAt, u.UpdatedAt = store.Timestamp(u.CreatedAt), store.Timestamp(u.UpdatedAt)
	return u, nil
}

// seatPlans carries the seat outcome of a write for each possible seat class
// of the user's role (plan 1: full, plan 2: light), computed in Go by
// licensing.SeatFor and licensing.SeatTransitions. The SQL picks the plan from
// the roles table in the same statement, which saves the round trip of
// looking the role up first, while the rules stay in one place (package
// licensing).
type seatPlans struct {
	seat   []string // the user's seat under each plan
	dFull  []int32  // change of tenants.seats_full
	dLight []int32  // change of tenants.seats_light
	nEv    []int32  // number of ledger entries
	audit  string   // the audited user (store.AuditJSON) under plan 1; see auditSQL

	// The ledger entries of all plans, flattened.
	evPlan   []int32
	evK      []int32 // 1-based position among the entries of its plan
	evClass  []string
	evDelta  []int32
	evReason []string
}

func (p *seatPlans) add(seat store.SeatClass, ts []licensing.Transition) {
	plan := int32(len(p.seat) + 1)
	d := licensing.Delta(ts)
	p.seat = append(p.seat, string(seat))
	p.dFull = append(p.dFull, int32(d.Full))
	p.dLight = append(p.dLight, int32(d.Light))
	p.nEv = append(p.nEv, int32(len(ts)))
	for i, t := range ts {
		p.evPlan = append(p.evPlan, plan)
		p.evK = append(p.evK, int32(i+1))
		p.evClass = append(p.evClass, string(t.Class))
		p.evDelta = append(p.evDelta, int32(t.Delta))
		p.evReason = append(p.evReason, t.Reason)
	}
}

// userPlans builds the two plans of a user write of u (whose Seat is
// ignored): its seat under each role class, the transitions from old, and the
// audited record (store.AuditJSON of u with the plan's seat).
func userPlans(kind licensing.TransitionKind, old store.SeatClass, u store.User, expired bool) *seatPlans {
	full, light := licensing.SeatFor(u.Active, store.SeatFull), licensing.SeatFor(u.Active, store.SeatLight)
	p := &seatPlans{}
	p.add(full, licensing.SeatTransitions(kind, old, full, expired))
	p.add(light, licensing.SeatTransitions(kind, old, light, expired))
	u.Seat = full
	p.audit = store.AuditJSON(u)
	return p
}

// auditSQL is the audited user under the chosen plan p: the JSON is encoded
// once, under plan 1, and the seat is its only difference between plans.
// `"seat":"…"` occurs once in it (quotes inside values are escaped).
var auditSQL = auditSeatSQL("{audit}::text", "({seat}::text[])[1]", "({seat}::text[])[{p}]")

// planNames are the template tokens of seatPlans.args, in order.
var planNames = []string{"seat", "dfull", "dlight", "nev", "audit", "evplan", "evk", "evclass", "evdelta", "evreason"}

func (p *seatPlans) args() []any {
	return []any{p.seat, p.dFull, p.dLight, p.nEv, p.audit, p.evPlan, p.evK, p.evClass, p.evDelta, p.evReason}
}

// pick is the plan the SQL chose (1-based).
func (p *seatPlans) pick(plan int32) (seat store.SeatClass, dFull int) {
	return store.SeatClass(p.seat[plan-1]), int(p.dFull[plan-1])
}

// planEvents is the ledger entries of all plans as rows (plan, k, class, delta, reason).
const planEvents = `unnest({evplan}::int[], {evk}::int[], {evclass}::text[], {evdelta}::int[], {evreason}::text[])
	as ev (plan, k, class, delta, reason)`

// roleClassCTE picks the plan: 2 when the user's role is a light custom role
// of the tenant, else 1. Materialized: the lookup runs once, not once per use.
// It takes a key-share lock on a custom role's row, so that a concurrent
// DeleteRole either sees this holder or comes first, and it has no row when
// the role is neither built in nor there (any more): then nothing is written.
const roleClassCTE = `r as materialized (
	select case when x.seat_class = 'light' then 2 else 1 end as p
	from (select {c_role}::text as name) n
	left join lateral (
		select seat_class from roles where tenant_id = {tenant} and name = n.name for key share
	) x on true
	where n.name in ('admin', 'supervisor', 'agent') or x.seat_class is not null
)`

// actorNames are the template tokens of actorArgs.
var actorNames = []string{"akind", "aid", "aname", "areq"}

func actorArgs(by store.Actor) []any { return []any{by.Kind, by.ID, by.Name, by.RequestID} }

const seatEventCols = `(tenant_id, seq, at, user_id, class, delta, reason, actor_kind, actor_id, actor_name, request_id)`

const auditCols = `(tenant_id, at, actor_kind, actor_id, actor_name, request_id, action, target_type, target_id, before_json, after_json)`

// createUserNames are the tokens of createUserSQL, in argument order.
var createUserNames = slices.Concat([]string{"tenant", "id", "now"}, actorNames, createPlanNames, colNames, []string{"defguard"})

// createPlanNames are the tokens of seatPlans.createArgs: the two plans as
// scalars (cheaper to send than arrays on the hottest path); a creation moves
// a seat at most once (from none), so each plan has at most one ledger entry.
var createPlanNames = []string{
	"seat1", "seat2", "dfull1", "dfull2", "dlight1", "dlight2", "nev1", "nev2", "audit",
	"evclass1", "evclass2", "evdelta1", "evdelta2", "evreason1", "evreason2",
}

// createArgs are the arguments of createPlanNames (null where a plan has no
// ledger entry).
func (p *seatPlans) createArgs() []any {
	var class, reason [2]*string
	var delta [2]*int32
	for i, plan := range p.evPlan {
		if p.evK[i] != 1 {
			panic("postgres: a creation moves a seat at most once")
		}
		class[plan-1], delta[plan-1], reason[plan-1] = &p.evClass[i], &p.evDelta[i], &p.evReason[i]
	}
	return []any{p.seat[0], p.seat[1], p.dFull[0], p.dFull[1], p.dLight[0], p.dLight[1], p.nEv[0], p.nEv[1], p.audit,
		class[0], class[1], delta[0], delta[1], reason[0], reason[1]}
}

// byPlan is the SQL of a per-plan scalar {name1}/{name2} under plan p.
func byPlan(name, typ, p string) string {
	return "(case when " + p + " = 1 then {" + name + "1}::" + typ + " else {" + name + "2}::" + typ + " end)"
}

// createUserSQL creates a user in one statement, without an explicit
// transaction: it bumps the tenant's user_seq (locking the tenant row, which
// orders creations by commit and serialises the seat check), moves the seat
// counters when the cap allows, and inserts the user, its ledger entry and
// its audit event. No row back means the tenant is unknown or the cap refused.
var createUserSQL = bind(`with `+roleClassCTE+`, t as (
	update tenants tn
	set user_seq = tn.user_seq + 1,
	    seats_full = tn.seats_full + `+byPlan("dfull", "int", "r.p")+`,
	    seats_light = tn.seats_light + `+byPlan("dlight", "int", "r.p")+`,
	    seat_seq = tn.seat_seq + `+byPlan("nev", "int", "r.p")+`
	from r
	where tn.id = {tenant}
	  and `+capSQL("tn", byPlan("dfull", "int", "r.p"), "{now}")+`
	  and ({defguard}::text is null or coalesce(nullif(tn.settings ->> 'default_role', ''), 'agent') = {defguard}::text)
	returning tn.user_seq, tn.seat_seq, r.p
), u as (
	insert into users (tenant_id, id, seq, seat, version, created_at, updated_at, `+strings.Join(userWriteCols, ", ")+`)
	select {tenant}, {id}, t.user_seq, `+byPlan("seat", "text", "t.p")+`, 1, {now}, {now}, {`+strings.Join(colNames, "}, {")+`}
	from t
	returning id
), se as (
	insert into seat_events `+seatEventCols+`
	select {tenant}, t.seat_seq, {now}, u.id,
		`+byPlan("evclass", "text", "t.p")+`, `+byPlan("evdelta", "int", "t.p")+`, `+byPlan("evreason", "text", "t.p")+`,
		{akind}, {aid}, {aname}, {areq}
	from t, u
	where `+byPlan("nev", "int", "t.p")+` = 1
), a as (
	insert into audit_events `+auditCols+`
	select {tenant}, {now}, {akind}, {aid}, {aname}, {areq}, 'user.created', 'user', u.id, '',
		`+auditSeatSQL("{audit}::text", "{seat1}::text", byPlan("seat", "text", "t.p"))+`
	from t, u
)
select t.p from t, u`, createUserNames...)

func (s *Store) CreateUser(ctx context.Context, tenantID string, u store.User, by store.Actor) (store.User, error) {
	if !keysOK(tenantID) {
		return store.User{}, store.ErrNotFound
	}
	if c, ok, err := s.fastCreate(tenantID, u, by); err != nil || ok {
		if err != nil {
			return store.User{}, err
		}
		out, err := s.create(ctx, c) // one statement, no transaction: the hot path (createbatch.go)
		if !errors.Is(err, errStaleDefault) {
			return out, err
		}
	}
	c, err := s.prepareCreate(ctx, s.pool, tenantID, u, by)
	if err != nil {
		return store.User{}, err
	}
	if !c.d.Grant && c.d.Pending == nil {
		return s.create(ctx, c)
	}
	// A privileged grant or an approval request is written with the user.
	var out store.User
	err = s.inTx(ctx, "CreateUser", c.v, func(tx pgx.Tx) error {
		var err error
		if out, err = c.exec(ctx, tx); err != nil {
			return callerErr{err}
		}
		return s.recordDecision(ctx, tx, tenantID, c.u.ID, c.d, by, c.now)
	})
	if err != nil {
		return store.User{}, err
	}
	return out, nil
}

// pendingCreate is a user creation checked, resolved and bound, ready to run.
type pendingCreate struct {
	s        *Store
	tenantID string
	guard    *string // the default role the statement checks (fastCreate)
	u        store.User
	d        store.RoleDecision
	plans    *seatPlans
	args     []any
	v        vals
	now      time.Time
}

// prepareCreate validates a new user and resolves its role (a new user is in
// no group yet, so explicit else default), reading through q.
func (s *Store) prepareCreate(ctx context.Context, q querier, tenantID string, u store.User, by store.Actor) (*pendingCreate, error) {
	if err := store.ValidateUser(&u); err != nil {
		return nil, err
	}
	rc, err := roleContext(ctx, q, tenantID)
	if err != nil {
		return nil, s.convert("CreateUser", err, nil)
	}
	return s.newCreate(rc, tenantID, u, by, s.clock())
}

// newCreate binds the creation of a validated user under the role context
// rc, stamped now (an empty ID is made).
func (s *Store) newCreate(rc *store.RoleContext, tenantID string, u store.User, by store.Actor, now time.Time) (*pendingCreate, error) {
	if u.ID == "" {
		u.ID = s.newID()
	}
	u = u.Clone()
	u.TenantID, u.Version, u.CreatedAt, u.UpdatedAt = tenantID, 1, now, now
	s.defaultRoles.Store(tenantID, rc.Settings.DefaultRole)
	return s.bindCreate(rc, tenantID, u, by, now, nil)
}

func (s *Store) bindCreate(rc *store.RoleContext, tenantID string, u store.User, by store.Actor, now time.Time, guard *string) (*pendingCreate, error) {
	d, err := store.DecideRole(rc, nil, &u, nil, by)
	if err != nil {
		return nil, err
	}
	plans := userPlans(licensing.OnCreate, store.SeatNone, u, false)
	cols, err := userWriteArgs(&u)
	if err != nil {
		return nil, err
	}
	return &pendingCreate{s: s, tenantID: tenantID, u: u, d: d, plans: plans, now: now, guard: guard,
		args: slices.Concat([]any{tenantID, u.ID, now}, actorArgs(by), plans.createArgs(), cols, []any{guard}),
		v:    vals{"userName": u.UserName, "id": u.ID}}, nil
}

// exec runs the creation through q. A refusal can race with a release: it
// retries while the follow-up finds room.
func (c *pendingCreate) exec(ctx context.Context, q querier) (store.User, error) {
	s, u := c.s, c.u
	for attempt := 0; ; attempt++ {
		var plan int32
		err := q.QueryRow(ctx, createUserSQL, c.args...).Scan(&plan)
		if err == nil {
			u.Seat, _ = c.plans.pick(plan)
			return u, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return store.User{}, s.explainConflict(ctx, c.tenantID, &u, s.convert("CreateUser", err, c.v))
		}
		if c.guard != nil && s.defaultMoved(ctx, c.tenantID, *c.guard) {
			return store.User{}, errStaleDefault
		}
		retry, err := s.whyNotCreated(ctx, c.tenantID, &u, c.now)
		if !retry || attempt == 2 {
			return store.User{}, err
		}
	}
}

// whyNotCreated explains a CreateUser statement that wrote nothing: unknown
// tenant, or the seat cap; a taken userName or id wins over the cap, as in
// every backend. retry says the cap has room again.
func (s *Store) whyNotCreated(ctx context.Context, tenantID string, u *store.User, now time.Time) (retry bool, err error) {
	var inUse, purchased int
	var overage, nameTaken, idTaken, roleOK bool
	err = s.pool.QueryRow(ctx, `select seats_full, `+usableSQL("tenants", "$4")+`, `+overageSQL("tenants")+`,
	exists (select 1 from users where tenant_id = $1 and user_name_key = $2 and deleted_at is null),
	exists (select 1 from users where tenant_id = $1 and id = $3),
	$5 in ('admin', 'supervisor', 'agent') or exists (select 1 from roles where tenant_id = $1 and name = $5)
from tenants where id = $1`, tenantID, store.FoldKey(u.UserName), u.ID, now, u.Role).Scan(&inUse, &purchased, &overage, &nameTaken, &idTaken, &roleOK)
	limit := &store.SeatLimitError{TenantID: tenantID, InUse: inUse, Purchased: purchased}
	switch {
	case err != nil:
		return false, s.convert("CreateUser", err, nil)
	case nameTaken:
		return false, s.userExists(ctx, tenantID, u) // names the role they hold (lifecycle.go)
	case idTaken:
		return false, &store.ConflictError{Field: "id", Value: u.ID}
	case !roleOK: // deleted since the role was resolved
		rc, err := roleContext(ctx, s.pool, tenantID)
		if err != nil {
			return false, s.convert("CreateUser", err, nil)
		}
		return false, &store.UnknownRoleError{Role: u.Role, Known: rc.Known()}
	case licensing.CapAllows(inUse, 1, purchased, overage):
		return true, limit
	}
	return false, limit
}

func (s *Store) GetUser(ctx context.Context, tenantID, id string) (store.User, error) {
	if !keysOK(tenantID, id) {
		return store.User{}, store.ErrNotFound
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `select `+userCols+` from users u
where u.tenant_id = $1 and u.id = $2 and `+liveByKey, tenantID, id))
	if err != nil {
		return store.User{}, s.convert("GetUser", err, nil)
	}
	return u, nil
}

// GetUserByUserName looks the user up by FoldKey(userName): one probe of the
// unique index users_user_name_key_uq.
func (s *Store) GetUserByUserName(ctx context.Context, tenantID, userName string) (store.User, error) {
	if !keysOK(tenantID) {
		return store.User{}, store.ErrNotFound
	}
	u, err := scanUser(s.pool.QueryRow(ctx, getByUserNameSQL, s.lookupArgs(readByUserName, tenantID, store.FoldKey(userName))...))
	if err != nil {
		return store.User{}, s.convert("GetUserByUserName", err, nil)
	}
	return u, nil
}

const getByUserNameSQL = `select ` + userCols + ` from users u
where u.tenant_id = $1 and u.user_name_key = $2 and u.deleted_at is null`

func (s *Store) ListUsers(ctx context.Context, tenantID string, q store.UserQuery) (store.UserPage, error) {
	if !keysOK(tenantID) {
		return store.UserPage{}, store.ErrNotFound
	}
	f, err := store.Normalize(store.Users, q.Filter)
	if err != nil {
		return store.UserPage{}, err
	}
	sortBy, err := store.SortAttr(store.Users, q.SortBy)
	if err != nil {
		return store.UserPage{}, err
	}
	b := &sqlBuilder{args: []any{tenantID}}
	where, err := b.filter(f, usersTable)
	if err != nil {
		return store.UserPage{}, err
	}
	from := ` from users u where u.tenant_id = $1 and u.deleted_at is null and ` + where

	batch := &pgx.Batch{}
	// A filtered list is planned for its values (plans.go, customPlans).
	custom := q.Filter != nil
	if custom {
		batch.Queue(customPlans)
	}
	batch.Queue(`select (select count(*)`+from+`), exists (select 1 from tenants where id = $1)`, b.args...)
	// A page in creation order walks users_tenant_seq_key in order; with
	// no statistics, PostgreSQL would rather sort every user of the tenant
	// for each page (plans.go). The setting ends with the batch's implicit
	// transaction.
	inOrder := q.Count > 0 && q.Filter == nil && q.SortBy == "" && !q.Descending
	if inOrder {
		batch.Queue(`select set_config('enable_sort', 'off', true)`)
	}
	if q.Count > 0 {
		start := max(q.StartIndex, 1)
		args := append(b.args[:len(b.args):len(b.args)], start-1, q.Count)
		batch.Queue(fmt.Sprintf(`select `+userCols+from+` order by %s offset $%d limit $%d`,
			orderBy(sortBy, usersTable, q.Descending), len(args)-1, len(args)), args...)
	}
	br := s.pool.SendBatch(ctx, batch)
	defer br.Close()
	if custom {
		if _, err := br.Exec(); err != nil {
			return store.UserPage{}, s.convert("ListUsers", err, nil)
		}
	}

	page := store.UserPage{Users: []store.User{}}
	var tenantOK bool
	if err := br.QueryRow().Scan(&page.Total, &tenantOK); err != nil {
		return store.UserPage{}, s.convert("ListUsers", err, nil)
	}
	if !tenantOK {
		return store.UserPage{}, store.ErrNotFound
	}
	if inOrder {
		if _, err := br.Exec(); err != nil {
			return store.UserPage{}, s.convert("ListUsers", err, nil)
		}
	}
	if q.Count > 0 {
		rows, err := br.Query()
		if err != nil {
			return store.UserPage{}, s.convert("ListUsers", err, nil)
		}
		users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
		if err != nil {
			return store.UserPage{}, s.convert("ListUsers", err, nil)
		}
		if users != nil {
			page.Users = users
		}
	}
	return page, s.convert("ListUsers", br.Close(), nil)
}

// updateUserNames are the tokens of updateUserSQL, in argument order.
var updateUserNames = slices.Concat([]string{"tenant", "id", "now", "before"}, actorNames, planNames, colNames)

// updateUserSQL writes an updated user, its seat change, ledger entries and
// audit event in one statement inside UpdateUser's transaction. The tenant
// row is locked (only when the seat changes) before the new userName enters
// the unique index — the subquery on t in u's where clause runs first — so
// the lock order is user row, then tenant row, as everywhere.
var updateUserSQL = func() string {
	sets := make([]string, len(userWriteCols))
	for i, c := range userWriteCols {
		sets[i] = c + " = {" + colNames[i] + "}"
	}
	return bind(`with `+roleClassCTE+`, t as (
	update tenants tn
	set seats_full = tn.seats_full + ({dfull}::int[])[r.p],
	    seats_light = tn.seats_light + ({dlight}::int[])[r.p],
	    seat_seq = tn.seat_seq + ({nev}::int[])[r.p]
	from r
	where tn.id = {tenant} and ({nev}::int[])[r.p] > 0
	returning tn.seats_full, `+usableSQL("tn", "{now}")+` as seats, `+overageSQL("tn")+` as overage, tn.seat_seq
), u as (
	update users u
	set `+strings.Join(sets, ", ")+`, seat = ({seat}::text[])[r.p], version = u.version + 1, updated_at = {now}
	from r
	where u.tenant_id = {tenant} and u.id = {id} and (select count(*) from t) >= 0
	returning `+userCols+`
), se as (
	insert into seat_events `+seatEventCols+`
	select {tenant}, t.seat_seq - ({nev}::int[])[r.p] + ev.k, {now}, {id}, ev.class, ev.delta, ev.reason,
		{akind}, {aid}, {aname}, {areq}
	from t, r, `+planEvents+`
	where ev.plan = r.p
), a as (
	insert into audit_events `+auditCols+`
	select {tenant}, {now}, {akind}, {aid}, {aname}, {areq}, 'user.updated', 'user', u.id, {before}, `+strings.ReplaceAll(auditSQL, "{p}", "r.p")+`
	from r, u
)
select r.p, t.seats_full, t.seats, t.overage, u.* from r cross join u left join t on true`, updateUserNames...)
}()

func (s *Store) UpdateUser(ctx context.Context, tenantID, id string, by store.Actor, fn func(*store.User) error) (store.User, error) {
	if !keysOK(tenantID, id) {
		return store.User{}, store.ErrNotFound
	}
	var out store.User
	err := s.inTx(ctx, "UpdateUser", nil, func(tx pgx.Tx) error {
		// The user's lock, then what its role resolves from, in one round trip (resolve.go).
		old, in, err := lockUserWithRoles(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		out, err = s.updateLocked(ctx, tx, tenantID, old, by, fn, in)
		return err
	})
	if err != nil {
		return store.User{}, err
	}
	return out, nil
}

// updateLocked writes fn's change of old, a user this transaction has
// locked: role resolution, seat move, ledger, audit, in one statement.
// in is what the role resolves from, when read already (nil: read here).
func (s *Store) updateLocked(ctx context.Context, tx pgx.Tx, tenantID string, old store.User, by store.Actor, fn func(*store.User) error,
	in *resolution) (store.User, error) {
	id := old.ID
	var out store.User
	err := func() error {
		u := old.Clone()
		if err := fn(&u); err != nil {
			return callerErr{err}
		}
		u = u.Clone() // the closure may keep a reference; what is written is ours
		if err := store.ValidateUser(&u); err != nil {
			return callerErr{err}
		}
		if store.SameUser(old, u) {
			out = old // nothing to write: no new version, no audit or seat event
			return nil
		}
		now := s.clock()
		u.ID, u.TenantID, u.CreatedAt, u.Version, u.UpdatedAt = old.ID, old.TenantID, old.CreatedAt, old.Version+1, now
		if in == nil {
			rc, groups, err := resolutionInputs(ctx, tx, tenantID, id)
			if err != nil {
				return err
			}
			in = &resolution{rc: rc, groups: groups}
		}
		rc := in.rc
		d, err := store.DecideRole(rc, &old, &u, in.groups, by)
		if err != nil {
			return callerErr{err}
		}
		plans := userPlans(licensing.OnUpdate, old.Seat, u, store.Expired(u.AccessExpiresAt, now))
		cols, err := userWriteArgs(&u)
		if err != nil {
			return err
		}
		args := slices.Concat([]any{tenantID, id, now, store.AuditJSON(old)}, actorArgs(by), plans.args(), cols)
		var plan int32
		var inUse, purchased *int
		var overage *bool
		out, err = scanUser(tx.QueryRow(ctx, updateUserSQL, args...), &plan, &inUse, &purchased, &overage)
		if errors.Is(err, pgx.ErrNoRows) { // the role was deleted since it was resolved
			return callerErr{&store.UnknownRoleError{Role: u.Role, Known: rc.Known()}}
		}
		if err != nil {
			return callerErr{s.convert("UpdateUser", err, vals{"userName": u.UserName})}
		}
		// inUse is counted after the move: the cap is judged on the seats held before it.
		if _, dFull := plans.pick(plan); inUse != nil && !licensing.CapAllows(*inUse-dFull, dFull, *purchased, *overage) {
			return callerErr{&store.SeatLimitError{TenantID: tenantID, InUse: *inUse - dFull, Purchased: *purchased}}
		}
		return s.recordDecision(ctx, tx, tenantID, id, d, by, now)
	}()
	return out, err
}

// lockUser reads a live user and locks its row against other writers for the
// rest of the transaction. FOR NO KEY UPDATE leaves the key-share locks of
// membership inserts free, but FOR SHARE (how a group add checks its users)
// waits, so a user being deleted never becomes a member.
func (s *Store) lockUser(ctx context.Context, tx pgx.Tx, tenantID, id string) (store.User, error) {
	return scanUser(tx.QueryRow(ctx, `select `+userCols+` from users u
where u.tenant_id = $1 and u.id = $2 and `+liveByKey+`
for no key update`, tenantID, id))
}

// deleteUserNames are the tokens of deleteUserSQL, in argument order.
var deleteUserNames = slices.Concat([]string{"tenant", "id", "now", "before"}, actorNames, []string{"dfull", "dlight", "evclass", "evdelta", "evreason"})

// deleteUserSQL soft-deletes a user inside DeleteUser's transaction: the row
// stays for the audit trail, the seat is released, memberships go.
var deleteUserSQL = bind(`with t as (
	update tenants tn
	set seats_full = tn.seats_full + {dfull}::int,
	    seats_light = tn.seats_light + {dlight}::int,
	    seat_seq = tn.seat_seq + cardinality({evclass}::text[])
	where tn.id = {tenant} and cardinality({evclass}::text[]) > 0
	returning tn.seat_seq
), u as (
	update users set deleted_at = {now}, updated_at = {now}, seat = 'none'
	where tenant_id = {tenant} and id = {id} and (select count(*) from t) >= 0
	returning id
), gm as (
	delete from group_members where tenant_id = {tenant} and user_id = {id} returning group_id
), se as (
	insert into seat_events `+seatEventCols+`
	select {tenant}, t.seat_seq - cardinality({evclass}::text[]) + ev.k, {now}, {id}, ev.class, ev.delta, ev.reason,
		{akind}, {aid}, {aname}, {areq}
	from t, unnest({evclass}::text[], {evdelta}::int[], {evreason}::text[]) with ordinality as ev (class, delta, reason, k)
), a as (
	insert into audit_events `+auditCols+`
	select {tenant}, {now}, {akind}, {aid}, {aname}, {areq}, 'user.deleted', 'user', u.id, {before}, '' from u
)
select coalesce(array_agg(group_id order by group_id), '{}') from gm`, deleteUserNames...)

// DeleteUser soft-deletes a user: reads answer ErrNotFound, the userName is
// free again, the seat is released and the user leaves every group.
func (s *Store) DeleteUser(ctx context.Context, tenantID, id string, by store.Actor) error {
	if !keysOK(tenantID, id) {
		return store.ErrNotFound
	}
	return s.inTx(ctx, "DeleteUser", nil, func(tx pgx.Tx) error {
		old, err := s.lockUser(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		ts := licensing.SeatTransitions(licensing.OnDelete, old.Seat, store.SeatNone, false)
		d := licensing.Delta(ts)
		classes, deltas, reasons := []string{}, []int32{}, []string{}
		for _, t := range ts {
			classes, deltas, reasons = append(classes, string(t.Class)), append(deltas, int32(t.Delta)), append(reasons, t.Reason)
		}
		args := slices.Concat([]any{tenantID, id, s.clock(), store.AuditJSON(old)}, actorArgs(by),
			[]any{d.Full, d.Light, classes, deltas, reasons})
		var groups []string
		if err := tx.QueryRow(ctx, deleteUserSQL, args...).Scan(&groups); err != nil {
			return err
		}
		// Nobody is left to approve a privileged grant for.
		if _, err := tx.Exec(ctx, `update approvals set status = 'superseded', decided_at = $3, decided_by = 'system:rosterd'
where tenant_id = $1 and user_id = $2 and status = 'pending'`, tenantID, id, args[2]); err != nil {
			return err
		}
		if len(groups) == 0 {
			return nil
		}
		// The member counters of the groups the user left: after the
		// membership rows, in group id order (see migration 0004).
		_, err = tx.Exec(ctx, `with l as (
	select group_id from group_member_counts
	where tenant_id = $1 and group_id = any($2::text[])
	order by group_id
	for no key update
)
update group_member_counts c set members = c.members - 1
from l where c.tenant_id = $1 and c.group_id = l.group_id`, tenantID, groups)
		return err
	})
}
