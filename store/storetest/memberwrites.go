package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// Membership rows have no foreign keys in PostgreSQL (migration 0011): these
// tests prove the guarantees the writes keep by locks instead, on every
// backend.

// testDeleteUserRacesAdd proves that a user deleted while a group update
// and a group creation add them is left in neither group: each add either
// wins (and the deletion then removes the membership) or refuses the user
// as unknown, and the member counts stay exact. It also proves that the
// three never deadlock (a deadlock fails one of them with an error).
func testDeleteUserRacesAdd(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 100)
	stays := newUser(t, s, "acme", "stays@x.com", true)
	g := newGroup(t, s, "acme", "Team", stays.ID)
	for trial := range 20 {
		others := make([]string, 50) // a larger add holds its locks longer
		for i := range others {
			others[i] = newUser(t, s, "acme", fmt.Sprintf("o%d-%d@x.com", trial, i), false).ID
		}
		gone := newUser(t, s, "acme", fmt.Sprintf("gone%d@x.com", trial), true)
		var created store.Group
		errs := parallel(3, func(i int) error {
			switch i {
			case 0:
				return s.DeleteUser(ctx, "acme", gone.ID, token)
			case 1:
				_, err := s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error {
					u.Add(append([]string{gone.ID}, others...)...)
					return nil
				})
				return err
			default:
				members := []store.Member{{UserID: gone.ID}, {UserID: stays.ID}}
				var err error
				created, err = s.CreateGroup(ctx, "acme", store.Group{DisplayName: fmt.Sprintf("New %d", trial), Members: members}, token)
				return err
			}
		})
		require.NoError(t, errs[0], "trial %d: the deletion", trial)
		for _, err := range errs[1:] {
			if err != nil {
				var unknown *store.UnknownMembersError
				require.ErrorAs(t, err, &unknown, "trial %d: an add fails only by refusing the deleted user", trial)
				assert.Equal(t, []string{gone.ID}, unknown.IDs, "trial %d", trial)
			}
		}

		got, err := s.GetGroup(ctx, "acme", g.ID, true)
		require.NoError(t, err)
		assert.NotContains(t, memberIDs(got), gone.ID, "trial %d: no membership of a deleted user", trial)
		assert.Len(t, got.Members, got.MemberCount, "trial %d: the count is exact", trial)
		if errs[1] == nil {
			assert.Subset(t, memberIDs(got), others, "trial %d: the rest of a winning add stays", trial)
		}
		if errs[2] == nil {
			got, err := s.GetGroup(ctx, "acme", created.ID, true)
			require.NoError(t, err)
			assert.Equal(t, []string{stays.ID}, memberIDs(got), "trial %d: no membership of a deleted user", trial)
			assert.Equal(t, 1, got.MemberCount, "trial %d", trial)
		}
		_, err = s.UserGroups(ctx, "acme", gone.ID)
		assert.ErrorIs(t, err, store.ErrNotFound)
	}
}

// testDeleteGroupDeletesMemberships proves that a deleted group's
// memberships go with it: a group created again under the same id starts
// empty, and its former members are in no group.
func testDeleteGroupDeletesMemberships(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	a := newUser(t, s, "acme", "a@x.com", true)
	b := newUser(t, s, "acme", "b@x.com", true)
	g, err := s.CreateGroup(ctx, "acme", store.Group{ID: "g-1", DisplayName: "Team",
		Members: []store.Member{{UserID: a.ID}, {UserID: b.ID}}}, token)
	require.NoError(t, err)
	require.Equal(t, 2, g.MemberCount)
	require.NoError(t, s.DeleteGroup(ctx, "acme", "g-1", token))

	again, err := s.CreateGroup(ctx, "acme", store.Group{ID: "g-1", DisplayName: "Team"}, token)
	require.NoError(t, err)
	assert.Zero(t, again.MemberCount)
	got, err := s.GetGroup(ctx, "acme", "g-1", true)
	require.NoError(t, err)
	assert.Empty(t, got.Members, "the deleted group's members are gone")
	assert.Zero(t, got.MemberCount)
	groups, err := s.GroupsOfUsers(ctx, "acme", []string{a.ID, b.ID})
	require.NoError(t, err)
	assert.Empty(t, groups)
}

