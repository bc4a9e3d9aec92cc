package directory_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
	"github.com/roster-dev/roster/store/postgres/pgtest"
	"github.com/roster-dev/roster/store/storetest"
)

// Sign-in: spent assertions and sessions, on both backends. The store only
// spends, locks and writes (store.Lock.Spend, store.Plan.Session); who may
// sign in is decided in directory.SignIn.

func TestSignIn(t *testing.T) { forEachBackend(t, testSignIn) }

func TestSignIn_assertionSpentOnce(t *testing.T) { forEachBackend(t, testAssertionReplay) }

func TestSignIn_racesDeactivation(t *testing.T) { forEachBackend(t, testSignInRacesDeactivation) }

var signer = store.Actor{Kind: "user", ID: "saml"}

func session(id string, expires time.Time) store.Session {
	return store.Session{ID: id, Hash: []byte("hash-" + id), ExpiresAt: expires}
}

func assertion(id string, expires time.Time) store.Assertion {
	return store.Assertion{Issuer: "https://idp.test", ID: id, ExpiresAt: expires}
}

// testSignIn proves that a sign-in records lastActiveAt and a session, that
// the session ends at logout, deactivation and deletion (and stays ended on
// reactivation), and that each kind of user who may not sign in is refused
// with its reason and nothing recorded.
func testSignIn(t *testing.T, open storetest.Factory) {
	clock := storetest.NewClock()
	s := open(t, clock.Now)
	d := directory.New(s)
	storetest.NewTenant(t, s, "acme", 10)
	u := storetest.NewUser(t, s, "acme", "ann@acme.test", true)
	exp := clock.Now().Add(time.Hour)

	got, sess, err := d.SignIn(ctx, "acme", u.ID, assertion("a1", exp), session("s1", exp), signer)
	require.NoError(t, err)
	now := store.Timestamp(clock.Now())
	require.NotNil(t, got.LastActiveAt)
	assert.Equal(t, now, *got.LastActiveAt)
	assert.Equal(t, store.Session{ID: "s1", TenantID: "acme", UserID: u.ID, Hash: []byte("hash-s1"), CreatedAt: now, ExpiresAt: store.Timestamp(exp)}, sess)
	stored, err := s.GetUser(ctx, "acme", u.ID)
	require.NoError(t, err)
	assert.Equal(t, now, *stored.LastActiveAt)
	assert.Equal(t, u.Version, stored.Version, "activity is not a provisioning change")
	read, err := s.GetSession(ctx, "s1")
	require.NoError(t, err)
	assert.Equal(t, sess, read)
	trail, err := s.ListAudit(ctx, "acme", store.EventQuery{Action: "user.signed_in"})
	require.NoError(t, err)
	require.Len(t, trail, 1)
	assert.Equal(t, u.ID, trail[0].TargetID)

	// Logout.
	require.NoError(t, s.DeleteSession(ctx, "s1"))
	_, err = s.GetSession(ctx, "s1")
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, s.DeleteSession(ctx, "s1"), store.ErrNotFound)

	// Deactivation ends sessions; reactivation does not revive them.
	_, _, err = d.SignIn(ctx, "acme", u.ID, assertion("a2", exp), session("s2", exp), signer)
	require.NoError(t, err)
	setActive := func(active bool) {
		_, err := s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { x.Active = active; return nil })
		require.NoError(t, err)
	}
	setActive(false)
	_, err = s.GetSession(ctx, "s2")
	assert.ErrorIs(t, err, store.ErrNotFound, "deactivation ends the session")
	setActive(true)
	_, err = s.GetSession(ctx, "s2")
	assert.ErrorIs(t, err, store.ErrNotFound, "reactivation revives no session")

	refused := func(name, userID, reason string) {
		t.Helper()
		_, _, err := d.SignIn(ctx, "acme", userID, assertion("r-"+name, exp), session("r-"+name, exp), signer)
		var re *store.SignInRefusedError
		require.ErrorAs(t, err, &re, name)
		assert.Equal(t, reason, re.Reason, name)
		assert.ErrorIs(t, err, store.ErrSignInRefused)
		_, err = s.GetSession(ctx, "r-"+name)
		assert.ErrorIs(t, err, store.ErrNotFound, "%s: no session recorded", name)
	}
	refused("unknown", "no-such-user", store.RefusedUnknown)
	inactive := storetest.NewUser(t, s, "acme", "ina@acme.test", false)
	refused("deactivated", inactive.ID, store.RefusedDeactivated)
	past := clock.Now().Add(-time.Second)
	ext, err := s.CreateUser(ctx, "acme", store.User{UserName: "ext@partner.test", Active: true, UserType: "External", AccessExpiresAt: &past}, token)
	require.NoError(t, err)
	refused("expired", ext.ID, store.RefusedExpired)
	_, _, err = d.SignIn(ctx, "acme", u.ID, assertion("a3", exp), session("s3", exp), signer)
	require.NoError(t, err)
	require.NoError(t, s.DeleteUser(ctx, "acme", u.ID, token))
	_, err = s.GetSession(ctx, "s3")
	assert.ErrorIs(t, err, store.ErrNotFound, "deletion ends the session")
	refused("deleted", u.ID, store.RefusedDeleted)

	// A refused sign-in leaves the user's lastActiveAt alone.
	got, err = s.GetUser(ctx, "acme", inactive.ID)
	require.NoError(t, err)
	assert.Nil(t, got.LastActiveAt)

	// Another tenant's user is unknown here; an unknown tenant is not found.
	other := storetest.NewTenant(t, s, "other", 10)
	ou := storetest.NewUser(t, s, other.ID, "oz@other.test", true)
	refused("cross-tenant", ou.ID, store.RefusedUnknown)
	_, _, err = d.SignIn(ctx, "nope", u.ID, assertion("n", exp), session("n", exp), signer)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// testAssertionReplay proves that an assertion is spent once per tenant and
