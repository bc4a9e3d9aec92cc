package storetest

// Role resolution: every backend resolves a user's one role in the
// transaction of the change that moves it.

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
)

// roleTenant creates a tenant with a light custom role "auditor", a
// privileged custom role "owner", and the mappings given.
func roleTenant(t *testing.T, s store.Store, id string, seats int, policy string, mappings ...store.RoleMapping) {
	t.Helper()
	newCappedTenant(t, s, id, seats)
	if policy != "" {
		_, err := directory.New(s).UpdateTenant(ctx, id, store.ActorAdmin, func(tn *store.Tenant) error { tn.Settings.PrivilegedRoles = policy; return nil })
		require.NoError(t, err)
	}
	_, err := s.CreateRole(ctx, id, store.Role{Name: "auditor", Permissions: []string{"reporting.view_org"}, SeatClass: store.SeatLight}, store.ActorAdmin)
	require.NoError(t, err)
	_, err = s.CreateRole(ctx, id, store.Role{Name: "owner", Permissions: []string{"billing.manage"}, Privileged: true}, store.ActorAdmin)
	require.NoError(t, err)
	require.NoError(t, directory.New(s).PutRoleMappings(ctx, id, mappings, store.ActorAdmin))
}

func roleOf(t *testing.T, s store.Store, tenant, id string) (string, store.SeatClass) {
	t.Helper()
	u, err := s.GetUser(ctx, tenant, id)
	require.NoError(t, err)
	return u.Role, u.Seat
}

func userNamed(t *testing.T, s store.Store, tenant, userName string, explicit string) store.User {
	t.Helper()
	u, err := s.CreateUser(ctx, tenant, store.User{UserName: userName, Active: true, ExplicitRole: explicit}, token)
	require.NoError(t, err)
	return u
}

func auditActions(t *testing.T, s store.Store, tenant string, q store.EventQuery) []string {
	t.Helper()
	q.Limit = 1000
	events, err := s.ListAudit(ctx, tenant, q)
	require.NoError(t, err)
	var out []string
	for i := len(events) - 1; i >= 0; i-- {
		out = append(out, events[i].Action)
	}
	return out
}

