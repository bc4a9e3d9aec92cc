package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// testActiveSeatHolders: the seat reports' read answers every live active
// user of the tenant, in creation order, with what store.SeatHolders makes
// of the user (so both stores agree with the users they hold); inactive,
// deleted and other tenants' users are left out.
func testActiveSeatHolders(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "acme", 10)
	newTenant(t, s, "globex", 10)
	ann, err := s.CreateUser(ctx, "acme", store.User{UserName: "ann@x.com", DisplayName: "Ann Lee", Active: true, UserType: "Employee",
		Emails:  []store.MultiValue{{Value: "Ann@X.com", Type: "work"}, {Value: "ann@home.test", Type: "home", Primary: true}},
		Managed: store.ManagedSCIM, IdP: "okta"}, token)
	require.NoError(t, err)
	clock.Advance(time.Minute)
	bob := newUser(t, s, "acme", "bob@x.com", true)
	newUser(t, s, "acme", "off@x.com", false)
	gone := newUser(t, s, "acme", "gone@x.com", true)
	require.NoError(t, s.DeleteUser(ctx, "acme", gone.ID, token))
	newUser(t, s, "globex", "other@x.com", true)
	ann, err = s.GetUser(ctx, "acme", ann.ID)
	require.NoError(t, err)
	bob, err = s.GetUser(ctx, "acme", bob.ID)
	require.NoError(t, err)

	got, err := s.ActiveSeatHolders(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, store.SeatHolders([]store.User{ann, bob}), got)
	assert.Equal(t, "ann@home.test", got[0].Email, "the primary address")
	assert.Equal(t, []string{"ann@x.com", "ann@home.test"}, got[0].EmailKeys)
	assert.Equal(t, "scim", got[0].Managed)
	assert.Equal(t, "manual", got[1].Managed)

	_, err = s.ActiveSeatHolders(ctx, "nope")
	assert.ErrorIs(t, err, store.ErrNotFound)
}