// issuer, until it expires, and that exactly one of many concurrent sign-ins
// with the same assertion wins.
func testAssertionReplay(t *testing.T, open storetest.Factory) {
	clock := storetest.NewClock()
	s := open(t, clock.Now)
	d := directory.New(s)
	storetest.NewTenant(t, s, "acme", 10)
	storetest.NewTenant(t, s, "beta", 10)
	a := storetest.NewUser(t, s, "acme", "ann@acme.test", true)
	b := storetest.NewUser(t, s, "beta", "bob@beta.test", true)
	exp := clock.Now().Add(5 * time.Minute)
	sexp := clock.Now().Add(time.Hour)

	_, _, err := d.SignIn(ctx, "acme", a.ID, assertion("dup", exp), session("s1", sexp), signer)
	require.NoError(t, err)
	_, _, err = d.SignIn(ctx, "acme", a.ID, assertion("dup", exp), session("s2", sexp), signer)
	assert.ErrorIs(t, err, store.ErrReplay)
	_, err = s.GetSession(ctx, "s2")
	assert.ErrorIs(t, err, store.ErrNotFound, "a replay starts no session")
	other := assertion("dup", exp)
	other.Issuer = "https://other-idp.test"
	_, _, err = d.SignIn(ctx, "acme", a.ID, other, session("s3", sexp), signer)
	assert.NoError(t, err, "another issuer's assertion id is another assertion")
	_, _, err = d.SignIn(ctx, "beta", b.ID, assertion("dup", exp), session("s4", sexp), signer)
	assert.NoError(t, err, "spent assertions are per tenant")

	// Concurrent replays: one winner.
	errs := storetest.Parallel(12, func(i int) error {
		_, _, err := d.SignIn(ctx, "acme", a.ID, assertion("race", exp), session(fmt.Sprintf("race-%d", i), sexp), signer)
		return err
	})
	assert.Equal(t, 1, winners(t, errs, store.ErrReplay))

	// Purging drops what expired; the session that outlives it stays.
	clock.Advance(10 * time.Minute)
	n, err := s.PurgeExpired(ctx, clock.Now())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, 4, "spent assertions expired")
	_, err = s.GetSession(ctx, "s1")
	assert.NoError(t, err)
	clock.Advance(time.Hour)
	_, err = s.PurgeExpired(ctx, clock.Now())
	require.NoError(t, err)
	_, err = s.GetSession(ctx, "s1")
	assert.ErrorIs(t, err, store.ErrNotFound, "an expired session is purged")

	// Deleting a tenant ends its sessions.
	_, _, err = d.SignIn(ctx, "beta", b.ID, assertion("late", clock.Now().Add(time.Minute)), session("s5", clock.Now().Add(time.Hour)), signer)
	require.NoError(t, err)
	require.NoError(t, s.DeleteTenant(ctx, "beta", store.ActorAdmin))
	_, err = s.GetSession(ctx, "s5")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// testSignInRacesDeactivation proves that a sign-in racing a deactivation
