package storetest

// Store.Change's keyed reads and whole-user writes (store/change_keys.go):
// what the directory's import reads and asks written, alike on every
// backend.

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/store"
)

// writeJoining creates u, or leaves the live user holding its userName as
// it is, and adds the user to the teams, in one Change; it answers the user.
func writeJoining(t *testing.T, s store.Store, tenant string, u store.User, teams ...string) store.User {
	t.Helper()
	var p *store.Plan
	err := s.Change(ctx, tenant, store.Lock{UserNames: []string{u.UserName}, Teams: teams}, func(v *store.View) (*store.Plan, error) {
		w := store.UserWrite{After: u, Join: teams}
		if id, ok := v.Named[store.FoldKey(u.UserName)]; ok {
			old := v.Users[id]
			w.Before, w.After = &old, old
		}
		p = &store.Plan{By: store.ActorAdmin, Writes: []store.UserWrite{w}}
		return p, nil
	})
	require.NoError(t, err)
	return p.Writes[0].Written
}

func withEmails(userName string, emails ...store.MultiValue) store.User {
	return store.User{UserName: userName, Active: true, Emails: emails}
}

// testChangeKeyedReads: users found by userName (any case) and by email key
// (the primary address, else the first; deleted users never), teams by id
// and the view's users' memberships of them; a peek at the same keys.
func testChangeKeyedReads(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newTenant(t, s, "acme", 10)
	ann, err := s.CreateUser(ctx, "acme", withEmails("Ann", store.MultiValue{Value: "home@x.test"},
		store.MultiValue{Value: "Ann@X.test", Primary: true}), token)
	require.NoError(t, err)
	bob, err := s.CreateUser(ctx, "acme", withEmails("bob", store.MultiValue{Value: "ANN@x.test"}), token)
	require.NoError(t, err)
	gone, err := s.CreateUser(ctx, "acme", withEmails("gone", store.MultiValue{Value: "ann@x.test"}), token)
	require.NoError(t, err)
	require.NoError(t, s.DeleteUser(ctx, "acme", gone.ID, token))
	eng := newGroup(t, s, "acme", "Eng", bob.ID)
	ops := newGroup(t, s, "acme", "Ops")

	lock := store.Lock{UserNames: []string{"ANN", "nobody"}, EmailKeys: []string{"ann@x.test", "home@x.test", "none@x.test"},
		Teams: []string{ops.ID, eng.ID, "no-such-group"}}
	var v *store.View
	require.NoError(t, s.Change(ctx, "acme", lock, func(view *store.View) (*store.Plan, error) { v = view; return nil, nil }))
	assert.Equal(t, map[string]string{"ann": ann.ID}, v.Named)
	want := []string{ann.ID, bob.ID}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	assert.Equal(t, map[string][]string{"ann@x.test": want}, v.Emailed, "a secondary address is no key; id order")
	assert.Len(t, v.Users, 2)
	assert.Equal(t, "Ann", v.Users[ann.ID].UserName)
	assert.Equal(t, map[string]store.Group{
		eng.ID: {TenantID: "acme", ID: eng.ID, DisplayName: "Eng"},
		ops.ID: {TenantID: "acme", ID: ops.ID, DisplayName: "Ops"},
	}, v.Teams)
	assert.Equal(t, map[string][]string{bob.ID: {eng.ID}}, v.InTeams)

	// A peek says which keys are held, and reads no user.
	lock = store.Lock{UserNames: []string{"ANN", "gone", "nobody"}, EmailKeys: []string{"ann@x.test", "home@x.test"}, Peek: true}
	require.NoError(t, s.Change(ctx, "acme", lock, func(view *store.View) (*store.Plan, error) { v = view; return nil, nil }))
	assert.Equal(t, map[string]bool{"ann": true}, v.NamesHeld)
	assert.Equal(t, map[string]bool{"ann@x.test": true}, v.EmailsHeld)
	assert.Empty(t, v.Users)
	assert.Empty(t, v.Named)
}

