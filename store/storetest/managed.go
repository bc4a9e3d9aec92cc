package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// testManagedRoundTrip: who owns a user or a group (Managed, IdP) and when
// a manual change overrode the IdP (DriftedAt) are stored and read back
// alike; an unset owner is manual; a write that only hands a manual user or
// team to the IdP (what a SCIM write does) is a change: written, versioned,
// and readable at once; clearing the drift is a change too.
func testManagedRoundTrip(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	newTenant(t, s, "own", 100)

	manual := newUser(t, s, "own", "manual@x.com", true)
	assert.Equal(t, store.ManagedManual, store.ManagedOf(manual.Managed), "an unset owner is manual")
	got, err := s.GetUser(ctx, "own", manual.ID)
	require.NoError(t, err)
	assert.Equal(t, store.ManagedManual, store.ManagedOf(got.Managed))
	invited, err := s.CreateUser(ctx, "own", store.User{UserName: "invited@x.com", Managed: store.ManagedManual}, operator)
	require.NoError(t, err)
	assert.Equal(t, store.ManagedManual, invited.Managed)
	assert.Nil(t, got.DriftedAt)

	pushed, err := s.CreateUser(ctx, "own", store.User{UserName: "pushed@x.com", Active: true, Managed: store.ManagedSCIM, IdP: "okta"}, token)
	require.NoError(t, err)
	got, err = s.GetUser(ctx, "own", pushed.ID)
	require.NoError(t, err)
	assert.Equal(t, [2]string{store.ManagedSCIM, "okta"}, [2]string{got.Managed, got.IdP})

	_, err = s.CreateUser(ctx, "own", store.User{UserName: "odd@x.com", Managed: "ldap"}, token)
	assert.ErrorIs(t, err, store.ErrInvalid, "an unknown owner is refused")

	// A SCIM write takes a manual user over.
	taken, err := s.UpdateUser(ctx, "own", manual.ID, token, func(u *store.User) error {
		u.Managed, u.IdP = store.ManagedSCIM, "entra"
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, manual.Version+1, taken.Version, "handing the user to the IdP is a change")
	got, err = s.GetUser(ctx, "own", manual.ID)
	require.NoError(t, err)
	assert.Equal(t, [2]string{store.ManagedSCIM, "entra"}, [2]string{got.Managed, got.IdP})

	// Drift: set by a manual override, read back at the stores' precision, cleared again.
	at := clock.Now().Add(time.Minute)
	drifted, err := s.UpdateUser(ctx, "own", pushed.ID, operator, func(u *store.User) error {
		u.DisplayName, u.DriftedAt = "Changed by hand", &at
		return nil
	})
	require.NoError(t, err)
	got, err = s.GetUser(ctx, "own", pushed.ID)
	require.NoError(t, err)
	require.NotNil(t, got.DriftedAt)
	assert.True(t, got.DriftedAt.Equal(store.Timestamp(at)))
	assert.NotNil(t, drifted.DriftedAt)
	cleared, err := s.UpdateUser(ctx, "own", pushed.ID, token, func(u *store.User) error { u.DriftedAt = nil; return nil })
	require.NoError(t, err)
	assert.Nil(t, cleared.DriftedAt)
	assert.Equal(t, drifted.Version+1, cleared.Version, "clearing the drift is a change")

	// Groups.
	team := newGroup(t, s, "own", "Support")
	assert.Equal(t, store.ManagedManual, store.ManagedOf(team.Managed))
	g, err := s.CreateGroup(ctx, "own", store.Group{DisplayName: "Pushed", Managed: store.ManagedSCIM, IdP: "okta"}, token)
	require.NoError(t, err)
	got2, err := s.GetGroup(ctx, "own", g.ID, false)
	require.NoError(t, err)
	assert.Equal(t, [2]string{store.ManagedSCIM, "okta"}, [2]string{got2.Managed, got2.IdP})
	over, err := s.UpdateGroup(ctx, "own", team.ID, token, func(u *store.GroupUpdate) error {
		u.Group.Managed, u.Group.IdP = store.ManagedSCIM, "okta"
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, team.Version+1, over.Version, "handing the team to the IdP is a change")
	got2, err = s.GetGroup(ctx, "own", team.ID, false)
	require.NoError(t, err)
	assert.Equal(t, [2]string{store.ManagedSCIM, "okta"}, [2]string{got2.Managed, got2.IdP})
	list, err := s.UserGroups(ctx, "own", manual.ID)
	require.NoError(t, err)
	assert.Empty(t, list)
}

// testListPeople: ListPeople answers live users newest first, filtered by
// the attribute filter, team, owner and seat, in keyset pages that together
// list every match once, even while users are created between pages; an
// unknown tenant is ErrNotFound.
func testListPeople(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "ppl", 100)
	newTenant(t, s, "ppl-other", 100)
	var all []store.User
	for i, name := range []string{"ada@x.com", "bob@x.com", "cy@x.com", "dee@x.com", "eve@x.com"} {
		u := store.User{UserName: name, Active: i != 2, DisplayName: "Person " + name}
		if i%2 == 0 {
			u.Managed, u.IdP = store.ManagedSCIM, "okta"
		}
		created, err := s.CreateUser(ctx, "ppl", u, token)
		require.NoError(t, err)
		all = append(all, created)
	}
	newUser(t, s, "ppl-other", "zed@x.com", true)
	gone := newUser(t, s, "ppl", "gone@x.com", true)
	require.NoError(t, s.DeleteUser(ctx, "ppl", gone.ID, token))
	team := newGroup(t, s, "ppl", "Team", all[1].ID, all[3].ID)

	list := func(q store.PeopleQuery) []string {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 100
		}
		p, err := s.ListPeople(ctx, "ppl", q)
		require.NoError(t, err)
		var names []string
		for _, u := range p.Users {
			names = append(names, u.UserName)
		}
		return names
	}
	assert.Equal(t, []string{"eve@x.com", "dee@x.com", "cy@x.com", "bob@x.com", "ada@x.com"}, list(store.PeopleQuery{}))
	assert.Equal(t, []string{"dee@x.com", "bob@x.com"}, list(store.PeopleQuery{Team: team.ID}))
	assert.Empty(t, list(store.PeopleQuery{Team: "no-such-team"}))
	assert.Equal(t, []string{"eve@x.com", "cy@x.com", "ada@x.com"}, list(store.PeopleQuery{Managed: store.ManagedSCIM}))
	assert.Equal(t, []string{"dee@x.com", "bob@x.com"}, list(store.PeopleQuery{Managed: store.ManagedManual}))
	assert.Equal(t, []string{"cy@x.com"}, list(store.PeopleQuery{Seat: store.SeatNone}))
	assert.Equal(t, []string{"bob@x.com"}, list(store.PeopleQuery{Filter: store.Compare{Attr: "userName", Op: store.OpCo, Value: "OB"}}))
	assert.Equal(t, []string{"dee@x.com"}, list(store.PeopleQuery{Team: team.ID, Filter: store.Compare{Attr: "displayName", Op: store.OpSw, Value: "person d"}}))

	// Pages of two, with a user created between the pages: it is newer
	// than the cursor, so the walk neither repeats nor skips anyone.
	var walked []string
	var before store.UserPos
	for range 10 {
		p, err := s.ListPeople(ctx, "ppl", store.PeopleQuery{Limit: 2, Before: before})
		require.NoError(t, err)
		assert.LessOrEqual(t, len(p.Users), 2)
		for _, u := range p.Users {
			walked = append(walked, u.UserName)
		}
		if before == 0 {
			newUser(t, s, "ppl", "late@x.com", true)
		}
		if p.Next == 0 {
			break
		}
		before = p.Next
	}
	assert.Equal(t, []string{"eve@x.com", "dee@x.com", "cy@x.com", "bob@x.com", "ada@x.com"}, walked)
	p, err := s.ListPeople(ctx, "ppl", store.PeopleQuery{Limit: 5})
	require.NoError(t, err)
	assert.Len(t, p.Users, 5)
	assert.NotZero(t, p.Next, "a sixth user follows")

	_, err = s.ListPeople(ctx, "nope", store.PeopleQuery{Limit: 1})
	assert.ErrorIs(t, err, store.ErrNotFound)
}
