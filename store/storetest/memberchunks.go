package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// walkMembers reads all of a group's members with GroupMembers, limit at a
// time, checking that every chunk but the last is full, that the last is
// shorter than limit, and that positions only move forward.
func walkMembers(t *testing.T, s store.Store, tenant, group string, limit int) []store.Member {
	t.Helper()
	var all []store.Member
	var pos store.MemberPos
	for range 10_000 {
		chunk, next, err := s.GroupMembers(ctx, tenant, group, pos, limit)
		require.NoError(t, err)
		require.NotNil(t, chunk, "an empty chunk is empty, not nil")
		require.LessOrEqual(t, len(chunk), limit, "a chunk holds at most limit members")
		all = append(all, chunk...)
		if len(chunk) < limit {
			return all
		}
		require.Greater(t, next, pos, "the position moves forward")
		pos = next
	}
	t.Fatal("GroupMembers never answered a short chunk")
	return nil
}

// testGroupMembersInChunks: GroupMembers hands out a group's members in
// chunks that, walked from position 0, are exactly what GetGroup lists, in
// the same order, for groups of 0, 1, chunk-1, chunk, chunk+1 and several
// chunks of members — added in any order, by create, update and import —
// and has nothing for an unknown group or another tenant's.
func testGroupMembersInChunks(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 100)
	newTenant(t, s, "other", 10)
	var users []store.User
	for i := range 13 {
		u := store.User{UserName: fmt.Sprintf("m%02d@x.com", i), Active: true, Role: store.RoleAgent}
		if i%3 == 0 {
			u.DisplayName = fmt.Sprintf("Member %d", i)
		}
		u, err := s.CreateUser(ctx, "acme", u, token)
		require.NoError(t, err)
		users = append(users, u)
	}
	// Members named out of creation order; the answer is in creation order.
	reversed := func(n int) []string {
		out := make([]string, 0, n)
		for i := n - 1; i >= 0; i-- {
			out = append(out, users[i].ID)
		}
		return out
	}
	const limit = 5
	for _, n := range []int{0, 1, limit - 1, limit, limit + 1, 2*limit + 3} {
		g := newGroup(t, s, "acme", fmt.Sprintf("Size %d", n), reversed(n)...)
		full, err := s.GetGroup(ctx, "acme", g.ID, true)
		require.NoError(t, err)
		require.Len(t, full.Members, n)
		for _, l := range []int{limit, 1, 1000} {
			assert.Equal(t, full.Members, orEmpty(walkMembers(t, s, "acme", g.ID, l)), "%d members, limit %d", n, l)
		}
		chunk, _, err := s.GroupMembers(ctx, "other", g.ID, 0, limit)
		require.NoError(t, err)
		assert.Empty(t, chunk, "another tenant's group has no members")
	}

	// Members added by an update and by a Change (an import's) are in order too.
	g := newGroup(t, s, "acme", "Grown", users[7].ID)
	_, err := s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error {
		u.Add(users[9].ID, users[2].ID)
		return nil
	})
	require.NoError(t, err)
	imported := writeJoining(t, s, "acme", store.User{UserName: "imported@x.com", Active: true}, g.ID)
	writeJoining(t, s, "acme", store.User{UserName: users[0].UserName, Active: true}, g.ID)
	want := []string{users[0].ID, users[2].ID, users[7].ID, users[9].ID, imported.ID}
	got := walkMembers(t, s, "acme", g.ID, 2)
	gotIDs := make([]string, len(got))
	for i, m := range got {
		gotIDs[i] = m.UserID
	}
	assert.Equal(t, want, gotIDs)
	assert.Equal(t, store.Member{UserID: users[0].ID, Display: "Member 0"}, got[0], "display is displayName")
	assert.Equal(t, store.Member{UserID: users[2].ID, Display: users[2].UserName}, got[1], "else userName")

	for _, bad := range []string{"no-such-group", ""} {
		chunk, pos, err := s.GroupMembers(ctx, "acme", bad, 0, limit)
		require.NoError(t, err)
		assert.Empty(t, chunk)
		assert.Zero(t, pos)
	}
	chunk, _, err := s.GroupMembers(ctx, "nobody", g.ID, 0, limit)
	require.NoError(t, err)
	assert.Empty(t, chunk, "unknown tenant")
}

// testGroupMembersWalkWhileChanging: a walk of a group's members that the
// group changes under reads every member who stays throughout exactly once
// and in order, never one who left before the walk reached them, and never
// repeats anyone.
func testGroupMembersWalkWhileChanging(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 100)
	var all []string
	for i := range 12 {
		all = append(all, newUser(t, s, "acme", fmt.Sprintf("w%02d@x.com", i), true).ID)
	}
	g := newGroup(t, s, "acme", "Walked", all...)
	first, pos, err := s.GroupMembers(ctx, "acme", g.ID, 0, 4)
	require.NoError(t, err)
	require.Len(t, first, 4)

	late := newUser(t, s, "acme", "late@x.com", true)
	_, err = s.UpdateGroup(ctx, "acme", g.ID, token, func(u *store.GroupUpdate) error {
		u.Remove(all[1], all[6]) // one read already, one not yet
		u.Add(late.ID)
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, s.DeleteUser(ctx, "acme", all[9], token)) // not yet read

	seen := map[string]int{}
	var order []string
	for _, m := range first {
		seen[m.UserID]++
		order = append(order, m.UserID)
	}
	for {
		chunk, next, err := s.GroupMembers(ctx, "acme", g.ID, pos, 4)
		require.NoError(t, err)
		for _, m := range chunk {
			seen[m.UserID]++
			order = append(order, m.UserID)
		}
		if len(chunk) < 4 {
			break
		}
		pos = next
	}
	for id, n := range seen {
		assert.Equal(t, 1, n, "member %s read once", id)
	}
	assert.NotContains(t, seen, all[6], "left before the walk reached them")
	assert.NotContains(t, seen, all[9], "deleted before the walk reached them")
	var stayed []string
	for i, id := range all {
		if i != 1 && i != 6 && i != 9 {
			stayed = append(stayed, id)
			assert.Contains(t, seen, id, "stayed throughout")
		}
	}
	var stayedInOrder []string
	for _, id := range order {
		if id != all[1] && id != late.ID {
			stayedInOrder = append(stayedInOrder, id)
		}
	}
	assert.Equal(t, stayed, stayedInOrder, "in creation order")
}

func orEmpty(m []store.Member) []store.Member {
	if m == nil {
		return []store.Member{}
	}
	return m
}
