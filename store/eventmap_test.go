package store

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEventRoute_agreesWithTheEvents: what a sequencer routes by the action
// alone (EventRoute) is what EventsOfAudit / EventOfSeat make of the change:
// for an exact route its one event, type and subject; otherwise every event
// made is among the route's types, with its subject.
func TestEventRoute_agreesWithTheEvents(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	u := User{ID: "u-1", UserName: "ann@x.com", Active: true, Role: RoleAgent, Seat: SeatFull, CreatedAt: at, UpdatedAt: at}
	off := u
	off.Active, off.Role, off.Title = false, "supervisor", "Lead"
	g := Group{ID: "g-1", DisplayName: "Support", CreatedAt: at, UpdatedAt: at}
	renamed := g
	renamed.DisplayName = "Support EU"
	a := Approval{ID: "ap-1", UserID: "u-1", Role: "admin", Status: ApprovalPending, CreatedAt: at}
	decided := a
	decided.Status = ApprovalApproved
	cases := []AuditEvent{
		{Action: "user.created", TargetType: "user", TargetID: u.ID, After: AuditJSON(u)},
		{Action: "user.updated", TargetType: "user", TargetID: u.ID, Before: AuditJSON(u), After: AuditJSON(off)},
		{Action: "user.deleted", TargetType: "user", TargetID: u.ID, Before: AuditJSON(u)},
		{Action: "group.created", TargetType: "group", TargetID: g.ID, After: AuditJSON(g)},
		{Action: "group.updated", TargetType: "group", TargetID: g.ID, Before: AuditJSON(g), After: AuditJSON(renamed),
			Members: []MemberOp{{Kind: MembersAdd, UserIDs: []string{"u-1"}}, {Kind: MembersRemove, UserIDs: []string{"u-2"}}}},
		{Action: "group.deleted", TargetType: "group", TargetID: g.ID, Before: AuditJSON(g)},
		PendingAudit(a, ActorSystem, at),
		ApprovalAudit(decided, ActorAdmin, at),
		{Action: ActionSAMLUpdated, TargetType: "saml", After: SAMLAudit(SAMLConfig{EntityID: "e", UpdatedAt: at})},
		{Action: ActionSAMLDeleted, TargetType: "saml", Before: SAMLAudit(SAMLConfig{EntityID: "e", UpdatedAt: at})},
		{Action: ActionTokenCreated, TargetType: "token", TargetID: "t-1", After: TokenAudit(Token{ID: "t-1", Name: "okta", CreatedAt: at})},
		{Action: ActionTokenRevoked, TargetType: "token", TargetID: "t-1", After: TokenAudit(Token{ID: "t-1", Name: "okta", CreatedAt: at})},
	}
	require.ElementsMatch(t, EventActions, func() []string {
		var out []string
		for _, c := range cases {
			if !slices.Contains(out, c.Action) {
				out = append(out, c.Action)
			}
		}
		return append(out, "role.approval_rejected", "role.approval_superseded")
	}(), "every action that makes events is covered")
	for _, c := range cases {
		c.TenantID, c.Time = "acme", at
		drafts := EventsOfAudit(c)
		require.NotEmpty(t, drafts, c.Action)
		types, subject, exact := EventRoute(c.Action, c.TargetID)
		if exact {
			require.Len(t, drafts, 1, c.Action)
			assert.Equal(t, types[0], drafts[0].Type, c.Action)
		}
		for _, d := range drafts {
			assert.Contains(t, types, d.Type, c.Action)
			assert.Equal(t, subject, d.Subject, c.Action)
		}
	}
	for _, delta := range []int{1, -1} {
		d := EventOfSeat(SeatEvent{TenantID: "acme", UserID: "u-1", Class: SeatFull, Delta: delta, Time: at})
		action := "seat.consumed"
		if delta < 0 {
			action = "seat.released"
		}
		types, subject, exact := EventRoute(action, "u-1")
		assert.True(t, exact)
		assert.Equal(t, []string{d.Type}, types)
		assert.Equal(t, d.Subject, subject)
	}
	types, _, _ := EventRoute("user.signed_in", "u-1")
	assert.Empty(t, types, "an action that makes no event routes nowhere")
}
