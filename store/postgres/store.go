// Package postgres is the PostgreSQL store.Store, on pgx v5 (pgxpool).
//
// The schema lives in embedded, forward-only migrations (migrations/*.sql)
// applied under an advisory lock. Every query is scoped by the tenant id as
// its first parameter; every write and its seat-ledger and audit entries
// commit in one transaction (most of them in one statement).
//
// Lock order (so that concurrent writes wait, never deadlock): a role row,
// then user rows, then the tenant row; a group row, then the users it adds
// (FOR SHARE), then membership rows, then the group's member counter. The
// tenant row is the per-tenant point of serialisation: it holds the seat
// counters and the sequence counters, so seat checks and creation order are
// decided in the database, in commit order.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/licensing"
	"github.com/roster-dev/roster/store"
)

// Options are the injected dependencies of a Store.
type Options struct {
	Now    func() time.Time // default time.Now
	NewID  func() string    // default uuid.NewString
	Logger zerolog.Logger   // default zerolog.Nop(); gets the causes of unexpected errors
	// NoListen keeps the store from listening for changes, as if behind a
	// pooler in transaction mode that swallows notifications: Authenticate
	// reads the database on every call, and CheckToken knows only the tokens
	// loaded (every 10 s) or read since (tokenset.go). For tests of that mode.
	NoListen bool
	// BatchSize, when set, is told the size of every batch of creations
	// (kind "create") and of single-user lookups (kind "lookup") the store
	// runs, a lone request being a batch of one (createbatch.go,
	// readbatch.go): the metrics' hook, so that the store imports no
	// metrics library. It must be cheap and safe for concurrent use.
	BatchSize func(kind string, n int)
	// ListenURL, when set, is where the auth cache's listener connects
	// (LISTEN needs a session of its own, which a pooler in transaction
	// mode does not give): a direct connection to the same database while
	// the pool goes through the pooler. Empty: the pool's own settings.
	ListenURL string
	// Tracer, when set, sees every statement the store's pool sends (a
	// pgx.QueryTracer, and a pgx.BatchTracer too when it is one): tests
	// read the plans of the statements the store really runs.
	Tracer pgx.QueryTracer
}

// Store is the PostgreSQL store.Store.
type Store struct {
	pool  *pgxpool.Pool
	now   func() time.Time
	newID func() string
	log   zerolog.Logger

	// defaultRoles caches each tenant's default role as last read, so that
	// creating a user need not read it first; every creation that relies on
	// it checks it in its statement (resolve.go, createUserSQL).
	defaultRoles sync.Map // tenant id → string

	// creates writes concurrent creations of one tenant together (createbatch.go).
	creates       createBatcher
	createBatches atomic.Int64 // batches of creations written whole (tests)
	// reads reads concurrent lookups of single users together (readbatch.go).
	reads readBatcher
	// userNames says how lookups by userName are sent (lookupplans.go).
	userNames userNamePlans

	// auth caches Authenticate's answers, kept true by LISTEN (authcache.go).
	auth      authCache
	authReads atomic.Int64 // Authenticate's database reads
	authHits  atomic.Int64 // Authenticate's answers from the cache
	// checks count CheckToken's and CheckAPIKey's answers (Stats).
	tokenChecks, keyChecks checkCounts
	batchSize              func(kind string, n int) // Options.BatchSize; never nil
	// tokens is every token id and hash, for CheckToken (tokenset.go).
	tokens       tokenSet
	keys         keySet // admin API keys (apikeyset.go)
	noListen     bool
	listenURL    string
	listenWarned bool // the listener's probe failure was logged at warn once
	// reloadGate, when set (tests), holds the listener's re-reads until it
	// is closed.
	reloadGate atomic.Pointer[chan struct{}]
	stopListen context.CancelFunc
	listenDone chan struct{}
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// DSN), applies the migrations it lacks and returns the store.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse database url: %w", err)
	}
	if opts.Tracer != nil {
		cfg.ConnConfig.Tracer = opts.Tracer
	}
	if opts.ListenURL != "" {
		if _, err := pgx.ParseConfig(opts.ListenURL); err != nil {
			return nil, fmt.Errorf("postgres: parse listen url: %w", err)
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := migrateFS(ctx, pool, embeddedMigrations()); err != nil {
		pool.Close()
		return nil, err
	}
	return New(pool, opts), nil
}

// New returns a store on a pool whose database is migrated. Close closes the pool.
func New(pool *pgxpool.Pool, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = uuid.NewString
	}
	// The zero zerolog.Logger is disabled, like zerolog.Nop().
	if opts.BatchSize == nil {
		opts.BatchSize = func(string, int) {}
	}
	s := &Store{pool: pool, now: opts.Now, newID: opts.NewID, log: opts.Logger, noListen: opts.NoListen, batchSize: opts.BatchSize, listenURL: opts.ListenURL,
		auth: authCache{entries: map[authKey]authEntry{}}, tokens: newTokenSet(), keys: newKeySet(), listenDone: make(chan struct{})}
	// Know the tokens from the start, so that a correct token is recognised
	// before the listener is proven (or when it never is).
	lctx, lcancel := context.WithTimeout(context.Background(), authProbeWait)
	if err := s.loadTokens(lctx); err != nil {
		s.log.Warn().Err(err).Msg("postgres: loading the token ids failed; unknown ids are looked up under the failure budget until the next load")
	}
	if err := s.loadAPIKeys(lctx); err != nil {
		s.log.Warn().Err(err).Msg("postgres: loading the API key ids failed; unknown ids are looked up under the failure budget until the next load")
	}
	lcancel()
	ctx, cancel := context.WithCancel(context.Background())
	s.stopListen = cancel
	go s.listen(ctx, s.listenDone)
	return s
}

