package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

func testGroupMembers(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	a := newUser(t, s, "acme", "a@x.com", true)
	b, err := s.CreateUser(ctx, "acme", store.User{UserName: "b@x.com", DisplayName: "Bea", Active: true}, token)
	require.NoError(t, err)
	c := newUser(t, s, "acme", "c@x.com", false)

	g := newGroup(t, s, "acme", "Support", b.ID, a.ID, a.ID)
	assert.Equal(t, int64(1), g.Version)
	assert.Equal(t, 2, g.MemberCount)
	assert.Equal(t, []store.Member{{UserID: a.ID, Display: "a@x.com"}, {UserID: b.ID, Display: "Bea"}}, g.Members,
		"members in user creation order, display is displayName else userName, duplicates once")

	_, err = s.CreateGroup(ctx, "acme", store.Group{DisplayName: "SUPPORT"}, token)
	assert.ErrorIs(t, err, store.ErrConflict, "displayName is unique per tenant, case-insensitively")

	noMembers, err := s.GetGroup(ctx, "acme", g.ID, false)
	require.NoError(t, err)
	assert.Nil(t, noMembers.Members, "members are not loaded unless asked for")
	assert.Equal(t, 2, noMembers.MemberCount)

	// Ordered member operations in one update, plus a rename.
	up, err := s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error {
		u.Group.DisplayName = "Support EMEA"
		u.Remove(a.ID, "not-a-member")
		u.Add(c.ID, b.ID)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "Support EMEA", up.DisplayName)
	assert.Equal(t, int64(2), up.Version)
	assert.Equal(t, 2, up.MemberCount)
	got, err := s.GetGroup(ctx, "acme", g.ID, true)
	require.NoError(t, err)
	assert.Equal(t, []string{b.ID, c.ID}, memberIDs(got))

	_, err = s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error {
		u.Replace(a.ID)
		u.Add(c.ID)
		return nil
	})
	require.NoError(t, err)
	got, err = s.GetGroup(ctx, "acme", g.ID, true)
	require.NoError(t, err)
	assert.Equal(t, []string{a.ID, c.ID}, memberIDs(got))

	groups, err := s.UserGroups(ctx, "acme", c.ID)
	require.NoError(t, err)
	require.Len(t, groups, 1)
	assert.Equal(t, g.ID, groups[0].ID)

	_, err = s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error { u.Replace(); return nil })
	require.NoError(t, err)
	got, err = s.GetGroup(ctx, "acme", g.ID, true)
	require.NoError(t, err)
	assert.Empty(t, got.Members)
	assert.Zero(t, got.MemberCount)

	other := newGroup(t, s, "acme", "Billing")
	_, err = s.UpdateGroup(ctx, "acme", other.ID, token, func(u *store.GroupUpdate) error { u.Group.DisplayName = "support emea"; return nil })
	assert.ErrorIs(t, err, store.ErrConflict, "rename onto a taken name")

	require.NoError(t, s.DeleteGroup(ctx, "acme", g.ID, token))
	_, err = s.GetGroup(ctx, "acme", g.ID, false)
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, s.DeleteGroup(ctx, "acme", g.ID, token), store.ErrNotFound)
	_, err = s.CreateGroup(ctx, "acme", store.Group{DisplayName: "Support EMEA"}, token)
	assert.NoError(t, err, "a deleted group's name is free")
	_, err = s.CreateGroup(ctx, "acme", store.Group{DisplayName: " "}, token)
	assert.ErrorIs(t, err, store.ErrInvalid)
}

func testGroupUnknownMembers(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	a := newUser(t, s, "acme", "a@x.com", true)
	gone := newUser(t, s, "acme", "gone@x.com", true)
	require.NoError(t, s.DeleteUser(ctx, "acme", gone.ID, token))

	_, err := s.CreateGroup(ctx, "acme", store.Group{DisplayName: "G", Members: []store.Member{{UserID: a.ID}, {UserID: "nope-1"}}}, token)
	var unknown *store.UnknownMembersError
	require.ErrorAs(t, err, &unknown)
	assert.Equal(t, []string{"nope-1"}, unknown.IDs)
	page, err := s.ListGroups(ctx, "acme", store.GroupQuery{Count: 10})
	require.NoError(t, err)
	assert.Zero(t, page.Total, "a refused create writes no group")

	g := newGroup(t, s, "acme", "G", a.ID)
	_, err = s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error {
		u.Group.DisplayName = "Renamed"
		u.Remove(a.ID)
		u.Add("nope-2", gone.ID)
		return nil
	})
	require.ErrorAs(t, err, &unknown)
	assert.ElementsMatch(t, []string{"nope-2", gone.ID}, unknown.IDs, "every unknown id is named, deleted users included")
	got, err := s.GetGroup(ctx, "acme", g.ID, true)
	require.NoError(t, err)
	assert.Equal(t, "G", got.DisplayName, "nothing of the refused update applied")
	assert.Equal(t, []string{a.ID}, memberIDs(got))
	assert.Equal(t, int64(1), got.Version)
}

