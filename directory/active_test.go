package directory_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/directory"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/storetest"
)

// TestSetUsersActive: a bulk deactivation or reactivation is all or
// nothing — an IdP-managed user without manual overrides, an unknown user or
// seats beyond the cap refuse the whole change — and each user's change is
// a user.updated event of the caller with its ledger entry.
func TestSetUsersActive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open storetest.Factory) {
		s := open(t, storetest.NewClock().Now)
		roleTenant(t, s, "acme", 2, "")
		d := directory.New(s)
		ann := userNamed(t, s, "acme", "ann@x.com", "")
		bob := userNamed(t, s, "acme", "bob@x.com", "auditor")
		cid := pushedUser(t, s, "acme", "cid@x.com")

		// The preview answers the refusal per user and writes nothing.
		preview, err := d.PreviewUsersActive(ctx, "acme", []string{ann.ID, cid.ID}, false, operator)
		require.NoError(t, err)
		require.Len(t, preview, 2)
		assert.Equal(t, directory.ActiveChange{UserID: ann.ID, UserName: "ann@x.com", Managed: "manual", OldActive: true, NewActive: false,
			OldSeat: store.SeatFull, NewSeat: store.SeatNone}, preview[0])
		var managed *directory.IdPManagedError
		require.ErrorAs(t, preview[1].Refused, &managed)
		assert.Equal(t, "active", managed.Attribute)
		assert.True(t, preview[1].NewActive, "a refused user is answered unchanged")
		assert.Equal(t, store.SeatCounts{Full: 2, Light: 1}, counts(t, s, "acme"), "a preview writes nothing")

		_, err = d.SetUsersActive(ctx, "acme", []string{ann.ID, cid.ID}, false, operator)
		var refused *directory.ManagedUsersError
		require.ErrorAs(t, err, &refused)
		assert.Equal(t, []string{"cid@x.com"}, refused.UserNames)
		assert.Equal(t, store.CodeIdPManaged, store.FaultOf(err).Code)
		got, err := s.GetUser(ctx, "acme", ann.ID)
		require.NoError(t, err)
		assert.True(t, got.Active, "all or nothing")

		_, err = d.SetUsersActive(ctx, "acme", []string{ann.ID, "nobody"}, false, operator)
		var unknown *store.UnknownMembersError
		require.ErrorAs(t, err, &unknown)
		assert.Equal(t, []string{"nobody"}, unknown.IDs)

		changes, err := d.SetUsersActive(ctx, "acme", []string{bob.ID, ann.ID, bob.ID}, false, operator)
		require.NoError(t, err)
		assert.Equal(t, []directory.ActiveChange{
			{UserID: bob.ID, UserName: "bob@x.com", Managed: "manual", OldActive: true, NewActive: false, OldSeat: store.SeatLight, NewSeat: store.SeatNone},
			{UserID: ann.ID, UserName: "ann@x.com", Managed: "manual", OldActive: true, NewActive: false, OldSeat: store.SeatFull, NewSeat: store.SeatNone},
		}, changes)
		assert.Equal(t, store.SeatCounts{Full: 1}, counts(t, s, "acme"))
		assert.Equal(t, counts(t, s, "acme"), replay(ledger(t, s, "acme")))
		events, err := s.ListAudit(ctx, "acme", store.EventQuery{UserID: ann.ID, Limit: 1})
		require.NoError(t, err)
		require.Len(t, events, 1)
		assert.Equal(t, "user.updated", events[0].Action)
		assert.Equal(t, "deactivated (bulk deactivation)", events[0].Detail)
		assert.Equal(t, operator, events[0].Actor)
		assert.Contains(t, events[0].After, `"active":false`)
		got, err = s.GetUser(ctx, "acme", ann.ID)
		require.NoError(t, err)
		assert.False(t, got.Active)
		assert.Equal(t, store.SeatNone, got.Seat)
		assert.Equal(t, ann.Version+1, got.Version)

		// Reactivating both would take a second full seat beside cid's and
		// dan's: beyond the cap of 2, so nothing moves.
		userNamed(t, s, "acme", "dan@x.com", "")
		_, err = d.SetUsersActive(ctx, "acme", []string{ann.ID, bob.ID}, true, operator)
		assert.ErrorIs(t, err, store.ErrSeatLimit)
		got, err = s.GetUser(ctx, "acme", bob.ID)
		require.NoError(t, err)
		assert.False(t, got.Active, "all or nothing")
		changes, err = d.SetUsersActive(ctx, "acme", []string{bob.ID}, true, operator)
		require.NoError(t, err)
		assert.Equal(t, store.SeatLight, changes[0].NewSeat)
		assert.Equal(t, counts(t, s, "acme"), replay(ledger(t, s, "acme")))
		var reasons []string
		for _, e := range ledger(t, s, "acme") {
			if e.UserID == bob.ID {
				reasons = append(reasons, e.Reason)
			}
		}
		assert.Equal(t, []string{store.ReasonProvisioned, store.ReasonDeactivated, store.ReasonReactivated}, reasons)

		// With overrides the IdP's user is deactivated and marked drifted.
		allowOverrides(t, s, "acme")
		_, err = d.SetUsersActive(ctx, "acme", []string{cid.ID}, false, operator)
		require.NoError(t, err)
		got, err = s.GetUser(ctx, "acme", cid.ID)
		require.NoError(t, err)
		assert.False(t, got.Active)
		assert.NotNil(t, got.DriftedAt)
	})
}

// TestPreviewUsersRole: the preview of a bulk role change answers the moves
// the change would make and writes nothing.
func TestPreviewUsersRole(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open storetest.Factory) {
		s := open(t, storetest.NewClock().Now)
		roleTenant(t, s, "acme", 2, "")
		d := directory.New(s)
		ann := userNamed(t, s, "acme", "ann@x.com", "")
		changes, err := d.PreviewUsersRole(ctx, "acme", []string{ann.ID}, "auditor", operator)
		require.NoError(t, err)
		assert.Equal(t, []directory.RoleChange{{UserID: ann.ID, UserName: "ann@x.com", OldRole: "agent", NewRole: "auditor",
			OldSeat: store.SeatFull, NewSeat: store.SeatLight}}, changes)
		role, seat := roleOf(t, s, "acme", ann.ID)
		assert.Equal(t, "agent", role)
		assert.Equal(t, store.SeatFull, seat)
		assert.Equal(t, []string{"user.created"}, auditActions(t, s, "acme", store.EventQuery{UserID: ann.ID}))
		_, err = d.PreviewUsersRole(ctx, "acme", []string{ann.ID, "nobody"}, "auditor", operator)
		assert.ErrorIs(t, err, store.ErrInvalid)
	})
}