// Pool is the store's connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping answers nil when the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.convert("Ping", s.pool.Ping(ctx), nil)
}

// Close stops the auth cache's listener and closes the pool.
func (s *Store) Close() {
	s.stopListen()
	<-s.listenDone
	s.pool.Close()
}

func (s *Store) clock() time.Time { return store.Timestamp(s.now()) }

// callerErr carries an error returned by a caller's closure through a
// transaction, so that it comes out as is, unconverted.
type callerErr struct{ err error }

func (e callerErr) Error() string { return e.err.Error() }
func (e callerErr) Unwrap() error { return e.err }

// inTx runs fn in a transaction, committing when it returns nil. Errors from
// the caller's closure (wrapped in callerErr) come out as is; all others go
// through convert.
func (s *Store) inTx(ctx context.Context, op string, v vals, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.convert(op, err, v)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		var ce callerErr
		if errors.As(err, &ce) {
			return ce.err
		}
		return s.convert(op, err, v)
	}
	return s.convert(op, tx.Commit(ctx), v)
}

// listOfTenant runs a list query whose $1 is the tenant id and scans each
// row. An empty answer is ErrNotFound for an unknown tenant, else an empty,
// non-nil slice.
func listOfTenant[T any](ctx context.Context, s *Store, op, sql string, scan func(pgx.Row) (T, error), tenantID string, args ...any) ([]T, error) {
	rows, err := s.pool.Query(ctx, sql, append([]any{tenantID}, args...)...)
	if err != nil {
		return nil, s.convert(op, err, nil)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, s.convert(op, err, nil)
	}
	if len(out) == 0 {
		if err := s.tenantExists(ctx, s.pool, op, tenantID); err != nil {
			return nil, err
		}
		out = []T{}
	}
	return out, nil
}

// tenantExists answers ErrNotFound for an unknown tenant, for list queries
// whose empty answer cannot tell.
func (s *Store) tenantExists(ctx context.Context, q querier, op, tenantID string) error {
	var ok bool
	if err := q.QueryRow(ctx, "select exists (select 1 from tenants where id = $1)", tenantID).Scan(&ok); err != nil {
		return s.convert(op, err, nil)
	}
	if !ok {
		return store.ErrNotFound
	}
	return nil
}

// bind turns the {name} tokens of a SQL template into the placeholders $1,
// $2, … in the order of names, so that statements with many arguments stay
// readable and their argument lists are built in the same order. Only
// placeholders are substituted, never values.
func bind(tmpl string, names ...string) string {
	pairs := make([]string, 0, 2*len(names))
	for i, n := range names {
		pairs = append(pairs, "{"+n+"}", "$"+strconv.Itoa(i+1))
	}
	return strings.NewReplacer(pairs...).Replace(tmpl)
}

