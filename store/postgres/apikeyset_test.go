package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// TestKeySet_everyProcessKnowsEveryKey proves that each process's in-memory
// API key set (what CheckAPIKey answers from, so that made-up keys never
// reach the database) follows keys created and deleted by another store or
// any other client, through NOTIFY (migration 0017), and refuses unknown
// ids outright once the listener is proven.
func TestKeySet_everyProcessKnowsEveryKey(t *testing.T) {
	ctx := context.Background()
	f := newAuthFixture(t)
	require.Eventually(t, func() bool { return f.a.TokensKnown() && f.b.TokensKnown() }, 10*time.Second, time.Millisecond)
	for _, s := range []*postgres.Store{f.a, f.b} {
		assert.Equal(t, store.TokenNoMatch, s.CheckAPIKey("0123456789abcdef", []byte{1, 2}), "unknown id: refused without a read")
	}

	// Created through a: at once in a, by NOTIFY in b.
	k, err := f.a.CreateAPIKey(ctx, "acme", store.APIKey{ID: "00000000000000aa", Name: "ci", Hash: []byte{3, 4}}, store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, store.TokenMatch, f.a.CheckAPIKey(k.ID, []byte{3, 4}))
	require.Eventually(t, func() bool { return f.b.CheckAPIKey(k.ID, []byte{3, 4}) == store.TokenMatch },
		5*time.Second, time.Millisecond)

	// Inserted and deleted by another client.
	_, err = f.admin.Exec(ctx, `insert into api_keys (tenant_id, id, name, hash, created_at) values ('acme', 'feedfacefeedface', 'psql', '\x0506', now())`)
	require.NoError(t, err)
	for _, s := range []*postgres.Store{f.a, f.b} {
		require.Eventually(t, func() bool { return s.CheckAPIKey("feedfacefeedface", []byte{5, 6}) == store.TokenMatch },
			5*time.Second, time.Millisecond, "an insert notifies")
	}
	_, err = f.admin.Exec(ctx, `delete from api_keys where id = 'feedfacefeedface'`)
	require.NoError(t, err)
	for _, s := range []*postgres.Store{f.a, f.b} {
		require.Eventually(t, func() bool { return s.CheckAPIKey("feedfacefeedface", []byte{5, 6}) == store.TokenNoMatch },
			5*time.Second, time.Millisecond, "a deletion notifies")
	}

	// The tenant deleted in b: at once in b, by NOTIFY in a.
	require.NoError(t, f.b.DeleteTenant(ctx, "acme", store.ActorAdmin))
	assert.NotEqual(t, store.TokenMatch, f.b.CheckAPIKey(k.ID, []byte{3, 4}))
	for _, s := range []*postgres.Store{f.b, f.a} {
		require.Eventually(t, func() bool { return s.CheckAPIKey(k.ID, []byte{3, 4}) == store.TokenNoMatch },
			5*time.Second, time.Millisecond)
	}
}

// TestKeySet_unprovenListenerReads: a store whose listener is not proven
// knows the keys it loaded at start and those it has read since; an id it
// has not seen is unsure — read by the admin API, never refused outright,
// since another process may just have created it.
func TestKeySet_unprovenListenerReads(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.New(t)
	live, err := postgres.Open(ctx, dsn, postgres.Options{})
	require.NoError(t, err)
	t.Cleanup(live.Close)
	_, err = live.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "Acme", Plan: "ultimate", Seats: 10}, store.ActorAdmin)
	require.NoError(t, err)
	before, err := live.CreateAPIKey(ctx, "acme", store.APIKey{ID: "00000000000000aa", Name: "a", Hash: []byte{1, 2}}, store.ActorAdmin)
	require.NoError(t, err)

	deaf, err := postgres.Open(ctx, dsn, postgres.Options{NoListen: true})
	require.NoError(t, err)
	t.Cleanup(deaf.Close)
	assert.Equal(t, store.TokenMatch, deaf.CheckAPIKey(before.ID, []byte{1, 2}), "loaded at start")
	assert.Equal(t, store.TokenNoMatch, deaf.CheckAPIKey(before.ID, []byte{9, 9}), "a wrong hash of a loaded id")
	assert.Equal(t, store.TokenUnsure, deaf.CheckAPIKey("0123456789abcdef", []byte{1, 2}))

	after, err := live.CreateAPIKey(ctx, "acme", store.APIKey{ID: "00000000000000bb", Name: "b", Hash: []byte{3, 4}}, store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, store.TokenUnsure, deaf.CheckAPIKey(after.ID, []byte{3, 4}), "created elsewhere: only a read can tell")
	_, err = deaf.GetAPIKey(ctx, after.ID)
	require.NoError(t, err)
	assert.Equal(t, store.TokenMatch, deaf.CheckAPIKey(after.ID, []byte{3, 4}), "known once read")
	_, err = deaf.GetAPIKey(ctx, "0123456789abcdef")
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.Equal(t, store.TokenUnsure, deaf.CheckAPIKey("0123456789abcdef", []byte{1, 2}), "still unsure: never refused outright")
}
