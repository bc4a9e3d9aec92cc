package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/store"
)

// Sign-in and lifecycle (schema in migrations/0008_lifecycle.sql).
// Lock order: a spent-assertion row, then the user row, then session rows;
// a catalogue delete locks the users holding the store, then the store row.

// The sign-in parts of Change (store.Lock.Spend, store.View.Replayed and
// Deleted, store.Plan.Session, LastActive and Audit). The spend is the first
// statement of Change's read batch, before the users' locks: the primary
// key of saml_assertions makes it once across processes, and an expired row
// may be taken over (the SAML library refuses an assertion past its expiry
// before it gets here). Its insert is rolled back with the transaction when
// the use case refuses.

// checkSpend refuses an assertion whose keys cannot be stored.
func checkSpend(a *store.Assertion) error {
	if a != nil && !keysOK(a.Issuer, a.ID) {
		return &store.InvalidError{Field: "assertion", Reason: "contains characters that cannot be stored"}
	}
	return nil
}

const spendSQL = `insert into saml_assertions as x (tenant_id, issuer, assertion_id, expires_at)
values ($1, $2, $3, $4)
on conflict on constraint saml_assertions_pkey do update set expires_at = excluded.expires_at
where x.expires_at <= $5`

func queueSpend(b *pgx.Batch, tenantID string, a *store.Assertion, now time.Time) {
	if a != nil {
		b.Queue(spendSQL, tenantID, a.Issuer, a.ID, store.Timestamp(a.ExpiresAt), now)
	}
}

// readSpend reads the spend's answer: no row written means spent already.
func readSpend(br pgx.BatchResults, a *store.Assertion, v *store.View) error {
	if a == nil {
		return nil
	}
	tag, err := br.Exec()
	v.Replayed = err == nil && tag.RowsAffected() == 0
	return err
}

// deletedSQL lists which of the users $2 are deleted (store.View.Deleted),
// read after the users' locks.
const deletedSQL = `select id from users where tenant_id = $1 and id = any($2::text[]) and deleted_at is not null`

func readDeleted(br pgx.BatchResults) (map[string]bool, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	deleted := map[string]bool{}
	var id string
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
		deleted[id] = true
		return nil
	})
	return deleted, err
}

// applySignIn writes a plan's last-active times, session and further audit
// events in one round trip. A taken session id is a *store.ConflictError.
func applySignIn(ctx context.Context, tx pgx.Tx, tenantID string, v *store.View, p *store.Plan) error {
	for _, id := range p.LastActive {
		if _, ok := v.Users[id]; !ok {
			return errors.New("postgres: a plan may record activity only of a user it locked")
		}
	}
	sess := p.Session
	if sess != nil {
		if _, ok := v.Users[sess.UserID]; !ok {
			return errors.New("postgres: a plan may start a session only for a user it locked")
		}
		if !keysOK(sess.ID) {
			return callerErr{&store.InvalidError{Field: "session", Reason: "id contains characters that cannot be stored"}}
		}
	}
	b := &pgx.Batch{}
	if len(p.LastActive) > 0 {
		b.Queue(`update users set last_active_at = $3 where tenant_id = $1 and id = any($2::text[])`, tenantID, p.LastActive, v.Now)
	}
	if sess != nil {
		b.Queue(`insert into sessions (id, tenant_id, user_id, hash, created_at, expires_at, console_link) values ($1, $2, $3, $4, $5, $6, $7)
on conflict on constraint sessions_pkey do nothing`,
			sess.ID, tenantID, sess.UserID, sess.Hash, sess.CreatedAt, sess.ExpiresAt, sess.ConsoleLink)
	}
	if len(p.Audit) > 0 {
		var actions, types, targets, details, befores, afters []string
		for _, e := range p.Audit {
			actions, types, targets = append(actions, e.Action), append(types, e.TargetType), append(targets, e.TargetID)
			details, befores, afters = append(details, e.Detail), append(befores, e.Before), append(afters, e.After)
		}
		b.Queue(`insert into audit_events `+auditColsDetail+`
select $1, $2, $3, $4, $5, $6, e.action, e.target_type, e.target_id, e.detail, e.before, e.after
from unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
	with ordinality as e (action, target_type, target_id, detail, before, after, n)
order by e.n`, slices.Concat([]any{tenantID, v.Now}, actorArgs(p.By), []any{actions, types, targets, details, befores, afters})...)
	}
	if b.Len() == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if len(p.LastActive) > 0 {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	if sess != nil {
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return callerErr{&store.ConflictError{Field: "id", Value: sess.ID}}
		}
	}
	if len(p.Audit) > 0 {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	return br.Close()
}

func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	if !keysOK(id) {
		return store.Session{}, store.ErrNotFound
	}
	var x store.Session
	err := s.pool.QueryRow(ctx, `select id, tenant_id, user_id, hash, created_at, expires_at, console_link from sessions where id = $1`, id).
		Scan(&x.ID, &x.TenantID, &x.UserID, &x.Hash, &x.CreatedAt, &x.ExpiresAt, &x.ConsoleLink)
	if err != nil {
		return store.Session{}, s.convert("GetSession", err, nil)
	}
	x.CreatedAt, x.ExpiresAt = store.Timestamp(x.CreatedAt), store.Timestamp(x.ExpiresAt)
	return x, nil
}