// keysOK says whether keys can name a stored record at all: PostgreSQL text
// holds neither NUL nor invalid UTF-8, and a lookup by such a key finds
// nothing (as in every backend) rather than failing.
func keysOK(keys ...string) bool {
	for _, k := range keys {
		if !textOK(k) {
			return false
		}
	}
	return true
}

func textOK(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// queryStrings answers the first column of every row of sql, read through q.
func queryStrings(ctx context.Context, q querier, sql string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// ---- value helpers ----

// jsonArg encodes v for a jsonb column; a nil slice is SQL null, so that nil
// and empty round-trip as themselves.
func jsonArg[T any](v []T) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// fromJSON decodes a jsonb column read as bytes; SQL null leaves dst nil.
func fromJSON[T any](b []byte, dst *[]T) error {
	switch string(b) { // no allocation: the conversion is only compared
	case "", "null":
		*dst = nil
		return nil
	case "[]":
		*dst = []T{} // as json.Unmarshal answers, without its cost
		return nil
	}
	return json.Unmarshal(b, dst)
}

func tsPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := store.Timestamp(*t)
	return &c
}

// ---- tenants ----

const tenantCols = `id, name, plan, seats, addons, settings, created_at, updated_at,
contract_start, seats_at_renewal, seats_at_renewal_from, seat_changes`

func scanTenant(row pgx.Row) (store.Tenant, error) {
	var t store.Tenant
	var settings, changes []byte
	if err := row.Scan(&t.ID, &t.Name, &t.Plan, &t.Seats, &t.Addons, &settings, &t.CreatedAt, &t.UpdatedAt,
		&t.ContractStart, &t.SeatsAtRenewal, &t.SeatsAtRenewalFrom, &changes); err != nil {
		return store.Tenant{}, err
	}
	if err := json.Unmarshal(settings, &t.Settings); err != nil {
		return store.Tenant{}, err
	}
	if err := fromJSON(changes, &t.SeatChanges); err != nil {
		return store.Tenant{}, err
	}
	t.CreatedAt, t.UpdatedAt = store.Timestamp(t.CreatedAt), store.Timestamp(t.UpdatedAt)
	return t.Clone(), nil // Clone normalises the contract's times
}

// contractArgs are the contract columns of a tenant write (migration 0006):
// contract_start (null: the creation time), seats_at_renewal,
// seats_at_renewal_from, seat_changes.
func contractArgs(t store.Tenant) ([]any, error) {
	changes, err := jsonArg(t.SeatChanges)
	if err != nil {
		return nil, err
	}
	var start *time.Time
	if !t.ContractStart.IsZero() {
		c := store.Timestamp(t.ContractStart)
		start = &c
	}
	return []any{start, t.SeatsAtRenewal, tsPtr(t.SeatsAtRenewalFrom), changes}, nil
}

func (s *Store) CreateTenant(ctx context.Context, t store.Tenant, by store.Actor) (store.Tenant, error) {
	switch {
	case t.ID == "":
		return store.Tenant{}, &store.InvalidError{Field: "id", Reason: "is required"}
	case !textOK(t.ID):
		return store.Tenant{}, &store.InvalidError{Field: "id", Reason: "is not valid UTF-8 text"}
	}
	if err := t.ValidateContract(); err != nil {
		return store.Tenant{}, err
	}
	now := s.clock()
	settings, err := json.Marshal(t.Settings)
	if err != nil {
		return store.Tenant{}, err
	}
	contract, err := contractArgs(t)
	if err != nil {
		return store.Tenant{}, err
	}
	var out store.Tenant
	err = s.inTx(ctx, "CreateTenant", vals{"id": t.ID}, func(tx pgx.Tx) error {
		out, err = scanTenant(tx.QueryRow(ctx, `insert into tenants (id, name, plan, seats, addons, settings, created_at, updated_at,
	contract_start, seats_at_renewal, seats_at_renewal_from, seat_changes)
values ($1, $2, $3, $4, $5, $6, $7, $7, coalesce($8::timestamptz, $7), $9, $10, $11)
returning `+tenantCols, append([]any{t.ID, t.Name, t.Plan, t.Seats, t.Addons, settings, now}, contract...)...))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, auditInsert, auditArgs(out.ID, now, by, store.ActionTenantCreated, "tenant", out.ID, "", "", store.TenantAudit(out))...)
		return err
	})
	if err != nil {
		return store.Tenant{}, err
	}
	return out, nil
}

