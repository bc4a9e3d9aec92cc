package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// testUserWithGroups: GetUserWithGroups answers the user as GetUser does and
// the groups as UserGroups does (ids and names, creation order); a missing,
// deleted or other tenant's user is ErrNotFound.
func testUserWithGroups(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "uwg", 100)
	newTenant(t, s, "uwg-other", 100)
	u := newUser(t, s, "uwg", "member@x.com", true)
	loner := newUser(t, s, "uwg", "loner@x.com", true)
	var ids []string
	for _, name := range []string{"Zeta", "Alpha"} {
		g, err := s.CreateGroup(ctx, "uwg", store.Group{DisplayName: name, Members: []store.Member{{UserID: u.ID}}}, token)
		require.NoError(t, err)
		ids = append(ids, g.ID)
	}
	_, err := s.CreateGroup(ctx, "uwg", store.Group{DisplayName: "Other"}, token)
	require.NoError(t, err)

	got, groups, err := s.GetUserWithGroups(ctx, "uwg", u.ID)
	require.NoError(t, err)
	plain, err := s.GetUser(ctx, "uwg", u.ID)
	require.NoError(t, err)
	assert.Equal(t, plain, got)
	require.Len(t, groups, 2)
	assert.Equal(t, ids[0], groups[0].ID)
	assert.Equal(t, "Zeta", groups[0].DisplayName)
	assert.Equal(t, ids[1], groups[1].ID)
	assert.Equal(t, "uwg", groups[1].TenantID)

	_, groups, err = s.GetUserWithGroups(ctx, "uwg", loner.ID)
	require.NoError(t, err)
	assert.Empty(t, groups)

	// By userName (case-insensitively, as GetUserByUserName): the same answer.
	byName, byNameGroups, err := s.GetUserByUserNameWithGroups(ctx, "uwg", "MEMBER@x.com")
	require.NoError(t, err)
	assert.Equal(t, plain, byName)
	full, fullGroups, err := s.GetUserWithGroups(ctx, "uwg", u.ID)
	require.NoError(t, err)
	assert.Equal(t, full, byName)
	assert.Equal(t, fullGroups, byNameGroups)
	_, groups, err = s.GetUserByUserNameWithGroups(ctx, "uwg", "loner@x.com")
	require.NoError(t, err)
	assert.Empty(t, groups)
	_, _, err = s.GetUserByUserNameWithGroups(ctx, "uwg-other", "member@x.com")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = s.GetUserByUserNameWithGroups(ctx, "no-such-tenant", "member@x.com")
	assert.ErrorIs(t, err, store.ErrNotFound)

	_, _, err = s.GetUserWithGroups(ctx, "uwg-other", u.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = s.GetUserWithGroups(ctx, "uwg", "no-such-id")
	assert.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.DeleteUser(ctx, "uwg", u.ID, token))
	_, _, err = s.GetUserWithGroups(ctx, "uwg", u.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = s.GetUserByUserNameWithGroups(ctx, "uwg", "member@x.com")
	assert.ErrorIs(t, err, store.ErrNotFound, "a deleted user is not found by userName")
}
