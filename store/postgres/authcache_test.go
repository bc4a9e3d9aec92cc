package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres"
	"github.com/roster-dev/roster/store/postgres/pgtest"
)

// authFixture is a tenant with a token and SAML, on two stores (two rosterd
// processes) sharing one database, both with their auth cache listening.
type authFixture struct {
	a, b  *postgres.Store
	admin *pgxpool.Pool // a third client, writing behind both stores' backs
	tok   store.Token
}

func newAuthFixture(t *testing.T) authFixture {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.New(t)
	open := func() *postgres.Store {
		s, err := postgres.Open(ctx, dsn, postgres.Options{})
		require.NoError(t, err)
		t.Cleanup(s.Close)
		return s
	}
	f := authFixture{a: open(), b: open()}
	admin, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(admin.Close)
	f.admin = admin
	_, err = f.a.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "Acme", Plan: "ultimate", Seats: 10}, store.ActorAdmin)
	require.NoError(t, err)
	f.tok, err = f.a.CreateToken(ctx, "acme", store.Token{Name: "okta", Hash: []byte{1, 2}}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = f.a.PutSAMLConfig(ctx, "acme", store.SAMLConfig{MetadataXML: "<md/>", EntityID: "https://idp", SSOURL: "https://idp/sso",
		CertNotAfter: time.Now().AddDate(1, 0, 0)}, store.ActorAdmin)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return f.a.AuthCacheLive() && f.b.AuthCacheLive() }, 10*time.Second, time.Millisecond,
		"both listeners connect")
	f.drain(t)
	return f
}

// drain waits until both stores have handled every notification sent so far
// (the setup's own), by sending one more and waiting for it: notifications
// arrive in commit order.
func (f authFixture) drain(t *testing.T) {
	t.Helper()
	sentinel := fmt.Sprintf("sentinel-%d", time.Now().UnixNano())
	_, err := f.admin.Exec(context.Background(), `select pg_notify('roster_auth', $1)`, sentinel)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return f.a.AuthCacheLast() == sentinel && f.b.AuthCacheLast() == sentinel },
		5*time.Second, time.Millisecond)
}

func (f authFixture) plan(t *testing.T, s *postgres.Store) string {
	t.Helper()
	tn, _, _, err := s.Authenticate(context.Background(), "acme", f.tok.ID)
	require.NoError(t, err)
	return tn.Plan
}

// behindTheBack changes the plan with the notifying triggers off, so that
// only a cache that is not used (or was emptied) can see it.
func (f authFixture) behindTheBack(t *testing.T, plan string) {
	t.Helper()
	ctx := context.Background()
	tx, err := f.admin.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	_, err = tx.Exec(ctx, `alter table tenants disable trigger tenants_auth_update`)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `update tenants set plan = $1 where id = 'acme'`, plan)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `alter table tenants enable trigger tenants_auth_update`)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
}

