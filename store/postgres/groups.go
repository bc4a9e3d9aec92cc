package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/roster-dev/roster/store"
)

// groupCols are the columns scanGroup reads: the group under alias g and its
// member count (kept in group_member_counts, see migration 0004).
const groupCols = `g.tenant_id, g.id, g.display_name, g.external_id, g.version, g.created_at, g.updated_at, g.managed, g.idp,
coalesce((select c.members from group_member_counts c where c.tenant_id = g.tenant_id and c.group_id = g.id), 0)`

// groupMembersCol is an extra column holding a group's members as a JSON
// array of [id, display] pairs in user creation order, for loading the members
// of a whole page in the page's one query.
var groupMembersCol = `(select coalesce(jsonb_agg(jsonb_build_array(mu.id, ` + memberDisplay + `) order by mu.seq), '[]')
	from group_members m join users mu on mu.tenant_id = m.tenant_id and mu.id = m.user_id
	where m.tenant_id = g.tenant_id and m.group_id = g.id)`

func scanGroup(row pgx.Row, extra ...any) (store.Group, error) {
	var g store.Group
	var count int64
	dest := append([]any{&g.TenantID, &g.ID, &g.DisplayName, &g.ExternalID, &g.Version, &g.CreatedAt, &g.UpdatedAt,
		&g.Managed, &g.IdP, &count}, extra...)
	if err := row.Scan(dest...); err != nil {
		return store.Group{}, err
	}
	g.MemberCount = int(count)
	g.CreatedAt, g.UpdatedAt = store.Timestamp(g.CreatedAt), store.Timestamp(g.UpdatedAt)
	return g, nil
}

// decodeMembers reads groupMembersCol.
func decodeMembers(b []byte) ([]store.Member, error) {
	var pairs [][2]string
	if err := json.Unmarshal(b, &pairs); err != nil {
		return nil, err
	}
	out := make([]store.Member, len(pairs))
	for i, p := range pairs {
		out[i] = store.Member{UserID: p[0], Display: p[1]}
	}
	return out, nil
}

// membersSQL lists a group's members ($1 tenant, $2 group) in user creation order.
var membersSQL = `select mu.id, ` + memberDisplay + ` from group_members m
join users mu on mu.tenant_id = m.tenant_id and mu.id = m.user_id
where m.tenant_id = $1 and m.group_id = $2
order by mu.seq`

func collectMembers(rows pgx.Rows) ([]store.Member, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Member, error) {
		var m store.Member
		err := r.Scan(&m.UserID, &m.Display)
		return m, err
	})
	if out == nil && err == nil {
		out = []store.Member{}
	}
	return out, err
}

// liveUserSQL is the lateral probe of one listed user (a.id) of tenant $1
// that exists and is not deleted, locked FOR SHARE: that waits out a
// concurrent DeleteUser (FOR NO KEY UPDATE) and then re-checks deleted_at,
// so a deleted user never becomes a member, and keeps the user from being
// deleted until the membership is committed (there is no foreign key, see
// migration 0011).
//
// The id lists are probed one id at a time, in the order given — sorted,
// so that users are locked in id order, as every multi-user lock takes them
// (resolve.go's lockUsers) — and never joined nor tested with = any(…):
// PostgreSQL then hash-joins a whole scan of the tenant's users (200 ms for
// 200,000 users, more for a million), and once pgx's prepared statement gets
// the generic plan, = any is a linear scan of the array for every row. The
// "offset 0" keeps the probe from being flattened into a join.
const liveUserSQL = `select u.id, u.display_name, u.user_name, u.seq from users u
	where u.tenant_id = $1 and u.id = a.id and ` + liveByKey + `
	offset 0 for share`

// liveUsersSQL reads the listed live users ($1 tenant, $2 ids, sorted, no
// duplicates) with what a member shows, locked (liveUserSQL).
const liveUsersSQL = `select u.id, case when u.display_name <> '' then u.display_name else u.user_name end, u.seq
from unnest($2::text[]) as a (id)
cross join lateral (` + liveUserSQL + `) as u`

