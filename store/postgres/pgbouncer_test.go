package postgres_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
	"github.com/roster-dev/roster/store/storetest"
)

// Behind PgBouncer in transaction mode (README, "Scale out"), every
// statement outside a transaction may run on another server session: nothing
// may rely on session state (session advisory locks, SET, LISTEN, named
// prepared statements). These tests run the store through a PgBouncer of
// their own (pgtest.StartPgBouncer).

// cacheDescribe is the setting the README tells operators to add behind a
// transaction-mode pooler.
const cacheDescribe = " default_query_exec_mode=cache_describe"

// TestConformance_throughPgBouncer runs the store contract suite with every
// store's pool going through PgBouncer in transaction mode: no method relies
// on session state.
func TestConformance_throughPgBouncer(t *testing.T) {
	b := pgtest.StartPgBouncer(t, 10)
	storetest.Run(t, func(t testing.TB, now func() time.Time) store.Store {
		s, err := postgres.Open(ctx, b.DSN(t, pgtest.New(t))+cacheDescribe, postgres.Options{Now: now})
		require.NoError(t, err)
		t.Cleanup(s.Close)
		return s
	})
}

// TestMigrate_concurrentThroughPgBouncer starts migrators of one empty
// database together through PgBouncer: each migration is applied once and
// none waits forever. The migrators' lock used to be a session lock, taken
// on one server connection and released on another (or not at all), which
// left a later migrator waiting on an idle server session for good.
func TestMigrate_concurrentThroughPgBouncer(t *testing.T) {
	dsn := pgtest.NewEmpty(t)
	through := pgtest.PgBouncer(t, dsn, 4) + cacheDescribe
	mctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for round := range 2 { // the second round finds everything applied
		const n = 4
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = postgres.Migrate(mctx, through) })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err, "round %d", round)
		}
	}
	assert.Len(t, appliedMigrations(t, connect(t, dsn)), len(embeddedVersions(t)))
}

// syncBuffer is a log sink the store's goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestPgBouncer_statementCacheNamesTheFix: pgx's default statement cache
// prepares named statements, which PgBouncer 1.18 in transaction mode does
// not keep in the client's session — two clients sharing one server
// connection collide on the name. The failure is logged with what to add to
// the URL; with it, the same load runs clean.
func TestPgBouncer_statementCacheNamesTheFix(t *testing.T) {
	dsn := pgtest.New(t)
	b := pgtest.StartPgBouncer(t, 1) // one server connection: every client shares it
	seed := openDirect(t, dsn, postgres.Options{})
	_, err := seed.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "Acme", Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)

	load := func(s *postgres.Store) (failed int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 5 {
					if _, err := s.GetTenant(ctx, "acme"); err != nil {
						mu.Lock()
						failed++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		return failed
	}

	var logs syncBuffer
	cached := openDirect(t, b.DSN(t, dsn), postgres.Options{Logger: zerolog.New(&logs), NoListen: true})
	require.Positive(t, load(cached), "named prepared statements collide behind the pooler")
	assert.Contains(t, logs.String(), "default_query_exec_mode=cache_describe", "the log names the fix")

	fixed := openDirect(t, b.DSN(t, dsn)+cacheDescribe, postgres.Options{NoListen: true})
	assert.Zero(t, load(fixed))
}

func openDirect(t *testing.T, dsn string, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(ctx, dsn, opts)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// TestPgBouncer_listenURL: through the pooler alone, notifications never
// reach the listener, so the auth cache stays off (every Authenticate reads
// the database) and the log says so with what to set; with a listen URL
// straight to PostgreSQL the cache is on, and a token revoked by another
// process is refused at once.
func TestPgBouncer_listenURL(t *testing.T) {
	dsn := pgtest.New(t)
	through := pgtest.PgBouncer(t, dsn, 5) + cacheDescribe
	other := openDirect(t, dsn, postgres.Options{})
	_, err := other.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "Acme", Plan: "ultimate", Seats: 5, Settings: store.DefaultSettings()}, store.ActorAdmin)
	require.NoError(t, err)
	tok, err := other.CreateToken(ctx, "acme", store.Token{Name: "okta", Hash: []byte{1, 2}}, store.ActorAdmin)
	require.NoError(t, err)

	t.Run("without", func(t *testing.T) {
		var logs syncBuffer
		s := openDirect(t, through, postgres.Options{Logger: zerolog.New(&logs)})
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), "ROSTER_DATABASE_LISTEN_URL") },
			30*time.Second, 10*time.Millisecond, "the log says the cache is off and what turns it on")
		assert.False(t, s.TokensKnown())
		before := s.AuthReads()
		for range 3 {
			_, _, _, err := s.Authenticate(ctx, "acme", tok.ID)
			require.NoError(t, err)
		}
		assert.Equal(t, before+3, s.AuthReads(), "every call reads the database")
	})
	t.Run("with", func(t *testing.T) {
		s := openDirect(t, through, postgres.Options{ListenURL: dsn})
		require.Eventually(t, s.TokensKnown, 30*time.Second, 10*time.Millisecond, "the listener is proven")
		for range 3 {
			_, _, _, err := s.Authenticate(ctx, "acme", tok.ID)
			require.NoError(t, err)
		}
		before := s.AuthReads()
		_, _, _, err := s.Authenticate(ctx, "acme", tok.ID)
		require.NoError(t, err)
		assert.Equal(t, before, s.AuthReads(), "answered from the cache")

		require.NoError(t, other.RevokeToken(ctx, "acme", tok.ID, time.Now(), store.ActorAdmin))
		require.Eventually(t, func() bool {
			_, k, _, err := s.Authenticate(ctx, "acme", tok.ID)
			return err == nil && k.RevokedAt != nil
		}, time.Second, time.Millisecond, "revoked elsewhere, refused here within a second")
	})
	t.Run("bad listen url", func(t *testing.T) {
		_, err := postgres.Open(ctx, through, postgres.Options{ListenURL: "postgres://%zz"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "listen url")
	})
}
