package postgres

import (
	"context"
	"sync"

	"github.com/roster-dev/roster/store"
)

// Test hooks for the black-box tests in package postgres_test.
var (
	MigrateFS           = migrateFS
	EmbeddedMigrations  = embeddedMigrations
	GetByUserNameSQL    = getByUserNameSQL
	NumberEventsSQL     = numberEventsSQL
	PreparedLookupsFrom = int64(preparedLookupsFrom)
	// UserNameLookups are the statements of a lookup by userName: alone,
	// with the user's groups, and many at once.
	UserNameLookups = map[string]string{"alone": getByUserNameSQL, "with groups": getByUserNameWithGroupsSQL,
		"batched": readOps[readByUserName].many}
	ImportByEmailSQL = importByEmailSQL
	UsableSQL        = usableSQL
	CapSQL           = capSQL
	BoundStatements  = map[string]string{
		"createUser": createUserSQL, "updateUser": updateUserSQL, "deleteUser": deleteUserSQL,
	}
)

// AuthCacheLive says whether the auth cache's listener is listening (the
// cache is in use).
func (s *Store) AuthCacheLive() bool {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return s.auth.live
}

// AuthCacheLast is the payload of the last notification the store handled.
func (s *Store) AuthCacheLast() string {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return s.auth.last
}

// HoldReloads keeps the listener from re-reading the tenants it is told of
// until release is called; notifications are still received and acted on
// at once (the cache dropped, the tenant's misses unsure).
func (s *Store) HoldReloads() (release func()) {
	gate := make(chan struct{})
	s.reloadGate.Store(&gate)
	var once sync.Once
	return func() { once.Do(func() { s.reloadGate.Store(nil); close(gate) }) }
}

// CreateBatchSQL is the statement that writes concurrent creations together.
var CreateBatchSQL = createBatchSQL

// CreateUsersTogether creates users as one batch of concurrent creations
// would (createbatch.go), so that tests need not race to form a batch.
// Users whose creation cannot be prepared answer that error.
func (s *Store) CreateUsersTogether(ctx context.Context, tenantID string, users []store.User, by store.Actor) ([]store.User, []error) {
	out, errs := make([]store.User, len(users)), make([]error, len(users))
	var batch []*createReq
	var at []int
	for i, u := range users {
		c, ok, err := s.fastCreate(tenantID, u, by)
		if err == nil && !ok {
			c, err = s.prepareCreate(ctx, s.pool, tenantID, u, by)
		}
		if err != nil {
			errs[i] = err
			continue
		}
		batch = append(batch, &createReq{ctx: ctx, c: c})
		at = append(at, i)
	}
	s.runCreates(batch)
	for k, r := range batch {
		out[at[k]], errs[at[k]] = r.out, r.err
	}
	return out, errs
}

// BatchWrites counts the batches written whole in one statement.
func (s *Store) BatchWrites() int64 { return s.createBatches.Load() }

// ReadUsersTogether looks users up as one batch of concurrent lookups would
// (readbatch.go): by id, or by userName when byName.
func (s *Store) ReadUsersTogether(ctx context.Context, tenantID string, byName bool, keys []string) ([]store.User, [][]store.Group, []error) {
	kind := readKind{readByID, tenantID}
	batch := make([]*readReq, len(keys))
	for i, k := range keys {
		if byName {
			kind.op, k = readByUserName, store.FoldKey(k)
		}
		batch[i] = &readReq{ctx: ctx, key: k}
	}
	s.runReads(kind, batch)
	users, groups, errs := make([]store.User, len(keys)), make([][]store.Group, len(keys)), make([]error, len(keys))
	for i, r := range batch {
		users[i], groups[i], errs[i] = r.user, r.groups, r.err
	}
	return users, groups, errs
}