func (s *Store) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	if !keysOK(id) {
		return store.Tenant{}, store.ErrNotFound
	}
	t, err := scanTenant(s.pool.QueryRow(ctx, `select `+tenantCols+` from tenants where id = $1`, id))
	if err != nil {
		return store.Tenant{}, s.convert("GetTenant", err, nil)
	}
	return t, nil
}

func (s *Store) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	rows, err := s.pool.Query(ctx, `select `+tenantCols+` from tenants order by seq`)
	if err != nil {
		return nil, s.convert("ListTenants", err, nil)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Tenant, error) { return scanTenant(r) })
	if err != nil {
		return nil, s.convert("ListTenants", err, nil)
	}
	if out == nil {
		out = []store.Tenant{}
	}
	return out, nil
}

// DeleteTenant removes the tenant and everything it owns: by cascade, and
// explicitly for users, seat_events and audit_events (no foreign keys, see
// migration 0003) and group_members (0011).
// The tenant's users are locked first, in the order every write takes.
func (s *Store) DeleteTenant(ctx context.Context, id string, by store.Actor) (err error) {
	if !keysOK(id) {
		return store.ErrNotFound
	}
	defer s.auth.invalidate(id) // after the commit (authcache.go)
	defer func() {
		if err == nil {
			s.tokens.dropTenant(id) // after the commit; other processes reload on the NOTIFY
			s.keys.dropTenant(id)
		}
	}()
	return s.inTx(ctx, "DeleteTenant", nil, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `select 1 from users where tenant_id = $1 for update`, id); err != nil {
			return err
		}
		old, err := scanTenant(tx.QueryRow(ctx, `delete from tenants where id = $1 returning `+tenantCols, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return callerErr{store.ErrNotFound}
		}
		if err != nil {
			return err
		}
		// New statements, new snapshots: they see every user and ledger
		// entry committed by writers that held the tenant row before us.
		b := &pgx.Batch{}
		b.Queue(`delete from users where tenant_id = $1`, id)
		b.Queue(`delete from group_members where tenant_id = $1`, id) // no foreign keys (migration 0011)
		b.Queue(`delete from seat_events where tenant_id = $1`, id)
		b.Queue(`delete from audit_events where tenant_id = $1`, id)
		b.Queue(`delete from events where tenant_id = $1`, id)
		// The deletion itself outlives the tenant, in the operator's trail.
		b.Queue(auditInsert, auditArgs(store.OperatorTrail, s.clock(), by, store.ActionTenantDeleted, "tenant", id, "",
			store.TenantAudit(old), "")...)
		return tx.SendBatch(ctx, b).Close()
	})
}

func (s *Store) SeatCounts(ctx context.Context, tenantID string) (store.SeatCounts, error) {
	if !keysOK(tenantID) {
		return store.SeatCounts{}, store.ErrNotFound
	}
	var c store.SeatCounts
	err := s.pool.QueryRow(ctx, `select seats_full, seats_light from tenants where id = $1`, tenantID).Scan(&c.Full, &c.Light)
	if err != nil {
		return store.SeatCounts{}, s.convert("SeatCounts", err, nil)
	}
	return c, nil
}

// seatsByPlanSQL sums the tenants' seat counters (kept by every write in
// the tenant row): one pass over the tenants, never over the users.
const seatsByPlanSQL = `select plan, count(*), coalesce(sum(seats_full), 0), coalesce(sum(seats_light), 0)
from tenants group by plan order by plan`

func (s *Store) SeatsByPlan(ctx context.Context) ([]store.PlanSeats, error) {
	rows, err := s.pool.Query(ctx, seatsByPlanSQL)
	if err != nil {
		return nil, s.convert("SeatsByPlan", err, nil)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.PlanSeats, error) {
		var p store.PlanSeats
		var full, light int64
		err := r.Scan(&p.Plan, &p.Tenants, &full, &light)
		p.Seats.Full, p.Seats.Light = int(full), int(light)
		return p, err
	})
	if err != nil {
		return nil, s.convert("SeatsByPlan", err, nil)
	}
	return out, nil
}

// ---- tokens ----

