package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// TestStats_countAuthCacheAndCredentialChecks proves Stats counts what it
// says: Authenticate read from the database (miss) and then from the cache
// (hit), and each answer of CheckToken and CheckAPIKey.
func TestStats_countAuthCacheAndCredentialChecks(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t, nil)
	require.Eventually(t, s.AuthCacheLive, 10*time.Second, time.Millisecond, "the listener is proven, so answers are cached")
	_, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "Acme", Plan: "ultimate", Seats: 10}, store.ActorAdmin)
	require.NoError(t, err)
	tok, err := s.CreateToken(ctx, "acme", store.Token{Name: "okta", Hash: []byte{1, 2}}, store.ActorAdmin)
	require.NoError(t, err)
	// The token's creation notifies (and so empties the tenant's cache)
	// asynchronously: wait until a sentinel sent after it has landed.
	sentinel := fmt.Sprintf("sentinel-%d", time.Now().UnixNano())
	_, err = s.Pool().Exec(ctx, `select pg_notify('roster_auth', $1)`, sentinel)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.AuthCacheLast() == sentinel }, 5*time.Second, time.Millisecond)
	before := s.Stats()

	for range 3 {
		_, _, _, err = s.Authenticate(ctx, "acme", tok.ID)
		require.NoError(t, err)
	}
	assert.Equal(t, store.TokenMatch, s.CheckToken("acme", tok.ID, []byte{1, 2}))
	assert.Equal(t, store.TokenNoMatch, s.CheckToken("acme", tok.ID, []byte{9}))
	assert.Equal(t, store.TokenNoMatch, s.CheckAPIKey("feedfacefeedface", []byte{9}))

	after := s.Stats()
	assert.Equal(t, int64(1), after.AuthCacheMisses-before.AuthCacheMisses, "the first read fills the cache")
	assert.Equal(t, int64(2), after.AuthCacheHits-before.AuthCacheHits)
	assert.Equal(t, postgres.CheckCounts{Match: 1, NoMatch: 1},
		postgres.CheckCounts{Match: after.Tokens.Match - before.Tokens.Match, NoMatch: after.Tokens.NoMatch - before.Tokens.NoMatch,
			Unsure: after.Tokens.Unsure - before.Tokens.Unsure})
	assert.Equal(t, int64(1), after.APIKeys.NoMatch-before.APIKeys.NoMatch)
}

// TestOptions_batchSizeHook proves the store tells Options.BatchSize the
// size of every batch it runs: a batch of creations and of lookups formed
// together, and a lone request as a batch of one.
func TestOptions_batchSizeHook(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string][]int{}
	s, err := postgres.Open(ctx, pgtest.New(t), postgres.Options{BatchSize: func(kind string, n int) {
		mu.Lock()
		defer mu.Unlock()
		seen[kind] = append(seen[kind], n)
	}})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	_, err = s.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "Acme", Plan: "ultimate", Seats: 20}, store.ActorAdmin)
	require.NoError(t, err)

	by := store.Actor{Kind: "token", ID: "tok"}
	lone, err := s.CreateUser(ctx, "acme", newUser("lone@x.com", true), by)
	require.NoError(t, err)
	var users []store.User
	for i := range 5 {
		users = append(users, newUser(fmt.Sprintf("u%d@x.com", i), true))
	}
	_, errs := s.CreateUsersTogether(ctx, "acme", users, by)
	for _, err := range errs {
		require.NoError(t, err)
	}
	_, _, err = s.GetUserWithGroups(ctx, "acme", lone.ID)
	require.NoError(t, err)
	_, _, errs = s.ReadUsersTogether(ctx, "acme", true, []string{"u0@x.com", "u1@x.com", "u2@x.com"})
	for _, err := range errs {
		require.NoError(t, err)
	}

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[string][]int{"create": {1, 5}, "lookup": {1, 3}}, seen)
}
