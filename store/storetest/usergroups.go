package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// testGroupsOfUsers: GroupsOfUsers answers for a page of users what
// UserGroups answers for each (ids, names, tenant, creation order); users in
// no group, unknown ids, other tenants' users, deleted users and an unknown
// tenant have no entry; membership changes show at once.
func testGroupsOfUsers(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "gou", 100)
	newTenant(t, s, "gou-other", 100)
	a := newUser(t, s, "gou", "a@x.com", true)
	b := newUser(t, s, "gou", "b@x.com", true)
	loner := newUser(t, s, "gou", "loner@x.com", true)
	leaver := newUser(t, s, "gou", "leaver@x.com", true)
	stranger := newUser(t, s, "gou-other", "a@x.com", true)
	group := func(tenant, name string, members ...string) store.Group {
		t.Helper()
		g := store.Group{DisplayName: name}
		for _, id := range members {
			g.Members = append(g.Members, store.Member{UserID: id})
		}
		created, err := s.CreateGroup(ctx, tenant, g, token)
		require.NoError(t, err)
		return created
	}
	zeta := group("gou", "Zeta", b.ID, a.ID)
	group("gou", "Empty")
	alpha := group("gou", "Alpha", a.ID)
	mid := group("gou", "Mid", b.ID, leaver.ID)
	group("gou-other", "Zeta", stranger.ID)

	type ref struct{ ID, Name string }
	refs := func(gs []store.Group) []ref {
		var out []ref
		for _, g := range gs {
			assert.Equal(t, "gou", g.TenantID)
			out = append(out, ref{g.ID, g.DisplayName})
		}
		return out
	}
	got, err := s.GroupsOfUsers(ctx, "gou", []string{a.ID, b.ID, loner.ID, leaver.ID, "no-such-id", stranger.ID, a.ID})
	require.NoError(t, err)
	assert.Equal(t, map[string][]ref{
		a.ID:      {{zeta.ID, "Zeta"}, {alpha.ID, "Alpha"}},
		b.ID:      {{zeta.ID, "Zeta"}, {mid.ID, "Mid"}},
		leaver.ID: {{mid.ID, "Mid"}},
	}, mapRefs(got, refs))
	for _, u := range []store.User{a, b, leaver} {
		one, err := s.UserGroups(ctx, "gou", u.ID)
		require.NoError(t, err)
		assert.Equal(t, refs(one), refs(got[u.ID]), "UserGroups of %s", u.UserName)
	}

	// One id, groups larger than the ask: the same answer.
	got, err = s.GroupsOfUsers(ctx, "gou", []string{b.ID})
	require.NoError(t, err)
	assert.Equal(t, map[string][]ref{b.ID: {{zeta.ID, "Zeta"}, {mid.ID, "Mid"}}}, mapRefs(got, refs))

	// Leaving a group, renaming one, deleting a user show at once.
	_, err = s.UpdateGroup(ctx, "gou", zeta.ID, token, func(u *store.GroupUpdate) error {
		u.Group.DisplayName = "Zeta 2"
		u.Remove(a.ID)
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, s.DeleteUser(ctx, "gou", leaver.ID, token))
	got, err = s.GroupsOfUsers(ctx, "gou", []string{a.ID, b.ID, leaver.ID})
	require.NoError(t, err)
	assert.Equal(t, map[string][]ref{
		a.ID: {{alpha.ID, "Alpha"}},
		b.ID: {{zeta.ID, "Zeta 2"}, {mid.ID, "Mid"}},
	}, mapRefs(got, refs))

	for _, tc := range []struct {
		tenant string
		ids    []string
	}{{"gou", nil}, {"gou", []string{}}, {"no-such-tenant", []string{a.ID}}, {"gou-other", []string{a.ID}}, {"gou", []string{"bad\x00id", "\xff"}}} {
		got, err := s.GroupsOfUsers(ctx, tc.tenant, tc.ids)
		require.NoError(t, err, "%s %q", tc.tenant, tc.ids)
		assert.Empty(t, got, "%s %q", tc.tenant, tc.ids)
	}
}

func mapRefs[R any](m map[string][]store.Group, refs func([]store.Group) []R) map[string][]R {
	out := make(map[string][]R, len(m))
	for id, gs := range m {
		out[id] = refs(gs)
	}
	return out
}
