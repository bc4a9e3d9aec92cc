package postgres

// Bulk import: one CSV row, one transaction.

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/store"
)

// ImportUser creates or updates one user and adds them to teams in one
// transaction. Lock order as UpdateGroup: the groups (id order), then the
// user, then membership rows, then the member counters (group id order).
//
// A creation that loses the race for its userName to a concurrent one (two
// imports of one file at once) is tried again once: it then finds the
// winner and updates it, as a second import of the row would.
func (s *Store) ImportUser(ctx context.Context, tenantID string, u store.User, fn func(*store.User) error, groupIDs []string,
	by store.Actor) (store.User, store.ImportOutcome, error) {
	out, outcome, err := s.importUser(ctx, tenantID, u, fn, groupIDs, by)
	var exists *store.UserExistsError
	if errors.As(err, &exists) {
		out, outcome, err = s.importUser(ctx, tenantID, u, fn, groupIDs, by)
	}
	return out, outcome, err
}

// ImportUsers applies the rows in order. A run of rows that create plain
// users (no teams, no stores, no user already holding the userName or an
// address, no privileged grant) is written as one statement, the way
// concurrent creations are (createbatch.go): the tenant row once, each
// user's row, ledger entry and audit event. Such a statement is all or
// nothing, so when it cannot be written whole — the seat cap reached
// part-way, a userName taken meanwhile, a role deleted — nothing of it is
// written and its rows are applied one by one through ImportUser, which
// gives each the answer it would get alone. Every other row goes through
// ImportUser as well.
func (s *Store) ImportUsers(ctx context.Context, tenantID string, rows []store.ImportRow, by store.Actor) ([]store.ImportRowResult, error) {
	out := make([]store.ImportRowResult, 0, len(rows))
	taken, err := s.importTaken(ctx, tenantID, rows)
	if err != nil {
		return out, err
	}
	var rc *store.RoleContext
	for i := 0; i < len(rows); {
		var run []*createReq
		if !taken[i] && plainImport(rows[i]) {
			if rc == nil {
				if rc, err = roleContext(ctx, s.pool, tenantID); err != nil {
					return out, s.convert("ImportUsers", err, nil)
				}
			}
			now := s.clock()
			for j := i; j < len(rows) && len(run) < maxImportBatch && !taken[j] && plainImport(rows[j]); j++ {
				u := rows[j].User.Clone()
				if store.ValidateUser(&u) != nil {
					break
				}
				u.ID = s.newID()
				u.TenantID, u.Version, u.CreatedAt, u.UpdatedAt = tenantID, 1, now, now
				c, err := s.bindCreate(rc, tenantID, u, by, now, nil)
				if err != nil || c.d.Grant || c.d.Pending != nil {
					break
				}
				run = append(run, &createReq{ctx: ctx, c: c})
			}
		}
		if len(run) > 1 && batchable(run) {
			plans, err := s.execCreateBatch(ctx, run)
			if err == nil {
				for k, r := range run {
					u := r.c.u
					u.Seat, _ = r.c.plans.pick(plans[k])
					out = append(out, store.ImportRowResult{User: u, Outcome: store.ImportCreated})
				}
				i += len(run)
				continue
			} else if store.ImportErrorFatal(s.convert("ImportUsers", err, nil)) {
				return out, s.convert("ImportUsers", err, nil)
			}
		}
		// Alone: this row, or each row of a run that could not be written whole.
		n := max(len(run), 1)
		for _, row := range rows[i : i+n] {
			u, outcome, err := s.ImportUser(ctx, tenantID, row.User, row.Apply, row.Groups, by)
			if err != nil && store.ImportErrorFatal(err) {
				return out, err
			}
			out = append(out, store.ImportRowResult{User: u, Outcome: outcome, Err: err})
		}
		i += n
	}
	return out, nil
}

// maxImportBatch is the most creations of an import written in one statement.
const maxImportBatch = 250

// plainImport says whether a row may be created in a batch, if no user
// matches it: no teams to join and no stores (the batch statement leaves
// both to the one-by-one path).
func plainImport(row store.ImportRow) bool {
	return len(row.Groups) == 0 && row.User.Stores == nil && row.User.ID == ""
}