const tokenCols = `tenant_id, id, name, hash, created_at, last_used_at, revoked_at`

func scanToken(row pgx.Row) (store.Token, error) {
	var t store.Token
	if err := row.Scan(&t.TenantID, &t.ID, &t.Name, &t.Hash, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt); err != nil {
		return store.Token{}, err
	}
	t.CreatedAt, t.LastUsedAt, t.RevokedAt = store.Timestamp(t.CreatedAt), tsPtr(t.LastUsedAt), tsPtr(t.RevokedAt)
	return t, nil
}

func (s *Store) CreateToken(ctx context.Context, tenantID string, t store.Token, by store.Actor) (store.Token, error) {
	if !keysOK(tenantID) {
		return store.Token{}, store.ErrNotFound
	}
	if t.ID == "" {
		t.ID = s.newID()
	}
	var out store.Token
	// The foreign key takes a key-share lock on the tenant row, which keeps
	// DeleteTenant from passing the audit insert.
	err := s.inTx(ctx, "CreateToken", vals{"id": t.ID}, func(tx pgx.Tx) error {
		var err error
		now := s.clock()
		out, err = scanToken(tx.QueryRow(ctx, `insert into tokens (tenant_id, id, name, hash, created_at, last_used_at, revoked_at)
values ($1, $2, $3, $4, $5, $6, $7)
returning `+tokenCols, tenantID, t.ID, t.Name, t.Hash, now, tsPtr(t.LastUsedAt), tsPtr(t.RevokedAt)))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, auditInsert, auditArgs(tenantID, now, by, store.ActionTokenCreated, "token", out.ID, "", "", store.TokenAudit(out))...)
		return err
	})
	if err != nil {
		return store.Token{}, err
	}
	s.tokens.add(tenantID, out.ID, out.Hash) // after the commit; other processes reload on its NOTIFY
	return out, nil
}

func (s *Store) GetToken(ctx context.Context, tenantID, id string) (store.Token, error) {
	if !keysOK(tenantID, id) {
		return store.Token{}, store.ErrNotFound
	}
	t, err := scanToken(s.pool.QueryRow(ctx, `select `+tokenCols+` from tokens where tenant_id = $1 and id = $2`, tenantID, id))
	if err != nil {
		return store.Token{}, s.convert("GetToken", err, nil)
	}
	return t, nil
}

func (s *Store) ListTokens(ctx context.Context, tenantID string) ([]store.Token, error) {
	if !keysOK(tenantID) {
		return nil, store.ErrNotFound
	}
	return listOfTenant(ctx, s, "ListTokens", `select `+tokenCols+` from tokens where tenant_id = $1 order by seq`, scanToken, tenantID)
}

// RevokeToken revokes a token; revoking it again keeps the first time and
// records nothing.
func (s *Store) RevokeToken(ctx context.Context, tenantID, id string, at time.Time, by store.Actor) error {
	if !keysOK(tenantID, id) {
		return store.ErrNotFound
	}
	defer s.auth.invalidate(tenantID) // after the commit (authcache.go)
	return s.inTx(ctx, "RevokeToken", nil, func(tx pgx.Tx) error {
		old, err := scanToken(tx.QueryRow(ctx, `select `+tokenCols+` from tokens where tenant_id = $1 and id = $2 for no key update`, tenantID, id))
		if err != nil {
			return err
		}
		if old.RevokedAt != nil {
			return nil
		}
		out, err := scanToken(tx.QueryRow(ctx, `update tokens set revoked_at = $3
where tenant_id = $1 and id = $2
returning `+tokenCols, tenantID, id, store.Timestamp(at)))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, auditInsert, auditArgs(tenantID, s.clock(), by, store.ActionTokenRevoked, "token", id, "",
			store.TokenAudit(old), store.TokenAudit(out))...)
		return err
	})
}