// never leaves a session behind: either the sign-in is refused, or its
// session is ended by the deactivation.
func testSignInRacesDeactivation(t *testing.T, open storetest.Factory) {
	clock := storetest.NewClock()
	s := open(t, clock.Now)
	d := directory.New(s)
	storetest.NewTenant(t, s, "acme", 50)
	exp := clock.Now().Add(time.Hour)
	for round := range 8 {
		u := storetest.NewUser(t, s, "acme", fmt.Sprintf("r%d@acme.test", round), true)
		sid := fmt.Sprintf("race-%d", round)
		errs := storetest.Parallel(2, func(i int) error {
			if i == 0 {
				_, _, err := d.SignIn(ctx, "acme", u.ID, assertion(sid, exp), session(sid, exp), signer)
				return err
			}
			_, err := s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { x.Active = false; return nil })
			return err
		})
		require.NoError(t, errs[1], "the deactivation")
		if errs[0] != nil {
			assert.ErrorIs(t, errs[0], store.ErrSignInRefused)
		}
		_, err := s.GetSession(ctx, sid)
		assert.ErrorIs(t, err, store.ErrNotFound, "round %d: no session outlives the deactivation", round)
	}
}

// TestSignIn_refusalSpendsNothing: a sign-in refused for any reason — the
// user, the session, a taken session id — records nothing, not even the
// spend: the same assertion signs in once the cause is gone.
func TestSignIn_refusalSpendsNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open storetest.Factory) {
		clock := storetest.NewClock()
		s := open(t, clock.Now)
		d := directory.New(s)
		storetest.NewTenant(t, s, "acme", 10)
		ann := storetest.NewUser(t, s, "acme", "ann@acme.test", false)
		bob := storetest.NewUser(t, s, "acme", "bob@acme.test", true)
		exp := clock.Now().Add(time.Hour)
		a := assertion("once", exp)

		_, _, err := d.SignIn(ctx, "acme", ann.ID, a, session("s1", exp), signer)
		require.ErrorIs(t, err, store.ErrSignInRefused)
		_, _, err = d.SignIn(ctx, "acme", bob.ID, a, store.Session{ID: "s1", ExpiresAt: exp}, signer)
		var invalid *store.InvalidError
		require.ErrorAs(t, err, &invalid, "a session without a hash")
		assert.Equal(t, "session", invalid.Field)
		_, _, err = d.SignIn(ctx, "acme", bob.ID, a, session("s1", clock.Now()), signer)
		require.ErrorAs(t, err, &invalid, "a session that ends now")
		_, _, err = d.SignIn(ctx, "acme", "bad\x00id", a, session("s1", exp), signer)
		var re *store.SignInRefusedError
		require.ErrorAs(t, err, &re, "an id no store can hold names no user")
		assert.Equal(t, store.RefusedUnknown, re.Reason)

		_, _, err = d.SignIn(ctx, "acme", bob.ID, assertion("first", exp), session("taken", exp), signer)
		require.NoError(t, err)
		_, _, err = d.SignIn(ctx, "acme", bob.ID, a, session("taken", exp), signer)
		var conflict *store.ConflictError
		require.ErrorAs(t, err, &conflict, "a taken session id")
		assert.Equal(t, "id", conflict.Field)
		assert.Equal(t, "taken", conflict.Value)

		trail, err := s.ListAudit(ctx, "acme", store.EventQuery{Action: "user.signed_in"})
		require.NoError(t, err)
		assert.Len(t, trail, 1, "only the sign-in that happened")
		got, err := s.GetUser(ctx, "acme", bob.ID)
		require.NoError(t, err)
		require.NotNil(t, got.LastActiveAt)

		_, err = s.UpdateUser(ctx, "acme", ann.ID, token, func(u *store.User) error { u.Active = true; return nil })
		require.NoError(t, err)
		user, sess, err := d.SignIn(ctx, "acme", ann.ID, a, session("s1", exp), signer)
		require.NoError(t, err, "the refusals left the assertion unspent")
		assert.Equal(t, ann.ID, user.ID)
		assert.Equal(t, "acme", sess.TenantID)
		_, _, err = d.SignIn(ctx, "acme", bob.ID, a, session("s2", exp), signer)
		assert.ErrorIs(t, err, store.ErrReplay, "and now it is spent")
	})
}

