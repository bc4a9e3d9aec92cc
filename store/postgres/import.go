package postgres

// Bulk import: the keyed reads and whole-user writes of Store.Change
// (store/change_keys.go): the users a CSV import row may update, found by
// userName or email address, the teams it joins, and the creations and
// updates it plans.
//
// Lock order, as a membership change takes it (UpdateGroup): the role
// mappings (shared), the teams (id order), then the users — by id, then
// found by userName, then by address, each in id order —, then membership
// rows, then the member counters (group id order), then the tenant row.

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/store"
)

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

// byUserNameSQL reads, and locks, the live users holding one of the
// userName keys ($2), in id order; importByNameSQL the one holding the
// userName key $2 (one row's: a plain equality, which the planner answers
// from the unique index as for any lookup by userName).
const byUserNameSQL = `select ` + userCols + ` from unnest($2::text[]) as k
join users u on u.tenant_id = $1 and u.user_name_key = k and u.deleted_at is null
order by u.id
for no key update of u`

const importByNameSQL = `select ` + userCols + ` from users u
where u.tenant_id = $1 and u.user_name_key = $2 and u.deleted_at is null
for no key update`

// importByEmailSQL reads, and locks, the live users whose email key is one
// of the addresses ($2, lower-cased), in id order (the few addresses of one
// row). Two statements, not one with "or", so that each is one index scan
// per key.
const importByEmailSQL = `select ` + userCols + ` from unnest($2::text[]) as k
join users u on ` + emailKeySQL + ` = $1 || ':' || k and u.deleted_at is null
order by u.id
for no key update of u`

// heldNamesSQL and heldEmailsSQL say which of many userName keys and
// addresses ($2) a live user holds, for Lock.Peek: each key is one probe of
// its index once the users table is analysed (a scan of the tenant's users
// filtered by "= any" is what the planner may pick otherwise).
const heldNamesSQL = `select k from unnest($2::text[]) as k
where exists (select 1 from users u where u.tenant_id = $1 and u.user_name_key = k and u.deleted_at is null)`

const heldEmailsSQL = `select k from unnest($2::text[]) as k
where exists (select 1 from users u where ` + emailKeySQL + ` = $1 || ':' || k and u.deleted_at is null)`

// teamsSQL locks the groups $2 in id order (after mappingsShared).
const teamsSQL = `select id, display_name from groups where tenant_id = $1 and id = any($2::text[]) order by id for no key update`

// keyedLock is what a Lock names by key, as the database can hold it.
type keyedLock struct {
	names, emails, teams []string
	peek                 bool
}

func keyed(l store.Lock) keyedLock {
	k := keyedLock{emails: lockOrder(l.EmailKeys), teams: lockOrder(l.Teams), peek: l.Peek}
	for _, n := range l.UserNames {
		k.names = append(k.names, store.FoldKey(n))
	}
	k.names = lockOrder(k.names)
	return k
}

func (k keyedLock) any() bool { return len(k.names)+len(k.emails)+len(k.teams) > 0 }

// queueTeams queues the mappings' shared lock and the teams' locks, which
// come before every user's.
func (k keyedLock) queueTeams(b *pgx.Batch, tenantID string) {
	if len(k.teams) > 0 {
		b.Queue(mappingsShared, tenantID)
		b.Queue(teamsSQL, tenantID, k.teams)
	}
}

// readTeams reads what queueTeams queued into v.Teams.
func (k keyedLock) readTeams(br pgx.BatchResults, tenantID string, v *store.View) error {
	if !k.any() {
		return nil
	}
	v.Named, v.Emailed = map[string]string{}, map[string][]string{}
	v.Teams, v.InTeams = map[string]store.Group{}, map[string][]string{}
	if len(k.teams) == 0 {
		return nil
	}
	if _, err := br.Exec(); err != nil {
		return err
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	var id, name string
	_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		v.Teams[id] = store.Group{TenantID: tenantID, ID: id, DisplayName: name}
		return nil
	})
	return err
}

// queueUsers queues the reads of the users found by key, which come after
// every other user's lock.
func (k keyedLock) queueUsers(b *pgx.Batch, tenantID string) {
	names, emails := byUserNameSQL, importByEmailSQL
	if k.peek {
		names, emails = heldNamesSQL, heldEmailsSQL
	}
	switch {
	case len(k.names) == 1 && !k.peek:
		b.Queue(importByNameSQL, tenantID, k.names[0])
	case len(k.names) > 0:
		b.Queue(names, tenantID, k.names)
	}
	if len(k.emails) > 0 {
		b.Queue(emails, tenantID, k.emails)
	}
}

// readUsers reads what queueUsers queued: into v.Users, v.Named and
// v.Emailed, or for a peek into v.NamesHeld and v.EmailsHeld.
func (k keyedLock) readUsers(br pgx.BatchResults, v *store.View) error {
	if k.peek {
		v.NamesHeld, v.EmailsHeld = map[string]bool{}, map[string]bool{}
		for _, l := range []struct {
			keys []string
			held map[string]bool
		}{{k.names, v.NamesHeld}, {k.emails, v.EmailsHeld}} {
			if len(l.keys) == 0 {
				continue
			}
			rows, err := br.Query()
			if err != nil {
				return err
			}
			held, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			for _, key := range held {
				l.held[key] = true
			}
		}
		return nil
	}
	read := func() ([]store.User, error) {
		rows, err := br.Query()
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
	}
	if len(k.names) > 0 {
		users, err := read()
		if err != nil {
			return err
		}
		for _, u := range users {
			v.Named[store.FoldKey(u.UserName)] = u.ID
			v.Users[u.ID] = u
		}
	}
	if len(k.emails) > 0 {
		users, err := read()
		if err != nil {
			return err
		}
		for _, u := range users {
			if key := store.EmailKey(u.Emails); !slices.Contains(v.Emailed[key], u.ID) {
				v.Emailed[key] = append(v.Emailed[key], u.ID)
			}
			v.Users[u.ID] = u
		}
	}
	return nil
}

