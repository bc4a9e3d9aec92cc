package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// The lifecycle: the store catalogue and the access-expiry query. Sign-in
// (spent assertions, sessions) is a directory use case, tested in
// directory/signin_test.go on both backends.

// testOutlets proves the store catalogue: create, list in creation order,
// rename, delete; users' stores are checked against it inside the write and
// a catalogue delete strips the store from every user.
func testOutlets(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	newTenant(t, s, "beta", 10)
	for _, o := range []store.Outlet{{ID: "store-1", Name: "Main"}, {ID: "store-2", Name: "Outlet"}} {
		got, err := s.CreateOutlet(ctx, "acme", o, store.ActorAdmin)
		require.NoError(t, err)
		assert.Equal(t, "acme", got.TenantID)
		assert.Equal(t, store.Timestamp(clock.Now()), got.CreatedAt)
	}
	_, err := s.CreateOutlet(ctx, "acme", store.Outlet{ID: "store-1", Name: "Again"}, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrConflict)
	_, err = s.CreateOutlet(ctx, "acme", store.Outlet{ID: "a/b", Name: "Slash"}, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrInvalid)
	_, err = s.CreateOutlet(ctx, "acme", store.Outlet{ID: "x", Name: " "}, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrInvalid)
	_, err = s.CreateOutlet(ctx, "nope", store.Outlet{ID: "x", Name: "X"}, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrNotFound)

	list, err := s.ListOutlets(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []string{"store-1", "store-2"}, []string{list[0].ID, list[1].ID})
	empty, err := s.ListOutlets(ctx, "beta")
	require.NoError(t, err)
	assert.Empty(t, empty)
	_, err = s.ListOutlets(ctx, "nope")
	assert.ErrorIs(t, err, store.ErrNotFound)

	clock.Advance(time.Minute)
	renamed, err := s.RenameOutlet(ctx, "acme", "store-2", "Harbour outlet", store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, "Harbour outlet", renamed.Name)
	assert.Equal(t, store.Timestamp(clock.Now()), renamed.UpdatedAt)
	_, err = s.RenameOutlet(ctx, "acme", "store-9", "X", store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.RenameOutlet(ctx, "beta", "store-2", "X", store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrNotFound, "another tenant's store")

	// Users' stores are checked against the catalogue.
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "x@acme.test", Active: true, Stores: []string{"store-1", "store-7", "nowhere", "store-7"}}, token)
	var unknown *store.UnknownStoresError
	require.ErrorAs(t, err, &unknown)
	assert.Equal(t, []string{"store-7", "nowhere"}, unknown.Stores)
	assert.ErrorIs(t, err, store.ErrInvalid)
	assert.Equal(t, store.Fault{Kind: store.KindInvalid, Code: store.CodeUnknownStores, Field: "stores", Message: unknown.Error()},
		store.FaultOf(err), "400 invalidValue on SCIM")
	counts, err := s.SeatCounts(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, 0, counts.Full, "a refused create consumes no seat")
	_, err = s.CreateUser(ctx, "beta", store.User{UserName: "x@beta.test", Active: true, Stores: []string{"store-1"}}, token)
	assert.ErrorAs(t, err, &unknown, "another tenant's catalogue does not count")

	u, err := s.CreateUser(ctx, "acme", store.User{UserName: "ann@acme.test", Active: true, Stores: []string{"store-1", "store-2"}}, token)
	require.NoError(t, err)
	_, err = s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { x.Stores = append(x.Stores, "store-3"); return nil })
	require.ErrorAs(t, err, &unknown)
	assert.Equal(t, []string{"store-3"}, unknown.Stores)
	got, err := s.GetUser(ctx, "acme", u.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"store-1", "store-2"}, got.Stores, "a refused update changes nothing")
	v := newUser(t, s, "acme", "bo@acme.test", true)

	// Deleting a store from the catalogue strips it from its users.
	n, err := s.DeleteOutlet(ctx, "acme", "store-1", store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	got, err = s.GetUser(ctx, "acme", u.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"store-2"}, got.Stores)
	assert.Equal(t, u.Version+1, got.Version)
	untouched, err := s.GetUser(ctx, "acme", v.ID)
	require.NoError(t, err)
	assert.Equal(t, v.Version, untouched.Version)
	_, err = s.DeleteOutlet(ctx, "acme", "store-1", store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { x.Stores = []string{"store-1"}; return nil })
	assert.ErrorAs(t, err, &unknown, "a deleted store is unknown")
	trail, err := s.ListAudit(ctx, "acme", store.EventQuery{Action: "store.deleted"})
	require.NoError(t, err)
	assert.Len(t, trail, 1)

	// Deleting a user removes their store access: recreated under the same
	// userName, they hold none, and the store can go without touching them.
	require.NoError(t, s.DeleteUser(ctx, "acme", u.ID, token))
	n, err = s.DeleteOutlet(ctx, "acme", "store-2", store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "a deleted user holds no store")
}