// testRoleResolution: explicit role beats a mapping, which beats the default;
// group changes of a mapped group, deleting it, and new mappings re-resolve
// at once, with seat moves.
func testRoleResolution(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	roleTenant(t, s, "acme", 10, "", store.RoleMapping{Group: "Leads", Role: "supervisor"}, store.RoleMapping{Group: "Auditors", Role: "auditor"})

	ann := userNamed(t, s, "acme", "ann@x.com", "")
	assert.Equal(t, store.RoleAgent, ann.Role, "no attribute, no group: the default role")
	assert.Equal(t, "", ann.ExplicitRole)
	bob := userNamed(t, s, "acme", "bob@x.com", "Supervisor")
	assert.Equal(t, store.RoleSupervisor, bob.Role)
	assert.Equal(t, store.RoleSupervisor, bob.ExplicitRole, "stored canonical")

	// Joining a mapped group re-resolves at once; the seat moves full → light.
	aud := newGroup(t, s, "acme", "Auditors", ann.ID, bob.ID)
	role, seat := roleOf(t, s, "acme", ann.ID)
	assert.Equal(t, "auditor", role)
	assert.Equal(t, store.SeatLight, seat)
	role, _ = roleOf(t, s, "acme", bob.ID)
	assert.Equal(t, store.RoleSupervisor, role, "an explicit role beats a mapping")
	assert.Equal(t, store.SeatCounts{Full: 1, Light: 1}, counts(t, s, "acme"))

	// A second mapped group earlier in precedence wins.
	leads := newGroup(t, s, "acme", "Leads")
	_, err := s.UpdateGroup(ctx, "acme", leads.ID, token, func(g *store.GroupUpdate) error { g.Add(ann.ID); return nil })
	require.NoError(t, err)
	role, seat = roleOf(t, s, "acme", ann.ID)
	assert.Equal(t, store.RoleSupervisor, role)
	assert.Equal(t, store.SeatFull, seat)

	// Leaving it falls back to the next mapping.
	_, err = s.UpdateGroup(ctx, "acme", leads.ID, token, func(g *store.GroupUpdate) error { g.Remove(ann.ID); return nil })
	require.NoError(t, err)
	role, _ = roleOf(t, s, "acme", ann.ID)
	assert.Equal(t, "auditor", role)

	// Removing bob's explicit role falls back to the mapping.
	bob, err = s.UpdateUser(ctx, "acme", bob.ID, token, func(u *store.User) error { u.ExplicitRole = ""; return nil })
	require.NoError(t, err)
	assert.Equal(t, "auditor", bob.Role)
	assert.Equal(t, store.SeatLight, bob.Seat)

	// Replace on the mapped group: who leaves re-resolves.
	_, err = s.UpdateGroup(ctx, "acme", aud.ID, token, func(g *store.GroupUpdate) error { g.Replace(bob.ID); return nil })
	require.NoError(t, err)
	role, _ = roleOf(t, s, "acme", ann.ID)
	assert.Equal(t, store.RoleAgent, role)

	// Renaming a mapped group away from its mapping re-resolves its members.
	_, err = s.UpdateGroup(ctx, "acme", aud.ID, token, func(g *store.GroupUpdate) error { g.Group.DisplayName = "Former auditors"; return nil })
	require.NoError(t, err)
	role, _ = roleOf(t, s, "acme", bob.ID)
	assert.Equal(t, store.RoleAgent, role)
	_, err = s.UpdateGroup(ctx, "acme", aud.ID, token, func(g *store.GroupUpdate) error { g.Group.DisplayName = "auditors"; return nil })
	require.NoError(t, err)
	role, _ = roleOf(t, s, "acme", bob.ID)
	assert.Equal(t, "auditor", role, "group names match mappings case-insensitively")

	// Deleting a role group re-resolves its members.
	require.NoError(t, s.DeleteGroup(ctx, "acme", aud.ID, token))
	role, seat = roleOf(t, s, "acme", bob.ID)
	assert.Equal(t, store.RoleAgent, role)
	assert.Equal(t, store.SeatFull, seat)

	// New mappings re-resolve the members of the groups they name.
	newGroup(t, s, "acme", "Night shift", ann.ID)
	require.NoError(t, directory.New(s).PutRoleMappings(ctx, "acme", []store.RoleMapping{{Group: "Night Shift", Role: "Auditor"}}, store.ActorAdmin))
	role, _ = roleOf(t, s, "acme", ann.ID)
	assert.Equal(t, "auditor", role)
	got, err := s.GetRoleMappings(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, []store.RoleMapping{{Group: "Night Shift", Role: "auditor"}}, got, "roles stored canonical")
	require.NoError(t, directory.New(s).PutRoleMappings(ctx, "acme", nil, store.ActorAdmin))
	role, _ = roleOf(t, s, "acme", ann.ID)
	assert.Equal(t, store.RoleAgent, role)

	// A new default role moves, at once, the users who held the old one by default.
	carl := userNamed(t, s, "acme", "carl@x.com", "supervisor")
	_, err = directory.New(s).UpdateTenant(ctx, "acme", store.ActorAdmin, func(tn *store.Tenant) error { tn.Settings.DefaultRole = "auditor"; return nil })
	require.NoError(t, err)
	for id, want := range map[string]string{ann.ID: "auditor", bob.ID: "auditor", carl.ID: store.RoleSupervisor} {
		role, _ := roleOf(t, s, "acme", id)
		assert.Equal(t, want, role)
	}
	_, seat = roleOf(t, s, "acme", ann.ID)
	assert.Equal(t, store.SeatLight, seat)
	// New users get the new default at once, and the old one again after it changes back.
	assert.Equal(t, "auditor", userNamed(t, s, "acme", "dee@x.com", "").Role)
	_, err = directory.New(s).UpdateTenant(ctx, "acme", store.ActorAdmin, func(tn *store.Tenant) error { tn.Settings.DefaultRole = store.RoleAgent; return nil })
	require.NoError(t, err)
	assert.Equal(t, store.RoleAgent, userNamed(t, s, "acme", "eve@x.com", "").Role)
	assert.Equal(t, store.RoleAgent, userNamed(t, s, "acme", "fay@x.com", "").Role)
	_, err = directory.New(s).UpdateTenant(ctx, "acme", store.ActorAdmin, func(tn *store.Tenant) error { tn.Settings.DefaultRole = store.RoleSupervisor; return nil })
	require.NoError(t, err)
	assert.Equal(t, store.RoleSupervisor, userNamed(t, s, "acme", "gus@x.com", "").Role, "a cached default that moved is caught")
	c := counts(t, s, "acme")
	assert.Equal(t, c, replay(ledger(t, s, "acme")), "the ledger replays to the counters")
	assert.Contains(t, auditActions(t, s, "acme", store.EventQuery{UserID: ann.ID}), "user.updated")
}