func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if !keysOK(id) {
		return store.ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, `delete from sessions where id = $1`, id)
	if err != nil {
		return s.convert("DeleteSession", err, nil)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s *Store) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `with a as (delete from sessions where expires_at <= $1 returning 1),
b as (delete from saml_assertions where expires_at <= $1 returning 1),
c as (delete from saml_requests where expires_at <= $1 returning 1),
d as (delete from console_links where expires_at <= $2 returning 1)
select (select count(*) from a) + (select count(*) from b) + (select count(*) from c) + (select count(*) from d)`,
		store.Timestamp(now), store.Timestamp(now.Add(-store.ConsoleLinkRetention))).Scan(&n)
	if err != nil {
		return 0, s.convert("PurgeExpired", err, nil)
	}
	return n, nil
}

// DueExpirations reads the partial index users_access_expires_idx.
func (s *Store) DueExpirations(ctx context.Context, now time.Time, limit int) ([]store.UserRef, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `select tenant_id, id from users
where active and deleted_at is null and access_expires_at is not null and access_expires_at <= $1
order by access_expires_at, tenant_id, id
limit $2`, store.Timestamp(now), limit)
	if err != nil {
		return nil, s.convert("DueExpirations", err, nil)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.UserRef, error) {
		var ref store.UserRef
		return ref, r.Scan(&ref.TenantID, &ref.UserID)
	})
	if err != nil {
		return nil, s.convert("DueExpirations", err, nil)
	}
	if out == nil {
		out = []store.UserRef{}
	}
	return out, nil
}

// ---- store catalogue ----

const outletCols = `tenant_id, id, name, created_at, updated_at`

func scanOutlet(row pgx.Row) (store.Outlet, error) {
	var o store.Outlet
	if err := row.Scan(&o.TenantID, &o.ID, &o.Name, &o.CreatedAt, &o.UpdatedAt); err != nil {
		return store.Outlet{}, err
	}
	o.CreatedAt, o.UpdatedAt = store.Timestamp(o.CreatedAt), store.Timestamp(o.UpdatedAt)
	return o, nil
}

func (s *Store) CreateOutlet(ctx context.Context, tenantID string, o store.Outlet, by store.Actor) (store.Outlet, error) {
	if !keysOK(tenantID) {
		return store.Outlet{}, store.ErrNotFound
	}
	if err := store.ValidateOutlet(&o); err != nil {
		return store.Outlet{}, err
	}
	var out store.Outlet
	err := s.inTx(ctx, "CreateOutlet", vals{"id": o.ID}, func(tx pgx.Tx) error {
		now := s.clock()
		var err error
		out, err = scanOutlet(tx.QueryRow(ctx, `insert into tenant_stores (tenant_id, id, name, created_at, updated_at)
values ($1, $2, $3, $4, $4) returning `+outletCols, tenantID, o.ID, o.Name, now))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, auditInsert, auditArgs(tenantID, now, by, "store.created", "store", o.ID, "", "", store.AuditJSON(out))...)
		return err
	})
	if err != nil {
		return store.Outlet{}, err
	}
	return out, nil
}