// testExternalUsers proves that an External user needs an access expiry and
// that DueExpirations finds exactly the active users whose access ended.
func testExternalUsers(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	newTenant(t, s, "beta", 10)
	_, err := s.CreateUser(ctx, "acme", store.User{UserName: "ext@p.test", Active: true, UserType: "external"}, token)
	var inv *store.InvalidError
	require.ErrorAs(t, err, &inv)
	assert.Equal(t, "accessExpiresAt", inv.Field)

	at := func(d time.Duration) *time.Time { x := clock.Now().Add(d); return &x }
	mk := func(tenant, name string, active bool, exp *time.Time) store.User {
		u, err := s.CreateUser(ctx, tenant, store.User{UserName: name, Active: active, UserType: "External", AccessExpiresAt: exp}, token)
		require.NoError(t, err)
		return u
	}
	late := mk("acme", "late@p.test", true, at(2*time.Hour))
	early := mk("beta", "early@p.test", true, at(time.Hour))
	mk("acme", "off@p.test", false, at(time.Hour))
	mk("acme", "future@p.test", true, at(5*time.Hour))
	newUser(t, s, "acme", "staff@acme.test", true)

	due, err := s.DueExpirations(ctx, clock.Now(), 10)
	require.NoError(t, err)
	assert.Empty(t, due)
	_, err = s.UpdateUser(ctx, "acme", late.ID, token, func(x *store.User) error { x.UserType = ""; return nil })
	require.NoError(t, err, "a user with an expiry need not stay External")

	later := clock.Now().Add(3 * time.Hour)
	due, err = s.DueExpirations(ctx, later, 10)
	require.NoError(t, err)
	assert.Equal(t, []store.UserRef{{TenantID: "beta", UserID: early.ID}, {TenantID: "acme", UserID: late.ID}}, due, "earliest expiry first, across tenants")
	due, err = s.DueExpirations(ctx, later, 1)
	require.NoError(t, err)
	assert.Len(t, due, 1)
	_, err = s.UpdateUser(ctx, "beta", early.ID, token, func(x *store.User) error { x.Active = false; return nil })
	require.NoError(t, err)
	due, err = s.DueExpirations(ctx, later, 10)
	require.NoError(t, err)
	assert.Equal(t, []store.UserRef{{TenantID: "acme", UserID: late.ID}}, due)
}

// newOutlets adds stores to a tenant's catalogue, so that users may hold them.
func newOutlets(t *testing.T, s store.Store, tenant string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		_, err := s.CreateOutlet(ctx, tenant, store.Outlet{ID: id, Name: "Store " + id}, store.ActorAdmin)
		require.NoError(t, err)
	}
}