// importTaken says, per row, whether a live user already holds its userName
// or one of its addresses (read without locks: a row found free here is
// created in a batch whose statement checks the userName again; one found
// taken goes through ImportUser, which locks).
func (s *Store) importTaken(ctx context.Context, tenantID string, rows []store.ImportRow) ([]bool, error) {
	names := make([]string, len(rows))
	var emails []string
	var owner []int32
	for i, row := range rows {
		names[i] = store.FoldKey(row.User.UserName)
		for _, k := range store.EmailKeys(row.User.Emails) {
			emails, owner = append(emails, k), append(owner, int32(i))
		}
	}
	taken := make([]bool, len(rows))
	if !keysOK(append(slices.Clone(names), emails...)...) {
		for i := range taken {
			taken[i] = true // ImportUser answers such a row
		}
		return taken, nil
	}
	b := &pgx.Batch{}
	// One probe of the unique index per key (a scan of the tenant's users
	// filtered by "= any" is what the planner may pick otherwise).
	b.Queue(`select k from unnest($2::text[]) as k
where exists (select 1 from users u where u.tenant_id = $1 and u.user_name_key = k and u.deleted_at is null)`, tenantID, names)
	b.Queue(`select array[k] from unnest($2::text[]) as k
where exists (select 1 from users u where `+emailKeySQL+` = $1 || ':' || k and u.deleted_at is null)`, tenantID, emails)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	q, err := br.Query()
	if err != nil {
		return nil, s.convert("ImportUsers", err, nil)
	}
	heldNames, err := pgx.CollectRows(q, pgx.RowTo[string])
	if err != nil {
		return nil, s.convert("ImportUsers", err, nil)
	}
	q, err = br.Query()
	if err != nil {
		return nil, s.convert("ImportUsers", err, nil)
	}
	heldEmails, err := pgx.CollectRows(q, pgx.RowTo[[]string])
	if err != nil {
		return nil, s.convert("ImportUsers", err, nil)
	}
	held := map[string]bool{}
	for _, n := range heldNames {
		held["u:"+n] = true
	}
	for _, list := range heldEmails {
		for _, e := range list {
			held["e:"+e] = true
		}
	}
	for i, n := range names {
		taken[i] = held["u:"+n]
	}
	for k, e := range emails {
		if held["e:"+e] {
			taken[owner[k]] = true
		}
	}
	return taken, nil
}

// emailKeySQL is a live user's email key: the tenant, a colon, and
// store.EmailKey in SQL (the primary email, else the first, lower-cased). It
// is the expression of users_email_key_idx (migration 0013) letter for
// letter. The tenant is folded into the one key, rather than indexed as a
// column of its own beside the address, so that no other index on
// (tenant_id, …) can serve the lookup: on a users table not yet analysed
// (a first import right after a bulk load) the planner otherwise took the
// externalId index and filtered every user of the tenant. Tenant ids hold
// no colon, so the key is unambiguous.
const emailKeySQL = `(u.tenant_id || ':' || lower(coalesce(jsonb_path_query_first(u.emails, '$[*] ? (@.primary == true).value'), u.emails -> 0 -> 'value') #>> '{}'))`

// importByNameSQL and importByEmailSQL find, and lock, the live users a row
// may update: the one with its userName ($2), else those whose email key is
// one of its addresses ($2, lower-cased). Two statements, not one with "or",
// so that each is one index scan per key.
const importByNameSQL = `select ` + userCols + ` from users u
where u.tenant_id = $1 and u.user_name_key = $2 and u.deleted_at is null
for no key update`

const importByEmailSQL = `select ` + userCols + ` from unnest($2::text[]) as k
join users u on ` + emailKeySQL + ` = $1 || ':' || k and u.deleted_at is null
order by u.seq
for no key update of u`