func counts(t *testing.T, s store.Store, tenant string) store.SeatCounts {
	t.Helper()
	c, err := s.SeatCounts(ctx, tenant)
	require.NoError(t, err)
	return c
}

// testRoleErrors: an unknown role, a bad mapping, a refused privileged role
// change nothing.
func testRoleErrors(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	roleTenant(t, s, "acme", 10, "")
	before := len(auditActions(t, s, "acme", store.EventQuery{}))

	_, err := s.CreateUser(ctx, "acme", store.User{UserName: "x@x.com", Active: true, ExplicitRole: "wizard"}, token)
	var unknown *store.UnknownRoleError
	require.ErrorAs(t, err, &unknown)
	assert.Equal(t, "wizard", unknown.Role)
	assert.Equal(t, []string{"admin", "supervisor", "agent", "auditor", "owner"}, unknown.Known)
	_, err = s.GetUserByUserName(ctx, "acme", "x@x.com")
	assert.ErrorIs(t, err, store.ErrNotFound, "nothing created")

	u := userNamed(t, s, "acme", "ann@x.com", "")
	before = len(auditActions(t, s, "acme", store.EventQuery{}))
	_, err = s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { x.ExplicitRole = "Wizard"; x.Title = "changed"; return nil })
	require.ErrorAs(t, err, &unknown)
	got, err := s.GetUser(ctx, "acme", u.ID)
	require.NoError(t, err)
	assert.Equal(t, u, got, "nothing changed")

	// Privileged over SCIM: refused by default, with directions.
	_, err = s.UpdateUser(ctx, "acme", u.ID, token, func(x *store.User) error { x.ExplicitRole = "admin"; return nil })
	var priv *store.PrivilegedRoleError
	require.ErrorAs(t, err, &priv)
	assert.Contains(t, err.Error(), "PATCH /admin/v1/tenants/acme")
	_, err = s.CreateUser(ctx, "acme", store.User{UserName: "o@x.com", Active: true, ExplicitRole: "owner"}, token)
	require.ErrorAs(t, err, &priv, "custom privileged roles too")
	got, err = s.GetUser(ctx, "acme", u.ID)
	require.NoError(t, err)
	assert.Equal(t, u, got)

	// Mappings: unknown role, duplicate group, empty group.
	for _, bad := range [][]store.RoleMapping{
		{{Group: "Leads", Role: "wizard"}},
		{{Group: "Leads", Role: "agent"}, {Group: "leads", Role: "supervisor"}},
		{{Group: " ", Role: "agent"}},
	} {
		err := directory.New(s).PutRoleMappings(ctx, "acme", bad, store.ActorAdmin)
		assert.ErrorIs(t, err, store.ErrInvalid, "%v", bad)
	}
	m, err := s.GetRoleMappings(ctx, "acme")
	require.NoError(t, err)
	assert.Empty(t, m)
	assert.Len(t, auditActions(t, s, "acme", store.EventQuery{}), before, "no audit event for a refused change")

	// Custom role names: lower-case, not a built-in.
	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "Admin"}, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrInvalid)
	_, err = s.CreateRole(ctx, "acme", store.Role{Name: "admin"}, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrConflict)
}