func (s *Store) ListOutlets(ctx context.Context, tenantID string) ([]store.Outlet, error) {
	if !keysOK(tenantID) {
		return nil, store.ErrNotFound
	}
	return listOfTenant(ctx, s, "ListOutlets", `select `+outletCols+` from tenant_stores where tenant_id = $1 order by seq`, scanOutlet, tenantID)
}

func (s *Store) RenameOutlet(ctx context.Context, tenantID, id, name string, by store.Actor) (store.Outlet, error) {
	if !keysOK(tenantID, id) {
		return store.Outlet{}, store.ErrNotFound
	}
	var out store.Outlet
	err := s.inTx(ctx, "RenameOutlet", nil, func(tx pgx.Tx) error {
		old, err := scanOutlet(tx.QueryRow(ctx, `select `+outletCols+` from tenant_stores where tenant_id = $1 and id = $2 for no key update`, tenantID, id))
		if err != nil {
			return err
		}
		o := old
		o.Name, o.UpdatedAt = name, s.clock()
		if err := store.ValidateOutlet(&o); err != nil {
			return callerErr{err}
		}
		out, err = scanOutlet(tx.QueryRow(ctx, `update tenant_stores set name = $3, updated_at = $4
where tenant_id = $1 and id = $2 returning `+outletCols, tenantID, id, o.Name, o.UpdatedAt))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, auditInsert, auditArgs(tenantID, o.UpdatedAt, by, "store.updated", "store", id, "",
			store.AuditJSON(old), store.AuditJSON(out))...)
		return err
	})
	if err != nil {
		return store.Outlet{}, err
	}
	return out, nil
}