// testGroupConcurrentAdds proves that 30 concurrent single-member adds to one
// group keep all 30 members (no lost update of a membership list).
func testGroupConcurrentAdds(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 100)
	const n = 30
	users := make([]string, n)
	for i := range users {
		users[i] = newUser(t, s, "acme", fmt.Sprintf("m%02d@x.com", i), true).ID
	}
	for trial := range 5 {
		g := newGroup(t, s, "acme", fmt.Sprintf("Team %d", trial))
		errs := parallel(n, func(i int) error {
			_, err := s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error { u.Add(users[i]); return nil })
			return err
		})
		for _, err := range errs {
			require.NoError(t, err)
		}
		got, err := s.GetGroup(ctx, "acme", g.ID, true)
		require.NoError(t, err)
		assert.ElementsMatch(t, users, memberIDs(got), "trial %d", trial)
		assert.Equal(t, n, got.MemberCount)
		assert.Equal(t, int64(1+n), got.Version, "every member change is a new version")
	}
}

func testDeleteUserLeavesGroups(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	a := newUser(t, s, "acme", "a@x.com", true)
	b := newUser(t, s, "acme", "b@x.com", true)
	g := newGroup(t, s, "acme", "G", a.ID, b.ID)

	// Deactivation keeps team memberships.
	require.NoError(t, setActive(t, s, "acme", a.ID, false))
	got, err := s.GetGroup(ctx, "acme", g.ID, true)
	require.NoError(t, err)
	assert.Equal(t, []string{a.ID, b.ID}, memberIDs(got))

	// Deletion removes them, and a re-created user with the same name is not a member.
	require.NoError(t, s.DeleteUser(ctx, "acme", a.ID, token))
	got, err = s.GetGroup(ctx, "acme", g.ID, true)
	require.NoError(t, err)
	assert.Equal(t, []string{b.ID}, memberIDs(got))
	again := newUser(t, s, "acme", "a@x.com", true)
	groups, err := s.UserGroups(ctx, "acme", again.ID)
	require.NoError(t, err)
	assert.Empty(t, groups)
}

// testGroupNoOpUpdate: an update that changes nothing (Okta re-sends the
// current displayName with every group push; an IdP re-adds a member) writes
// nothing: the version and the audit trail stay as they were, so ETags stay
// valid. A change of case is a rename and does write.
func testGroupNoOpUpdate(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	a := newUser(t, s, "acme", "a@x.com", true)
	g := newGroup(t, s, "acme", "Support", a.ID)
	audit := func() int {
		events, err := s.ListAudit(ctx, "acme", store.EventQuery{Limit: 1000})
		require.NoError(t, err)
		return len(events)
	}
	before := audit()

	same, err := s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error {
		u.Group.DisplayName = "Support"
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, g.Version, same.Version, "no change, no new version")
	assert.Equal(t, 1, same.MemberCount)
	assert.Equal(t, before, audit(), "no change, no audit event")

	// Membership operations that add no absent member and remove no
	// present one change nothing either (an IdP re-sending a member).
	b := newUser(t, s, "acme", "b@x.com", true)
	before = audit()
	for name, fn := range map[string]func(*store.GroupUpdate){
		"add a present member":      func(u *store.GroupUpdate) { u.Add(a.ID) },
		"remove an absent member":   func(u *store.GroupUpdate) { u.Remove(b.ID) },
		"replace with the same set": func(u *store.GroupUpdate) { u.Replace(a.ID) },
		"all three":                 func(u *store.GroupUpdate) { u.Add(a.ID); u.Remove(b.ID); u.Replace(a.ID) },
	} {
		same, err := s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error { fn(u); return nil })
		require.NoError(t, err, name)
		assert.Equal(t, g.Version, same.Version, name)
		assert.Equal(t, g.UpdatedAt, same.UpdatedAt, name)
		assert.Equal(t, 1, same.MemberCount, name)
	}
	assert.Equal(t, before, audit(), "no change, no audit event")
	_, err = s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error { u.Add(a.ID, "no-such-user"); return nil })
	var unknown *store.UnknownMembersError
	require.ErrorAs(t, err, &unknown, "an unknown member is refused even when nothing else changes")

	renamed, err := s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error {
		u.Group.DisplayName = "SUPPORT"
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, g.Version+1, renamed.Version, "a change of case is a rename")
	assert.Equal(t, before+1, audit())
}
