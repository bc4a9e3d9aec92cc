package directory_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/storetest"
)

var operator = store.Actor{Kind: "admin", ID: "alice", RequestID: "req-7"}

func ptr[T any](v T) *T { return &v }

// pushedUser creates a user as the IdP okta pushes them.
func pushedUser(t *testing.T, s store.Store, tenant, userName string) store.User {
	t.Helper()
	u, err := s.CreateUser(ctx, tenant, store.User{UserName: userName, DisplayName: "Pushed " + userName, Active: true,
		Emails: []store.MultiValue{{Value: userName, Type: "work", Primary: true}}, Managed: store.ManagedSCIM, IdP: "okta"},
		store.Actor{Kind: "token", ID: "tok-1", Name: "okta"})
	require.NoError(t, err)
	return u
}

func allowOverrides(t *testing.T, s store.Store, tenant string) {
	t.Helper()
	_, err := directory.New(s).UpdateTenant(ctx, tenant, operator, func(tn *store.Tenant) error {
		tn.Settings.ManualOverrides = true
		return nil
	})
	require.NoError(t, err)
}

// TestChangePerson_idpManagedRefused: for a user the IdP pushes, a manual
// change of userName, emails, displayName or active is refused with a
// Conflict coded idp_managed that names the attribute and the IdP, and
// changes nothing; role and teams the IdP does not push stay editable.
func TestChangePerson_idpManagedRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open storetest.Factory) {
		s := open(t, storetest.NewClock().Now)
		roleTenant(t, s, "idp", 10, "")
		d := directory.New(s)
		u := pushedUser(t, s, "idp", "ann@x.com")
		team, err := d.CreateTeam(ctx, "idp", "Support", operator)
		require.NoError(t, err)

		for attr, c := range map[string]directory.PersonChange{
			"userName":    {UserName: ptr("ann.lee@x.com")},
			"emails":      {Email: ptr("ann.lee@x.com")},
			"displayName": {DisplayName: ptr("Ann by hand")},
			"active":      {Active: ptr(false)},
		} {
			_, err := d.ChangePerson(ctx, "idp", u.ID, c, operator)
			var managed *directory.IdPManagedError
			require.ErrorAs(t, err, &managed, attr)
			f := store.FaultOf(err)
			assert.Equal(t, store.KindConflict, f.Kind, attr)
			assert.Equal(t, store.CodeIdPManaged, f.Code, attr)
			assert.Equal(t, attr+" is managed by the IdP okta; change it there, or set the tenant setting manual_overrides to true", f.Message)
		}
		got, err := s.GetUser(ctx, "idp", u.ID)
		require.NoError(t, err)
		assert.Equal(t, u.Version, got.Version, "nothing was written")

		// Setting what the user already has is no change of the IdP's data.
		_, err = d.ChangePerson(ctx, "idp", u.ID, directory.PersonChange{DisplayName: ptr(u.DisplayName), Active: ptr(true),
			Role: ptr("supervisor"), Teams: &[]string{team.ID}}, operator)
		require.NoError(t, err)
		got, err = s.GetUser(ctx, "idp", u.ID)
		require.NoError(t, err)
		assert.Equal(t, "supervisor", got.Role)
		assert.Nil(t, got.DriftedAt, "a role change is no drift")
		groups, err := s.UserGroups(ctx, "idp", u.ID)
		require.NoError(t, err)
		require.Len(t, groups, 1)
		assert.Equal(t, "Support", groups[0].DisplayName)
	})
}