// DeleteOutlet deletes the store and strips it from every user who holds it,
// in one transaction. Lock order is user rows, then the store row, as in
// user writes (whose trigger key-share locks the stores they name): the
// users known to hold the store are locked first; deleting the store row
// then waits for writes in flight that name it, and blocks new ones (which
// then fail: the store is unknown); a second scan, in a new snapshot, finds
// and locks the holders those in-flight writes made. A deadlock with a user
// write that locked such a holder meanwhile is retried.
func (s *Store) DeleteOutlet(ctx context.Context, tenantID, id string, by store.Actor) (int, error) {
	if !keysOK(tenantID, id) {
		return 0, store.ErrNotFound
	}
	n := 0
	err := retryOnDeadlock(func() error {
		return s.inTx(ctx, "DeleteOutlet", nil, func(tx pgx.Tx) error {
			lockHolders := `select ` + userCols + ` from users u
where u.tenant_id = $1 and u.deleted_at is null and $2 = any (u.stores)
order by u.id
for no key update`
			if _, err := tx.Exec(ctx, lockHolders, tenantID, id); err != nil {
				return err
			}
			old, err := scanOutlet(tx.QueryRow(ctx, `delete from tenant_stores where tenant_id = $1 and id = $2 returning `+outletCols, tenantID, id))
			if err != nil {
				return err
			}
			rows, err := tx.Query(ctx, lockHolders, tenantID, id)
			if err != nil {
				return err
			}
			holders, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
			if err != nil {
				return err
			}
			now := s.clock()
			b := &pgx.Batch{}
			for _, u := range holders {
				after := u.Clone()
				after.Stores = removeString(after.Stores, id)
				after.Version, after.UpdatedAt = u.Version+1, now
				b.Queue(`update users set stores = array_remove(stores, $3), version = version + 1, updated_at = $4
where tenant_id = $1 and id = $2`, tenantID, u.ID, id, now)
				b.Queue(auditInsert, auditArgs(tenantID, now, by, "user.updated", "user", u.ID, "store "+id+" deleted from the catalogue",
					store.AuditJSON(u), store.AuditJSON(after))...)
			}
			b.Queue(auditInsert, auditArgs(tenantID, now, by, "store.deleted", "store", id, "", store.AuditJSON(old), "")...)
			n = len(holders)
			return tx.SendBatch(ctx, b).Close()
		})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// retryOnDeadlock runs fn again (at most 3 times in all) when it failed on a
// deadlock or a serialization failure, which PostgreSQL resolves by
// aborting one transaction: nothing of it was applied.
func retryOnDeadlock(fn func() error) error {
	var err error
	for range 3 {
		err = fn()
		var u *unavailable
		if !errors.As(err, &u) || (!strings.Contains(u.reason, "40P01") && !strings.Contains(u.reason, "40001")) {
			return err
		}
	}
	return err
}

func removeString(list []string, v string) []string {
	out := make([]string, 0, len(list))
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// ---- AuthnRequests in flight ----

func (s *Store) PutAuthnRequest(ctx context.Context, tenantID string, r store.AuthnRequest) error {
	if !keysOK(tenantID) {
		return store.ErrNotFound
	}
	if r.RelayState == "" || r.RequestID == "" || !keysOK(r.RelayState, r.RequestID) {
		return &store.InvalidError{Field: "relayState", Reason: "and the request id are required text"}
	}
	_, err := s.pool.Exec(ctx, `insert into saml_requests (tenant_id, relay_state, request_id, browser_hash, expires_at, next)
values ($1, $2, $3, $4, $5, $6)`, tenantID, r.RelayState, r.RequestID, r.BrowserHash, store.Timestamp(r.ExpiresAt), r.Next)
	if err != nil {
		var v vals = map[string]string{"relayState": r.RelayState}
		return s.convert("PutAuthnRequest", err, v)
	}
	return nil
}

// TakeAuthnRequest deletes and returns the request in one statement, so
// that of two concurrent takes only one gets it.
func (s *Store) TakeAuthnRequest(ctx context.Context, tenantID, relayState string) (store.AuthnRequest, error) {
	if !keysOK(tenantID, relayState) {
		return store.AuthnRequest{}, store.ErrNotFound
	}
	r := store.AuthnRequest{TenantID: tenantID, RelayState: relayState}
	err := s.pool.QueryRow(ctx, `delete from saml_requests where tenant_id = $1 and relay_state = $2
returning request_id, browser_hash, expires_at, next`, tenantID, relayState).Scan(&r.RequestID, &r.BrowserHash, &r.ExpiresAt, &r.Next)
	if err != nil {
		return store.AuthnRequest{}, s.convert("TakeAuthnRequest", err, nil)
	}
	r.ExpiresAt = store.Timestamp(r.ExpiresAt)
	if !r.ExpiresAt.After(s.clock()) {
		return store.AuthnRequest{}, store.ErrNotFound
	}
	return r, nil
}

// userExists describes the live user holding u's userName (for a create that
// collided): their id, role and stores.
func (s *Store) userExists(ctx context.Context, tenantID string, u *store.User) error {
	var existing store.User
	err := s.pool.QueryRow(ctx, `select id, role, stores from users where tenant_id = $1 and user_name_key = $2 and deleted_at is null`,
		tenantID, store.FoldKey(u.UserName)).Scan(&existing.ID, &existing.Role, &existing.Stores)
	if err != nil { // gone meanwhile: still a conflict as far as this create knows
		return &store.ConflictError{Field: "userName", Value: u.UserName}
	}
	return store.NewUserExistsError(existing, *u)
}

// explainConflict turns the userName conflict of a create into a
// *store.UserExistsError that names the role the user holds.
func (s *Store) explainConflict(ctx context.Context, tenantID string, u *store.User, err error) error {
	var c *store.ConflictError
	if errors.As(err, &c) && c.Field == "userName" {
		return s.userExists(ctx, tenantID, u)
	}
	return err
}
