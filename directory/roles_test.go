package directory_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/storetest"
)

// approval queue, and an audit event for every privileged grant.
func TestPrivilegedRoles(t *testing.T) {
	forEachBackend(t, testPrivilegedRoles)
}

func testPrivilegedRoles(t *testing.T, open storetest.Factory) {
	s := open(t, storetest.NewClock().Now)
	d := directory.New(s)
	roleTenant(t, s, "allow", 10, store.PrivilegedAllow)
	u, err := s.CreateUser(ctx, "allow", store.User{UserName: "a@x.com", Active: true, ExplicitRole: "admin"}, token)
	require.NoError(t, err)
	assert.Equal(t, store.RoleAdmin, u.Role)
	assert.Contains(t, auditActions(t, s, "allow", store.EventQuery{UserID: u.ID}), "role.privileged_granted")

	roleTenant(t, s, "acme", 10, store.PrivilegedApprove, store.RoleMapping{Group: "Admins", Role: "admin"})
	ann, err := s.CreateUser(ctx, "acme", store.User{UserName: "ann@x.com", Active: true, ExplicitRole: "owner"}, token)
	require.NoError(t, err)
	assert.Equal(t, store.RoleAgent, ann.Role, "the default role until approved")
	assert.Equal(t, "", ann.ExplicitRole)
	// The IdP re-sends the attribute: still one pending approval.
	ann, err = s.UpdateUser(ctx, "acme", ann.ID, token, func(x *store.User) error { x.ExplicitRole = "owner"; return nil })
	require.NoError(t, err)
	assert.Equal(t, store.RoleAgent, ann.Role)
	pending, err := s.ListApprovals(ctx, "acme", store.ApprovalPending)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	a := pending[0]
	assert.Equal(t, ann.ID, a.UserID)
	assert.Equal(t, "owner", a.Role)
	assert.Equal(t, store.ApprovalPending, a.Status)
	assert.Equal(t, "acme", a.TenantID)
	assert.Equal(t, token.Kind, a.RequestedBy.Kind)
	assert.Equal(t, token.ID, a.RequestedBy.ID)

	approved, err := d.DecideApproval(ctx, "acme", a.ID, true, store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, store.ApprovalApproved, approved.Status)
	require.NotNil(t, approved.DecidedAt)
	got, err := s.GetUser(ctx, "acme", ann.ID)
	require.NoError(t, err)
	assert.Equal(t, "owner", got.Role)
	assert.Equal(t, "owner", got.ExplicitRole)
	_, err = d.DecideApproval(ctx, "acme", a.ID, true, store.ActorAdmin)
	var decided *store.ApprovalDecidedError
	require.ErrorAs(t, err, &decided)
	_, err = d.DecideApproval(ctx, "acme", "nope", true, store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrNotFound)
	actions := auditActions(t, s, "acme", store.EventQuery{UserID: ann.ID})
	assert.Contains(t, actions, "role.approval_requested")
	assert.Contains(t, actions, "role.approval_approved")
	assert.Contains(t, actions, "role.privileged_granted")

	// Rejected: nothing changes for the user.
	bob, err := s.CreateUser(ctx, "acme", store.User{UserName: "bob@x.com", Active: true, ExplicitRole: "admin"}, token)
	require.NoError(t, err)
	pending, err = s.ListApprovals(ctx, "acme", store.ApprovalPending)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	rejected, err := d.DecideApproval(ctx, "acme", pending[0].ID, false, store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, store.ApprovalRejected, rejected.Status)
	role, _ := roleOf(t, s, "acme", bob.ID)
	assert.Equal(t, store.RoleAgent, role)
	// The IdP sends it again: a refused grant is not asked for again.
	_, err = s.UpdateUser(ctx, "acme", bob.ID, token, func(x *store.User) error { x.ExplicitRole = "admin"; return nil })
	require.NoError(t, err)
	pending, err = s.ListApprovals(ctx, "acme", store.ApprovalPending)
	require.NoError(t, err)
	assert.Empty(t, pending)

	// A mapped privileged role is the operator's decision: granted, audited.
	newGroup(t, s, "acme", "Admins", bob.ID)
	role, _ = roleOf(t, s, "acme", bob.ID)
	assert.Equal(t, store.RoleAdmin, role)
	assert.Contains(t, auditActions(t, s, "acme", store.EventQuery{UserID: bob.ID}), "role.privileged_granted")

	// Deleting the user supersedes what waits for them.
	cid, err := s.CreateUser(ctx, "acme", store.User{UserName: "carl@x.com", Active: true, ExplicitRole: "owner"}, token)
	require.NoError(t, err)
	require.NoError(t, s.DeleteUser(ctx, "acme", cid.ID, token))
	all, err := s.ListApprovals(ctx, "acme", "")
	require.NoError(t, err)
	require.Len(t, all, 3)
	assert.Equal(t, []string{store.ApprovalApproved, store.ApprovalRejected, store.ApprovalSuperseded},
		[]string{all[0].Status, all[1].Status, all[2].Status}, "oldest first")
}