// addMembersSQL adds the live users among $3 (sorted, no duplicates) to
// group $2, locking them (liveUserSQL); its rows affected are the members
// added: a present member stays one row. The caller holds the group row, so
// adds to one group take turns and the probe for a present member sees
// every committed one (no "on conflict": its speculative insertion doubled
// the cost of the insert). That probe is one primary-key lookup per id
// ("offset 0" keeps it from becoming a join): a join's plan, chosen on a
// member estimate made before a big add, could compare every added id
// with every member.
const addMembersSQL = insertLiveSQL + `
where not exists (` + presentSQL + `)`

// addOnlySQL is addMembersSQL for a change that only adds (onlyAdds): it is
// the transaction's only membership write, so a member count of 0 means the
// group has no member row and nothing needs a probe — the first push of an
// IdP's group, the biggest add. The count is read by this statement, which
// began after the group row was locked, so it sees the count of every
// committed writer, consistent with their rows (each keeps its count in its
// transaction); a writer in flight can only be a DeleteUser, which removes.
const addOnlySQL = insertLiveSQL + `
where (select c.members from group_member_counts c where c.tenant_id = $1 and c.group_id = $2) = 0
	or not exists (` + presentSQL + `)`

// addCountedSQL is addOnlySQL with the member counter moved by the rows it
// added, in the same statement: it answers the members added and the count
// after. (Every statement of a WITH sees the same snapshot, so the add's
// test of the count reads it as it was before.)
const addCountedSQL = `with added as (` + addOnlySQL + ` returning 1
), counted as (
	update group_member_counts set members = members + (select count(*) from added)
	where tenant_id = $1 and group_id = $2
	returning members
)
select (select count(*) from added), (select members from counted)`

// addAllSQL is addCountedSQL that fails, with SQLSTATE notAllAdded, unless
// it added $4 members: UpdateGroup's fast path commits in the same round
// trip, so a partial add must not stand.
const addAllSQL = `with added as (` + addOnlySQL + ` returning 1
), counted as (
	update group_member_counts set members = members + (select count(*) from added)
	where tenant_id = $1 and group_id = $2
	returning members
)
select (select members from counted) from (select count(*) as n from added) as a
where case when a.n = $4::int then true else roster_not_all_added() end`

// notAllAdded is the SQLSTATE of roster_not_all_added (migration 0026).
const notAllAdded = "RS002"