// TestAuthCache_answersFromMemoryAndForgetsOnEveryChange proves that the
// cache is used (a change that notifies nobody is not seen), and that every
// change the guard depends on is seen on the next call: at once in the
// process that made it, and in another process as soon as the NOTIFY lands.
func TestAuthCache_answersFromMemoryAndForgetsOnEveryChange(t *testing.T) {
	ctx := context.Background()
	f := newAuthFixture(t)
	assert.Equal(t, "ultimate", f.plan(t, f.a))
	assert.Equal(t, "ultimate", f.plan(t, f.b))

	f.behindTheBack(t, "trial")
	assert.Equal(t, "ultimate", f.plan(t, f.a), "answered from the cache")
	assert.Equal(t, "ultimate", f.plan(t, f.b), "answered from the cache")

	// A plan change through a store: its own cache forgets at once (no wait).
	_, err := directory.New(f.a).UpdateTenant(ctx, "acme", store.ActorAdmin, func(x *store.Tenant) error { x.Plan = "enterprise"; return nil })
	require.NoError(t, err)
	assert.Equal(t, "enterprise", f.plan(t, f.a), "the next call in the same process")
	require.Eventually(t, func() bool { return f.plan(t, f.b) == "enterprise" }, 5*time.Second, time.Millisecond,
		"the other process is told at commit")

	// A plan change by another client (psql, another version of rosterd).
	_, err = f.admin.Exec(ctx, `update tenants set plan = 'ultimate' where id = 'acme'`)
	require.NoError(t, err)
	for _, s := range []*postgres.Store{f.a, f.b} {
		require.Eventually(t, func() bool { return f.plan(t, s) == "ultimate" }, 5*time.Second, time.Millisecond)
	}

	// SAML removed: at once in a, by NOTIFY in b.
	require.NoError(t, f.a.DeleteSAMLConfig(ctx, "acme", store.ActorAdmin))
	_, _, cfg, err := f.a.Authenticate(ctx, "acme", f.tok.ID)
	require.NoError(t, err)
	assert.Nil(t, cfg)
	require.Eventually(t, func() bool {
		_, _, cfg, err := f.b.Authenticate(ctx, "acme", f.tok.ID)
		return err == nil && cfg == nil
	}, 5*time.Second, time.Millisecond)

	// Revocation in b: at once in b, by NOTIFY in a.
	require.NoError(t, f.b.RevokeToken(ctx, "acme", f.tok.ID, time.Now(), store.ActorAdmin))
	_, tok, _, err := f.b.Authenticate(ctx, "acme", f.tok.ID)
	require.NoError(t, err)
	assert.NotNil(t, tok.RevokedAt, "the next call in the revoking process")
	require.Eventually(t, func() bool {
		_, tok, _, err := f.a.Authenticate(ctx, "acme", f.tok.ID)
		return err == nil && tok.RevokedAt != nil
	}, 5*time.Second, time.Millisecond)

	// Tenant deleted: gone for both.
	require.NoError(t, f.a.DeleteTenant(ctx, "acme", store.ActorAdmin))
	_, _, _, err = f.a.Authenticate(ctx, "acme", f.tok.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	require.Eventually(t, func() bool {
		_, _, _, err := f.b.Authenticate(ctx, "acme", f.tok.ID)
		return err != nil
	}, 5*time.Second, time.Millisecond)
	_, _, _, err = f.b.Authenticate(ctx, "acme", f.tok.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// TestAuthCache_offWhileTheListenerIsDown proves that a store whose
// listening connection is gone reads the database on every call (it could
// miss a notification), and caches again once it has reconnected.
func TestAuthCache_offWhileTheListenerIsDown(t *testing.T) {
	ctx := context.Background()
	f := newAuthFixture(t)
	assert.Equal(t, "ultimate", f.plan(t, f.a))

	// Cut a's listener (and b's: one query kills every listening backend).
	_, err := f.admin.Exec(ctx, `select pg_terminate_backend(pid) from pg_stat_activity
where datname = current_database() and query ilike 'listen%'`)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return !f.a.AuthCacheLive() }, 5*time.Second, time.Millisecond,
		"the store notices at once (it waits 100 ms before reconnecting)")

	// Whatever the state of the reconnection, a change made behind its back
	// is seen: either the cache is off (read through) or it was emptied when
	// the listener came back.
	f.behindTheBack(t, "trial")
	assert.Equal(t, "trial", f.plan(t, f.a), "no answer cached from before the listener was lost")

	require.Eventually(t, func() bool { return f.a.AuthCacheLive() && f.b.AuthCacheLive() }, 10*time.Second, 5*time.Millisecond,
		"the listeners reconnect")
	f.drain(t) // b's reconnection probe reaches a too, and drops what a caches meanwhile
	assert.Equal(t, "trial", f.plan(t, f.a))
	f.behindTheBack(t, "enterprise")
	assert.Equal(t, "trial", f.plan(t, f.a), "cached again once listening")
}

// TestTokenSet_everyProcessKnowsEveryToken proves that each store's
// in-memory token set (what CheckToken answers from, so that made-up tokens
// never reach the database) follows tokens created, written and deleted by
// another store or by any other client, through NOTIFY (migration 0016 for
// inserts), and refuses unknown ids outright once the listener is proven.
func TestTokenSet_everyProcessKnowsEveryToken(t *testing.T) {
	ctx := context.Background()
	f := newAuthFixture(t)
	require.Eventually(t, func() bool { return f.a.TokensKnown() && f.b.TokensKnown() }, 10*time.Second, time.Millisecond)
	for _, s := range []*postgres.Store{f.a, f.b} {
		assert.Equal(t, store.TokenMatch, s.CheckToken("acme", f.tok.ID, []byte{1, 2}))
		assert.Equal(t, store.TokenNoMatch, s.CheckToken("acme", "0123456789abcdef", []byte{1, 2}), "unknown id: refused without a read")
		assert.Equal(t, store.TokenNoMatch, s.CheckToken("random-tenant", f.tok.ID, []byte{1, 2}))
	}

	// Created through a: at once in a, by NOTIFY in b.
	tok, err := f.a.CreateToken(ctx, "acme", store.Token{Name: "entra", Hash: []byte{3, 4}}, store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, store.TokenMatch, f.a.CheckToken("acme", tok.ID, []byte{3, 4}))
	require.Eventually(t, func() bool { return f.b.CheckToken("acme", tok.ID, []byte{3, 4}) == store.TokenMatch },
		5*time.Second, time.Millisecond)

	// Inserted and deleted by another client (psql, an older rosterd).
	_, err = f.admin.Exec(ctx, `insert into tokens (tenant_id, id, name, hash, created_at) values ('acme', 'feedfacefeedface', 'psql', '\x0506', now())`)
	require.NoError(t, err)
	for _, s := range []*postgres.Store{f.a, f.b} {
		require.Eventually(t, func() bool { return s.CheckToken("acme", "feedfacefeedface", []byte{5, 6}) == store.TokenMatch },
			5*time.Second, time.Millisecond, "an insert notifies")
	}
	_, err = f.admin.Exec(ctx, `delete from tokens where tenant_id = 'acme' and id = 'feedfacefeedface'`)
	require.NoError(t, err)
	for _, s := range []*postgres.Store{f.a, f.b} {
		require.Eventually(t, func() bool { return s.CheckToken("acme", "feedfacefeedface", []byte{5, 6}) == store.TokenNoMatch },
			5*time.Second, time.Millisecond, "a deletion notifies")
	}

	// The tenant deleted in b: at once in b, by NOTIFY in a.
	// In b the token never matches again once DeleteTenant returns; b's own
	// listener may be reloading the tenant on the deletion's NOTIFY at that
	// moment, when a miss is unsure (a read under the budget) rather than
	// refused, so the refusal itself is awaited in both stores.
	require.NoError(t, f.b.DeleteTenant(ctx, "acme", store.ActorAdmin))
	assert.NotEqual(t, store.TokenMatch, f.b.CheckToken("acme", tok.ID, []byte{3, 4}))
	for _, s := range []*postgres.Store{f.b, f.a} {
		require.Eventually(t, func() bool { return s.CheckToken("acme", tok.ID, []byte{3, 4}) == store.TokenNoMatch },
			5*time.Second, time.Millisecond)
	}
}

// TestTokenSet_unprovenListenerFallsBackToReads proves what a store whose
// listener is not proven (behind a pooler in transaction mode) answers: the
// tokens it loaded at start, and those it has read since, from memory (so a
// correct token never waits on a failure budget); an id it has not seen is
// unsure, for the guard to look up under its budget — never refused
// outright, since another process may just have created it.
func TestTokenSet_unprovenListenerFallsBackToReads(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.New(t)
	live, err := postgres.Open(ctx, dsn, postgres.Options{})
	require.NoError(t, err)
	t.Cleanup(live.Close)
	_, err = live.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "Acme", Plan: "ultimate", Seats: 10}, store.ActorAdmin)
	require.NoError(t, err)
	before, err := live.CreateToken(ctx, "acme", store.Token{Name: "okta", Hash: []byte{1, 2}}, store.ActorAdmin)
	require.NoError(t, err)

	deaf, err := postgres.Open(ctx, dsn, postgres.Options{NoListen: true})
	require.NoError(t, err)
	t.Cleanup(deaf.Close)
	assert.False(t, deaf.TokensKnown())
	assert.Equal(t, store.TokenMatch, deaf.CheckToken("acme", before.ID, []byte{1, 2}), "loaded at start")
	assert.Equal(t, store.TokenNoMatch, deaf.CheckToken("acme", before.ID, []byte{9, 9}), "a wrong hash of a loaded id")
	assert.Equal(t, store.TokenUnsure, deaf.CheckToken("acme", "0123456789abcdef", []byte{1, 2}))

	after, err := live.CreateToken(ctx, "acme", store.Token{Name: "entra", Hash: []byte{3, 4}}, store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, store.TokenUnsure, deaf.CheckToken("acme", after.ID, []byte{3, 4}), "created elsewhere: only a read can tell")
	reads := deaf.AuthReads()
	_, _, _, err = deaf.Authenticate(ctx, "acme", after.ID)
	require.NoError(t, err)
	assert.Equal(t, reads+1, deaf.AuthReads(), "a database read")
	assert.Equal(t, store.TokenMatch, deaf.CheckToken("acme", after.ID, []byte{3, 4}), "known once read")

	// Every call reads: nothing is cached without a proven listener.
	_, _, _, err = deaf.Authenticate(ctx, "acme", after.ID)
	require.NoError(t, err)
	assert.Equal(t, reads+2, deaf.AuthReads())
	_, _, _, err = deaf.Authenticate(ctx, "acme", "0123456789abcdef")
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.Equal(t, store.TokenUnsure, deaf.CheckToken("acme", "0123456789abcdef", []byte{1, 2}), "still unsure: never refused outright")
}