// TestChangePerson_overrideMarksDrift: with manual_overrides on, the change
// is made, audited with the admin as the actor, and the user is marked
// drifted at the time of the change.
func TestChangePerson_overrideMarksDrift(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open storetest.Factory) {
		clock := storetest.NewClock()
		s := open(t, clock.Now)
		roleTenant(t, s, "ovr", 10, "")
		allowOverrides(t, s, "ovr")
		d := directory.New(s).WithClock(clock.Now)
		u := pushedUser(t, s, "ovr", "bo@x.com")

		changed, err := d.ChangePerson(ctx, "ovr", u.ID, directory.PersonChange{DisplayName: ptr("Bo by hand"), Active: ptr(false)}, operator)
		require.NoError(t, err)
		assert.Equal(t, "Bo by hand", changed.DisplayName)
		assert.False(t, changed.Active)
		assert.Equal(t, store.SeatNone, changed.Seat, "deactivation releases the seat")
		got, err := s.GetUser(ctx, "ovr", u.ID)
		require.NoError(t, err)
		require.NotNil(t, got.DriftedAt)
		assert.True(t, got.DriftedAt.Equal(store.Timestamp(clock.Now())))
		assert.Equal(t, store.ManagedSCIM, got.Managed, "the IdP still owns the user")

		events, err := s.ListAudit(ctx, "ovr", store.EventQuery{UserID: u.ID, Limit: 1})
		require.NoError(t, err)
		require.Len(t, events, 1)
		assert.Equal(t, "user.updated", events[0].Action)
		assert.Equal(t, operator.ID, events[0].Actor.ID)
		assert.Contains(t, events[0].After, `"driftedAt"`)
	})
}

// TestInvite_capAndConflicts: an invitation is an active, manual user with
// the role asked; beyond the cap it is refused with the seat numbers and
// nothing is created; a taken userName names the role its holder has; an
// unknown team or a role group refuses the invitation before anything is
// written.
func TestInvite_capAndConflicts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open storetest.Factory) {
		s := open(t, storetest.NewClock().Now)
		roleTenant(t, s, "inv", 2, "", store.RoleMapping{Group: "Supervisors", Role: "supervisor"})
		d := directory.New(s)
		team, err := d.CreateTeam(ctx, "inv", "Night shift", operator)
		require.NoError(t, err)
		roleGroup := newGroup(t, s, "inv", "Supervisors")

		ann, err := d.Invite(ctx, "inv", directory.Invitation{UserName: "ann@x.com", Email: "ann@x.com", DisplayName: "Ann",
			Role: "Supervisor", Teams: []string{team.ID}}, operator)
		require.NoError(t, err)
		assert.True(t, ann.Active)
		assert.Equal(t, "supervisor", ann.Role)
		assert.Equal(t, store.SeatFull, ann.Seat)
		assert.Equal(t, store.ManagedManual, ann.Managed)
		groups, err := s.UserGroups(ctx, "inv", ann.ID)
		require.NoError(t, err)
		require.Len(t, groups, 1)
		assert.Equal(t, team.ID, groups[0].ID)

		_, err = d.Invite(ctx, "inv", directory.Invitation{UserName: "ANN@x.com", Role: "agent"}, operator)
		assert.Equal(t, store.CodeUserExists, store.FaultOf(err).Code)
		assert.Contains(t, err.Error(), `role "supervisor"`)

		for name, teams := range map[string][]string{"unknown team": {"nope"}, "role group": {roleGroup.ID}} {
			_, err = d.Invite(ctx, "inv", directory.Invitation{UserName: "cy@x.com", Teams: teams}, operator)
			require.Error(t, err, name)
			_, err = s.GetUserByUserName(ctx, "inv", "cy@x.com")
			assert.ErrorIs(t, err, store.ErrNotFound, name+": nothing created")
		}

		_, err = d.Invite(ctx, "inv", directory.Invitation{UserName: "bo@x.com"}, operator)
		require.NoError(t, err)
		_, err = d.Invite(ctx, "inv", directory.Invitation{UserName: "cy@x.com"}, operator)
		var limit *store.SeatLimitError
		require.ErrorAs(t, err, &limit)
		assert.Equal(t, "2 of 2 seats are in use on tenant inv; raise the seat count or deactivate a user", err.Error())
		_, err = s.GetUserByUserName(ctx, "inv", "cy@x.com")
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.Equal(t, store.SeatCounts{Full: 2}, counts(t, s, "inv"))
	})
}