// addAll reads the fast path's results after the group's update: the
// savepoint, the strict add, the audit event and the commit. added says
// whether it committed; when the add did not add every id, the transaction
// is back at the savepoint (added false, no error) and the caller adds
// again.
func addAll(ctx context.Context, tx pgx.Tx, br pgx.BatchResults) (members int64, added bool, err error) {
	if _, err := br.Exec(); err != nil {
		br.Close()
		return 0, false, err
	}
	err = br.QueryRow().Scan(&members)
	var commit pgconn.CommandTag
	if err == nil {
		if _, err = br.Exec(); err == nil {
			commit, err = br.Exec()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == notAllAdded {
		_, err := tx.Exec(ctx, `rollback to savepoint add_all`)
		return 0, false, err
	}
	if err != nil {
		return 0, false, err
	}
	if !committed(tx, commit) {
		return 0, false, pgx.ErrTxCommitRollback
	}
	return members, true, nil
}

const insertLiveSQL = `insert into group_members (tenant_id, group_id, user_id, user_seq)
select $1, $2, u.id, u.seq from unnest($3::text[]) as a (id)
cross join lateral (` + liveUserSQL + `) as u`

const presentSQL = `select 1 from group_members m
	where m.tenant_id = $1 and m.group_id = $2 and m.user_id = u.id offset 0`

// liveIDsSQL lists which of $2 are live users of tenant $1, unlocked: the
// ids an add found present need no lock (it writes no row for them), and
// the others are refused.
const liveIDsSQL = `select a.id from unnest($2::text[]) as a (id)
where exists (select 1 from users u where u.tenant_id = $1 and u.id = a.id and ` + liveByKey + ` offset 0)`

// memberIDs lists the ids that must be live users: those of adds and
// replaces, in order, each once.
func memberIDs(ops []store.MemberOp) []string {
	ids := []string{}
	seen := map[string]struct{}{} // a set: a 10,000-member PATCH must not cost 10,000² comparisons
	for _, op := range ops {
		if op.Kind == store.MembersRemove {
			continue // removing a non-member (or a stranger) is a no-op
		}
		for _, id := range op.UserIDs {
			if _, dup := seen[id]; !dup {
				seen[id] = struct{}{}
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// storable keeps the ids that can be stored (see keysOK), never nil: the
// others name no user.
func storable(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if textOK(id) {
			out = append(out, id)
		}
	}
	return out
}

// lockOrder is storable(ids) sorted, each once: the order users are locked in.
func lockOrder(ids []string) []string {
	out := storable(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// onlyAdds says whether every membership change adds: they are then one
// add of all their ids, one statement that checks, locks and inserts.
func onlyAdds(ops []store.MemberOp) bool {
	for _, op := range ops {
		if op.Kind != store.MembersAdd {
			return false
		}
	}
	return len(ops) > 0
}

// checkLive fails with an UnknownMembersError naming, in the order asked,
// the asked ids that are not live users of the tenant. An add that added
// fewer members than asked calls it: the others are present members, or no
// users, and the add is then refused.
func checkLive(ctx context.Context, tx pgx.Tx, tenantID string, asked []string) error {
	found, err := queryStrings(ctx, tx, liveIDsSQL, tenantID, lockOrder(asked))
	if err != nil {
		return err
	}
	live := make(map[string]struct{}, len(found))
	for _, id := range found {
		live[id] = struct{}{}
	}
	var bad []string
	for _, id := range asked {
		if _, ok := live[id]; !ok {
			bad = append(bad, id)
		}
	}
	if len(bad) > 0 {
		return callerErr{&store.UnknownMembersError{IDs: bad}}
	}
	return nil
}

// liveUser is a row of liveUsersSQL.
type liveUser struct {
	member store.Member
	seq    int64
}

// readLiveUsers reads liveUsersSQL and fails with an UnknownMembersError
// naming every asked id that is not a live user of the tenant, in order.
func readLiveUsers(asked []string, rows pgx.Rows) ([]liveUser, error) {
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (liveUser, error) {
		var l liveUser
		err := r.Scan(&l.member.UserID, &l.member.Display, &l.seq)
		return l, err
	})
	if err != nil {
		return nil, err
	}
	live := make(map[string]struct{}, len(found))
	for _, l := range found {
		live[l.member.UserID] = struct{}{}
	}
	var bad []string
	for _, id := range asked {
		if _, ok := live[id]; !ok {
			bad = append(bad, id)
		}
	}
	if len(bad) > 0 {
		return nil, callerErr{&store.UnknownMembersError{IDs: bad}}
	}
	return found, nil
}

// queueMemberOps queues set-based statements for the membership changes
// (one per change, two for a replace) and returns, per statement, the sign
// of its change of the member count: its rows affected are members added
// (+1) or removed (-1).
func queueMemberOps(b *pgx.Batch, tenantID, groupID string, ops []store.MemberOp) []int64 {
	var signs []int64
	for _, op := range ops {
		switch op.Kind {
		case store.MembersAdd:
			b.Queue(addMembersSQL, tenantID, groupID, lockOrder(op.UserIDs))
			signs = append(signs, 1)
		case store.MembersRemove:
			b.Queue(`delete from group_members m using unnest($3::text[]) as a (id)
where m.tenant_id = $1 and m.group_id = $2 and m.user_id = a.id`,
				tenantID, groupID, storable(op.UserIDs))
			signs = append(signs, -1)
		case store.MembersReplace:
			b.Queue(`delete from group_members m
where m.tenant_id = $1 and m.group_id = $2 and not exists (select from unnest($3::text[]) as a (id) where a.id = m.user_id)`,
				tenantID, groupID, storable(op.UserIDs))
			b.Queue(addMembersSQL, tenantID, groupID, lockOrder(op.UserIDs))
			signs = append(signs, -1, 1)
		}
	}
	return signs
}

// memberDelta reads the results of queueMemberOps' statements: the change of
// the member count.
// touched is how many rows they inserted or deleted.
func memberDelta(br pgx.BatchResults, signs []int64) (delta, touched int64, err error) {
	for _, sign := range signs {
		tag, err := br.Exec()
		if err != nil {
			return 0, 0, err
		}
		delta += sign * tag.RowsAffected()
		touched += tag.RowsAffected()
	}
	return delta, touched, nil
}

// errGroupUnchanged rolls back an UpdateGroup whose membership operations
// changed no row and whose attributes are the same: nothing is written.
var errGroupUnchanged = errors.New("group unchanged")

func (s *Store) CreateGroup(ctx context.Context, tenantID string, g store.Group, by store.Actor) (store.Group, error) {
	if !keysOK(tenantID) {
		return store.Group{}, store.ErrNotFound
	}
	if err := store.ValidateGroup(&g); err != nil {
		return store.Group{}, err
	}
	if g.ID == "" {
		g.ID = s.newID()
	}
	ids := make([]string, 0, len(g.Members))
	for _, m := range g.Members {
		ids = append(ids, m.UserID)
	}
	asked := memberIDs([]store.MemberOp{{Kind: store.MembersAdd, UserIDs: ids}})
	key := store.FoldKey(g.DisplayName)
	now := s.clock()
	var out store.Group
	err := s.inTx(ctx, "CreateGroup", vals{"id": g.ID, "displayName": g.DisplayName}, func(tx pgx.Tx) error {
		// Members of a new role group get its role: locked first (resolve.go).
		rc, affected, err := roleGroupChange(ctx, tx, tenantID, g.ID, "", g.DisplayName,
			[]store.MemberOp{{Kind: store.MembersAdd, UserIDs: asked}})
		if err != nil {
			return err
		}
		// The checks, in the order every backend reports them; the users
		// are locked before the tenant row (the group_seq bump below).
		b := &pgx.Batch{}
		b.Queue(`select exists (select 1 from tenants where id = $1),
	exists (select 1 from groups where tenant_id = $1 and display_name_key = $2)`, tenantID, key)
		b.Queue(liveUsersSQL, tenantID, lockOrder(asked))
		br := tx.SendBatch(ctx, b)
		var tenantOK, nameTaken bool
		if err := br.QueryRow().Scan(&tenantOK, &nameTaken); err != nil {
			br.Close()
			return err
		}
		switch {
		case !tenantOK:
			br.Close()
			return callerErr{store.ErrNotFound}
		case nameTaken:
			br.Close()
			return callerErr{&store.ConflictError{Field: "displayName", Value: g.DisplayName}}
		}
		rows, err := br.Query()
		if err != nil {
			br.Close()
			return err
		}
		live, err := readLiveUsers(asked, rows)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		liveIDs := make([]string, len(live)) // checked and locked: inserted as they are
		liveSeqs := make([]int64, len(live))
		for i, l := range live {
			liveIDs[i], liveSeqs[i] = l.member.UserID, l.seq
		}
		slices.SortFunc(live, func(a, b liveUser) int { return cmpInt64(a.seq, b.seq) })
		members := make([]store.Member, len(live))
		for i, l := range live {
			members[i] = l.member
		}
		out = store.Group{
			TenantID: tenantID, ID: g.ID, DisplayName: g.DisplayName, ExternalID: g.ExternalID,
			Managed: g.Managed, IdP: g.IdP, Members: members, MemberCount: len(members), Version: 1, CreatedAt: now, UpdatedAt: now,
		}

		b = &pgx.Batch{}
		b.Queue(`with t as (
	update tenants set group_seq = group_seq + 1 where id = $1 returning group_seq
)
insert into groups (tenant_id, id, seq, display_name, display_name_key, external_id, version, created_at, updated_at, managed, idp)
select $1, $2, t.group_seq, $3, $4, $5, 1, $6, $6, $7, $8 from t`, tenantID, g.ID, g.DisplayName, key, g.ExternalID, now, g.Managed, g.IdP)
		b.Queue(`insert into group_members (tenant_id, group_id, user_id, user_seq)
select $1, $2, a.id, a.seq from unnest($3::text[], $4::bigint[]) as a (id, seq)`, tenantID, g.ID, liveIDs, liveSeqs)
		b.Queue(`insert into group_member_counts (tenant_id, group_id, members) values ($1, $2, $3)`, tenantID, g.ID, len(members))
		b.Queue(auditInsert, auditArgs(tenantID, now, by, "group.created", "group", g.ID, "", "", store.AuditJSON(out))...)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		moves, err := planMoves(ctx, tx, tenantID, affected, rc, by, nil)
		if err != nil {
			return err
		}
		return s.applyMoves(ctx, tx, tenantID, moves, by, now, "member of role group "+g.DisplayName)
	})
	if err != nil {
		return store.Group{}, err
	}
	return out, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Store) GetGroup(ctx context.Context, tenantID, id string, withMembers bool) (store.Group, error) {
	if !keysOK(tenantID, id) {
		return store.Group{}, store.ErrNotFound
	}
	b := &pgx.Batch{}
	b.Queue(`select `+groupCols+` from groups g where g.tenant_id = $1 and g.id = $2`, tenantID, id)
	if withMembers {
		b.Queue(membersSQL, tenantID, id)
	}
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	g, err := scanGroup(br.QueryRow())
	if err != nil {
		return store.Group{}, s.convert("GetGroup", err, nil)
	}
	if withMembers {
		rows, err := br.Query()
		if err != nil {
			return store.Group{}, s.convert("GetGroup", err, nil)
		}
		if g.Members, err = collectMembers(rows); err != nil {
			return store.Group{}, s.convert("GetGroup", err, nil)
		}
	}
	return g, s.convert("GetGroup", br.Close(), nil)
}

// memberOrderKey is the key of group_members_order_idx (migration 0015): a
// group, as one value — the tenant id's length, '/', the tenant id and the
// group id, which no two groups share — that only groupMembersChunkSQL
// names, so that no other statement can pick the index.
const memberOrderKey = `(length(m.tenant_id)::text || '/' || m.tenant_id || m.group_id)`

// groupMembersChunkSQL is one chunk of a group's members ($1 tenant, $2
// group) after position $3, at most $4: the member rows come from
// group_members_order_idx, walked from $3, and each member's user by
// primary key. A chunk costs its own size wherever in the group it starts.
// The scan names the group by the index key alone, and the user read is a
// lateral probe ("offset 0" keeps it one) by both of the user's keys, so
// that either unique index is a point lookup: with the columns named, or
// as a join on the id alone, PostgreSQL planned a group it had no
// statistics for as one row, scanned the group by primary key and sorted it
// for every chunk, and probed the users by tenant alone, walking every user
// of the tenant for each member (0.8 s for 100 members of 1,500).
var groupMembersChunkSQL = `select m.user_seq, u.id, u.display from (
	select m.user_seq, m.user_id from group_members m
	where ` + memberOrderKey + ` = (length($1::text)::text || '/' || $1::text || $2::text) and m.user_seq > $3
	order by ` + memberOrderKey + `, m.user_seq
	limit $4
) as m
cross join lateral (select mu.id, ` + memberDisplay + ` as display from users mu
	where mu.tenant_id = $1 and mu.seq = m.user_seq and mu.id = m.user_id offset 0) as u
order by m.user_seq`

// GroupMembers reads one chunk of a group's members (store.Store).
func (s *Store) GroupMembers(ctx context.Context, tenantID, groupID string, after store.MemberPos, limit int) ([]store.Member, store.MemberPos, error) {
	if !keysOK(tenantID, groupID) || limit < 1 {
		return []store.Member{}, after, nil
	}
	rows, err := s.pool.Query(ctx, groupMembersChunkSQL, tenantID, groupID, int64(after), limit)
	if err != nil {
		return nil, after, s.convert("GroupMembers", err, nil)
	}
	defer rows.Close()
	out := make([]store.Member, 0, min(limit, 1024))
	last := int64(after)
	for rows.Next() {
		var m store.Member
		if err := rows.Scan(&last, &m.UserID, &m.Display); err != nil {
			return nil, after, s.convert("GroupMembers", err, nil)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, after, s.convert("GroupMembers", err, nil)
	}
	return out, store.MemberPos(last), nil
}

func (s *Store) ListGroups(ctx context.Context, tenantID string, q store.GroupQuery) (store.GroupPage, error) {
	if !keysOK(tenantID) {
		return store.GroupPage{}, store.ErrNotFound
	}
	f, err := store.Normalize(store.Groups, q.Filter)
	if err != nil {
		return store.GroupPage{}, err
	}
	sortBy, err := store.SortAttr(store.Groups, q.SortBy)
	if err != nil {
		return store.GroupPage{}, err
	}
	b := &sqlBuilder{args: []any{tenantID}}
	where, err := b.filter(f, groupsTable)
	if err != nil {
		return store.GroupPage{}, err
	}
	from := ` from groups g where g.tenant_id = $1 and ` + where

	batch := &pgx.Batch{}
	// A filtered list is planned for its values (plans.go, customPlans).
	custom := q.Filter != nil
	if custom {
		batch.Queue(customPlans)
	}
	batch.Queue(`select (select count(*)`+from+`), exists (select 1 from tenants where id = $1)`, b.args...)
	// A page in creation order walks groups_tenant_seq_key in order, as
	// ListUsers does (plans.go).
	inOrder := q.Count > 0 && q.Filter == nil && q.SortBy == "" && !q.Descending
	if inOrder {
		batch.Queue(`select set_config('enable_sort', 'off', true)`)
	}
	cols := groupCols
	if q.WithMembers {
		cols += ", " + groupMembersCol
	}
	if q.Count > 0 {
		start := max(q.StartIndex, 1)
		args := append(b.args[:len(b.args):len(b.args)], start-1, q.Count)
		batch.Queue(fmt.Sprintf(`select `+cols+from+` order by %s offset $%d limit $%d`,
			orderBy(sortBy, groupsTable, q.Descending), len(args)-1, len(args)), args...)
	}
	br := s.pool.SendBatch(ctx, batch)
	defer br.Close()
	if custom {
		if _, err := br.Exec(); err != nil {
			return store.GroupPage{}, s.convert("ListGroups", err, nil)
		}
	}

	page := store.GroupPage{Groups: []store.Group{}}
	var tenantOK bool
	if err := br.QueryRow().Scan(&page.Total, &tenantOK); err != nil {
		return store.GroupPage{}, s.convert("ListGroups", err, nil)
	}
	if !tenantOK {
		return store.GroupPage{}, store.ErrNotFound
	}
	if inOrder {
		if _, err := br.Exec(); err != nil {
			return store.GroupPage{}, s.convert("ListGroups", err, nil)
		}
	}
	if q.Count > 0 {
		rows, err := br.Query()
		if err != nil {
			return store.GroupPage{}, s.convert("ListGroups", err, nil)
		}
		groups, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Group, error) {
			if !q.WithMembers {
				return scanGroup(r)
			}
			var members []byte
			g, err := scanGroup(r, &members)
			if err != nil {
				return g, err
			}
			g.Members, err = decodeMembers(members)
			return g, err
		})
		if err != nil {
			return store.GroupPage{}, s.convert("ListGroups", err, nil)
		}
		if groups != nil {
			page.Groups = groups
		}
	}
	return page, s.convert("ListGroups", br.Close(), nil)
}

// memberCountSentinel stands for the member count in the audited "after"
// of a group update, which only the database knows once the changes are
// applied; the audit insert puts the count in its place, in the same batch.
// The text replaced is the member count as the group's audit JSON names it
// (store.AuditJSON: memberCount, followed by meta): were the name to drift,
// the sentinel itself would be recorded, and the team events made from the
// row would carry it (storetest checks the count on both stores).
const memberCountSentinel = math.MinInt32

// groupUpdatedAudit records a group update; $12 is the "after" JSON with the
// member count sentinel.
var groupUpdatedAudit = `insert into audit_events
	(tenant_id, at, actor_kind, actor_id, actor_name, request_id, action, target_type, target_id, detail, before_json, after_json, members_json)
select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
	replace($12, '"memberCount":` + strconv.Itoa(memberCountSentinel) + `,', '"memberCount":' || (
		select members from group_member_counts where tenant_id = $1 and group_id = $9) || ','), $13`

// UpdateGroup locks the group row, lets fn edit the attributes and record
// membership changes, then applies them set-based — one statement per change,
// never a rewrite of the membership — after checking every id they name.
//
// Lock order: the group row, the users added (FOR SHARE), membership rows,
// and last the group's member counter (see migration 0004).
func (s *Store) UpdateGroup(ctx context.Context, tenantID, id string, by store.Actor, fn func(*store.GroupUpdate) error) (store.Group, error) {
	if !keysOK(tenantID, id) {
		return store.Group{}, store.ErrNotFound
	}
	var out store.Group
	// The group is locked and read in the transaction's first round trip,
	// with its begin (resolve.go's lockGroupWithRoles).
	queue := func(b *pgx.Batch) { queueLockGroupWithRoles(b, tenantID, id, "for no key update") }
	err := s.inBatchTx(ctx, "UpdateGroup", nil, queue, func(tx pgx.Tx, br pgx.BatchResults) error {
		old, rc, err := readLockGroupWithRoles(br)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		up := store.GroupUpdate{Group: old.Clone()}
		if err := fn(&up); err != nil {
			return callerErr{err}
		}
		g := up.Group
		if err := store.ValidateGroup(&g); err != nil {
			return callerErr{err}
		}
		if store.GroupUnchanged(old, g, up.Members) {
			out = old // nothing to write: no new version, no audit event
			return nil
		}
		now := s.clock()
		g.ID, g.TenantID, g.CreatedAt, g.Version, g.UpdatedAt, g.Members = old.ID, old.TenantID, old.CreatedAt, old.Version+1, now, nil
		asked := memberIDs(up.Members)

		// A role group's change re-resolves the users it can move: they
		// are locked first, in id order (see resolve.go).
		affected, err := roleGroupMembers(ctx, tx, rc, tenantID, id, old.DisplayName, g.DisplayName, up.Members)
		if err != nil {
			return err
		}

		// The rename (a taken name fails first, as in every backend), the
		// member check, the changes. Adds alone are one add of all their
		// ids: one statement checks, locks and inserts them. Other changes
		// lock the users they add first, before any membership row (the
		// lock order of migration 0004: a removal's row lock taken before
		// a user's share lock could wait for a DeleteUser of that user
		// that waits for the row), and check them all before any change.
		b := &pgx.Batch{}
		b.Queue(`update groups set display_name = $3, display_name_key = $4, external_id = $5,
	version = version + 1, updated_at = $6, managed = $7, idp = $8
where tenant_id = $1 and id = $2`, tenantID, id, g.DisplayName, store.FoldKey(g.DisplayName), g.ExternalID, now, g.Managed, g.IdP)
		var signs []int64
		merged := onlyAdds(up.Members)
		after := g
		after.MemberCount = memberCountSentinel
		audit := append(auditArgs(tenantID, now, by, "group.updated", "group", id,
			store.MemberOpsDetail(up.Members), store.AuditJSON(old), store.AuditJSON(after)), memberOpsJSON(up.Members))
		// Adds alone that move no role (a team's, or a role group's that
		// reaches no one) and add every id asked need nothing after the add:
		// the commit goes in the add's round trip. The add is then strict
		// (addAllSQL): one id it does not add — a present member, no live
		// user — fails it, back to the savepoint, and the add runs again
		// as below, whose checks say what to answer.
		fast := merged && affected == nil && len(asked) > 0
		switch {
		case fast:
			b.Queue(`savepoint add_all`)
			b.Queue(addAllSQL, tenantID, id, lockOrder(asked), len(asked))
			b.Queue(groupUpdatedAudit, audit...)
			b.Queue(`commit`)
		case merged:
			// Adds alone: the add, the counter and the audit event go in
			// this one round trip; a check that fails below rolls them back.
			b.Queue(addCountedSQL, tenantID, id, lockOrder(asked))
			b.Queue(groupUpdatedAudit, audit...)
		case len(asked) > 0:
			b.Queue(liveUsersSQL, tenantID, lockOrder(asked))
			fallthrough
		default:
			signs = queueMemberOps(b, tenantID, id, up.Members)
		}
		br = tx.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return callerErr{s.convert("UpdateGroup", err, vals{"displayName": g.DisplayName})}
		}
		if fast {
			members, added, err := addAll(ctx, tx, br)
			if err != nil {
				return err
			}
			if added {
				g.MemberCount = int(members)
				out = g
				return nil
			}
			b = &pgx.Batch{}
			b.Queue(addCountedSQL, tenantID, id, lockOrder(asked))
			b.Queue(groupUpdatedAudit, audit...)
			br = tx.SendBatch(ctx, b)
		}
		if !merged && len(asked) > 0 {
			rows, err := br.Query()
			if err != nil {
				br.Close()
				return err
			}
			if _, err := readLiveUsers(asked, rows); err != nil {
				br.Close()
				return err
			}
		}
		var delta, touched, members int64
		if merged {
			err = br.QueryRow().Scan(&delta, &members)
			if err == nil {
				_, err = br.Exec()
			}
			touched = delta
		} else {
			delta, touched, err = memberDelta(br, signs)
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if merged && delta < int64(len(asked)) {
			// Present members, or ids of no live user: then the
			// transaction rolls back and nothing is applied.
			if err := checkLive(ctx, tx, tenantID, asked); err != nil {
				return err
			}
		}
		if touched == 0 && store.GroupUnchanged(old, g, nil) {
			// Every operation added only present members and removed only
			// absent ones: roll back the version bump, write nothing.
			out = old
			return callerErr{errGroupUnchanged}
		}

		// Then (unless done with the adds) the counter, and the audit event
		// with the count it ends at.
		if !merged {
			b = &pgx.Batch{}
			b.Queue(`update group_member_counts set members = members + $3
where tenant_id = $1 and group_id = $2
returning members`, tenantID, id, delta)
			b.Queue(groupUpdatedAudit, audit...)
			br = tx.SendBatch(ctx, b)
			err := br.QueryRow().Scan(&members)
			if err == nil {
				_, err = br.Exec()
			}
			if cerr := br.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
		g.MemberCount = int(members)
		out = g
		moves, err := planMoves(ctx, tx, tenantID, affected, rc, by, nil)
		if err != nil {
			return err
		}
		return s.applyMoves(ctx, tx, tenantID, moves, by, now, "membership of role group "+g.DisplayName)
	})
	if errors.Is(err, errGroupUnchanged) {
		return out, nil
	}
	if err != nil {
		return store.Group{}, err
	}
	return out, nil
}

// DeleteGroup removes the group, its member rows and its counter, and records it.
func (s *Store) DeleteGroup(ctx context.Context, tenantID, id string, by store.Actor) error {
	if !keysOK(tenantID, id) {
		return store.ErrNotFound
	}
	return s.inTx(ctx, "DeleteGroup", nil, func(tx pgx.Tx) error {
		old, rc, err := lockGroupWithRoles(ctx, tx, tenantID, id, "for update") // resolve.go
		if err != nil {
			return err
		}
		// Deleting a role group re-resolves its members (locked first).
		affected, err := roleGroupMembers(ctx, tx, rc, tenantID, id, old.DisplayName, "", nil)
		if err != nil {
			return err
		}
		now := s.clock()
		// The members first, then the group and by cascade its counter:
		// the lock order of migration 0004. No foreign key deletes the
		// members (migration 0011); every writer of them held the group row,
		// which this transaction now holds, so this statement sees them all.
		b := &pgx.Batch{}
		b.Queue(`delete from group_members where tenant_id = $1 and group_id = $2`, tenantID, id)
		b.Queue(`delete from groups where tenant_id = $1 and id = $2`, tenantID, id)
		b.Queue(auditInsert, auditArgs(tenantID, now, by, "group.deleted", "group", id, "", store.AuditJSON(old), "")...)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		moves, err := planMoves(ctx, tx, tenantID, affected, rc, by, nil)
		if err != nil {
			return err
		}
		return s.applyMoves(ctx, tx, tenantID, moves, by, now, "role group "+old.DisplayName+" deleted")
	})
}

// UserGroups lists the groups a live user is in, in creation order.
func (s *Store) UserGroups(ctx context.Context, tenantID, userID string) ([]store.Group, error) {
	if !keysOK(tenantID, userID) {
		return nil, store.ErrNotFound
	}
	rows, err := s.pool.Query(ctx, `select `+groupCols+` from groups g
where g.tenant_id = $1 and exists (
	select 1 from group_members m where m.tenant_id = $1 and m.group_id = g.id and m.user_id = $2
)
order by g.seq`, tenantID, userID)
	if err != nil {
		return nil, s.convert("UserGroups", err, nil)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Group, error) { return scanGroup(r) })
	if err != nil {
		return nil, s.convert("UserGroups", err, nil)
	}
	if len(out) == 0 {
		// A deleted user is in no group; tell a stranger from a loner.
		var live bool
		if err := s.pool.QueryRow(ctx, `select exists (
	select 1 from users where tenant_id = $1 and id = $2 and (deleted_at is null) is true)`, tenantID, userID).Scan(&live); err != nil {
			return nil, s.convert("UserGroups", err, nil)
		}
		if !live {
			return nil, store.ErrNotFound
		}
		out = []store.Group{}
	}
	return out, nil
}