// testDeleteRoleReplacement: holders (explicit and mapped) move to the
// replacement, mappings follow, the default role cannot go.
func testDeleteRoleReplacement(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	roleTenant(t, s, "acme", 10, "", store.RoleMapping{Group: "Auditors", Role: "auditor"})
	ann := userNamed(t, s, "acme", "ann@x.com", "auditor")
	bob := userNamed(t, s, "acme", "bob@x.com", "")
	newGroup(t, s, "acme", "Auditors", bob.ID)

	err := directory.New(s).DeleteRole(ctx, "acme", "auditor", "", store.ActorAdmin)
	var inUse *store.RoleInUseError
	require.ErrorAs(t, err, &inUse)
	assert.Equal(t, 2, inUse.Users)
	err = directory.New(s).DeleteRole(ctx, "acme", "auditor", "wizard", store.ActorAdmin)
	var unknown *store.UnknownRoleError
	require.ErrorAs(t, err, &unknown)

	require.NoError(t, directory.New(s).DeleteRole(ctx, "acme", "auditor", "supervisor", store.ActorAdmin))
	for _, id := range []string{ann.ID, bob.ID} {
		role, seat := roleOf(t, s, "acme", id)
		assert.Equal(t, store.RoleSupervisor, role)
		assert.Equal(t, store.SeatFull, seat)
	}
	got, err := s.GetUser(ctx, "acme", ann.ID)
	require.NoError(t, err)
	assert.Equal(t, store.RoleSupervisor, got.ExplicitRole)
	got, err = s.GetUser(ctx, "acme", bob.ID)
	require.NoError(t, err)
	assert.Equal(t, "", got.ExplicitRole, "a mapped holder stays mapped")
	m, err := s.GetRoleMappings(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, []store.RoleMapping{{Group: "Auditors", Role: "supervisor"}}, m)
	assert.Equal(t, counts(t, s, "acme"), replay(ledger(t, s, "acme")))

	_, err = directory.New(s).UpdateTenant(ctx, "acme", store.ActorAdmin, func(tn *store.Tenant) error { tn.Settings.DefaultRole = "owner"; return nil })
	require.NoError(t, err)
	assert.ErrorIs(t, directory.New(s).DeleteRole(ctx, "acme", "owner", "agent", store.ActorAdmin), store.ErrInvalid)

	// A seat-class change of a role moves its holders' seats.
	carl := userNamed(t, s, "acme", "carl@x.com", "")
	assert.Equal(t, "owner", carl.Role, "the tenant's default role")
	_, err = directory.New(s).UpdateRole(ctx, "acme", "owner", store.ActorAdmin, func(r *store.Role) error { r.SeatClass = store.SeatLight; return nil })
	require.NoError(t, err)
	_, seat := roleOf(t, s, "acme", carl.ID)
	assert.Equal(t, store.SeatLight, seat)
	assert.Equal(t, counts(t, s, "acme"), replay(ledger(t, s, "acme")))
}

