package directory_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/auth"
	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/storetest"
)

// Console links on both backends: the store locks the link and its user
// and writes the plan (store.Lock.Link, store.Plan.NewLink and UseLink);
// directory.EnterConsole decides.

var minter = store.Actor{Kind: "operator", ID: "operator", Name: "operator"}

// TestConsoleLinks_redeemedOnce: a link redeems once within its lifetime,
// on its own tenant only; a refused redemption records nothing.
func TestConsoleLinks_redeemedOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open storetest.Factory) {
		clock := storetest.NewClock()
		s := open(t, clock.Now)
		d := directory.New(s)
		storetest.NewTenant(t, s, "acme", 10)
		storetest.NewTenant(t, s, "globex", 10)
		u := storetest.NewUser(t, s, "acme", "ann@acme.test", true)
		exp := clock.Now().Add(time.Hour)

		_, link, err := d.CreateConsoleLink(ctx, "acme", u.ID, u.Role, auth.Hash("code-1"), minter)
		require.NoError(t, err)
		now := store.Timestamp(clock.Now())
		assert.Equal(t, now.Add(directory.ConsoleLinkLifetime), link.ExpiresAt)
		_, _, err = d.CreateConsoleLink(ctx, "acme", u.ID, u.Role, auth.Hash("code-1"), minter)
		var conflict *store.ConflictError
		assert.ErrorAs(t, err, &conflict, "a code's hash is stored once")
		_, _, err = d.CreateConsoleLink(ctx, "acme", u.ID, "admin", auth.Hash("code-2"), minter)
		assert.ErrorIs(t, err, directory.ErrLinkRoleChanged)

		_, _, err = d.EnterConsole(ctx, "globex", auth.Hash("code-1"), session("g1", exp), "")
		assert.ErrorIs(t, err, directory.ErrLinkUnknown, "another tenant's link")
		_, _, err = d.EnterConsole(ctx, "acme", auth.Hash("nope"), session("n1", exp), "")
		assert.ErrorIs(t, err, directory.ErrLinkUnknown)

		got, sess, err := d.EnterConsole(ctx, "acme", auth.Hash("code-1"), session("s1", exp), "req-1")
		require.NoError(t, err)
		assert.True(t, sess.ConsoleLink)
		assert.Equal(t, u.ID, sess.UserID)
		require.NotNil(t, got.LastActiveAt)
		read, err := s.GetSession(ctx, "s1")
		require.NoError(t, err)
		assert.True(t, read.ConsoleLink, "the session says a link started it")

		_, _, err = d.EnterConsole(ctx, "acme", auth.Hash("code-1"), session("s2", exp), "")
		assert.ErrorIs(t, err, directory.ErrLinkUsed)
		_, err = s.GetSession(ctx, "s2")
		assert.ErrorIs(t, err, store.ErrNotFound)

		_, _, err = d.CreateConsoleLink(ctx, "acme", u.ID, u.Role, auth.Hash("code-3"), minter)
		require.NoError(t, err)
		clock.Advance(directory.ConsoleLinkLifetime)
		_, _, err = d.EnterConsole(ctx, "acme", auth.Hash("code-3"), session("s3", exp), "")
		assert.ErrorIs(t, err, directory.ErrLinkExpired)

		// A user deactivated since the link was made: refused, nothing
		// recorded; reactivated within the lifetime, the link still works.
		_, _, err = d.CreateConsoleLink(ctx, "acme", u.ID, u.Role, auth.Hash("code-4"), minter)
		require.NoError(t, err)
		_, err = s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { x.Active = false; return nil })
		require.NoError(t, err)
		_, _, err = d.EnterConsole(ctx, "acme", auth.Hash("code-4"), session("s4", exp), "")
		assert.ErrorIs(t, err, store.ErrSignInRefused)
		_, _, err = d.CreateConsoleLink(ctx, "acme", u.ID, u.Role, auth.Hash("code-5"), minter)
		assert.ErrorIs(t, err, store.ErrSignInRefused, "no link for a deactivated user")
		_, err = s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { x.Active = true; return nil })
		require.NoError(t, err)
		_, _, err = d.EnterConsole(ctx, "acme", auth.Hash("code-4"), session("s4", exp), "")
		assert.NoError(t, err, "the refusal did not use the link")

		// Purged a day after its expiry: until then a late click is told it
		// expired; after, it is unknown.
		_, err = s.PurgeExpired(ctx, clock.Now())
		require.NoError(t, err)
		_, _, err = d.EnterConsole(ctx, "acme", auth.Hash("code-3"), session("s5", exp), "")
		assert.ErrorIs(t, err, directory.ErrLinkExpired, "kept through the retention")
		clock.Advance(store.ConsoleLinkRetention)
		n, err := s.PurgeExpired(ctx, clock.Now())
		require.NoError(t, err)
		assert.GreaterOrEqual(t, n, 3, "the three links made before the last hour: used, expired, used")
		_, _, err = d.EnterConsole(ctx, "acme", auth.Hash("code-3"), session("s6", exp), "")
		assert.ErrorIs(t, err, directory.ErrLinkUnknown, "purged")

		events, err := s.ListAudit(ctx, "acme", store.EventQuery{Action: "user.signed_in", Limit: 10})
		require.NoError(t, err)
		assert.Len(t, events, 2, "two redemptions, nothing for the refusals")
		created, err := s.ListAudit(ctx, "acme", store.EventQuery{Action: "console_link.created", Limit: 10})
		require.NoError(t, err)
		require.Len(t, created, 3)
		assert.Equal(t, minter.ID, created[0].Actor.ID)
		assert.Equal(t, u.ID, created[0].TargetID)
	})
}

// TestConsoleLinks_concurrentRedemptionsOneWins: of two browsers opening
// one link at once, exactly one is signed in.
func TestConsoleLinks_concurrentRedemptionsOneWins(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open storetest.Factory) {
		clock := storetest.NewClock()
		s := open(t, clock.Now)
		d := directory.New(s)
		storetest.NewTenant(t, s, "acme", 10)
		u := storetest.NewUser(t, s, "acme", "ann@acme.test", true)
		exp := clock.Now().Add(time.Hour)
		for round := range 8 {
			code := auth.Hash(fmt.Sprintf("race-%d", round))
			_, _, err := d.CreateConsoleLink(ctx, "acme", u.ID, u.Role, code, minter)
			require.NoError(t, err)
			errs := storetest.Parallel(2, func(i int) error {
				_, _, err := d.EnterConsole(ctx, "acme", code, session(fmt.Sprintf("r%d-%d", round, i), exp), "")
				return err
			})
			assert.Equal(t, 1, winners(t, errs, directory.ErrLinkUsed), "round %d", round)
		}
	})
}