// TestAuthCache_newTokenUnsureWhileEarlierReloadsRun: a token created in
// another process is never refused while this process is still re-reading
// what earlier notifications named. The listener marks a tenant as it hears
// of it and re-reads afterwards; when it did both in turn, a burst of
// notifications (a tenant's set-up) kept a new token unknown, and refused,
// for tens of milliseconds after its commit.
func TestAuthCache_newTokenUnsureWhileEarlierReloadsRun(t *testing.T) {
	dsn := pgtest.New(t)
	a, err := postgres.Open(ctx, dsn, postgres.Options{})
	require.NoError(t, err)
	t.Cleanup(a.Close)
	b, err := postgres.Open(ctx, dsn, postgres.Options{})
	require.NoError(t, err)
	t.Cleanup(b.Close)
	require.Eventually(t, func() bool { return a.TokensKnown() && b.TokensKnown() }, 10*time.Second, time.Millisecond)
	for _, id := range []string{"other", "acme"} {
		_, err := a.CreateTenant(ctx, store.Tenant{ID: id, Name: id, Plan: "ultimate", Seats: 10}, store.ActorAdmin)
		require.NoError(t, err)
	}

	release := b.HoldReloads()
	defer release()
	// B hears of other's new token and cannot re-read it yet; then acme's.
	_, err = a.CreateToken(ctx, "other", store.Token{Name: "okta", Hash: []byte{1}}, store.ActorAdmin)
	require.NoError(t, err)
	tok, err := a.CreateToken(ctx, "acme", store.Token{Name: "entra", Hash: []byte{2}}, store.ActorAdmin)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return b.CheckToken("acme", tok.ID, []byte{2}) == store.TokenUnsure }, 10*time.Second, time.Millisecond,
		"acme's new token is looked up, not refused, while other's reload runs")
	release()
	require.Eventually(t, func() bool { return b.CheckToken("acme", tok.ID, []byte{2}) == store.TokenMatch }, 10*time.Second, time.Millisecond)
	assert.Equal(t, store.TokenNoMatch, b.CheckToken("acme", "made-up", []byte{2}), "complete again: a made-up id is refused from memory")
}