// testChangeWrites: a plan's user writes are written as CreateUser and
// UpdateUser write them, with the teams they join, all or nothing.
func testChangeWrites(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	newCappedTenant(t, s, "acme", 3)
	eng := newGroup(t, s, "acme", "Eng")
	write := func(lock store.Lock, writes ...store.UserWrite) ([]store.UserWrite, error) {
		p := &store.Plan{By: store.ActorAdmin, Writes: writes}
		err := s.Change(ctx, "acme", lock, func(*store.View) (*store.Plan, error) { return p, nil })
		return p.Writes, err
	}

	// A creation joining a team.
	out, err := write(store.Lock{Teams: []string{eng.ID}},
		store.UserWrite{After: store.User{UserName: "ann@x.com", Active: true, ExplicitRole: "supervisor"}, Join: []string{eng.ID}})
	require.NoError(t, err)
	ann := out[0].Written
	assert.NotEmpty(t, ann.ID)
	assert.Equal(t, store.RoleSupervisor, ann.Role)
	assert.Equal(t, store.SeatFull, ann.Seat)
	assert.EqualValues(t, 1, ann.Version)
	g, err := s.GetGroup(ctx, "acme", eng.ID, true)
	require.NoError(t, err)
	assert.Equal(t, []string{ann.ID}, memberIDs(g))
	assert.EqualValues(t, 2, g.Version)
	assert.Equal(t, []string{"tenant.created", "group.created", "user.created", "group.updated"}, auditActions(t, s, "acme", store.EventQuery{}))

	// An update that changes nothing writes nothing.
	same := ann
	out, err = write(store.Lock{Users: []string{ann.ID}}, store.UserWrite{Before: &ann, After: same})
	require.NoError(t, err)
	assert.Equal(t, ann, out[0].Written)
	assert.Len(t, auditActions(t, s, "acme", store.EventQuery{}), 4)
	// An update, resolved and audited.
	upd := ann.Clone()
	upd.Title, upd.ExplicitRole = "Lead", "agent"
	out, err = write(store.Lock{Users: []string{ann.ID}}, store.UserWrite{Before: &ann, After: upd})
	require.NoError(t, err)
	assert.Equal(t, store.RoleAgent, out[0].Written.Role)
	assert.EqualValues(t, 2, out[0].Written.Version)
	got, err := s.GetUser(ctx, "acme", ann.ID)
	require.NoError(t, err)
	assert.Equal(t, "Lead", got.Title)

	// Several creations: all or nothing — the cap for all of them together,
	// a userName taken, or two of them with one userName.
	user := func(name string) store.UserWrite {
		return store.UserWrite{After: store.User{UserName: name, Active: true}}
	}
	_, err = write(store.Lock{}, user("b@x.com"), user("c@x.com"), user("d@x.com"))
	assert.ErrorIs(t, err, store.ErrSeatLimit)
	_, err = write(store.Lock{}, user("b@x.com"), user("ANN@x.com"))
	assert.ErrorIs(t, err, store.ErrConflict)
	_, err = write(store.Lock{}, user("b@x.com"), user("B@x.com"))
	assert.ErrorIs(t, err, store.ErrConflict)
	assert.Equal(t, store.SeatCounts{Full: 1}, counts(t, s, "acme"), "nothing written")
	_, err = s.GetUserByUserName(ctx, "acme", "b@x.com")
	assert.ErrorIs(t, err, store.ErrNotFound)
	out, err = write(store.Lock{}, user("b@x.com"), user("c@x.com"))
	require.NoError(t, err)
	assert.Equal(t, []string{"b@x.com", "c@x.com"}, []string{out[0].Written.UserName, out[1].Written.UserName})
	assert.Equal(t, store.SeatFull, out[1].Written.Seat)
	page, err := s.ListUsers(ctx, "acme", store.UserQuery{Count: 10})
	require.NoError(t, err)
	assert.Equal(t, []string{ann.ID, out[0].Written.ID, out[1].Written.ID}, ids(page.Users), "created in plan order")
	assert.Equal(t, counts(t, s, "acme"), replay(ledger(t, s, "acme")))

	// A creation whose userName is taken names who holds it.
	_, err = write(store.Lock{}, user("Ann@x.com"))
	var exists *store.UserExistsError
	assert.True(t, errors.As(err, &exists), "%v", err)
}