// TouchTokens moves last_used_at forward for every token of the map in one
// statement; unknown tokens are ignored.
func (s *Store) TouchTokens(ctx context.Context, used map[store.TokenKey]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	tenants := make([]string, 0, len(used))
	ids := make([]string, 0, len(used))
	ats := make([]time.Time, 0, len(used))
	for k, at := range used {
		tenants, ids, ats = append(tenants, k.TenantID), append(ids, k.ID), append(ats, store.Timestamp(at))
	}
	_, err := s.pool.Exec(ctx, `update tokens t set last_used_at = v.at
from unnest($1::text[], $2::text[], $3::timestamptz[]) as v (tenant_id, id, at)
where t.tenant_id = v.tenant_id and t.id = v.id and (t.last_used_at is null or t.last_used_at < v.at)`,
		tenants, ids, ats)
	return s.convert("TouchTokens", err, nil)
}

// ---- SAML ----

const samlCols = `tenant_id, metadata_xml, entity_id, sso_url, cert_not_after, updated_at`

func scanSAML(row pgx.Row) (store.SAMLConfig, error) {
	var c store.SAMLConfig
	if err := row.Scan(&c.TenantID, &c.MetadataXML, &c.EntityID, &c.SSOURL, &c.CertNotAfter, &c.UpdatedAt); err != nil {
		return store.SAMLConfig{}, err
	}
	c.CertNotAfter, c.UpdatedAt = store.Timestamp(c.CertNotAfter), store.Timestamp(c.UpdatedAt)
	return c, nil
}

func (s *Store) PutSAMLConfig(ctx context.Context, tenantID string, c store.SAMLConfig, by store.Actor) (store.SAMLConfig, error) {
	if !keysOK(tenantID) {
		return store.SAMLConfig{}, store.ErrNotFound
	}
	defer s.auth.invalidate(tenantID) // after the commit (authcache.go)
	var out store.SAMLConfig
	err := s.inTx(ctx, "PutSAMLConfig", nil, func(tx pgx.Tx) error {
		// The tenant row lock serialises writers of the configuration, so
		// that the audited before is the configuration replaced.
		var one int
		if err := tx.QueryRow(ctx, `select 1 from tenants where id = $1 for no key update`, tenantID).Scan(&one); err != nil {
			return err
		}
		var before string
		old, err := scanSAML(tx.QueryRow(ctx, `select `+samlCols+` from saml_configs where tenant_id = $1`, tenantID))
		switch {
		case err == nil:
			before = store.SAMLAudit(old)
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		now := s.clock()
		out, err = scanSAML(tx.QueryRow(ctx, `insert into saml_configs as c (tenant_id, metadata_xml, entity_id, sso_url, cert_not_after, updated_at)
values ($1, $2, $3, $4, $5, $6)
on conflict on constraint saml_configs_pkey do update
set metadata_xml = excluded.metadata_xml, entity_id = excluded.entity_id, sso_url = excluded.sso_url,
    cert_not_after = excluded.cert_not_after, updated_at = excluded.updated_at
returning `+samlCols, tenantID, c.MetadataXML, c.EntityID, c.SSOURL, store.Timestamp(c.CertNotAfter), now))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, auditInsert, auditArgs(tenantID, now, by, store.ActionSAMLUpdated, "saml", tenantID, "",
			before, store.SAMLAudit(out))...)
		return err
	})
	if err != nil {
		return store.SAMLConfig{}, err
	}
	return out, nil
}

func (s *Store) GetSAMLConfig(ctx context.Context, tenantID string) (store.SAMLConfig, error) {
	if !keysOK(tenantID) {
		return store.SAMLConfig{}, store.ErrNotFound
	}
	c, err := scanSAML(s.pool.QueryRow(ctx, `select `+samlCols+` from saml_configs where tenant_id = $1`, tenantID))
	if err != nil {
		return store.SAMLConfig{}, s.convert("GetSAMLConfig", err, nil)
	}
	return c, nil
}

func (s *Store) DeleteSAMLConfig(ctx context.Context, tenantID string, by store.Actor) error {
	if !keysOK(tenantID) {
		return store.ErrNotFound
	}
	defer s.auth.invalidate(tenantID) // after the commit (authcache.go)
	return s.inTx(ctx, "DeleteSAMLConfig", nil, func(tx pgx.Tx) error {
		old, err := scanSAML(tx.QueryRow(ctx, `delete from saml_configs where tenant_id = $1 returning `+samlCols, tenantID))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, auditInsert, auditArgs(tenantID, s.clock(), by, store.ActionSAMLDeleted, "saml", tenantID, "",
			store.SAMLAudit(old), "")...)
		return err
	})
}

// ---- ledger and audit ----