// readInTeams reads which of the teams each user of the view is in (one
// more round trip, only when there are both).
func (k keyedLock) readInTeams(ctx context.Context, tx pgx.Tx, tenantID string, v *store.View) error {
	if len(v.Teams) == 0 || len(v.Users) == 0 {
		return nil
	}
	ids := make([]string, 0, len(v.Users))
	for id := range v.Users {
		ids = append(ids, id)
	}
	rows, err := tx.Query(ctx, `select user_id, group_id from group_members
where tenant_id = $1 and group_id = any($2::text[]) and user_id = any($3::text[])
order by group_id`, tenantID, k.teams, ids)
	if err != nil {
		return err
	}
	var user, group string
	_, err = pgx.ForEachRow(rows, []any{&user, &group}, func() error {
		v.InTeams[user] = append(v.InTeams[user], group)
		return nil
	})
	return err
}

// errNotTogether says creations could not be written in one statement (the
// seat cap reached part-way, a role deleted, the default role changed): the
// statement wrote nothing, and failed no transaction.
var errNotTogether = errors.New("postgres: the planned creations could not be written together (seat cap, role or default role)")

// applyWrites writes a plan's users (store.UserWrite) and the teams they
// join. Creations of plain users (no privileged grant or approval, no
// stores) are written in one statement, the way concurrent creations are
// (createbatch.go): the tenant row once, each user's row, ledger entry and
// audit event. The others go one by one, each as CreateUser or UpdateUser
// writes it.
func (s *Store) applyWrites(ctx context.Context, tx pgx.Tx, tenantID string, v *store.View, p *store.Plan) error {
	if len(p.Moves) > 0 || p.Approval != nil {
		return errors.New("postgres: a plan with writes has no moves and no approval")
	}
	if len(p.Writes) > 1 && !p.Creates() {
		return errors.New("postgres: a plan with several writes may only create")
	}
	if w := &p.Writes[0]; w.Before != nil {
		out, err := s.updateLocked(ctx, tx, tenantID, *w.Before, p.By, func(u *store.User) error { *u = w.After.Clone(); return nil }, nil)
		if err != nil {
			return err
		}
		w.Written = out
	} else {
		reqs := make([]*createReq, len(p.Writes))
		together := len(reqs) > 1
		for i, w := range p.Writes {
			u := w.After
			if err := store.ValidateUser(&u); err != nil {
				return callerErr{err}
			}
			c, err := s.newCreate(v.Roles, tenantID, u, p.By, v.Now)
			if err != nil {
				return callerErr{err}
			}
			reqs[i] = &createReq{ctx: ctx, c: c}
			together = together && !c.d.Grant && c.d.Pending == nil
		}
		written := false
		if together && batchable(reqs) {
			// A statement that wrote nothing leaves the transaction usable:
			// the creations one by one then say which cannot be written.
			plans, err := s.execCreateBatch(ctx, tx, reqs)
			if err != nil && !errors.Is(err, errNotTogether) {
				return err
			}
			if written = err == nil; written {
				for i, r := range reqs {
					p.Writes[i].Written = r.c.u
					p.Writes[i].Written.Seat, _ = r.c.plans.pick(plans[i])
				}
			}
		}
		if !written {
			for i, r := range reqs {
				out, err := r.c.exec(ctx, tx)
				if err != nil {
					return callerErr{err}
				}
				if err := s.recordDecision(ctx, tx, tenantID, out.ID, r.c.d, p.By, r.c.now); err != nil {
					return err
				}
				p.Writes[i].Written = out
			}
		}
	}
	for _, w := range p.Writes {
		if err := s.joinTeams(ctx, tx, tenantID, w.Written.ID, w.Join, p.By); err != nil {
			return err
		}
	}
	return nil
}

// joinTeams adds the user to the groups they are not in yet: the
// membership rows, the member counters, each group's version and a
// group.updated audit event.
func (s *Store) joinTeams(ctx context.Context, tx pgx.Tx, tenantID, userID string, groupIDs []string, by store.Actor) error {
	ids := lockOrder(groupIDs)
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `insert into group_members (tenant_id, group_id, user_id, user_seq)
select $1, g, $3, (select u.seq from users u where u.tenant_id = $1 and u.id = $3) from unnest($2::text[]) as g
on conflict do nothing
returning group_id`, tenantID, ids, userID)
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
	b := &pgx.Batch{}
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
		b.Queue(auditInsertMembers, append(auditArgs(tenantID, now, by, "group.updated", "group", gid, "add 1 member(s)",
			store.AuditJSON(befores[gid]), store.AuditJSON(afters[gid])),
			memberOpsJSON([]store.MemberOp{{Kind: store.MembersAdd, UserIDs: []string{userID}}}))...)
	}
	return tx.SendBatch(ctx, b).Close()
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