// TestExpire: the sweep's rule, under the row lock — a user still active
// and expired is deactivated (seat released with reason "expired", sessions
// ended); one not due is left alone; one gone is not found; of concurrent
// expiries one deactivates.
func TestExpire(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open storetest.Factory) {
		clock := storetest.NewClock()
		s := open(t, clock.Now)
		d := directory.New(s)
		sweep := store.Actor{Kind: "system", ID: "access-expiry"}
		storetest.NewTenant(t, s, "pay", 10)
		start := clock.Now()
		until := start.Add(time.Hour)
		ext, err := s.CreateUser(ctx, "pay", store.User{UserName: "ext@partner.test", Active: true, UserType: "External", AccessExpiresAt: &until}, token)
		require.NoError(t, err)
		staff := storetest.NewUser(t, s, "pay", "staff@pay.test", true)
		_, _, err = d.SignIn(ctx, "pay", ext.ID, assertion("a1", until), session("s1", until), signer)
		require.NoError(t, err)

		ref := store.UserRef{TenantID: "pay", UserID: ext.ID}
		expired, err := d.Expire(ctx, ref, until.Add(-time.Second), sweep)
		require.NoError(t, err)
		assert.False(t, expired, "not due before the instant")
		expired, err = d.Expire(ctx, store.UserRef{TenantID: "pay", UserID: staff.ID}, until, sweep)
		require.NoError(t, err)
		assert.False(t, expired, "no expiry, never due")

		clock.Set(until)
		won := make([]bool, 4)
		errs := storetest.Parallel(len(won), func(i int) error {
			var err error
			won[i], err = d.Expire(ctx, ref, until, sweep)
			return err
		})
		wins := 0
		for i, err := range errs {
			require.NoError(t, err)
			if won[i] {
				wins++
			}
		}
		assert.Equal(t, 1, wins, "one of the concurrent expiries deactivates")
		got, err := s.GetUser(ctx, "pay", ext.ID)
		require.NoError(t, err)
		assert.False(t, got.Active)
		assert.Equal(t, store.SeatNone, got.Seat)
		var released []string
		for _, e := range ledger(t, s, "pay") {
			if e.UserID == ext.ID && e.Delta < 0 {
				released = append(released, e.Reason)
			}
		}
		assert.Equal(t, []string{store.ReasonExpired}, released, "the seat is released once, as expired")
		_, err = s.GetSession(ctx, "s1")
		assert.ErrorIs(t, err, store.ErrNotFound, "deactivation ends the session")
		expired, err = d.Expire(ctx, ref, until, sweep)
		require.NoError(t, err)
		assert.False(t, expired, "deactivated already")

		require.NoError(t, s.DeleteUser(ctx, "pay", staff.ID, token))
		_, err = d.Expire(ctx, store.UserRef{TenantID: "pay", UserID: staff.ID}, until, sweep)
		assert.ErrorIs(t, err, store.ErrNotFound)
	})
}

// BenchmarkSignIn measures a sign-in on each backend: one Change (the
// spend, the user's lock and reads in one round trip; the session, the
// activity and the audit event in another).
func BenchmarkSignIn(b *testing.B) {
	for _, backend := range []string{"memory", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			var s store.Store
			if backend == "memory" {
				m := memory.New(memory.Options{})
				b.Cleanup(m.Close)
				s = m
			} else {
				s = pgtest.Store(b, nil)
			}
			d := directory.New(s)
			_, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "Acme", Plan: "ultimate", Seats: 10, Settings: store.DefaultSettings()}, store.ActorSystem)
			require.NoError(b, err)
			u, err := s.CreateUser(ctx, "acme", store.User{UserName: "ann@acme.test", Active: true}, token)
			require.NoError(b, err)
			exp := time.Now().Add(time.Hour)
			b.ResetTimer()
			for i := range b.N {
				id := fmt.Sprintf("b-%d", i)
				if _, _, err := d.SignIn(ctx, "acme", u.ID, assertion(id, exp), session(id, exp), signer); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