func eventLimit(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}

// eventFilter builds the optional conditions of an EventQuery after the
// tenant ($1).
func eventFilter(q store.EventQuery, seatEvents bool) (string, []any) {
	where := ""
	args := []any{}
	add := func(cond string, v any) {
		args = append(args, v)
		where += fmt.Sprintf(" and "+cond, len(args)+1)
	}
	if seatEvents {
		switch {
		case !q.Newest:
			add("seq > $%d", q.After)
		case q.After > 0:
			add("seq < $%d", q.After)
		}
		if q.UserID != "" {
			add("user_id = $%d", q.UserID)
		}
	} else {
		if q.After > 0 {
			// The page after the event numbered After, in the order pages
			// are read (the time, then the number: ListAudit).
			add("(at, seq) < (select c.at, c.seq from audit_events c where c.tenant_id = $1 and c.seq = $%d)", q.After)
		}
		if q.UserID != "" {
			add("target_type = 'user' and target_id = $%d", q.UserID)
		}
		if q.ActorID != "" {
			add("actor_id = $%d", q.ActorID)
		}
		if q.Action != "" {
			add("action = $%d", q.Action)
		}
	}
	if !q.From.IsZero() {
		add("at >= $%d", store.Timestamp(q.From))
	}
	if !q.To.IsZero() {
		add("at < $%d", store.Timestamp(q.To))
	}
	return where, args
}

func (s *Store) ListSeatEvents(ctx context.Context, tenantID string, q store.EventQuery) ([]store.SeatEvent, error) {
	if !keysOK(tenantID) {
		return nil, store.ErrNotFound
	}
	where, args := eventFilter(q, true)
	args = append([]any{tenantID}, args...)
	args = append(args, eventLimit(q.Limit))
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`select tenant_id, seq, at, user_id, class, delta, reason,
	actor_kind, actor_id, actor_name, request_id
from seat_events where tenant_id = $1%s order by seq%s limit $%d`, where, map[bool]string{true: " desc"}[q.Newest], len(args)), args...)
	if err != nil {
		return nil, s.convert("ListSeatEvents", err, nil)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SeatEvent, error) {
		var e store.SeatEvent
		err := r.Scan(&e.TenantID, &e.Seq, &e.Time, &e.UserID, &e.Class, &e.Delta, &e.Reason,
			&e.Actor.Kind, &e.Actor.ID, &e.Actor.Name, &e.Actor.RequestID)
		e.Time = store.Timestamp(e.Time)
		return e, err
	})
	if err != nil {
		return nil, s.convert("ListSeatEvents", err, nil)
	}
	if len(out) == 0 {
		if err := s.tenantExists(ctx, s.pool, "ListSeatEvents", tenantID); err != nil {
			return nil, err
		}
		out = []store.SeatEvent{}
	}
	return out, nil
}

// SeatHistory sums the ledger before from in the database and streams the
// entries of the range with only the columns a history reads, in one
// read-only snapshot: a history of 100,000 entries is two statements, not a
// page per point (BENCHMARKS.md "Seat usage history").
func (s *Store) SeatHistory(ctx context.Context, tenantID string, from, to time.Time) (store.SeatHistory, error) {
	if !keysOK(tenantID) {
		return store.SeatHistory{}, store.ErrNotFound
	}
	var h store.SeatHistory
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// The sums before from, and how many entries the range holds (so
		// that the slice is allocated once), in one pass over the ledger.
		var exists bool
		var n int
		args := []any{tenantID, store.Timestamp(from)}
		until := ""
		if !to.IsZero() {
			args, until = append(args, store.Timestamp(to)), " and at < $3"
		}
		if err := tx.QueryRow(ctx, `select coalesce(sum(delta) filter (where at < $2 and class = 'full'), 0),
	coalesce(sum(delta) filter (where at < $2 and class = 'light'), 0),
	count(*) filter (where at >= $2`+until+`),
	exists (select 1 from tenants where id = $1)
from seat_events where tenant_id = $1`, args...).Scan(&h.Opening.Full, &h.Opening.Light, &n, &exists); err != nil {
			return err
		}
		if !exists {
			return store.ErrNotFound
		}
		h.Moves = make([]licensing.SeatMove, 0, n)
		rows, err := tx.Query(ctx, `select at, user_id, class, delta from seat_events
where tenant_id = $1 and at >= $2`+until+` order by seq`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m licensing.SeatMove
			if err := rows.Scan(&m.Time, &m.UserID, &m.Class, &m.Delta); err != nil {
				return err
			}
			m.Time = store.Timestamp(m.Time)
			h.Moves = append(h.Moves, m)
		}
		return rows.Err()
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.SeatHistory{}, err
	}
	if err != nil {
		return store.SeatHistory{}, s.convert("SeatHistory", err, nil)
	}
	return h, nil
}