// testDeleteTenantDeletesMemberships proves that a deleted tenant's
// memberships go with it: the tenant, its users and its group created again
// under the same ids have none.
func testDeleteTenantDeletesMemberships(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	build := func() {
		t.Helper()
		newTenant(t, s, "acme", 10)
		for _, id := range []string{"u-1", "u-2"} {
			_, err := s.CreateUser(ctx, "acme", store.User{ID: id, UserName: id + "@x.com", Active: true, Role: store.RoleAgent}, token)
			require.NoError(t, err)
		}
	}
	build()
	_, err := s.CreateGroup(ctx, "acme", store.Group{ID: "g-1", DisplayName: "Team",
		Members: []store.Member{{UserID: "u-1"}, {UserID: "u-2"}}}, token)
	require.NoError(t, err)
	require.NoError(t, s.DeleteTenant(ctx, "acme", store.ActorSystem))

	build()
	_, err = s.CreateGroup(ctx, "acme", store.Group{ID: "g-1", DisplayName: "Team"}, token)
	require.NoError(t, err)
	got, err := s.GetGroup(ctx, "acme", "g-1", true)
	require.NoError(t, err)
	assert.Empty(t, got.Members, "the deleted tenant's memberships are gone")
	for _, id := range []string{"u-1", "u-2"} {
		groups, err := s.UserGroups(ctx, "acme", id)
		require.NoError(t, err)
		assert.Empty(t, groups, id)
	}
}

// testAddMembersOnce proves that one add naming a user twice, and adds of
// present members, keep one row each and an exact count, and that an add
// naming an unknown or another tenant's user applies nothing.
func testAddMembersOnce(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	newTenant(t, s, "other", 10)
	a := newUser(t, s, "acme", "a@x.com", true)
	b := newUser(t, s, "acme", "b@x.com", true)
	stranger := newUser(t, s, "other", "s@x.com", true)
	g := newGroup(t, s, "acme", "Team", a.ID)

	up, err := s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error {
		u.Add(a.ID, b.ID, b.ID)
		u.Add(b.ID, a.ID)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, up.MemberCount)
	got, err := s.GetGroup(ctx, "acme", g.ID, true)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{a.ID, b.ID}, memberIDs(got))
	assert.Equal(t, 2, got.MemberCount)

	c := newUser(t, s, "acme", "c@x.com", true)
	_, err = s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error {
		u.Add(c.ID, stranger.ID)
		return nil
	})
	var unknown *store.UnknownMembersError
	require.ErrorAs(t, err, &unknown)
	assert.Equal(t, []string{stranger.ID}, unknown.IDs, "another tenant's user is unknown here")
	got, err = s.GetGroup(ctx, "acme", g.ID, true)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{a.ID, b.ID}, memberIDs(got), "nothing of the refused add applied")
	assert.Equal(t, up.Version, got.Version)
	groups, err := s.UserGroups(ctx, "other", stranger.ID)
	require.NoError(t, err)
	assert.Empty(t, groups)
}

// testConcurrentSameAdds proves that concurrent adds of the same users to
// an empty group all succeed and keep one row each: an add that waited for
// another sees its members (and its count), it does not insert them again.
// A change mixing adds and removals of one user keeps an exact count too.
func testConcurrentSameAdds(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	users := []string{
		newUser(t, s, "acme", "a@x.com", true).ID,
		newUser(t, s, "acme", "b@x.com", true).ID,
		newUser(t, s, "acme", "c@x.com", true).ID,
	}
	for trial := range 5 {
		g := newGroup(t, s, "acme", fmt.Sprintf("Team %d", trial))
		errs := parallel(10, func(int) error {
			_, err := s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error { u.Add(users...); return nil })
			return err
		})
		for _, err := range errs {
			require.NoError(t, err, "trial %d", trial)
		}
		got, err := s.GetGroup(ctx, "acme", g.ID, true)
		require.NoError(t, err)
		assert.ElementsMatch(t, users, memberIDs(got), "trial %d", trial)
		assert.Equal(t, len(users), got.MemberCount, "trial %d", trial)
	}

	g := newGroup(t, s, "acme", "Mixed")
	up, err := s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error {
		u.Add(users[0], users[1])
		u.Remove(users[1])
		u.Add(users[0], users[2])
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, up.MemberCount)
	got, err := s.GetGroup(ctx, "acme", g.ID, true)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{users[0], users[2]}, memberIDs(got))
	assert.Equal(t, 2, got.MemberCount)
}