// TestSetUsersRole: a bulk role change is all or nothing, with seat moves.
func TestSetUsersRole(t *testing.T) {
	forEachBackend(t, testSetUsersRole)
}

func testSetUsersRole(t *testing.T, open storetest.Factory) {
	s := open(t, storetest.NewClock().Now)
	d := directory.New(s)
	roleTenant(t, s, "acme", 2, "")
	ann := userNamed(t, s, "acme", "ann@x.com", "")
	bob := userNamed(t, s, "acme", "bob@x.com", "supervisor")

	_, err := d.SetUsersRole(ctx, "acme", []string{ann.ID, "nobody"}, "auditor", store.ActorAdmin)
	var unknown *store.UnknownMembersError
	require.ErrorAs(t, err, &unknown)
	assert.Equal(t, []string{"nobody"}, unknown.IDs)
	_, err = d.SetUsersRole(ctx, "acme", []string{ann.ID}, "wizard", store.ActorAdmin)
	var unknownRole *store.UnknownRoleError
	require.ErrorAs(t, err, &unknownRole)

	changes, err := d.SetUsersRole(ctx, "acme", []string{bob.ID, ann.ID, bob.ID}, "Auditor", store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, []directory.RoleChange{
		{UserID: bob.ID, UserName: "bob@x.com", OldRole: "supervisor", NewRole: "auditor", OldSeat: store.SeatFull, NewSeat: store.SeatLight},
		{UserID: ann.ID, UserName: "ann@x.com", OldRole: "agent", NewRole: "auditor", OldSeat: store.SeatFull, NewSeat: store.SeatLight},
	}, changes)
	assert.Equal(t, store.SeatCounts{Light: 2}, counts(t, s, "acme"))

	// Back to full seats: one more than purchased → refused, nothing moves.
	userNamed(t, s, "acme", "cid@x.com", "")
	_, err = d.SetUsersRole(ctx, "acme", []string{ann.ID, bob.ID}, "agent", store.ActorAdmin)
	assert.ErrorIs(t, err, store.ErrSeatLimit)
	role, _ := roleOf(t, s, "acme", ann.ID)
	assert.Equal(t, "auditor", role, "all or nothing")
	changes, err = d.SetUsersRole(ctx, "acme", []string{ann.ID}, "agent", store.ActorAdmin)
	require.NoError(t, err)
	assert.Equal(t, "agent", changes[0].NewRole)
	assert.Equal(t, counts(t, s, "acme"), replay(ledger(t, s, "acme")))
	var pairs []step
	for _, e := range ledger(t, s, "acme") {
		if e.UserID == ann.ID && e.Reason == store.ReasonRoleChanged {
			pairs = append(pairs, step{e.Reason, e.Class, e.Delta})
		}
	}
	assert.Equal(t, []step{{store.ReasonRoleChanged, store.SeatFull, -1}, {store.ReasonRoleChanged, store.SeatLight, 1},
		{store.ReasonRoleChanged, store.SeatLight, -1}, {store.ReasonRoleChanged, store.SeatFull, 1}}, pairs, "one ledger pair per class change")
}