func (s *Store) AppendAudit(ctx context.Context, tenantID string, e store.AuditEvent) error {
	if !keysOK(tenantID) {
		return store.ErrNotFound
	}
	at := store.Timestamp(e.Time)
	if e.Time.IsZero() {
		at = s.clock()
	}
	// The key-share lock on the tenant row keeps DeleteTenant from passing
	// this insert (audit_events has no foreign key, see migration 0003).
	tag, err := s.pool.Exec(ctx, `insert into audit_events
	(tenant_id, at, actor_kind, actor_id, actor_name, request_id, action, target_type, target_id, detail, before_json, after_json)
select id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 from tenants where id = $1
for key share`, auditArgs(tenantID, at, e.Actor, e.Action, e.TargetType, e.TargetID, e.Detail, e.Before, e.After)...)
	if err != nil {
		return s.convert("AppendAudit", err, nil)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// auditInsert records one audit event; auditArgs are its arguments ($1 is
// the tenant). Writes queue it in their own transaction, which holds a lock
// on the row the event is about (see migration 0003).
const auditInsert = `insert into audit_events
	(tenant_id, at, actor_kind, actor_id, actor_name, request_id, action, target_type, target_id, detail, before_json, after_json)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

// auditInsertMembers is auditInsert for a group update: $13 is its
// membership operations (memberOpsJSON), for its events.
const auditInsertMembers = `insert into audit_events
	(tenant_id, at, actor_kind, actor_id, actor_name, request_id, action, target_type, target_id, detail, before_json, after_json, members_json)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`

func auditArgs(tenantID string, at time.Time, by store.Actor, action, targetType, targetID, detail, before, after string) []any {
	return []any{tenantID, at, by.Kind, by.ID, by.Name, by.RequestID, action, targetType, targetID, detail, before, after}
}

func (s *Store) ListAudit(ctx context.Context, tenantID string, q store.EventQuery) ([]store.AuditEvent, error) {
	if !keysOK(tenantID) {
		return nil, store.ErrNotFound
	}
	where, args := eventFilter(q, false)
	args = append([]any{tenantID}, args...)
	args = append(args, eventLimit(q.Limit))
	n := len(args)
	// Newest first by time, then number, which audit_events_tenant_at_idx
	// serves in order for the whole trail and for any range of it: a range
	// of the past is found, not reached by walking every newer event (the
	// primary key's order, seq, is the same order but PostgreSQL cannot
	// know it of at). A page after a cursor starts after that event's
	// (at, seq). Numbers are given at the insert and times by the writer's
	// clock, so two events written at once may be numbered out of their
	// times' order; the trail is read in time order.
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`select tenant_id, seq, at, actor_kind, actor_id, actor_name, request_id,
	action, target_type, target_id, detail, before_json, after_json
from audit_events where tenant_id = $1%s order by at desc, seq desc limit $%d`, where, n), args...)
	if err != nil {
		return nil, s.convert("ListAudit", err, nil)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AuditEvent, error) {
		var e store.AuditEvent
		err := r.Scan(&e.TenantID, &e.Seq, &e.Time, &e.Actor.Kind, &e.Actor.ID, &e.Actor.Name, &e.Actor.RequestID,
			&e.Action, &e.TargetType, &e.TargetID, &e.Detail, &e.Before, &e.After)
		e.Time = store.Timestamp(e.Time)
		return e, err
	})
	if err != nil {
		return nil, s.convert("ListAudit", err, nil)
	}
	if len(out) == 0 && tenantID != store.OperatorTrail {
		if err := s.tenantExists(ctx, s.pool, "ListAudit", tenantID); err != nil {
			return nil, err
		}
		out = []store.AuditEvent{}
	}
	return out, nil
}