// testAuthnRequests proves that an AuthnRequest in flight is taken once,
// only in its tenant, and not after it expires.
func testAuthnRequests(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	newTenant(t, s, "beta", 10)
	in := store.AuthnRequest{RelayState: "rs-1", RequestID: "id-1", BrowserHash: []byte{1, 2}, ExpiresAt: clock.Now().Add(5 * time.Minute), Next: "/console/acme/people"}
	require.NoError(t, s.PutAuthnRequest(ctx, "acme", in))
	assert.ErrorIs(t, s.PutAuthnRequest(ctx, "acme", in), store.ErrConflict)
	assert.ErrorIs(t, s.PutAuthnRequest(ctx, "nope", in), store.ErrNotFound)
	_, err := s.TakeAuthnRequest(ctx, "beta", "rs-1")
	assert.ErrorIs(t, err, store.ErrNotFound, "another tenant's request")
	got, err := s.TakeAuthnRequest(ctx, "acme", "rs-1")
	require.NoError(t, err)
	assert.Equal(t, store.AuthnRequest{TenantID: "acme", RelayState: "rs-1", RequestID: "id-1", BrowserHash: []byte{1, 2}, ExpiresAt: store.Timestamp(in.ExpiresAt), Next: "/console/acme/people"}, got)
	_, err = s.TakeAuthnRequest(ctx, "acme", "rs-1")
	assert.ErrorIs(t, err, store.ErrNotFound, "taken once")

	in.RelayState = "rs-2"
	require.NoError(t, s.PutAuthnRequest(ctx, "acme", in))
	clock.Advance(5 * time.Minute)
	_, err = s.TakeAuthnRequest(ctx, "acme", "rs-2")
	assert.ErrorIs(t, err, store.ErrNotFound, "expired")

	// Concurrent takes: one winner.
	in.RelayState, in.ExpiresAt = "rs-3", clock.Now().Add(time.Minute)
	require.NoError(t, s.PutAuthnRequest(ctx, "acme", in))
	errs := parallel(8, func(int) error { _, err := s.TakeAuthnRequest(ctx, "acme", "rs-3"); return err })
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		}
	}
	assert.Equal(t, 1, wins)
}

// testUserExistsNamesRole proves that creating a user whose userName is
// taken, e.g. an invitation "for another store" with another role, is
// answered with the role and stores the user holds (one role covers all of
// a user's stores), still as a conflict.
func testUserExistsNamesRole(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "pay", 10)
	newOutlets(t, s, "pay", "store-1", "store-2")
	held, err := s.CreateUser(ctx, "pay", store.User{UserName: "support@kustom.test", Active: true,
		ExplicitRole: store.RoleAgent, Role: store.RoleAgent, Stores: []string{"store-1"}}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateUser(ctx, "pay", store.User{UserName: "Support@Kustom.test", Active: true,
		ExplicitRole: store.RoleSupervisor, Role: store.RoleSupervisor, Stores: []string{"store-2"}}, store.ActorAdmin)
	var exists *store.UserExistsError
	require.ErrorAs(t, err, &exists)
	assert.Equal(t, held.ID, exists.UserID)
	assert.Equal(t, store.RoleAgent, exists.Role)
	assert.Equal(t, []string{"store-1"}, exists.Stores)
	assert.Equal(t, store.RoleSupervisor, exists.RequestedRole)
	assert.Contains(t, err.Error(), `already exists with role "agent"`)
	assert.Contains(t, err.Error(), `cannot also hold "supervisor" for another store`)
	assert.ErrorIs(t, err, store.ErrConflict)
	var conflict *store.ConflictError
	require.ErrorAs(t, err, &conflict)
	assert.Equal(t, "userName", conflict.Field)
	assert.Equal(t, store.Fault{Kind: store.KindConflict, Code: store.CodeUserExists, Field: "userName", Message: exists.Error()},
		store.FaultOf(err), "409 uniqueness on SCIM")
}

// testOutletDeleteRace proves that deleting a store while users are being
// given it leaves no user holding it: each write either lands before the
// delete (and is stripped by it) or is refused as an unknown store.
func testOutletDeleteRace(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "pay", 50)
	newOutlets(t, s, "pay", "store-1", "store-x")
	const n = 12
	users := make([]store.User, n)
	for i := range users {
		var err error
		users[i], err = s.CreateUser(ctx, "pay", store.User{UserName: fmt.Sprintf("u%02d@pay.test", i), Active: true, Stores: []string{"store-1"}}, token)
		require.NoError(t, err)
	}
	errs := parallel(n+1, func(i int) error {
		if i == n {
			_, err := s.DeleteOutlet(ctx, "pay", "store-x", store.ActorAdmin)
			return err
		}
		_, err := s.UpdateUser(ctx, "pay", users[i].ID, token, func(u *store.User) error {
			u.Stores = append(u.Stores, "store-x")
			return nil
		})
		return err
	})
	require.NoError(t, errs[n], "the delete")
	for i, err := range errs[:n] {
		if err != nil {
			var unknown *store.UnknownStoresError
			assert.ErrorAs(t, err, &unknown, "user %d", i)
		}
	}
	for _, u := range users {
		got, err := s.GetUser(ctx, "pay", u.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{"store-1"}, got.Stores, "no user keeps a deleted store")
	}
}
