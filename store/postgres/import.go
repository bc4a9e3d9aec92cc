package postgres

// Bulk import (issue 6): one CSV row, one transaction.

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

// ImportUsers applies the rows one by one, in order.
func (s *Store) ImportUsers(ctx context.Context, tenantID string, rows []store.ImportRow, by store.Actor) ([]store.ImportRowResult, error) {
	out := make([]store.ImportRowResult, 0, len(rows))
	for _, row := range rows {
		u, outcome, err := s.ImportUser(ctx, tenantID, row.User, row.Apply, row.Groups, by)
		if err != nil && store.ImportErrorFatal(err) {
			return out, err
		}
		out = append(out, store.ImportRowResult{User: u, Outcome: outcome, Err: err})
	}
	return out, nil
}

// importMatchSQL finds the live users a row may update: the one with its
// userName ($2), else those holding one of its addresses ($3, lower-cased;
// the GIN index of migration 0013), locked.
const importMatchSQL = `select u.user_name_key = $2, ` + userCols + ` from users u
where u.tenant_id = $1 and u.deleted_at is null
  and (u.user_name_key = $2 or roster_email_keys(u.emails) && $3::text[])
order by u.user_name_key = $2 desc, u.seq
for no key update`

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
		rows, err = tx.Query(ctx, `insert into group_members (tenant_id, group_id, user_id)
select $1, g, $3 from unnest($2::text[]) as g
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
	keys := store.EmailKeys(u.Emails)
	if keys == nil {
		keys = []string{}
	}
	rows, err := tx.Query(ctx, importMatchSQL, tenantID, store.FoldKey(u.UserName), keys)
	if err != nil {
		return store.User{}, err
	}
	var found []store.User
	byName := false
	for rows.Next() {
		var named bool
		m, err := scanUser(rows, &named)
		if err != nil {
			rows.Close()
			return store.User{}, err
		}
		if named {
			byName = true
		}
		found = append(found, m)
	}
	if err := rows.Err(); err != nil {
		return store.User{}, err
	}
	switch {
	case len(found) == 0:
		return store.User{}, pgx.ErrNoRows
	case byName || len(found) == 1:
		return found[0], nil
	}
	// Several hold an address: which one, by the first address they share.
	for _, k := range keys {
		var names []string
		for _, m := range found {
			if slices.Contains(store.EmailKeys(m.Emails), k) {
				names = append(names, m.UserName)
			}
		}
		switch len(names) {
		case 0:
			continue
		case 1:
			for _, m := range found {
				if m.UserName == names[0] {
					return m, nil
				}
			}
		}
		return store.User{}, &store.AmbiguousEmailError{Email: k, UserNames: names}
	}
	return found[0], nil
}