// testRoleRace proves that concurrent membership changes of mapped groups
// (adds, removes, moves), replacements of the mappings themselves and user
// writes leave each user with the role the final memberships and mappings
// imply, and seat counters that match the ledger.
func testRoleRace(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	mappings := []store.RoleMapping{{Group: "Leads", Role: "supervisor"}, {Group: "Auditors", Role: "auditor"}}
	swapped := []store.RoleMapping{{Group: "Auditors", Role: "auditor"}, {Group: "Eng", Role: "supervisor"}}
	roleTenant(t, s, "acme", 100, "", mappings...)
	const nUsers = 10
	var users []string
	for i := range nUsers {
		users = append(users, userNamed(t, s, "acme", fmt.Sprintf("u%02d@x.com", i), "").ID)
	}
	groups := []string{newGroup(t, s, "acme", "Leads").ID, newGroup(t, s, "acme", "Auditors").ID, newGroup(t, s, "acme", "Eng").ID}

	const rounds, workers = 4, 8
	for round := range rounds {
		var mu sync.Mutex
		rng := rand.New(rand.NewPCG(uint64(round), 42))
		pick := func() []string {
			mu.Lock()
			defer mu.Unlock()
			var out []string
			for _, u := range users {
				if rng.IntN(3) == 0 {
					out = append(out, u)
				}
			}
			return out
		}
		kinds := make([]int, workers)
		targets := make([]string, workers)
		sets := make([][]string, workers)
		for i := range workers {
			kinds[i], targets[i], sets[i] = rng.IntN(6), groups[rng.IntN(len(groups))], pick()
		}
		errs := parallel(workers, func(i int) error {
			switch kinds[i] {
			case 0, 1:
				_, err := s.UpdateGroup(ctx, "acme", targets[i], token, func(g *store.GroupUpdate) error { g.Add(sets[i]...); return nil })
				return err
			case 2:
				_, err := s.UpdateGroup(ctx, "acme", targets[i], token, func(g *store.GroupUpdate) error { g.Remove(sets[i]...); return nil })
				return err
			case 3:
				_, err := s.UpdateGroup(ctx, "acme", targets[i], token, func(g *store.GroupUpdate) error {
					g.Remove(sets[i]...)
					g.Add(sets[(i+1)%workers]...)
					return nil
				})
				return err
			case 4:
				m := mappings
				if i%2 == 1 {
					m = swapped
				}
				return directory.New(s).PutRoleMappings(ctx, "acme", m, store.ActorAdmin)
			default:
				if len(sets[i]) == 0 {
					return nil
				}
				_, err := s.UpdateUser(ctx, "acme", sets[i][0], token, func(u *store.User) error { u.Title = fmt.Sprint(i); return nil })
				return err
			}
		})
		for _, err := range errs {
			require.NoError(t, err)
		}
	}

	// Every user holds the role the final memberships and mappings imply.
	final, err := s.GetRoleMappings(ctx, "acme")
	require.NoError(t, err)
	want := store.SeatCounts{}
	for _, id := range users {
		gs, err := s.UserGroups(ctx, "acme", id)
		require.NoError(t, err)
		var names []string
		for _, g := range gs {
			names = append(names, g.DisplayName)
		}
		expect := store.ResolveRole("", names, final, store.RoleAgent)
		role, seat := roleOf(t, s, "acme", id)
		assert.Equal(t, expect.Role, role, "user %s in %v", id, names)
		if expect.Role == "auditor" {
			assert.Equal(t, store.SeatLight, seat)
			want.Light++
		} else {
			assert.Equal(t, store.SeatFull, seat)
			want.Full++
		}
	}
	assert.Equal(t, want, counts(t, s, "acme"))
	assert.Equal(t, want, replay(ledger(t, s, "acme")))
}

// testDeleteRoleRace proves that deleting a role with a replacement while
// users are being given it, or its holders are being written, leaves nobody
// holding a role that is gone, and that every refused write is a refusal
// (the role is gone), never a failure.
func testDeleteRoleRace(t *testing.T, open Factory) {
	s := open(t, NewClock().Now)
	roleTenant(t, s, "acme", 100, "")
	_, err := s.CreateRole(ctx, "acme", store.Role{Name: "temp", Permissions: []string{"teams.view"}}, store.ActorAdmin)
	require.NoError(t, err)
	var users []string
	for i := range 8 {
		role := ""
		if i%2 == 0 {
			role = "temp"
		}
		users = append(users, userNamed(t, s, "acme", fmt.Sprintf("u%d@x.com", i), role).ID)
	}
	errs := parallel(len(users)+1, func(i int) error {
		if i == len(users) {
			return directory.New(s).DeleteRole(ctx, "acme", "temp", store.RoleSupervisor, store.ActorAdmin)
		}
		_, err := s.UpdateUser(ctx, "acme", users[i], token, func(u *store.User) error {
			if i%2 == 0 {
				u.Title = "still a holder"
			} else {
				u.ExplicitRole = "temp"
			}
			return nil
		})
		return err
	})
	require.NoError(t, errs[len(users)], "the delete")
	for i, err := range errs[:len(users)] {
		if err != nil {
			var unknown *store.UnknownRoleError
			assert.ErrorAs(t, err, &unknown, "user %d: only a refusal naming the gone role", i)
		}
	}
	for _, id := range users {
		u, err := s.GetUser(ctx, "acme", id)
		require.NoError(t, err)
		assert.NotEqual(t, "temp", u.Role)
		assert.NotEqual(t, "temp", u.ExplicitRole)
	}
	assert.Equal(t, counts(t, s, "acme"), replay(ledger(t, s, "acme")))
}