// TestTeams_rules: a role group is never written as a team (409 naming its
// role); a team the IdP pushed keeps its name, members and existence unless
// overrides are allowed; a manual team is the admins' to change.
func TestTeams_rules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open storetest.Factory) {
		s := open(t, storetest.NewClock().Now)
		roleTenant(t, s, "tm", 10, "", store.RoleMapping{Group: "Supervisors", Role: "supervisor"})
		d := directory.New(s)
		ann := userNamed(t, s, "tm", "ann@x.com", "")
		roleGroup := newGroup(t, s, "tm", "Supervisors")
		pushed, err := s.CreateGroup(ctx, "tm", store.Group{DisplayName: "Okta team", Managed: store.ManagedSCIM, IdP: "okta"}, token)
		require.NoError(t, err)

		_, err = d.CreateTeam(ctx, "tm", "supervisors", operator)
		var rg *directory.RoleGroupError
		require.ErrorAs(t, err, &rg)
		assert.Equal(t, store.CodeRoleGroup, store.FaultOf(err).Code)
		assert.Contains(t, err.Error(), "role supervisor")
		assert.Contains(t, err.Error(), "change the role mappings instead")
		writes := map[string]func(id string) error{
			"rename": func(id string) error { _, err := d.RenameTeam(ctx, "tm", id, "Renamed", operator); return err },
			"add": func(id string) error {
				_, err := d.AddTeamMembers(ctx, "tm", id, []string{ann.ID}, operator)
				return err
			},
			"remove": func(id string) error {
				_, err := d.RemoveTeamMembers(ctx, "tm", id, []string{ann.ID}, operator)
				return err
			},
			"delete": func(id string) error { return d.DeleteTeam(ctx, "tm", id, operator) },
		}
		for name, write := range writes {
			assert.ErrorAs(t, write(roleGroup.ID), &rg, name)
			err := write(pushed.ID)
			var managed *directory.IdPManagedError
			require.ErrorAs(t, err, &managed, name)
			assert.Contains(t, err.Error(), `team "Okta team"`)
			assert.Contains(t, err.Error(), "the IdP okta")
		}
		got, err := s.GetGroup(ctx, "tm", pushed.ID, true)
		require.NoError(t, err)
		assert.Equal(t, pushed.Version, got.Version, "nothing was written")

		// A manual team: every write, each audited with the admin.
		team, err := d.CreateTeam(ctx, "tm", "Day shift", operator)
		require.NoError(t, err)
		_, err = d.AddTeamMembers(ctx, "tm", team.ID, []string{ann.ID}, operator)
		require.NoError(t, err)
		_, err = d.AddTeamMembers(ctx, "tm", team.ID, []string{"ghost"}, operator)
		assert.Equal(t, store.CodeUnknownMembers, store.FaultOf(err).Code)
		renamed, err := d.RenameTeam(ctx, "tm", team.ID, "Early shift", operator)
		require.NoError(t, err)
		assert.Equal(t, "Early shift", renamed.DisplayName)
		assert.Equal(t, 1, renamed.MemberCount)
		_, err = d.RemoveTeamMembers(ctx, "tm", team.ID, []string{ann.ID}, operator)
		require.NoError(t, err)
		require.NoError(t, d.DeleteTeam(ctx, "tm", team.ID, operator))
		actions := auditActions(t, s, "tm", store.EventQuery{ActorID: operator.ID})
		assert.Equal(t, []string{"group.created", "group.updated", "group.updated", "group.updated", "group.deleted"}, actions)

		// With overrides allowed, the pushed team is changed by hand.
		allowOverrides(t, s, "tm")
		_, err = d.AddTeamMembers(ctx, "tm", pushed.ID, []string{ann.ID}, operator)
		require.NoError(t, err)
		require.NoError(t, d.DeleteTeam(ctx, "tm", pushed.ID, operator))
		assert.ErrorAs(t, writes["rename"](roleGroup.ID), &rg, "a role group stays the mappings' even then")
	})
}