func (s *Store) importUser(ctx context.Context, tenantID string, u store.User, fn func(*store.User) error, groupIDs []string,
	by store.Actor) (store.User, store.ImportOutcome, error) {
	if !keysOK(tenantID) {
		return store.User{}, "", store.ErrNotFound
	}
	ids := slices.Clone(storable(groupIDs))
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var out store.User
	var outcome store.ImportOutcome
	err := s.inTx(ctx, "ImportUser", vals{"userName": u.UserName, "id": u.ID}, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(mappingsShared, tenantID)
		b.Queue(roleContextSQL, tenantID)
		b.Queue(`select id, display_name from groups where tenant_id = $1 and id = any($2::text[]) order by id for no key update`, tenantID, ids)
		br := tx.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
		rc, err := scanRoleContext(br.QueryRow())
		if err != nil {
			br.Close()
			return err
		}
		rows, err := br.Query()
		if err != nil {
			br.Close()
			return err
		}
		names := map[string]string{}
		var id, name string
		_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error { names[id] = name; return nil })
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		for _, gid := range groupIDs {
			name, ok := names[gid]
			switch {
			case !ok:
				return callerErr{store.TeamError(gid, "", "no such group")}
			case store.IsMappedGroup(name, rc.Mappings):
				return callerErr{store.TeamError(gid, name, "is a role group (a role mapping names it), not a team; set the role instead")}
			}
		}

		old, err := s.importMatch(ctx, tx, tenantID, u)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			c, err := s.prepareCreate(ctx, tx, tenantID, u, by)
			if err != nil {
				return callerErr{err}
			}
			if out, err = c.exec(ctx, tx); err != nil {
				return callerErr{err}
			}
			if err := s.recordDecision(ctx, tx, tenantID, out.ID, c.d, by, c.now); err != nil {
				return err
			}
			outcome = store.ImportCreated
		case err != nil:
			var amb *store.AmbiguousEmailError
			if errors.As(err, &amb) {
				return callerErr{err}
			}
			return err
		default:
			probe := old.Clone()
			if err := fn(&probe); err != nil {
				return callerErr{err}
			}
			out, outcome = old, store.ImportUnchanged
			if !store.SameUser(old, probe) {
				if out, err = s.updateLocked(ctx, tx, tenantID, old, by, fn, nil); err != nil {
					return err
				}
				outcome = store.ImportUpdated
			}
		}
		if len(ids) == 0 {
			return nil
		}

		// The memberships the user lacks, their counters, versions and audit.
		rows, err = tx.Query(ctx, `insert into group_members (tenant_id, group_id, user_id, user_seq)
select $1, g, $3, (select u.seq from users u where u.tenant_id = $1 and u.id = $3) from unnest($2::text[]) as g
on conflict do nothing
returning group_id`, tenantID, ids, out.ID)
		if err != nil {
			return err
		}
		added, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(added) == 0 {
			return err
		}
		slices.Sort(added)
		now := s.clock()
		befores, err := groupsByID(ctx, tx, tenantID, added)
		if err != nil {
			return err
		}
		b = &pgx.Batch{}
		b.Queue(`with l as (
	select group_id from group_member_counts where tenant_id = $1 and group_id = any($2::text[])
	order by group_id for no key update
)
update group_member_counts c set members = c.members + 1
from l where c.tenant_id = $1 and c.group_id = l.group_id`, tenantID, added)
		b.Queue(`update groups set version = version + 1, updated_at = $3 where tenant_id = $1 and id = any($2::text[])`, tenantID, added, now)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		afters, err := groupsByID(ctx, tx, tenantID, added)
		if err != nil {
			return err
		}
		b = &pgx.Batch{}
		for _, gid := range added {
			b.Queue(auditInsert, auditArgs(tenantID, now, by, "group.updated", "group", gid, "add 1 member(s)",
				store.AuditJSON(befores[gid]), store.AuditJSON(afters[gid]))...)
		}
		if outcome == store.ImportUnchanged {
			outcome = store.ImportUpdated
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return store.User{}, "", err
	}
	return out, outcome, nil
}

func groupsByID(ctx context.Context, tx pgx.Tx, tenantID string, ids []string) (map[string]store.Group, error) {
	rows, err := tx.Query(ctx, `select `+groupCols+` from groups g where g.tenant_id = $1 and g.id = any($2::text[])`, tenantID, ids)
	if err != nil {
		return nil, err
	}
	groups, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Group, error) { return scanGroup(r) })
	out := map[string]store.Group{}
	for _, g := range groups {
		out[g.ID] = g
	}
	return out, err
}

// importMatch locks and answers the live user a row updates (importMatchSQL);
// pgx.ErrNoRows when there is none.
func (s *Store) importMatch(ctx context.Context, tx pgx.Tx, tenantID string, u store.User) (store.User, error) {
	m, err := scanUser(tx.QueryRow(ctx, importByNameSQL, tenantID, store.FoldKey(u.UserName)))
	if !errors.Is(err, pgx.ErrNoRows) {
		return m, err
	}
	keys := store.EmailKeys(u.Emails)
	if len(keys) == 0 {
		return store.User{}, pgx.ErrNoRows
	}
	rows, err := tx.Query(ctx, importByEmailSQL, tenantID, keys)
	if err != nil {
		return store.User{}, err
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
	if err != nil {
		return store.User{}, err
	}
	if len(found) == 0 {
		return store.User{}, pgx.ErrNoRows
	}
	// Several hold an address: the row's first address decides, if one
	// user alone holds it.
	for _, k := range keys {
		var holders []store.User
		for _, m := range found {
			if store.EmailKey(m.Emails) == k {
				holders = append(holders, m)
			}
		}
		switch len(holders) {
		case 0:
			continue
		case 1:
			return holders[0], nil
		}
		names := make([]string, len(holders))
		for i, m := range holders {
			names[i] = m.UserName
		}
		return store.User{}, &store.AmbiguousEmailError{Email: k, UserNames: names}
	}
	return found[0], nil
}
